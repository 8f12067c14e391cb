/**
 * `churnwatch train [options]`: fit a churn model on a dataset, write the artifact
 * (models/churn-<version>.json) and an HTML report (reports/<version>.html), and optionally
 * promote it (models/current.json, which the worker hot-reloads) if it beats the current model on
 * the same validation rows.
 */
import { existsSync } from "node:fs";
import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { FEATURE_NAMES, FEATURE_SET_VERSION } from "../features/index.js";
import { checkArtifact } from "../model/artifact.js";
import { manifestPathFor, readDatasetCsv, writeDatasetCsv, writeManifest } from "../training/dataset-csv.js";
import { DEFAULT_ACTIVE_DAYS, DEFAULT_EVERY_DAYS, makeManifest, type Dataset } from "../training/dataset.js";
import { DEFAULT_FIT, fitChurnModel } from "../training/fit.js";
import { decidePromotion, type PromotionDecision } from "../training/promotion.js";
import { artifactFileName, readCurrentModel, writeArtifact, writePointer } from "../model/registry.js";
import { renderReport } from "../training/report.js";
import { buildStarterDataset, STARTER, starterVersion } from "../training/starter.js";
import { CliError, defineCli, intOption, numberOption } from "./args.js";
import { buildDatasetFromFlags, DATASET_OPTIONS, describeBuilt } from "./dataset-source.js";
import { metricsTable } from "./format.js";
import { createProgress } from "./progress.js";

const cli = defineCli({
  name: "train",
  usage: "$0 (--dataset FILE | --from-db | --starter) [options]",
  summary: "Trains a churn random forest, writes the model artifact and an HTML report, and optionally promotes it.",
  options: {
    dataset: { type: "string", short: "d", value: "FILE", description: "dataset CSV from the dataset command" },
    ...DATASET_OPTIONS,
    starter: { type: "boolean", description: `the starter model: ${STARTER.customers} simulated customers over ${STARTER.days} days, ${STARTER.trees} trees of depth ${STARTER.maxDepth}; becomes current unless a non-starter model is` },
    "save-dataset": { type: "string", value: "FILE", description: "with --from-db/--from-ndjson/--starter: also write the built dataset CSV + manifest" },
    trees: { type: "string", value: "N", description: "trees in the forest", defaultText: String(DEFAULT_FIT.trees) },
    "max-depth": { type: "string", value: "N", description: "maximum tree depth", defaultText: String(DEFAULT_FIT.maxDepth) },
    "min-leaf": { type: "string", value: "N", description: "minimum rows per leaf", defaultText: String(DEFAULT_FIT.minSamplesLeaf) },
    seed: { type: "string", value: "N", description: "random seed (same seed + data = same model)", defaultText: String(DEFAULT_FIT.seed) },
    jobs: { type: "string", value: "N", description: "worker threads", defaultText: "all CPUs" },
    "validation-cutoffs": { type: "string", value: "N", description: "newest cutoffs used for validation", defaultText: String(DEFAULT_FIT.validationCutoffs) },
    "gap-days": { type: "string", value: "N", description: "days between the last training and first validation cutoff", defaultText: "the horizon" },
    calibration: { type: "string", value: "METHOD", description: "isotonic, platt or auto (lower out-of-fold Brier)", defaultText: "auto" },
    "high-top": { type: "string", value: "SHARE", description: "share of validation rows rated high", defaultText: "0.1" },
    "medium-top": { type: "string", value: "SHARE", description: "share rated medium or high", defaultText: "0.3" },
    "high-precision": { type: "string", value: "P", description: "instead of --high-top: lowest threshold whose precision is at least P" },
    version: { type: "string", value: "NAME", description: "model version (letters, digits, . _ -)", defaultText: "UTC time, e.g. 20250701-120000" },
    description: { type: "string", value: "TEXT", description: "one line stored in the artifact" },
    "models-dir": { type: "string", value: "DIR", description: "where artifacts and current.json live", defaultText: "models" },
    "reports-dir": { type: "string", value: "DIR", description: "where the HTML report goes", defaultText: "reports" },
    promote: { type: "boolean", description: "make it current if it beats the current model on the same validation rows" },
    force: { type: "boolean", description: "promote even if not better or not comparable; overwrite an existing artifact file" },
    quiet: { type: "boolean", short: "q", description: "no progress output" },
  },
  epilogue: `Exit codes: 0 done (also when --promote decided not to promote; the decision is on the
"promotion:" line), 1 failure, 2 bad usage.

Examples:
  $0 --dataset data/dataset.csv --trees 100 --max-depth 10 --seed 7 --promote
  $0 --from-db --promote
  $0 --starter`,
});

