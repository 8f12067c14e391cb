/**
 * `churnwatch train [options]`: fit a churn model on a dataset, write the artifact
 * (models/churn-<version>.json) and an HTML report (reports/<version>.html), and optionally
 * promote it (models/current.json, which the worker hot-reloads) if it beats the current model on
 * the same test rows by more than noise.
 */
import { existsSync } from "node:fs";
import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { FEATURE_NAMES, FEATURE_SET_VERSION } from "../features/index.js";
import { checkArtifact } from "../model/artifact.js";
import { manifestPathFor, readDatasetCsv, writeDatasetCsv, writeManifest } from "../training/dataset-csv.js";
import { DEFAULT_ACTIVE_DAYS, DEFAULT_EVERY_DAYS, makeManifest, populationRule, type Dataset, type PopulationRule } from "../training/dataset.js";
import { DEFAULT_FIT, describeParams, fitChurnModel } from "../training/fit.js";
import type { ForestParams } from "../model/artifact.js";
import { DEFAULT_RISK_BANDS, formatRiskBands, type RiskBands } from "../model/risk-levels.js";
import { riskBandsOption } from "./risk-bands-option.js";
import { DEFAULT_BOOTSTRAP } from "../training/bootstrap.js";
import { DEFAULT_GRID, DEFAULT_SEARCH_TREES } from "../training/search.js";
import { decidePromotion, type PromotionDecision } from "../training/promotion.js";
import { artifactFileName, readCurrentModel, writeArtifact, writePointer } from "../model/registry.js";
import { renderReport } from "../training/report.js";
import { buildStarterDataset, STARTER, STARTER_GRID, starterVersion } from "../training/starter.js";
import { CliError, defineCli, intOption, numberOption } from "./args.js";
import { buildDatasetFromFlags, DATASET_OPTIONS, describeBuilt } from "./dataset-source.js";
import { bandsLine, metricsTable } from "./format.js";
import { createProgress } from "./progress.js";

const REMOVED_THRESHOLD_FLAG =
  "was removed: risk levels are now fixed bands of the calibrated probability (--risk-bands medium=0.3,high=0.6), " +
  "not rank shares; meet a team's capacity by ranking on value at risk and digest limits instead";

