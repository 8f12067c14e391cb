/**
 * fit: dataset -> model artifact.
 *
 *  1. time split (split.ts): train | gap | validation | gap | test, the test period the newest;
 *  2. hyperparameters (search.ts): a small grid grown on train, chosen on validation (or fixed,
 *     --no-search); the chosen settings refitted on train with the full number of trees;
 *  3. calibration fitted on the validation period (calibration.ts): smoothed, never 0 or 1;
 *  4. the untouched test period: metrics with customer-bootstrap 95% intervals for the model and
 *     both baselines on the same rows (bootstrap.ts, baselines.ts), paired AUC gains over the
 *     baselines, each risk band's share and realised churn (thresholds.ts), and plain warnings
 *     where doubt is large.
 * Pure apart from the trainer's worker threads: writing files is the caller's job.
 */
import { availableParallelism } from "node:os";
import { profileFeatures } from "../model/feature-profile.js";
import { ARTIFACT_FORMAT, type Calibration, type ForestParams, type Hyperparameters, type MetricSet, type ModelArtifact, type TestMetrics } from "../model/artifact.js";
import { FEATURE_NAMES, FEATURE_SET_VERSION } from "../features/index.js";
import { DEFAULT_RISK_BANDS, checkRiskBands, type RiskBands } from "../model/risk-levels.js";
import { prebin, trainRandomForest } from "./forest/index.js";
import { applyCalibration, chooseCalibration, crossFitCalibrate, type CalibrationMethod } from "./calibration.js";
import { BASELINE_NAMES, baselineScorers, baselineScores } from "./baselines.js";
import { DEFAULT_BOOTSTRAP, type BootstrapOptions } from "./bootstrap.js";
import { DEFAULT_ACTIVE_DAYS, churnDefinitionText, countsPerCutoff, iso, populationRule, type CutoffCount, type Dataset, type DatasetRow, type PopulationRule } from "./dataset.js";
import { metricSet, type ScoredSeries } from "./evaluate.js";
import { testPeriodMetrics } from "./test-period.js";
import { rawScores } from "./score.js";
import { DEFAULT_GRID, DEFAULT_SEARCH_TREES, forestOptions, searchHyperparameters, type Grid } from "./search.js";
import { DEFAULT_SPLIT, timeSplit } from "./split.js";
import type { BandOutcome } from "./thresholds.js";
import { brierScore, rocAuc } from "./metrics.js";

export interface FitOptions {
  modelVersion: string;
  description?: string;
  starter?: boolean;
  /** Trees in the final forest. */
  trees?: number;
  /** Choose maxDepth, minSamplesLeaf, maxFeatures and classWeight on the validation period (default true). */
  search?: boolean;
  grid?: Grid;
  /** Trees per grid candidate (default 30). */
  searchTrees?: number;
  /** Settings used without search (and where the grid has no say). */
  maxDepth?: number;
  /** Minimum rows per leaf: smooths leaf churn fractions and keeps artifacts small. Default 20. */
  minSamplesLeaf?: number;
  maxFeatures?: ForestParams["maxFeatures"];
  classWeight?: ForestParams["classWeight"];
  seed?: number;
  nJobs?: number;
  testCutoffs?: number;
  validationCutoffs?: number;
  /** Default: the dataset's horizon (see split.ts). */
  gapDays?: number;
  calibration?: CalibrationMethod | "auto";
  /** Risk bands the report reads (and the artifact records); default DEFAULT_RISK_BANDS. */
  bands?: RiskBands;
  bootstrap?: BootstrapOptions;
  /** Who the rows cover (from the dataset's manifest); default: the default lifecycle rule. */
  population?: PopulationRule;
  /** The dataset's churn definition (from its manifest); default: the standard one. */
  churnDefinition?: string;
  createdAt?: Date;
  onStage?: (stage: string) => void;
}

export interface PeriodScores {
  rows: DatasetRow[];
  labels: Uint8Array;
  raw: Float64Array;
  /** The final calibration applied: what the worker would publish. */
  calibrated: Float64Array;
}