function defaultVersion(now: Date): string {
  return now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

export async function main(argv: string[], prog = "churnwatch train"): Promise<number> {
  const v = cli.parse(argv, prog);
  const quiet = v.quiet ?? false;
  const log = (line: string) => {
    if (!quiet) process.stderr.write(`${line}\n`);
  };
  const sources = [v.dataset !== undefined, v["from-db"] === true || v["from-ndjson"] !== undefined, v.starter === true].filter(Boolean).length;
  if (sources !== 1) throw new CliError("choose exactly one source: --dataset FILE, --from-db / --from-ndjson FILE, or --starter");
  const calibration = v.calibration ?? "auto";
  if (!["auto", "isotonic", "platt"].includes(calibration)) throw new CliError(`--calibration must be isotonic, platt or auto, got "${calibration}"`);
  const starter = v.starter === true;
  const now = new Date();
  const modelVersion = v.version ?? (starter ? starterVersion() : defaultVersion(now));
  const modelsDir = v["models-dir"] ?? "models";
  const reportsDir = v["reports-dir"] ?? "reports";
  const fileName = artifactFileName(modelVersion);
  const artifactPath = path.join(modelsDir, fileName);
  if (existsSync(artifactPath) && !starter && !v.force) {
    throw new CliError(`${artifactPath} already exists: choose another --version (or --force to overwrite it)`);
  }

  // 1. The dataset.
  let dataset: Dataset;
  let source: string;
  let churnDefinition: string | undefined;
  if (v.dataset) {
    const read = await readDatasetCsv(v.dataset).catch((err: Error) => {
      throw new CliError(err.message, 1);
    });
    dataset = read.dataset;
    source = `${v.dataset}${read.manifest ? ` (${read.manifest.source})` : ""}`;
    churnDefinition = read.manifest?.churnDefinition;
    if (!read.manifest) log(`note: no ${manifestPathFor(v.dataset)} next to the dataset; assuming a ${dataset.horizonDays}-day horizon`);
  } else if (starter) {
    const progress = createProgress("simulating + building rows", { enabled: !quiet, unit: "events" });
    const built = buildStarterDataset((done, total) => {
      progress.setTotal(total);
      progress.update(done);
    });
    progress.finish();
    dataset = built.dataset;
    source = `simulator (seed ${STARTER.seed}, ${STARTER.customers} customers, ${STARTER.days} days to ${STARTER.now})`;
    if (v["save-dataset"]) {
      const manifest = makeManifest({
        dataset, plan: built.plan, source, activeDays: DEFAULT_ACTIVE_DAYS, everyDays: DEFAULT_EVERY_DAYS, dataStart: built.bounds.start, dataEnd: built.bounds.end,
        customers: built.customers, events: built.events,
      });
      await writeDatasetCsv(v["save-dataset"], dataset);
      await writeManifest(manifestPathFor(v["save-dataset"]), manifest);
    }
    churnDefinition = undefined;
  } else {
    const built = await buildDatasetFromFlags(v, { quiet });
    for (const line of describeBuilt(built)) log(line);
    built.problems.slice(0, 20).forEach((p) => log(`skipped: ${p}`));
    dataset = built.built.dataset;
    source = built.manifest.source;
    churnDefinition = built.manifest.churnDefinition;
    if (v["save-dataset"]) {
      await writeDatasetCsv(v["save-dataset"], dataset);
      await writeManifest(manifestPathFor(v["save-dataset"]), built.manifest);
    }
  }
  if (dataset.featureSetVersion !== FEATURE_SET_VERSION) {
    throw new CliError(
      `the dataset has feature set ${dataset.featureSetVersion}, the code ${FEATURE_SET_VERSION}: rebuild it with the dataset command`,
      1,
    );
  }

  // 2. Fit.
  const highPrecision = v["high-precision"] === undefined ? undefined : numberOption(v["high-precision"], "high-precision", 0.5, { min: 0, max: 1 });
  const fit = await fitChurnModel(dataset, {
    modelVersion,
    starter,
    description: v.description ?? (starter ? STARTER.description : undefined),
    trees: intOption(v.trees, "trees", starter ? STARTER.trees : DEFAULT_FIT.trees, { min: 1, max: 5000 }),
    maxDepth: intOption(v["max-depth"], "max-depth", starter ? STARTER.maxDepth : DEFAULT_FIT.maxDepth, { min: 1, max: 64 }),
    minSamplesLeaf: intOption(v["min-leaf"], "min-leaf", starter ? STARTER.minSamplesLeaf : DEFAULT_FIT.minSamplesLeaf, { min: 1 }),
    seed: intOption(v.seed, "seed", DEFAULT_FIT.seed, { min: 0, max: 0xffffffff }),
    ...(v.jobs !== undefined ? { nJobs: intOption(v.jobs, "jobs", 1, { min: 1, max: 256 }) } : {}),
    validationCutoffs: intOption(v["validation-cutoffs"], "validation-cutoffs", DEFAULT_FIT.validationCutoffs, { min: 1 }),
    ...(v["gap-days"] !== undefined ? { gapDays: intOption(v["gap-days"], "gap-days", 0, { min: 0 }) } : {}),
    calibration: calibration as "auto" | "isotonic" | "platt",
    thresholds: {
      highTop: numberOption(v["high-top"], "high-top", 0.1, { min: 0.001, max: 1 }),
      mediumTop: numberOption(v["medium-top"], "medium-top", 0.3, { min: 0.001, max: 1 }),
      ...(highPrecision !== undefined ? { highPrecision } : {}),
    },
    ...(churnDefinition ? { churnDefinition } : {}),
    createdAt: now,
    onStage: log,
  }).catch((err: Error) => {
    throw err instanceof RangeError ? new CliError(err.message, 1) : err;
  });
  const artifact = fit.artifact;
  // The worker's loader must accept it: fail here, not at 3 a.m. in production.
  checkArtifact(JSON.parse(JSON.stringify(artifact)), { featureNames: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION });

  // 3. Promotion decision, before writing: the new file may replace the one current.json names.
  const current = await readCurrentModel(modelsDir);
  let decision: PromotionDecision | null = null;
  if (starter) {
    // The starter only fills an empty slot or replaces an older starter; a model trained on real
    // history must never be displaced by simulated data without --force.
    decision =
      current.kind === "ok" && !current.artifact.starter && !v.force
        ? { promote: false, forced: false, reason: `The current model ${current.artifact.modelVersion} was trained on real data; the starter does not replace it (use --force).` }
        : { promote: true, forced: v.force === true, reason: current.kind === "ok" ? `Replaces ${current.artifact.starter ? "the starter" : "the current model"} ${current.artifact.modelVersion}.` : "No usable current model: the starter becomes current." };
  } else if (v.promote) {
    decision = decidePromotion({ candidate: artifact, current, validationRows: fit.validation.rows, featureNames: dataset.featureNames, force: v.force === true });
  }

  // 4. Files.
  await writeArtifact(modelsDir, artifact);
  const bytes = (await stat(artifactPath)).size;
  if (starter && bytes > STARTER.maxBytes) {
    throw new CliError(`the starter artifact is ${(bytes / 1e6).toFixed(2)} MB, over the ${STARTER.maxBytes / 1e6} MB budget: use fewer trees or a larger --min-leaf`, 1);
  }
  const notes = decision ? [`Promotion: ${decision.reason}`] : [];
  const reportPath = path.join(reportsDir, `${modelVersion}.html`);
  await mkdir(reportsDir, { recursive: true });
  await writeFile(
    reportPath,
    renderReport({ kind: "training", artifact, series: fit.series, served: fit.validation.calibrated, labels: fit.validation.labels, perCutoff: fit.perCutoff, source, notes, generatedAt: now }),
  );
  if (decision?.promote) await writePointer(modelsDir, { modelVersion, file: fileName });

  // 5. Summary on stdout.
  const m = artifact.metrics;
  const out = [
    `model ${modelVersion}: ${fit.validation.rows.length.toLocaleString("en")} validation rows, cutoffs ${artifact.trainingWindow.validationCutoffs[0]?.slice(0, 10)} … ${artifact.trainingWindow.validationCutoffs.at(-1)?.slice(0, 10)}`,
    metricsTable([["model", m.validation], ...Object.entries(m.baselines)]),
    `calibration ${artifact.calibration.method}; thresholds medium ${artifact.thresholds.medium.toFixed(3)}, high ${artifact.thresholds.high.toFixed(3)} ` +
      `(high ${(fit.thresholds.shares.high * 100).toFixed(1)}% of rows, churn rate ${(fit.thresholds.precision.high * 100).toFixed(1)}%)`,
    `wrote ${artifactPath} (${(bytes / 1e6).toFixed(2)} MB) and ${reportPath}`,
    decision ? `promotion: ${decision.promote ? "PROMOTED" : "not promoted"}. ${decision.reason}` : "promotion: not requested (use --promote)",
  ];
  process.stdout.write(out.join("\n") + "\n");
  return 0;
}