const cli = defineCli({
  name: "train",
  usage: "$0 (--dataset FILE | --from-db | --from-ndjson FILE | --starter) [options]",
  summary: "Trains a churn random forest, writes the model artifact and an HTML report, and optionally promotes it.",
  options: {
    dataset: { type: "string", short: "d", value: "FILE", description: "dataset CSV from the dataset command" },
    ...DATASET_OPTIONS,
    starter: { type: "boolean", description: `the starter model: ${STARTER.customers} simulated customers over ${STARTER.days} days, ${STARTER.trees} trees, a size-bounded grid; becomes current unless a non-starter model is` },
    "save-dataset": { type: "string", value: "FILE", description: "with --from-db/--from-ndjson/--starter: also write the built dataset CSV + manifest" },
    "test-cutoffs": { type: "string", value: "N", description: "newest cutoffs kept untouched for the test period (metrics, bands, promotion)", defaultText: String(DEFAULT_FIT.testCutoffs) },
    "validation-cutoffs": { type: "string", value: "N", description: "cutoffs before the test gap for choosing hyperparameters and fitting the calibration", defaultText: String(DEFAULT_FIT.validationCutoffs) },
    "gap-days": { type: "string", value: "N", description: "days between train, validation and test periods", defaultText: "the horizon" },
    trees: { type: "string", value: "N", description: "trees in the final forest", defaultText: String(DEFAULT_FIT.trees) },
    "no-search": { type: "boolean", description: "skip the hyperparameter grid; use --max-depth, --min-leaf, --max-features, --class-weight (or their defaults)" },
    "search-trees": { type: "string", value: "N", description: "trees per grid candidate", defaultText: String(DEFAULT_SEARCH_TREES) },
    "max-depth": { type: "string", value: "N", description: "maximum tree depth (with the search: fixes that grid dimension)", defaultText: `grid ${DEFAULT_GRID.maxDepth.join("/")}, or ${DEFAULT_FIT.maxDepth}` },
    "min-leaf": { type: "string", value: "N", description: "minimum rows per leaf (with the search: fixes that dimension)", defaultText: `grid ${DEFAULT_GRID.minSamplesLeaf.join("/")}, or ${DEFAULT_FIT.minSamplesLeaf}` },
    "max-features": { type: "string", value: "F", description: "features tried per split: sqrt, log2, all or a fraction in (0, 1] (with the search: fixes that dimension)", defaultText: `grid ${DEFAULT_GRID.maxFeatures.join("/")}, or ${DEFAULT_FIT.maxFeatures}` },
    "class-weight": { type: "string", value: "W", description: "balanced or none (with the search: fixes that dimension)", defaultText: `grid balanced/none, or ${DEFAULT_FIT.classWeight}` },
    seed: { type: "string", value: "N", description: "random seed (same seed + data = same model)", defaultText: String(DEFAULT_FIT.seed) },
    jobs: { type: "string", value: "N", description: "worker threads for the final forest (grid candidates grow in the calling thread)", defaultText: "1 below 5 million row-trees, else all CPUs" },
    calibration: { type: "string", value: "METHOD", description: "isotonic, platt or auto (lower out-of-fold Brier on the validation period)", defaultText: "auto" },
    "risk-bands": { type: "string", value: "BANDS", description: "risk-level bands the report reads and the artifact records, e.g. medium=0.3,high=0.6", defaultText: `RISK_BANDS or ${formatRiskBands(DEFAULT_RISK_BANDS)}` },
    bootstrap: { type: "string", value: "N", description: "bootstrap replicates for the intervals and the promotion test", defaultText: String(DEFAULT_BOOTSTRAP.replicates) },
    "min-gain": { type: "string", value: "G", description: "promote when the test ROC AUC gain over the current model exceeds G, instead of the paired bootstrap rule" },
    "high-top": { type: "string", value: "SHARE", description: `removed (levels are probability bands)` },
    "medium-top": { type: "string", value: "SHARE", description: `removed (levels are probability bands)` },
    "high-precision": { type: "string", value: "P", description: `removed (levels are probability bands)` },
    version: { type: "string", value: "NAME", description: "model version (letters, digits, . _ -)", defaultText: "UTC time, e.g. 20250701-120000" },
    description: { type: "string", value: "TEXT", description: "one line stored in the artifact" },
    "models-dir": { type: "string", value: "DIR", description: "where artifacts and current.json live", defaultText: "models" },
    "reports-dir": { type: "string", value: "DIR", description: "where the HTML report goes", defaultText: "reports" },
    promote: { type: "boolean", description: "make it current if it beats the current model on the same test rows by more than noise" },
    force: { type: "boolean", description: "promote even if not better or not comparable; overwrite an existing artifact file" },
    quiet: { type: "boolean", short: "q", description: "no progress output" },
  },
  epilogue: `Time split: train | gap | validation | gap | test (newest), gaps one horizon long so no label
reaches into the next period. The forest grows on train; hyperparameters (a 16-candidate grid) and
the calibration are chosen on validation; every reported metric, band and the promotion decision
come from the untouched test period, with 95% intervals from a bootstrap over customers.

Promotion (--promote): both models scored on the new test rows; promoted when the paired bootstrap
95% interval of the ROC AUC gain lies above 0, or with --min-gain G when the gain exceeds G.

Exit codes: 0 done (also when --promote decided not to promote; the decision is on the
"promotion:" line), 1 failure, 2 bad usage.

Examples:
  churnwatch dataset --from-db --out data/dataset.csv
  $0 --dataset data/dataset.csv --promote
  $0 --dataset data/dataset.csv --no-search --max-depth 8 --min-leaf 50
  $0 --from-db --risk-bands medium=0.2,high=0.5 --promote
  $0 --starter`,
});

function maxFeaturesOption(value: string | undefined): ForestParams["maxFeatures"] | undefined {
  if (value === undefined) return undefined;
  if (value === "sqrt" || value === "log2" || value === "all") return value;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (n > 1 && !Number.isInteger(n))) {
    throw new CliError(`--max-features must be sqrt, log2, all, a fraction in (0, 1] or a whole number of features, got "${value}"`);
  }
  return n;
}

