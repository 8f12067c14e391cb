/**
 * Metrics of live model quality: the scores the worker gave at T graded against what customers did
 * in (T, T + horizon]. Pure.
 *
 * The definitions are training's (src/training/bootstrap.ts MetricEngine, which the report and
 * promotion use), restated here because the worker must not load src/training/ (architecture
 * rule); test/quality-metrics.test.ts checks that both give the same numbers on the same rows.
 *  - ROC AUC: the chance that a random churner scored above a random stayer, ties counted half.
 *    Computed on the stored (calibrated) probability: calibration is monotone, so the ranking is
 *    the raw score's, except that isotonic calibration can tie scores the forest told apart.
 *  - precision in the top 10%: churn rate among the 10% highest scores, tied scores at the
 *    boundary taken pro rata (a random tie-break's expectation).
 *  - ECE: row-weighted mean |predicted - observed| over ten equal-width probability bins.
 *  - Brier: mean squared error of the probability.
 * Realised churn per band uses the level stored with the score: what the teams were shown.
 */

export const TOP_SHARE = 0.1;
export const ECE_BINS = 10;

export interface LiveMetricValues {
  rows: number;
  positives: number;
  /** Null where undefined: a class is missing (AUC) or there are no rows. */
  rocAuc: number | null;
  precisionTop10: number | null;
  ece: number | null;
  brier: number | null;
  /** Mean predicted probability and realised churn rate over all rows. */
  meanPredicted: number | null;
  churnRate: number | null;
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

export function liveMetrics(labels: ArrayLike<number>, probabilities: ArrayLike<number>): LiveMetricValues {
  const n = labels.length;
  if (probabilities.length !== n) throw new RangeError(`${n} labels but ${probabilities.length} probabilities`);
  let positives = 0;
  let brier = 0;
  let sumP = 0;
  const binP = new Float64Array(ECE_BINS);
  const binY = new Float64Array(ECE_BINS);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const p = probabilities[i]!;
    if (y !== 0 && y !== 1) throw new RangeError(`label at ${i} is ${y}, expected 0 or 1`);
    if (!Number.isFinite(p)) throw new RangeError(`probability at ${i} is ${p}`);
    positives += y;
    brier += (p - y) * (p - y);
    sumP += p;
    const b = Math.min(ECE_BINS - 1, Math.max(0, Math.floor(p * ECE_BINS)));
    binP[b]! += p;
    binY[b]! += y;
  }
  if (n === 0) return { rows: 0, positives: 0, rocAuc: null, precisionTop10: null, ece: null, brier: null, meanPredicted: null, churnRate: null };
  let ece = 0;
  for (let b = 0; b < ECE_BINS; b++) ece += Math.abs(binP[b]! - binY[b]!);

  // Riskiest first; one pass over groups of tied scores gives AUC and the top share.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probabilities[b]! - probabilities[a]!);
  const negatives = n - positives;
  const k = TOP_SHARE * n;
  let posAbove = 0, aucNum = 0, topPos = 0, taken = 0;
  for (let g = 0; g < n; ) {
    const p = probabilities[order[g]!]!;
    let gp = 0, gw = 0;
    while (g < n && probabilities[order[g]!]! === p) {
      gp += labels[order[g]!]!;
      gw++;
      g++;
    }
    aucNum += (gw - gp) * (posAbove + 0.5 * gp);
    posAbove += gp;
    if (taken < k) {
      const take = Math.min(gw, k - taken);
      topPos += gp * (take / gw);
      taken += take;
    }
  }
  return {
    rows: n,
    positives,
    rocAuc: positives > 0 && negatives > 0 ? aucNum / (positives * negatives) : null,
    precisionTop10: finite(topPos / k),
    ece: ece / n,
    brier: brier / n,
    meanPredicted: sumP / n,
    churnRate: positives / n,
  };
}

export interface LiveBand {
  level: string;
  /** The band's probability range [from, to) under the model's thresholds (null if unknown). */
  from: number | null;
  to: number | null;
  rows: number;
  churned: number;
  /** Realised churn rate; null when the band is empty. */
  churnRate: number | null;
  meanPredicted: number | null;
}

/**
 * Realised churn per stored risk level, in `levels` order (levels seen but not listed come after,
 * so an unknown level still shows up instead of disappearing).
 */
export function bandChurn(
  levels: readonly string[],
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  order: readonly string[],
  ranges: ReadonlyMap<string, { from: number; to: number }> = new Map(),
): LiveBand[] {
  const acc = new Map<string, { rows: number; churned: number; sumP: number }>(order.map((l) => [l, { rows: 0, churned: 0, sumP: 0 }]));
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    let a = acc.get(l);
    if (!a) {
      a = { rows: 0, churned: 0, sumP: 0 };
      acc.set(l, a);
    }
    a.rows++;
    a.churned += labels[i]!;
    a.sumP += probabilities[i]!;
  }
  return [...acc].map(([level, a]) => ({
    level,
    from: ranges.get(level)?.from ?? null,
    to: ranges.get(level)?.to ?? null,
    rows: a.rows,
    churned: a.churned,
    churnRate: a.rows > 0 ? a.churned / a.rows : null,
    meanPredicted: a.rows > 0 ? a.sumP / a.rows : null,
  }));
}