export interface FitResult {
  artifact: ModelArtifact;
  validation: PeriodScores & {
    /** Out-of-fold calibrated probabilities (the validation-period Brier). */
    crossFitted: Float64Array;
  };
  /** The untouched test period: metrics, bands and promotion are computed here. */
  test: PeriodScores;
  /** Test-period series: the model first, then the baselines (metrics with intervals). */
  series: ScoredSeries[];
  bands: BandOutcome[];
  testMetrics: TestMetrics;
  perCutoff: { train: CutoffCount[]; validation: CutoffCount[]; test: CutoffCount[] };
  /** Wall-clock seconds: search, final forest, everything. */
  seconds: { search: number; forest: number; total: number };
}

export const DEFAULT_FIT = {
  trees: 100,
  maxDepth: 10,
  minSamplesLeaf: 20,
  maxFeatures: "sqrt",
  classWeight: "balanced",
  seed: 42,
  testCutoffs: DEFAULT_SPLIT.testCutoffs,
  validationCutoffs: DEFAULT_SPLIT.validationCutoffs,
} as const;

export class DatasetMismatchError extends Error {
  override name = "DatasetMismatchError";
}

/** The worker computes FEATURE_NAMES; a model on other columns could never be served. */
export function assertCurrentFeatureSet(dataset: Pick<Dataset, "featureNames" | "featureSetVersion">): void {
  const same = dataset.featureNames.length === FEATURE_NAMES.length && dataset.featureNames.every((n, i) => n === FEATURE_NAMES[i]);
  if (!same || dataset.featureSetVersion !== FEATURE_SET_VERSION) {
    throw new DatasetMismatchError(
      `the dataset was built with feature set ${dataset.featureSetVersion} (${dataset.featureNames.length} features) but the code has ` +
        `${FEATURE_SET_VERSION} (${FEATURE_NAMES.length}): rebuild it with scripts/build-dataset.ts`,
    );
  }
}

function labelsOf(rows: readonly DatasetRow[]): Uint8Array {
  return Uint8Array.from(rows, (r) => r.label);
}

const sum = (y: Uint8Array) => y.reduce((s, v) => s + v, 0);
const seconds = (since: number) => Math.round((performance.now() - since) / 10) / 100;

