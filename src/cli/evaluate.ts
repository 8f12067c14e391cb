/**
 * `churnwatch evaluate --model FILE --dataset FILE`: scores a model artifact on a dataset CSV and
 * prints the training metrics (ROC AUC, PR AUC, Brier, lift and precision in the top 10%) for the
 * model and both baselines on the same rows, plus how the risk levels split.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { assessArtifact } from "../training/assess.js";
import { readDatasetCsv } from "../training/dataset-csv.js";
import { readArtifactFile, readPointer } from "../model/registry.js";
import { renderReport } from "../training/report.js";
import { CliError, defineCli, intOption } from "./args.js";
import { metricsTable } from "./format.js";

const cli = defineCli({
  name: "evaluate",
  usage: "$0 (--model FILE | --current) --dataset FILE [options]",
  summary: "Scores a model artifact on a dataset CSV and prints its metrics next to the recency and RFM baselines.",
  options: {
    model: { type: "string", short: "m", value: "FILE", description: "model artifact (models/churn-<version>.json)" },
    current: { type: "boolean", description: "the model models/current.json points at" },
    "models-dir": { type: "string", value: "DIR", description: "for --current", defaultText: "models" },
    dataset: { type: "string", short: "d", value: "FILE", description: "dataset CSV from the dataset command" },
    "validation-cutoffs": { type: "string", value: "N", description: "evaluate the newest N cutoffs (0 = every row)", defaultText: "4" },
    report: { type: "string", value: "FILE", description: "also write an HTML report with the plots" },
    json: { type: "boolean", description: "print the metrics as JSON instead of a table" },
  },
  epilogue: `Rows evaluated: the newest N cutoffs; older rows only set the RFM quintile edges. The model's
probabilities use the artifact's own calibration (what the worker publishes). Warnings say when the
model was trained or calibrated on the evaluated cutoffs.

Example:
  $0 --current --dataset data/dataset.csv --report reports/eval.html`,
});

export async function main(argv: string[], prog = "churnwatch evaluate"): Promise<number> {
  const v = cli.parse(argv, prog);
  if (!v.dataset) throw new CliError("--dataset FILE is required");
  if (Boolean(v.model) === Boolean(v.current)) throw new CliError("choose one model: --model FILE or --current");
  let file = v.model!;
  if (v.current) {
    const dir = v["models-dir"] ?? "models";
    const pointer = await readPointer(dir);
    if (!pointer) throw new CliError(`${path.join(dir, "current.json")} does not exist: no current model`, 1);
    file = path.join(dir, pointer.file);
  }
  const loaded = await readArtifactFile(file);
  if (!loaded.ok) throw new CliError(loaded.problem, 1);
  const artifact = loaded.artifact;
  const { dataset } = await readDatasetCsv(v.dataset).catch((err: Error) => {
    throw new CliError(err.message, 1);
  });
  const assessment = (() => {
    try {
      return assessArtifact(artifact, dataset, { validationCutoffs: intOption(v["validation-cutoffs"], "validation-cutoffs", 4, { min: 0 }) });
    } catch (err) {
      throw err instanceof CliError ? err : new CliError((err as Error).message, 1);
    }
  })();
  for (const note of assessment.notes) process.stderr.write(`note: ${note}\n`);

  if (v.json) {
    const metrics = Object.fromEntries(assessment.series.map((s) => [s.name, s.metrics]));
    process.stdout.write(JSON.stringify({ model: artifact.modelVersion, dataset: v.dataset, cutoffs: assessment.evaluatedCutoffs, metrics, levels: assessment.levels, notes: assessment.notes }, null, 2) + "\n");
  } else {
    const c = assessment.evaluatedCutoffs;
    const lines = [
      `model ${artifact.modelVersion}${artifact.starter ? " (starter)" : ""} on ${v.dataset}: ${assessment.rows.length.toLocaleString("en")} rows, cutoffs ${c[0]?.slice(0, 10)} … ${c.at(-1)?.slice(0, 10)}`,
      metricsTable(assessment.series.map((s) => [s.name, s.metrics])),
      "risk levels: " +
        (["high", "medium", "low"] as const)
          .map((k) => {
            const l = assessment.levels[k];
            return `${k} ${((l.rows / assessment.rows.length) * 100).toFixed(1)}% of rows (churn rate ${l.rows ? ((l.churned / l.rows) * 100).toFixed(1) : "-"}%)`;
          })
          .join(", "),
    ];
    process.stdout.write(lines.join("\n") + "\n");
  }
  if (v.report) {
    await mkdir(path.dirname(path.resolve(v.report)), { recursive: true });
    await writeFile(
      v.report,
      renderReport({ kind: "evaluation", artifact, series: assessment.series, served: assessment.served, labels: assessment.labels, source: v.dataset, notes: assessment.notes }),
    );
    process.stderr.write(`wrote ${v.report}\n`);
  }
  return 0;
}
