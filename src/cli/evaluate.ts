/**
 * `$0 --model FILE --dataset FILE`: scores a model artifact on a dataset CSV and
 * prints the training metrics (ROC AUC, PR AUC, Brier, lift and precision in the top 10%, ECE) with
 * customer-bootstrap 95% intervals for the model and both baselines on the same rows, plus each risk
 * band's share and realised churn. Uses train's time split, so on the dataset a model was trained
 * on it grades the same untouched test period with the same numbers.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { assessArtifact, HorizonMismatchError } from "../training/assess.js";
import { DEFAULT_BOOTSTRAP } from "../training/bootstrap.js";
import { readDatasetCsv } from "../training/dataset-csv.js";
import { DEFAULT_SPLIT } from "../training/split.js";
import { readArtifactFile, readPointer } from "../model/registry.js";
import { DEFAULT_RISK_BANDS, formatRiskBands, type RiskBands } from "../model/risk-levels.js";
import { riskBandsOption } from "./risk-bands-option.js";
import { renderReport } from "../training/report.js";
import { CliError, defineCli, intOption } from "./args.js";
import { bandsLine, metricsTable } from "./format.js";
import { evaluateLiveMain } from "./evaluate-live.js";

const cli = defineCli({
  name: "evaluate",
  usage: "$0 (--model FILE | --current) --dataset FILE [options]\n       $0 --live [--model FILE | --current] [--as-of DATE] [--backtest] [--report FILE]",
  summary: "Scores a model artifact on a dataset CSV and prints its metrics, with 95% intervals, next to the recency and RFM baselines; " +
    "with --live, grades the model on what happened to the customers it scored one horizon ago (from the worker's database).",
  options: {
    model: { type: "string", short: "m", value: "FILE", description: "model artifact (models/churn-<version>.json)" },
    current: { type: "boolean", description: "the model models/current.json points at" },
    "models-dir": { type: "string", value: "DIR", description: "for --current", defaultText: "models" },
    dataset: { type: "string", short: "d", value: "FILE", description: "dataset CSV from scripts/build-dataset.ts" },
    "test-cutoffs": { type: "string", value: "N", description: "evaluate the newest N cutoffs (0 = every row)", defaultText: String(DEFAULT_SPLIT.testCutoffs) },
    "validation-cutoffs": { type: "string", value: "N", description: "cutoffs before the test gap that calibrate the baselines, as in train", defaultText: String(DEFAULT_SPLIT.validationCutoffs) },
    "gap-days": { type: "string", value: "N", description: "days between the periods", defaultText: "the dataset's horizon" },
    "risk-bands": { type: "string", value: "BANDS", description: "bands to read, e.g. medium=0.3,high=0.6", defaultText: `RISK_BANDS or ${formatRiskBands(DEFAULT_RISK_BANDS)}` },
    bootstrap: { type: "string", value: "N", description: "bootstrap replicates", defaultText: String(DEFAULT_BOOTSTRAP.replicates) },
    "allow-horizon-mismatch": { type: "boolean", description: "evaluate even when the model's churn horizon differs from the dataset's (only ranking metrics then mean anything)" },
    report: { type: "string", value: "FILE", description: "also write an HTML report with the plots" },
    json: { type: "boolean", description: "print the metrics as JSON instead of a table" },
    live: { type: "boolean", description: "live quality from the worker's database instead of a dataset: the scores in force at --as-of graded on the horizon after it, feature drift, the saved KPI and the daily series" },
    "as-of": { type: "string", value: "DATE", description: "--live: the instant whose scores are graded", defaultText: "now minus the model's horizon" },
    backtest: { type: "boolean", description: "--live: re-score the event history as of --as-of with the model instead of reading score_history (for history from before the worker ran)" },
    days: { type: "string", value: "DAYS", description: "--live: days of stored daily evaluations to show", defaultText: "90d" },
    "database-url": { type: "string", value: "URL", description: "--live: PostgreSQL URL instead of DATABASE_URL" },
  },
  epilogue: `Rows evaluated: the test period of train's time split (the newest N cutoffs); the validation
period one horizon earlier only calibrates the baselines. The model's probabilities use the
artifact's own calibration (what the worker publishes). Warnings say when the model was trained or
calibrated on the evaluated cutoffs.

A model whose churn horizon differs from the dataset's is refused (exit 2): its Brier, calibration
and bands would grade it against another question. --allow-horizon-mismatch evaluates anyway, with
a warning.

--live reads the worker's database (DATABASE_URL or --database-url): the scores in force at --as-of
(score_history: what the worker had published), churned = no purchase or a cancellation in the
model's horizon after it, for customers in the model's population then; ROC AUC, precision in the top
10% and calibration error next to what the artifact measured at training, realised churn per risk
level, feature drift (PSI) of today's scored customers, the saved KPI and the stored daily series.
--backtest grades scores re-computed from the event history instead (optimistic inside the model's
training window; a note says so). It writes nothing; the daily live-quality job stores results.

Examples:
  $0 --current --dataset data/dataset.csv --report reports/eval.html
  $0 --live --report reports/live.html
  $0 --live --backtest --as-of 2025-03-01`,
});


export async function main(argv: string[], prog = "churnwatch evaluate"): Promise<number> {
  const v = cli.parse(argv, prog);
  if (v.live) {
    if (v.dataset) throw new CliError("--live grades the worker's own scores: leave out --dataset");
    if (v.model && v.current) throw new CliError("choose one model: --model FILE or --current");
  } else {
    for (const flag of ["as-of", "backtest", "days"] as const) if (v[flag] !== undefined) throw new CliError(`--${flag} needs --live`);
    if (!v.dataset) throw new CliError("--dataset FILE is required");
    if (Boolean(v.model) === Boolean(v.current)) throw new CliError("choose one model: --model FILE or --current");
  }
  const bands = riskBandsOption(v["risk-bands"]);
  const bootstrap = { ...DEFAULT_BOOTSTRAP, replicates: intOption(v.bootstrap, "bootstrap", DEFAULT_BOOTSTRAP.replicates, { min: 50, max: 100_000 }) };
  let file = v.model!;
  if (v.current || (v.live && !v.model)) {
    const dir = v["models-dir"] ?? "models";
    const pointer = await readPointer(dir);
    if (!pointer) throw new CliError(`${path.join(dir, "current.json")} does not exist: no current model`, 1);
    file = path.join(dir, pointer.file);
  }
  const loaded = await readArtifactFile(file);
  if (!loaded.ok) throw new CliError(loaded.problem, 1);
  const artifact = loaded.artifact;
  if (v.live) return evaluateLiveMain(artifact, path.dirname(file), v);
  const { dataset, manifest } = await readDatasetCsv(v.dataset!).catch((err: Error) => {
    throw new CliError(err.message, 1);
  });
  if (!manifest) process.stderr.write(`note: ${v.dataset} has no manifest; assuming a ${dataset.horizonDays}-day horizon\n`);
  const assessment = (() => {
    try {
      return assessArtifact(artifact, dataset, {
        testCutoffs: intOption(v["test-cutoffs"], "test-cutoffs", DEFAULT_SPLIT.testCutoffs, { min: 0 }),
        validationCutoffs: intOption(v["validation-cutoffs"], "validation-cutoffs", DEFAULT_SPLIT.validationCutoffs, { min: 1 }),
        ...(v["gap-days"] !== undefined ? { gapDays: intOption(v["gap-days"], "gap-days", 0, { min: 0 }) } : {}),
        bands,
        bootstrap,
        allowHorizonMismatch: v["allow-horizon-mismatch"] === true,
        manifest,
      });
    } catch (err) {
      if (err instanceof HorizonMismatchError) throw new CliError(err.message, 2);
      throw err instanceof CliError ? err : new CliError((err as Error).message, 1);
    }
  })();
  for (const note of assessment.notes) process.stderr.write(`${note.startsWith("HORIZON") ? "WARNING" : "note"}: ${note}\n`);

  const t = assessment.testMetrics;
  if (v.json) {
    process.stdout.write(JSON.stringify({ modelVersion: artifact.modelVersion, dataset: v.dataset, riskBands: bands, ...t, notes: assessment.notes }, null, 2) + "\n");
  } else {
    const c = assessment.evaluatedCutoffs;
    const lines = [
      `model ${artifact.modelVersion}${artifact.starter ? " (starter)" : ""} on ${v.dataset}: ${t.rows.toLocaleString("en")} rows of ${t.customers.toLocaleString("en")} customers, ` +
        `cutoffs ${c[0]?.slice(0, 10)} … ${c.at(-1)?.slice(0, 10)}; 95% intervals from ${t.bootstrap.replicates} customer-bootstrap replicates`,
      metricsTable(assessment.series.map((s) => [s.name, s.metrics])),
      ...Object.entries(t.rocAucGain ?? {}).map(([name, g]) => `ROC AUC gain over ${name}: ${g.estimate.toFixed(3)} [${g.interval[0].toFixed(3)}, ${g.interval[1].toFixed(3)}]`),
      `bands: ${bandsLine(assessment.bands)}`,
      ...t.doubts.map((d) => `doubt: ${d}`),
    ];
    process.stdout.write(lines.join("\n") + "\n");
  }
  if (v.report) {
    await mkdir(path.dirname(path.resolve(v.report)), { recursive: true });
    await writeFile(
      v.report,
      renderReport({
        kind: "evaluation", artifact, series: assessment.series, served: assessment.served, labels: assessment.labels, bands: assessment.bands,
        bandsUsed: bands, testMetrics: t, source: v.dataset!, notes: assessment.notes,
      }),
    );
    process.stderr.write(`wrote ${v.report}\n`);
  }
  return 0;
}