export async function fitChurnModel(dataset: Dataset, opts: FitOptions): Promise<FitResult> {
  const started = performance.now();
  assertCurrentFeatureSet(dataset);
  const stage = opts.onStage ?? (() => undefined);
  const bands = checkRiskBands(opts.bands ?? DEFAULT_RISK_BANDS);
  const bootstrap = opts.bootstrap ?? DEFAULT_BOOTSTRAP;
  const seed = opts.seed ?? DEFAULT_FIT.seed;
  const trees = opts.trees ?? DEFAULT_FIT.trees;
  const population = opts.population ?? populationRule(DEFAULT_ACTIVE_DAYS);
  const split = timeSplit(dataset.rows, {
    testCutoffs: opts.testCutoffs ?? DEFAULT_FIT.testCutoffs,
    validationCutoffs: opts.validationCutoffs ?? DEFAULT_FIT.validationCutoffs,
    gapDays: opts.gapDays ?? dataset.horizonDays,
  });
  const yTrain = labelsOf(split.train);
  const yVal = labelsOf(split.validation);
  const yTest = labelsOf(split.test);
  for (const [name, y] of [["training", yTrain], ["validation", yVal], ["test", yTest]] as const) {
    const pos = sum(y);
    if (pos === 0 || pos === y.length) throw new RangeError(`the ${name} rows hold only one class (${pos} churned of ${y.length}): metrics and calibration need both`);
  }
  const xTrain = split.train.map((r) => r.features);
  const xVal = split.validation.map((r) => r.features);
  // The search's candidates and the final forest grow on the same rows: bin them once.
  const prebinned = prebin(xTrain);

  // 2. Hyperparameters: chosen on the validation period, never the test period.
  const fixed: ForestParams = {
    maxDepth: opts.maxDepth ?? DEFAULT_FIT.maxDepth,
    minSamplesLeaf: opts.minSamplesLeaf ?? DEFAULT_FIT.minSamplesLeaf,
    maxFeatures: opts.maxFeatures ?? DEFAULT_FIT.maxFeatures,
    classWeight: opts.classWeight ?? DEFAULT_FIT.classWeight,
  };
  let hyperparameters: Hyperparameters;
  const searchStarted = performance.now();
  if (opts.search ?? true) {
    const grid = opts.grid ?? DEFAULT_GRID;
    const searchTrees = opts.searchTrees ?? DEFAULT_SEARCH_TREES;
    stage(`choosing hyperparameters: ${gridSize(grid)} candidates of ${searchTrees} trees on ${split.train.length.toLocaleString("en")} training rows, scored on ${split.validation.length.toLocaleString("en")} validation rows`);
    const result = await searchHyperparameters({
      xTrain, yTrain, xValidation: xVal, yValidation: yVal, grid, trees: searchTrees, seed, prebinned,
      onCandidate: (done, total, p, auc) => stage(`  ${done}/${total} ${describeParams(p)}: validation ROC AUC ${auc.toFixed(4)}`),
    });
    hyperparameters = {
      method: "grid", chosen: result.chosen, trees, searchTrees, selectedBy: "highest ROC AUC on the validation period",
      candidates: result.candidates, seconds: result.seconds,
    };
  } else {
    hyperparameters = { method: "fixed", chosen: fixed, trees };
  }
  const searchSeconds = seconds(searchStarted);
  const chosen = hyperparameters.chosen;

  const forestStarted = performance.now();
  stage(`training ${trees} trees (${describeParams(chosen)}) on ${split.train.length.toLocaleString("en")} rows (${split.trainCutoffs.length} cutoffs)`);
  const trained = await trainRandomForest(xTrain, yTrain, { ...forestOptions(chosen, trees, seed, opts.nJobs ?? defaultJobs(xTrain.length, trees)), prebinned });
  const forestSeconds = seconds(forestStarted);
  const forest = trained.model as unknown as ModelArtifact["forest"];
  const model = { featureNames: dataset.featureNames as string[], forest };

  // 3. Calibration on the validation period.
  stage(`calibrating on ${split.validation.length.toLocaleString("en")} validation rows (${split.validationCutoffs.length} cutoffs)`);
  const rawVal = rawScores(model, split.validation, dataset.featureNames);
  const rawTrain = rawScores(model, split.train, dataset.featureNames);
  const valGroups = split.validation.map((r) => r.customerId);
  const chosenCalibration = chooseCalibration(opts.calibration ?? "auto", rawVal, yVal, valGroups);
  const calibration = chosenCalibration.calibration;
  const calibratedVal = applyCalibration(rawVal, calibration);
  const validation = metricSet(yVal, rawVal, chosenCalibration.crossFitted);
  const validationBaselines: Record<string, MetricSet> = {};
  for (const name of BASELINE_NAMES) {
    const scores = baselineScores(name, split.validation, dataset.featureNames);
    validationBaselines[name] = metricSet(yVal, scores, crossFitCalibrate("isotonic", scores, yVal, valGroups));
  }

  // 4. The untouched test period.
  stage(`evaluating on the test period: ${split.test.length.toLocaleString("en")} rows (${split.testCutoffs.length} cutoffs), ${bootstrap.replicates} bootstrap replicates`);
  const rawTest = rawScores(model, split.test, dataset.featureNames);
  const calibratedTest = applyCalibration(rawTest, calibration);
  const testGroups = split.test.map((r) => r.customerId);
  const baselines = baselineScorers(split.test, split.validation, dataset.featureNames);
  const { series, bands: bandResult, testMetrics } = testPeriodMetrics({
    cutoffs: split.testCutoffs.map(iso), labels: yTest, groups: testGroups,
    model: { rankScores: rawTest, probabilities: calibratedTest }, baselines, bands, bootstrap,
  });

  const featureImportance = Array.from(trained.featureImportances);
  const baseRate = sum(yVal) / yVal.length;
  const artifact: ModelArtifact = {
    format: ARTIFACT_FORMAT,
    modelVersion: opts.modelVersion,
    createdAt: (opts.createdAt ?? new Date()).toISOString(),
    description: opts.description ?? `random forest, ${trees} trees, ${describeParams(chosen)}${hyperparameters.method === "grid" ? " (chosen on the validation period)" : ""}`,
    starter: opts.starter ?? false,
    featureSetVersion: dataset.featureSetVersion,
    featureNames: [...dataset.featureNames],
    churnDefinition: {
      horizonDays: dataset.horizonDays,
      text: opts.churnDefinition ?? churnDefinitionText(dataset.horizonDays, population.activeDays),
    },
    population: { stages: [...population.stages], activeDays: population.activeDays, newDays: population.newDays },
    trainingWindow: {
      trainCutoffs: split.trainCutoffs.map(iso),
      validationCutoffs: split.validationCutoffs.map(iso),
      testCutoffs: split.testCutoffs.map(iso),
    },
    metrics: {
      validation,
      baselines: validationBaselines,
      test: testMetrics,
      // Extra context (the schema keeps unknown keys under metrics).
      train: { rows: split.train.length, positives: sum(yTrain), rocAucInSample: rocAuc(yTrain, rawTrain) },
      validationBaseRate: baseRate,
      brierNoSkill: brierScore(yVal, new Float64Array(yVal.length).fill(baseRate)),
      calibration: { method: calibration.method, fittedOn: "validation period", outOfFoldBrier: chosenCalibration.brierByMethod },
      gapCutoffs: split.gapCutoffs.map(iso),
      rankingMetricsOn: "raw forest score (calibration is monotone); brier and ece on calibrated probabilities (test: the artifact's calibration; validation: out of fold)",
      forest: { ...chosen, trees, seed, nodes: trained.stats.nodes, seconds: Math.round(trained.stats.totalSeconds * 100) / 100 },
      timing: { searchSeconds, forestSeconds, totalSeconds: seconds(started) },
    },
    calibration: calibration as Calibration,
    hyperparameters,
    // The bands this model's report used: what the levels mean for it.
    thresholds: { medium: bands.medium, high: bands.high },
    featureImportance,
    // The rows the forest learned from: what "today's customers look like the training data" means.
    featureProfile: profileFeatures(xTrain, dataset.featureNames, "training period rows"),
    forest,
  };
  return {
    artifact,
    validation: { rows: split.validation, labels: yVal, raw: rawVal, calibrated: calibratedVal, crossFitted: chosenCalibration.crossFitted },
    test: { rows: split.test, labels: yTest, raw: rawTest, calibrated: calibratedTest },
    series,
    bands: bandResult,
    testMetrics,
    perCutoff: { train: countsPerCutoff(split.train), validation: countsPerCutoff(split.validation), test: countsPerCutoff(split.test) },
    seconds: { search: searchSeconds, forest: forestSeconds, total: seconds(started) },
  };
}

/**
 * Worker threads pay off only for large forests: each one starts by loading tsx and the trainer,
 * several seconds on a busy machine. Measured on the shared 2-core machine, 100 trees on 27,000
 * rows: 1.7 s in the calling thread, 9.0 s with two workers. Above about 5 million row-trees the
 * growing dominates and all cores are used.
 */
export function defaultJobs(rows: number, trees: number): number {
  return rows * trees < 5_000_000 ? 1 : availableParallelism();
}

function gridSize(g: Grid): number {
  return g.maxDepth.length * g.minSamplesLeaf.length * g.maxFeatures.length * g.classWeight.length;
}

export function describeParams(p: ForestParams): string {
  return `max depth ${p.maxDepth}, min leaf ${p.minSamplesLeaf}, features/split ${p.maxFeatures}, class weight ${p.classWeight}`;
}

