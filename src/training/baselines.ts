/**
 * The two baselines every model must beat on the same rows, because both are what a retention
 * team could do without a model:
 *  - recency: rank by days since the last purchase (silence is the strongest single signal).
 *  - rfm: the classic marketing score. Recency, frequency (purchase count) and monetary value
 *    (total spend) are each cut into quintiles on the TRAINING rows (1 = worst, 5 = best) and
 *    summed (3..15). The churn score is 18 - sum, so higher means riskier like the other scores.
 * Scores are rankings, not probabilities; Brier scores for them use an out-of-fold isotonic map.
 */
import type { DatasetRow } from "./dataset.js";

export const RECENCY_FEATURE = "days_since_last_purchase";
export const FREQUENCY_FEATURE = "purchase_count";
export const MONETARY_FEATURE = "total_spend";

export interface RfmModel {
  /** Four quintile boundaries (20/40/60/80%) per dimension, from the training rows. */
  recency: number[];
  frequency: number[];
  monetary: number[];
}

function column(featureNames: readonly string[], name: string): number {
  const i = featureNames.indexOf(name);
  if (i < 0) throw new RangeError(`baselines need the feature "${name}", which the dataset does not have`);
  return i;
}

/** Type-7 quantile (linear interpolation, numpy's default) of sorted values. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError("quantile of no values");
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function quintileEdges(values: number[]): number[] {
  const sorted = values.slice().sort((a, b) => a - b);
  return [0.2, 0.4, 0.6, 0.8].map((q) => quantileSorted(sorted, q));
}

/** 1..5: how many edges the value exceeds, plus one. Ties on an edge go to the lower quintile. */
function quintile(value: number, edges: readonly number[]): number {
  let k = 1;
  for (const e of edges) if (value > e) k++;
  return k;
}

export function fitRfm(train: readonly DatasetRow[], featureNames: readonly string[]): RfmModel {
  if (train.length === 0) throw new RangeError("RFM quintiles need training rows");
  const r = column(featureNames, RECENCY_FEATURE);
  const f = column(featureNames, FREQUENCY_FEATURE);
  const m = column(featureNames, MONETARY_FEATURE);
  return {
    recency: quintileEdges(train.map((row) => row.features[r]!)),
    frequency: quintileEdges(train.map((row) => row.features[f]!)),
    monetary: quintileEdges(train.map((row) => row.features[m]!)),
  };
}

export function rfmScores(model: RfmModel, rows: readonly DatasetRow[], featureNames: readonly string[]): Float64Array {
  const r = column(featureNames, RECENCY_FEATURE);
  const f = column(featureNames, FREQUENCY_FEATURE);
  const m = column(featureNames, MONETARY_FEATURE);
  const out = new Float64Array(rows.length);
  rows.forEach((row, i) => {
    // Recent is good, so recency's quintile is reversed: most recent = 5.
    const rScore = 6 - quintile(row.features[r]!, model.recency);
    const fScore = quintile(row.features[f]!, model.frequency);
    const mScore = quintile(row.features[m]!, model.monetary);
    out[i] = 18 - (rScore + fScore + mScore);
  });
  return out;
}

export function recencyScores(rows: readonly DatasetRow[], featureNames: readonly string[]): Float64Array {
  const r = column(featureNames, RECENCY_FEATURE);
  return Float64Array.from(rows, (row) => row.features[r]!);
}
