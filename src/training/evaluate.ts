/**
 * Evaluation: the artifact's metric set for any score, plus the curves the report draws.
 *
 * What each number is computed on (the same for the model and the baselines):
 *  - rocAuc, prAuc, liftTop10, precisionTop10: the ranking score (the forest's raw score, the
 *    recency in days, the RFM score). Calibration is monotone, so it keeps this ranking.
 *  - brier, ece: probabilities. On the test period these are what the worker would publish: the
 *    calibration fitted on the validation period, never on the graded rows.
 * Top 10% with ties: rows tied at the boundary count in proportion (the expected value under a
 * random tie-break), otherwise coarse scores like RFM's 13 values would depend on row order. The
 * top share is exactly 10% of the rows (weights, in the bootstrap), not rounded to whole rows.
 * One implementation (bootstrap.ts's MetricEngine) serves point estimates and intervals.
 */
import type { MetricSet } from "../model/artifact.js";
import { bootstrapScorers, MetricEngine, type BootstrapOptions, type Interval, type MetricKey } from "./bootstrap.js";

export { TOP_SHARE } from "./bootstrap.js";

export interface TopShare {
  precision: number;
  lift: number;
}

/** Precision and lift among the top `TOP_SHARE` of rows by score (ties at the boundary pro rata). */
export function topShare(labels: ArrayLike<number>, scores: ArrayLike<number>): TopShare {
  const m = new MetricEngine(labels, scores, scores).compute();
  return { precision: m.precisionTop10, lift: m.liftTop10 };
}

export function metricSet(
  labels: ArrayLike<number>,
  rankScores: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  intervals?: Record<MetricKey, Interval>,
): MetricSet {
  return metricSetFrom(new MetricEngine(labels, rankScores, probabilities), intervals);
}

export function metricSetFrom(engine: MetricEngine, intervals?: Record<MetricKey, Interval>): MetricSet {
  let positives = 0;
  for (let i = 0; i < engine.n; i++) positives += engine.labels[i]!;
  const m = engine.compute();
  return { rows: engine.n, positives, ...m, ...(intervals ? { intervals } : {}) };
}

/**
 * The model next to the baselines on the same rows: each one's metrics with customer-bootstrap
 * intervals, and the model's ROC AUC gain over each baseline from the same (paired) replicates.
 * Train's test period and evaluate use this one comparison, so they cannot disagree.
 */
export function compareWithBaselines(
  labels: Uint8Array,
  model: { rankScores: Float64Array; probabilities: Float64Array },
  baselines: readonly { name: string; rankScores: Float64Array; probabilities: Float64Array }[],
  groups: readonly string[],
  bootstrap: BootstrapOptions,
): { series: ScoredSeries[]; rocAucGain: Record<string, { estimate: number; interval: Interval }> } {
  const engines = [model, ...baselines].map((s) => new MetricEngine(labels, s.rankScores, s.probabilities));
  const boot = bootstrapScorers(engines, groups, bootstrap);
  const series: ScoredSeries[] = engines.map((e, i) => ({
    name: i === 0 ? "model" : baselines[i - 1]!.name,
    labels,
    rankScores: e.rankScores,
    probabilities: e.probabilities,
    metrics: metricSetFrom(e, boot.intervals[i]!),
  }));
  // Model minus baseline (bootstrapScorers gives baseline minus model, the first scorer).
  const rocAucGain: Record<string, { estimate: number; interval: Interval }> = {};
  baselines.forEach((b, i) => {
    const d = boot.rocAucVsFirst[i + 1]!;
    rocAucGain[b.name] = { estimate: -d.estimate, interval: [-d.interval[1], -d.interval[0]] };
  });
  return { series, rocAucGain };
}

export interface CurvePoint {
  x: number;
  y: number;
}

/** ROC curve points (fpr, tpr), one per distinct threshold, thinned to at most `maxPoints`. */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>, maxPoints = 200): CurvePoint[] {
  const { tp, fp, nPos, nNeg } = cumulative(labels, scores);
  const pts = [{ x: 0, y: 0 }, ...tp.map((t, i) => ({ x: nNeg ? fp[i]! / nNeg : 0, y: nPos ? t / nPos : 0 }))];
  return thin(pts, maxPoints);
}

/** Precision-recall points (recall, precision), one per distinct threshold, thinned. */
export function prCurve(labels: ArrayLike<number>, scores: ArrayLike<number>, maxPoints = 200): CurvePoint[] {
  const { tp, fp, nPos } = cumulative(labels, scores);
  const pts = tp.map((t, i) => ({ x: nPos ? t / nPos : 0, y: t + fp[i]! > 0 ? t / (t + fp[i]!) : 1 }));
  return thin(pts, maxPoints);
}

function cumulative(labels: ArrayLike<number>, scores: ArrayLike<number>): { tp: number[]; fp: number[]; nPos: number; nNeg: number } {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const tp: number[] = [];
  const fp: number[] = [];
  let t = 0, f = 0;
  for (let i = 0; i < n; ) {
    const s = scores[order[i]!]!;
    while (i < n && scores[order[i]!]! === s) {
      if (labels[order[i]!] === 1) t++;
      else f++;
      i++;
    }
    tp.push(t);
    fp.push(f);
  }
  return { tp, fp, nPos: t, nNeg: f };
}

function thin(points: CurvePoint[], max: number): CurvePoint[] {
  if (points.length <= max) return points;
  const out: CurvePoint[] = [];
  const step = (points.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(points[Math.round(i * step)]!);
  return out;
}

export interface ReliabilityBin {
  lo: number;
  hi: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
}

/** Equal-width probability bins: mean predicted vs observed churn rate (the calibration plot). */
export function reliabilityBins(labels: ArrayLike<number>, probabilities: ArrayLike<number>, bins = 10): ReliabilityBin[] {
  const count = new Array<number>(bins).fill(0);
  const sumP = new Array<number>(bins).fill(0);
  const sumY = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i]!;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    count[b]!++;
    sumP[b]! += p;
    sumY[b]! += labels[i]!;
  }
  return count.map((c, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: c,
    meanPredicted: c ? sumP[b]! / c : Number.NaN,
    observedRate: c ? sumY[b]! / c : Number.NaN,
  }));
}

export interface Histogram {
  edges: number[];
  churned: number[];
  retained: number[];
}

/** Score distribution by outcome over [0, 1]. */
export function scoreHistogram(labels: ArrayLike<number>, probabilities: ArrayLike<number>, bins = 20): Histogram {
  const churned = new Array<number>(bins).fill(0);
  const retained = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(probabilities[i]! * bins)));
    (labels[i] === 1 ? churned : retained)[b]!++;
  }
  return { edges: Array.from({ length: bins + 1 }, (_, i) => i / bins), churned, retained };
}

export interface ScoredSeries {
  name: string;
  labels: ArrayLike<number>;
  rankScores: ArrayLike<number>;
  probabilities: ArrayLike<number>;
  metrics: MetricSet;
}
