/**
 * evaluate: any artifact on any dataset, with the same metrics and baselines as training.
 *
 * Rows evaluated: the newest `validationCutoffs` cutoffs (default 4), like training's validation;
 * the older rows only provide the RFM quintile edges (features, never labels, so nothing leaks).
 * With too few cutoffs (or validationCutoffs = 0) every row is evaluated and the RFM edges come
 * from those rows. The model's Brier uses the artifact's own calibration, i.e. exactly what the
 * worker would publish.
 */
import type { ModelArtifact } from "../model/artifact.js";
import { calibrate } from "../model/calibration.js";
import { riskLevel } from "../model/risk-levels.js";
import { crossFitCalibrate } from "./calibration.js";
import { fitRfm, recencyScores, rfmScores } from "./baselines.js";
import { iso, type Dataset, type DatasetRow } from "./dataset.js";
import { metricSet, type ScoredSeries } from "./evaluate.js";
import { rawScores } from "./score.js";
import { distinctCutoffs } from "./split.js";

export interface Assessment {
  rows: DatasetRow[];
  labels: Uint8Array;
  /** Model first, then the baselines. */
  series: ScoredSeries[];
  /** The artifact's calibrated probabilities (what the worker publishes). */
  served: Float64Array;
  levels: Record<"high" | "medium" | "low", { rows: number; churned: number }>;
  evaluatedCutoffs: string[];
  notes: string[];
}

export function assessArtifact(artifact: ModelArtifact, dataset: Dataset, opts: { validationCutoffs: number }): Assessment {
  const notes: string[] = [];
  const cutoffs = distinctCutoffs(dataset.rows);
  const n = opts.validationCutoffs;
  const useAll = n <= 0 || cutoffs.length <= n;
  const evaluated = new Set(useAll ? cutoffs : cutoffs.slice(-n));
  const rows = dataset.rows.filter((r) => evaluated.has(r.cutoff));
  const reference = useAll ? rows : dataset.rows.filter((r) => !evaluated.has(r.cutoff));
  if (rows.length === 0) throw new RangeError("the dataset has no rows");
  if (useAll && n > 0) notes.push(`the dataset has only ${cutoffs.length} cutoff(s): all rows evaluated, RFM quintiles cut on them`);

  if (artifact.featureSetVersion !== dataset.featureSetVersion) {
    notes.push(
      `feature sets differ (model ${artifact.featureSetVersion}, dataset ${dataset.featureSetVersion}): columns were matched by name, but a feature whose meaning changed would still be misread`,
    );
  }
  const evaluatedIso = [...evaluated].sort((a, b) => a - b).map(iso);
  const trained = evaluatedIso.filter((c) => artifact.trainingWindow.trainCutoffs.includes(c));
  const calibratedOn = evaluatedIso.filter((c) => artifact.trainingWindow.validationCutoffs.includes(c));
  if (trained.length) notes.push(`${trained.length} evaluated cutoff(s) were used to TRAIN this model: its metrics here are optimistic`);
  if (calibratedOn.length) notes.push(`${calibratedOn.length} evaluated cutoff(s) were this model's validation cutoffs: its calibration and thresholds were fitted on them`);

  const labels = Uint8Array.from(rows, (r) => r.label);
  const positives = labels.reduce((s, v) => s + v, 0);
  if (positives === 0 || positives === labels.length) throw new RangeError(`the evaluated rows hold only one class (${positives} churned of ${labels.length})`);
  const raw = rawScores(artifact, rows, dataset.featureNames);
  const served = Float64Array.from(raw, (s) => calibrate(s, artifact.calibration));
  const series: ScoredSeries[] = [{ name: "model", labels, rankScores: raw, probabilities: served, metrics: metricSet(labels, raw, served) }];
  const groups = rows.map((r) => r.customerId);
  const rfm = fitRfm(reference, dataset.featureNames);
  for (const [name, scores] of [
    ["recency", recencyScores(rows, dataset.featureNames)],
    ["rfm", rfmScores(rfm, rows, dataset.featureNames)],
  ] as const) {
    const probabilities = crossFitCalibrate("isotonic", scores, labels, groups);
    series.push({ name, labels, rankScores: scores, probabilities, metrics: metricSet(labels, scores, probabilities) });
  }

  const levels: Assessment["levels"] = { high: { rows: 0, churned: 0 }, medium: { rows: 0, churned: 0 }, low: { rows: 0, churned: 0 } };
  served.forEach((p, i) => {
    const level = riskLevel(p, artifact.thresholds);
    levels[level].rows++;
    levels[level].churned += labels[i]!;
  });
  return { rows, labels, series, served, levels, evaluatedCutoffs: evaluatedIso, notes };
}