function classWeightOption(value: string | undefined): ForestParams["classWeight"] | undefined {
  if (value === undefined) return undefined;
  if (value === "balanced" || value === "none") return value;
  throw new CliError(`--class-weight must be balanced or none, got "${value}"`);
}


function defaultVersion(now: Date): string {
  return now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

export async function main(argv: string[], prog = "churnwatch train"): Promise<number> {
  const v = cli.parse(argv, prog);
  const quiet = v.quiet ?? false;
  const log = (line: string) => {
    if (!quiet) process.stderr.write(`${line}\n`);
  };
  for (const flag of ["high-top", "medium-top", "high-precision"] as const) {
    if (v[flag] !== undefined) throw new CliError(`--${flag} ${REMOVED_THRESHOLD_FLAG}`);
  }
  const sources = [v.dataset !== undefined, v["from-db"] === true || v["from-ndjson"] !== undefined, v.starter === true].filter(Boolean).length;
  if (sources !== 1) throw new CliError("choose exactly one source: --dataset FILE, --from-db / --from-ndjson FILE, or --starter");
  const calibration = v.calibration ?? "auto";
  if (!["auto", "isotonic", "platt"].includes(calibration)) throw new CliError(`--calibration must be isotonic, platt or auto, got "${calibration}"`);
  const bands = riskBandsOption(v["risk-bands"]);
  const bootstrap = { ...DEFAULT_BOOTSTRAP, replicates: intOption(v.bootstrap, "bootstrap", DEFAULT_BOOTSTRAP.replicates, { min: 50, max: 100_000 }) };
  const minGain = v["min-gain"] === undefined ? undefined : numberOption(v["min-gain"], "min-gain", 0, { min: -1, max: 1 });
  if (minGain !== undefined && !v.promote) throw new CliError("--min-gain only matters with --promote");
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
  const maxDepth = v["max-depth"] === undefined ? undefined : intOption(v["max-depth"], "max-depth", 0, { min: 1, max: 64 });
  const minLeaf = v["min-leaf"] === undefined ? undefined : intOption(v["min-leaf"], "min-leaf", 0, { min: 1 });
  const maxFeatures = maxFeaturesOption(v["max-features"]);
  const classWeight = classWeightOption(v["class-weight"]);

  // 1. The dataset.
  let dataset: Dataset;
  let source: string;
  let churnDefinition: string | undefined;
  let population: PopulationRule | undefined;
  if (v.dataset) {
    const read = await readDatasetCsv(v.dataset).catch((err: Error) => {
      throw new CliError(err.message, 1);
    });
    dataset = read.dataset;
    source = `${v.dataset}${read.manifest ? ` (${read.manifest.source})` : ""}`;
    churnDefinition = read.manifest?.churnDefinition;
    if (read.manifest) population = read.manifest.population ?? populationRule(read.manifest.activeDays, read.manifest.newDays);
    else log(`note: no ${manifestPathFor(v.dataset)} next to the dataset; assuming a ${dataset.horizonDays}-day horizon and the default lifecycle rule`);
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
    population = populationRule(DEFAULT_ACTIVE_DAYS);
  } else {
    const built = await buildDatasetFromFlags(v, { quiet });
    for (const line of describeBuilt(built)) log(line);
    built.problems.slice(0, 20).forEach((p) => log(`skipped: ${p}`));
    dataset = built.built.dataset;
    source = built.manifest.source;
    churnDefinition = built.manifest.churnDefinition;
    population = built.manifest.population;
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

  // 2. Fit. A flag given together with the search fixes its dimension of the grid.
  const baseGrid = starter ? STARTER_GRID : DEFAULT_GRID;
  const grid = {
    maxDepth: maxDepth !== undefined ? [maxDepth] : [...baseGrid.maxDepth],
    minSamplesLeaf: minLeaf !== undefined ? [minLeaf] : [...baseGrid.minSamplesLeaf],
    maxFeatures: maxFeatures !== undefined ? [maxFeatures] : [...baseGrid.maxFeatures],
    classWeight: classWeight !== undefined ? [classWeight] : [...baseGrid.classWeight],
  };
  const description = v.description ?? (starter ? STARTER.description : undefined);
  const fit = await fitChurnModel(dataset, {
    modelVersion,
    starter,
    ...(description !== undefined ? { description } : {}),
    trees: intOption(v.trees, "trees", starter ? STARTER.trees : DEFAULT_FIT.trees, { min: 1, max: 5000 }),
    search: v["no-search"] !== true,
    grid,
    searchTrees: intOption(v["search-trees"], "search-trees", DEFAULT_SEARCH_TREES, { min: 1, max: 1000 }),
    maxDepth: maxDepth ?? (starter ? STARTER.maxDepth : DEFAULT_FIT.maxDepth),
    minSamplesLeaf: minLeaf ?? (starter ? STARTER.minSamplesLeaf : DEFAULT_FIT.minSamplesLeaf),
    ...(maxFeatures !== undefined ? { maxFeatures } : {}),
    ...(classWeight !== undefined ? { classWeight } : {}),
    seed: intOption(v.seed, "seed", DEFAULT_FIT.seed, { min: 0, max: 0xffffffff }),
    ...(v.jobs !== undefined ? { nJobs: intOption(v.jobs, "jobs", 1, { min: 1, max: 256 }) } : {}),
    testCutoffs: intOption(v["test-cutoffs"], "test-cutoffs", DEFAULT_FIT.testCutoffs, { min: 1 }),
    validationCutoffs: intOption(v["validation-cutoffs"], "validation-cutoffs", DEFAULT_FIT.validationCutoffs, { min: 1 }),
    ...(v["gap-days"] !== undefined ? { gapDays: intOption(v["gap-days"], "gap-days", 0, { min: 0 }) } : {}),
    calibration: calibration as "auto" | "isotonic" | "platt",
    bands,
    bootstrap,
    ...(population ? { population } : {}),
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
    decision = decidePromotion({
      candidate: artifact, current, testRows: fit.test.rows, featureNames: dataset.featureNames, force: v.force === true, bootstrap,
      ...(minGain !== undefined ? { minGain } : {}),
    });
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
    renderReport({
      kind: "training", artifact, series: fit.series, served: fit.test.calibrated, labels: fit.test.labels, bands: fit.bands, bandsUsed: bands,
      testMetrics: fit.testMetrics, perCutoff: fit.perCutoff, source, notes, generatedAt: now,
    }),
  );
  if (decision?.promote) await writePointer(modelsDir, { modelVersion, file: fileName });

  // 5. Summary on stdout.
  const t = fit.testMetrics;
  const h = artifact.hyperparameters!;
  const out = [
    `model ${modelVersion}: test period ${t.cutoffs[0]?.slice(0, 10)} … ${t.cutoffs.at(-1)?.slice(0, 10)}, ${t.rows.toLocaleString("en")} rows of ${t.customers.toLocaleString("en")} customers, ${t.positives.toLocaleString("en")} churned; 95% intervals from ${t.bootstrap.replicates} customer-bootstrap replicates`,
    metricsTable([["model", t.model], ...Object.entries(t.baselines)]),
    ...Object.entries(t.rocAucGain ?? {}).map(([name, g]) => `ROC AUC gain over ${name}: ${g.estimate.toFixed(3)} [${g.interval[0].toFixed(3)}, ${g.interval[1].toFixed(3)}]`),
    `bands: ${bandsLine(fit.bands)}`,
    `calibration ${artifact.calibration.method} (fitted on the validation period); hyperparameters ${h.method === "grid" ? `by grid search (${h.candidates?.length} candidates)` : "fixed"}: ${describeParams(h.chosen)}`,
    ...t.doubts.map((d) => `doubt: ${d}`),
    `time: ${fit.seconds.total.toFixed(1)} s (search ${fit.seconds.search.toFixed(1)} s, final forest ${fit.seconds.forest.toFixed(1)} s)`,
    `wrote ${artifactPath} (${(bytes / 1e6).toFixed(2)} MB) and ${reportPath}`,
    decision ? `promotion: ${decision.promote ? "PROMOTED" : "not promoted"}. ${decision.reason}` : "promotion: not requested (use --promote)",
  ];
  process.stdout.write(out.join("\n") + "\n");
  return 0;
}
