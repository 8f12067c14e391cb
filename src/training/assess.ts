/**
 * evaluate: any artifact on any dataset, with the same split, metrics, intervals and baselines as
 * training, so `train` and `evaluate` give identical numbers on identical rows.
 *
 * Rows evaluated: the test period of the same time split train uses (the newest `testCutoffs`);
 * the validation period before it (one horizon earlier) only calibrates the baselines, exactly as
 * in training. When the dataset is too short for that split (or testCutoffs = 0: every row), the
 * baselines are calibrated out of fold by customer instead, and a note says so. The model's
 * probabilities use the artifact's own calibration, i.e. exactly what the worker would publish.
 *
 * A model predicts churn within its own horizon; graded against labels of another horizon its
 * Brier score, calibration and bands mean nothing. That is refused unless explicitly allowed.
 */
import { populationOf, type ModelArtifact, type TestMetrics } from "../model/artifact.js";
import { calibrate } from "../model/calibration.js";
import { DEFAULT_RISK_BANDS, type RiskBands } from "../model/risk-levels.js";
import { baselineScorers } from "./baselines.js";
import { DEFAULT_BOOTSTRAP, type BootstrapOptions } from "./bootstrap.js";
import { iso, type Dataset, type DatasetManifest, type DatasetRow } from "./dataset.js";
import type { ScoredSeries } from "./evaluate.js";
import { testPeriodMetrics } from "./test-period.js";
import { rawScores } from "./score.js";
import { DEFAULT_SPLIT, distinctCutoffs, SplitError, timeSplit } from "./split.js";
import type { BandOutcome } from "./thresholds.js";

export class HorizonMismatchError extends Error {
  override name = "HorizonMismatchError";
}

export interface AssessOptions {
  /** Newest cutoffs evaluated (default 4); 0 = every row. */
  testCutoffs?: number;
  /** Cutoffs before the test gap that calibrate the baselines (default 4). */
  validationCutoffs?: number;
  gapDays?: number;
  bands?: RiskBands;
  bootstrap?: BootstrapOptions;
  allowHorizonMismatch?: boolean;
  /** The dataset's manifest, when there is one (population check). */
  manifest?: DatasetManifest | null;
}

export interface Assessment {
  rows: DatasetRow[];
  labels: Uint8Array;
  /** Model first, then the baselines; metrics with intervals. */
  series: ScoredSeries[];
  /** The artifact's calibrated probabilities (what the worker publishes). */
  served: Float64Array;
  bands: BandOutcome[];
  testMetrics: TestMetrics;
  evaluatedCutoffs: string[];
  /** Warnings the user must see (printed on stderr and at the top of the report). */
  notes: string[];
}

export function assessArtifact(artifact: ModelArtifact, dataset: Dataset, opts: AssessOptions = {}): Assessment {
  const notes: string[] = [];
  const modelHorizon = artifact.churnDefinition.horizonDays;
  if (modelHorizon !== dataset.horizonDays) {
    const what = `model ${artifact.modelVersion} predicts churn within ${modelHorizon} days, but the dataset's labels use a ${dataset.horizonDays}-day horizon`;
    if (!opts.allowHorizonMismatch) {
      throw new HorizonMismatchError(
        `${what}: Brier, calibration error and risk bands would be meaningless. Rebuild the dataset with --horizon ${modelHorizon}d, ` +
          `or pass --allow-horizon-mismatch to compare rankings anyway`,
      );
    }
    notes.push(`HORIZON MISMATCH: ${what}. Only the ranking metrics (ROC AUC, PR AUC, top 10%) are comparable; Brier, ECE and the bands are not.`);
  }
  if (opts.manifest) {
    const p = populationOf(artifact);
    const active = opts.manifest.activeDays;
    if (active !== p.activeDays) {
      notes.push(`population differs: the model was trained on customers active within ${p.activeDays} days, the dataset holds customers active within ${active} days`);
    }
  }
  if (artifact.featureSetVersion !== dataset.featureSetVersion) {
    notes.push(
      `feature sets differ (model ${artifact.featureSetVersion}, dataset ${dataset.featureSetVersion}): columns were matched by name, but a feature whose meaning changed would still be misread`,
    );
  }

  const nTest = opts.testCutoffs ?? DEFAULT_SPLIT.testCutoffs;
  const cutoffs = distinctCutoffs(dataset.rows);
  if (cutoffs.length === 0) throw new RangeError("the dataset has no rows");
  let rows: DatasetRow[];
  let calibrationRows: DatasetRow[] | null = null;
  if (nTest <= 0) {
    rows = dataset.rows;
    notes.push("every row evaluated (--test-cutoffs 0): baselines calibrated out of fold by customer");
  } else {
    try {
      const split = timeSplit(dataset.rows, {
        testCutoffs: nTest,
        validationCutoffs: opts.validationCutoffs ?? DEFAULT_SPLIT.validationCutoffs,
        gapDays: opts.gapDays ?? dataset.horizonDays,
      });
      rows = split.test;
      calibrationRows = split.validation;
    } catch (err) {
      if (!(err instanceof SplitError)) throw err;
      const evaluated = new Set(cutoffs.slice(-nTest));
      rows = dataset.rows.filter((r) => evaluated.has(r.cutoff));
      notes.push(`the dataset is too short for train's split (${err.message}); evaluated the newest ${evaluated.size} cutoff(s) with baselines calibrated out of fold`);
    }
  }

  const evaluatedIso = distinctCutoffs(rows).map(iso);
  const trained = evaluatedIso.filter((c) => artifact.trainingWindow.trainCutoffs.includes(c));
  const calibratedOn = evaluatedIso.filter((c) => artifact.trainingWindow.validationCutoffs.includes(c));
  if (trained.length) notes.push(`${trained.length} evaluated cutoff(s) were used to TRAIN this model: its metrics here are optimistic`);
  if (calibratedOn.length) notes.push(`${calibratedOn.length} evaluated cutoff(s) were this model's validation cutoffs: its hyperparameters and calibration were fitted on them, so its metrics here are optimistic`);

  const labels = Uint8Array.from(rows, (r) => r.label);
  const positives = labels.reduce((s, v) => s + v, 0);
  if (positives === 0 || positives === labels.length) throw new RangeError(`the evaluated rows hold only one class (${positives} churned of ${labels.length})`);
  const raw = rawScores(artifact, rows, dataset.featureNames);
  const served = Float64Array.from(raw, (s) => calibrate(s, artifact.calibration));
  const groups = rows.map((r) => r.customerId);
  const baselines = baselineScorers(rows, calibrationRows, dataset.featureNames);
  const bootstrap = opts.bootstrap ?? DEFAULT_BOOTSTRAP;
  const bands = opts.bands ?? DEFAULT_RISK_BANDS;
  const t = artifact.thresholds;
  if (t.medium !== bands.medium || t.high !== bands.high) {
    notes.push(`bands: medium from ${bands.medium}, high from ${bands.high} (the artifact recorded medium ${t.medium}, high ${t.high}${artifact.trainingWindow.testCutoffs ? "" : ", rank-share thresholds of an older artifact"})`);
  }
  const { series, bands: bandResult, testMetrics } = testPeriodMetrics({
    cutoffs: evaluatedIso, labels, groups, model: { rankScores: raw, probabilities: served }, baselines, bands, bootstrap,
  });
  return { rows, labels, series, served, bands: bandResult, testMetrics, evaluatedCutoffs: evaluatedIso, notes };
}
