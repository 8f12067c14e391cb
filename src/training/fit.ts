/**
 * fit: dataset -> model artifact, following scikit-learn's fit / predict / evaluate split.
 *
 *  1. time split (split.ts): older cutoffs train, the newest validate, a horizon-long gap between;
 *  2. forest on the training rows, class weights 'balanced' (churners are the minority; without
 *     weights the trees mostly learn "stays");
 *  3. calibration on the validation rows (calibration.ts), thresholds on calibrated validation
 *     scores (thresholds.ts);
 *  4. metrics on the validation rows for the model and both baselines (evaluate.ts, baselines.ts).
 * Pure apart from the trainer's worker threads: writing files is the caller's job.
 */
import { ARTIFACT_FORMAT, type Calibration, type MetricSet, type ModelArtifact } from "../model/artifact.js";
import { FEATURE_NAMES, FEATURE_SET_VERSION } from "../features/index.js";
import { trainRandomForest, type ForestTrainOptions } from "./forest/index.js";
import { applyCalibration, chooseCalibration, crossFitCalibrate, type CalibrationMethod } from "./calibration.js";
import { fitRfm, recencyScores, rfmScores } from "./baselines.js";
import { DEFAULT_ACTIVE_DAYS, churnDefinitionText, countsPerCutoff, iso, type CutoffCount, type Dataset, type DatasetRow } from "./dataset.js";
import { metricSet, type ScoredSeries } from "./evaluate.js";
import { rawScores } from "./score.js";
import { timeSplit } from "./split.js";
import { DEFAULT_THRESHOLD_RULE, pickThresholds, type PickedThresholds, type ThresholdRule } from "./thresholds.js";
import { brierScore, rocAuc } from "./metrics.js";

export interface FitOptions {
  modelVersion: string;
  description?: string;
  starter?: boolean;
  trees?: number;
  maxDepth?: number;
  /** Minimum rows per leaf: smooths leaf churn fractions and keeps artifacts small. Default 20. */
  minSamplesLeaf?: number;
  seed?: number;
  nJobs?: number;
  validationCutoffs?: number;
  /** Default: the dataset's horizon (see split.ts). */
  gapDays?: number;
  calibration?: CalibrationMethod | "auto";
  thresholds?: ThresholdRule;
  /** The dataset's churn definition (from its manifest); default: the standard one. */
  churnDefinition?: string;
  createdAt?: Date;
  onStage?: (stage: string) => void;
}

export interface FitResult {
  artifact: ModelArtifact;
  /** Validation rows and every score on them, for the report and for promotion. */
  validation: {
    rows: DatasetRow[];
    labels: Uint8Array;
    raw: Float64Array;
    /** Out-of-fold calibrated (honest) probabilities: Brier, reliability plot. */
    crossFitted: Float64Array;
    /** Final calibration applied: what the worker would publish; thresholds are picked on these. */
    calibrated: Float64Array;
  };
  series: ScoredSeries[];
  thresholds: PickedThresholds;
  perCutoff: { train: CutoffCount[]; validation: CutoffCount[] };
  trainSeconds: number;
}

export const DEFAULT_FIT = { trees: 100, maxDepth: 10, minSamplesLeaf: 20, seed: 42, validationCutoffs: 4 } as const;

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

export async function fitChurnModel(dataset: Dataset, opts: FitOptions): Promise<FitResult> {
  assertCurrentFeatureSet(dataset);
  const stage = opts.onStage ?? (() => undefined);
  const split = timeSplit(dataset.rows, {
    validationCutoffs: opts.validationCutoffs ?? DEFAULT_FIT.validationCutoffs,
    gapDays: opts.gapDays ?? dataset.horizonDays,
  });
  const yTrain = labelsOf(split.train);
  const yVal = labelsOf(split.validation);
  for (const [name, y] of [["training", yTrain], ["validation", yVal]] as const) {
    const pos = y.reduce((s, v) => s + v, 0);
    if (pos === 0 || pos === y.length) throw new RangeError(`the ${name} rows hold only one class (${pos} churned of ${y.length}): metrics and calibration need both`);
  }

  stage(`training ${opts.trees ?? DEFAULT_FIT.trees} trees on ${split.train.length.toLocaleString("en")} rows (${split.trainCutoffs.length} cutoffs)`);
  const forestOptions: ForestTrainOptions = {
    nEstimators: opts.trees ?? DEFAULT_FIT.trees,
    maxDepth: opts.maxDepth ?? DEFAULT_FIT.maxDepth,
    minSamplesLeaf: opts.minSamplesLeaf ?? DEFAULT_FIT.minSamplesLeaf,
    seed: opts.seed ?? DEFAULT_FIT.seed,
    classWeight: "balanced",
    maxFeatures: "sqrt",
    // The optional per-node option fields are half the JSON and ml-random-forest does not read them.
    compactJson: true,
    ...(opts.nJobs !== undefined ? { nJobs: opts.nJobs } : {}),
  };
  const trained = await trainRandomForest(split.train.map((r) => r.features), yTrain, forestOptions);
  const forest = trained.model;

  stage(`scoring ${split.validation.length.toLocaleString("en")} validation rows (${split.validationCutoffs.length} cutoffs)`);
  const model = { featureNames: dataset.featureNames as string[], forest: forest as unknown as ModelArtifact["forest"] };
  const rawVal = rawScores(model, split.validation, dataset.featureNames);
  const rawTrain = rawScores(model, split.train, dataset.featureNames);
  const groups = split.validation.map((r) => r.customerId);

  stage("calibrating and picking thresholds");
  const chosen = chooseCalibration(opts.calibration ?? "auto", rawVal, yVal, groups);
  const calibratedVal = applyCalibration(rawVal, chosen.calibration);
  const picked = pickThresholds(calibratedVal, yVal, opts.thresholds ?? DEFAULT_THRESHOLD_RULE);

  stage("evaluating against the baselines");
  const validation = metricSet(yVal, rawVal, chosen.crossFitted);
  const rfm = fitRfm(split.train, dataset.featureNames);
  const baselineScores: [string, Float64Array][] = [
    ["recency", recencyScores(split.validation, dataset.featureNames)],
    ["rfm", rfmScores(rfm, split.validation, dataset.featureNames)],
  ];
  const series: ScoredSeries[] = [{ name: "model", labels: yVal, rankScores: rawVal, probabilities: chosen.crossFitted, metrics: validation }];
  const baselines: Record<string, MetricSet> = {};
  for (const [name, scores] of baselineScores) {
    const probabilities = crossFitCalibrate("isotonic", scores, yVal, groups);
    const metrics = metricSet(yVal, scores, probabilities);
    baselines[name] = metrics;
    series.push({ name, labels: yVal, rankScores: scores, probabilities, metrics });
  }

  const featureImportance = Array.from(trained.featureImportances);
  const baseRate = yVal.reduce((s, v) => s + v, 0) / yVal.length;
  const artifact: ModelArtifact = {
    format: ARTIFACT_FORMAT,
    modelVersion: opts.modelVersion,
    createdAt: (opts.createdAt ?? new Date()).toISOString(),
    description: opts.description ?? `random forest, ${forestOptions.nEstimators} trees, max depth ${forestOptions.maxDepth}`,
    starter: opts.starter ?? false,
    featureSetVersion: dataset.featureSetVersion,
    featureNames: [...dataset.featureNames],
    churnDefinition: {
      horizonDays: dataset.horizonDays,
      text: opts.churnDefinition ?? churnDefinitionText(dataset.horizonDays, DEFAULT_ACTIVE_DAYS),
    },
    trainingWindow: {
      trainCutoffs: split.trainCutoffs.map(iso),
      validationCutoffs: split.validationCutoffs.map(iso),
    },
    metrics: {
      validation,
      baselines,
      // Extra context (the schema keeps unknown keys under metrics).
      train: { rows: split.train.length, positives: yTrain.reduce((s, v) => s + v, 0), rocAucInSample: rocAuc(yTrain, rawTrain) },
      validationBaseRate: baseRate,
      brierNoSkill: brierScore(yVal, new Float64Array(yVal.length).fill(baseRate)),
      calibration: { method: chosen.calibration.method, outOfFoldBrier: chosen.brierByMethod },
      thresholdRule: opts.thresholds ?? DEFAULT_THRESHOLD_RULE,
      levels: { shares: picked.shares, churnRate: picked.precision, highRule: picked.highRule, ...(picked.note ? { note: picked.note } : {}) },
      gapCutoffs: split.gapCutoffs.map(iso),
      rankingMetricsOn: "raw forest score (calibration is monotone); brier on out-of-fold calibrated probabilities",
      forest: {
        trees: forestOptions.nEstimators,
        maxDepth: forestOptions.maxDepth,
        minSamplesLeaf: forestOptions.minSamplesLeaf,
        maxFeatures: "sqrt",
        classWeight: "balanced",
        seed: forestOptions.seed,
        nodes: trained.stats.nodes,
        seconds: Math.round(trained.stats.totalSeconds * 100) / 100,
      },
    },
    calibration: chosen.calibration as Calibration,
    thresholds: { medium: picked.medium, high: picked.high },
    featureImportance,
    forest: forest as unknown as ModelArtifact["forest"],
  };
  return {
    artifact,
    validation: { rows: split.validation, labels: yVal, raw: rawVal, crossFitted: chosen.crossFitted, calibrated: calibratedVal },
    series,
    thresholds: picked,
    perCutoff: { train: countsPerCutoff(split.train), validation: countsPerCutoff(split.validation) },
    trainSeconds: trained.stats.totalSeconds,
  };
}
