/**
 * Calibration fitting: maps the forest's raw score (mean leaf churn fraction, possibly trained with
 * balanced class weights, so far from a probability) to a churn probability the retention team
 * can read as "x in 100 like this one leave". Applied at serving time by src/model/calibration.ts.
 *
 * - isotonic: pool-adjacent-violators, the most flexible monotone map. Knots sit at each pooled
 *   block's mean score, joined linearly ("centred" isotonic regression): unlike the usual step
 *   function it keeps different raw scores apart inside the range, so ranking (ROC AUC, top-10%
 *   lists) survives calibration.
 * - platt: a two-parameter sigmoid, steadier when there are few validation rows.
 *
 * Probabilities never claim certainty and are bounded by the evidence behind them: a block's value
 * is its churn rate smoothed with a Beta prior centred on the overall rate,
 *     y = (churned + a) / (rows + a + b),  a = m * rate, b = m * (1 - rate), m = PRIOR_STRENGTH,
 * so an end block of 40 rows that all churned gives about 0.97, not 1, and 4,000 such rows would
 * give 0.9997: the bound shrinks as the evidence grows. The blocks are those of exact isotonic
 * regression; where smoothing carries a thin block past its neighbour, the two are pooled, so the
 * fitted values are strictly increasing: the map is monotone and keeps the ranking. Platt's sigmoid is clamped to the
 * same evidence-backed range (the smoothed isotonic fit's lowest and highest values).
 *
 * Both are fitted on the validation period only (the forest has seen the training rows; its scores
 * there are overconfident), and graded on the untouched test period. To compare the two methods
 * on the validation period itself, crossFitCalibrate fits on four fifths of the customers and
 * scores the fifth.
 */
import type { Calibration } from "../model/artifact.js";
import { calibrate } from "../model/calibration.js";
import { brierScore } from "./metrics.js";
import { fnv1a32 } from "../lib/hash.js";

export type CalibrationMethod = "isotonic" | "platt";

/** Pseudo-rows of prior evidence per block: enough to keep tiny blocks away from 0 and 1, too few to move large ones. */
export const PRIOR_STRENGTH = 2;

type Isotonic = Extract<Calibration, { method: "isotonic" }>;

/**
 * Smoothed isotonic regression of 0/1 labels on scores (pool-adjacent-violators on Beta-smoothed
 * block rates), as knots for `calibrate`. Every value is strictly inside (0, 1).
 */
export function fitIsotonic(scores: ArrayLike<number>, labels: ArrayLike<number>, priorStrength = PRIOR_STRENGTH): Isotonic {
  const n = checkInputs(scores, labels);
  if (!(priorStrength > 0)) throw new RangeError("the calibration prior strength must be > 0 (it keeps probabilities away from 0 and 1)");
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i]!;
  // A prior centred on the overall rate pulls thin blocks towards "an average customer", the honest
  // answer when there is little evidence; clamped so both pseudo-counts stay positive.
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, positives / n));
  const a = priorStrength * rate;
  const b = priorStrength * (1 - rate);
  const value = (sy: number, w: number) => (sy + a) / (w + a + b);

  const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => scores[p]! - scores[q]!);
  // Blocks as parallel stacks: weight, sum of scores, sum of labels.
  const w: number[] = [];
  const sx: number[] = [];
  const sy: number[] = [];
  // Pools the last block into the one before it.
  const mergeLast = () => {
    const last = w.length - 1;
    w[last - 1]! += w[last]!;
    sx[last - 1]! += sx[last]!;
    sy[last - 1]! += sy[last]!;
    w.pop();
    sx.pop();
    sy.pop();
  };
  // 1. Exact isotonic regression of the raw rates (pool-adjacent-violators).
  for (let k = 0; k < n; ) {
    // Equal scores must share one value (a function of the score), so they enter as one block.
    const x = scores[order[k]!]!;
    let cw = 0;
    let cy = 0;
    while (k < n && scores[order[k]!]! === x) {
      cw++;
      cy += labels[order[k]!]!;
      k++;
    }
    w.push(cw);
    sx.push(x * cw);
    sy.push(cy);
    // ">=" rather than ">" pools equal rates too, so the rates are strictly increasing.
    while (w.length >= 2 && sy[w.length - 2]! / w[w.length - 2]! >= sy[w.length - 1]! / w[w.length - 1]!) mergeLast();
  }
  // 2. Smoothing pulls a thin block towards the overall rate, which can carry it past a thicker
  // neighbour (0 of 1 smooths above 1 of 10). Pool such blocks again, now on smoothed values,
  // walking the blocks left to right as PAV does, so the values are strictly increasing.
  const rw = w.splice(0), rx = sx.splice(0), ry = sy.splice(0);
  for (let i = 0; i < rw.length; i++) {
    w.push(rw[i]!);
    sx.push(rx[i]!);
    sy.push(ry[i]!);
    while (w.length >= 2 && value(sy[w.length - 2]!, w[w.length - 2]!) >= value(sy[w.length - 1]!, w[w.length - 1]!)) mergeLast();
  }
  return {
    method: "isotonic",
    x: w.map((wi, i) => sx[i]! / wi),
    y: w.map((wi, i) => value(sy[i]!, wi)),
    rows: w.slice(),
    prior: { a, b },
  };
}

/**
 * Platt scaling p = 1 / (1 + exp(a * score + b)), fitted by Newton's method with backtracking on
 * the log-loss, with Platt's smoothed targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2) so that
 * perfectly separable scores do not send a and b to infinity (Lin, Lin & Weng 2007).
 */
export function fitPlatt(scores: ArrayLike<number>, labels: ArrayLike<number>): Extract<Calibration, { method: "platt" }> & { bounds: [number, number] } {
  const n = checkInputs(scores, labels);
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += labels[i]!;
  const nNeg = n - nPos;
  const hi = (nPos + 1) / (nPos + 2);
  const lo = 1 / (nNeg + 2);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = labels[i] === 1 ? hi : lo;

  const objective = (a: number, b: number): number => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      const z = a * scores[i]! + b;
      f += z >= 0 ? t[i]! * z + Math.log1p(Math.exp(-z)) : (t[i]! - 1) * z + Math.log1p(Math.exp(z));
    }
    return f;
  };

  let a = 0;
  let b = Math.log((nNeg + 1) / (nPos + 1));
  let f = objective(a, b);
  const sigma = 1e-12; // keeps the Hessian invertible
  for (let iter = 0; iter < 100; iter++) {
    let h11 = sigma, h22 = sigma, h21 = 0, g1 = 0, g2 = 0;
    for (let i = 0; i < n; i++) {
      const s = scores[i]!;
      const z = a * s + b;
      // p = P(churn) = 1 / (1 + e^z), q = 1 - p; computed on the side that cannot overflow.
      const p = z >= 0 ? Math.exp(-z) / (1 + Math.exp(-z)) : 1 / (1 + Math.exp(z));
      const q = 1 - p;
      const d2 = p * q;
      h11 += s * s * d2;
      h22 += d2;
      h21 += s * d2;
      const d1 = t[i]! - p;
      g1 += s * d1;
      g2 += d1;
    }
    if (Math.abs(g1) < 1e-5 && Math.abs(g2) < 1e-5) break;
    const det = h11 * h22 - h21 * h21;
    const dA = -(h22 * g1 - h21 * g2) / det;
    const dB = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * dA + g2 * dB;
    let step = 1;
    while (step >= 1e-10) {
      const na = a + step * dA;
      const nb = b + step * dB;
      const nf = objective(na, nb);
      if (nf < f + 1e-4 * step * gd) {
        a = na;
        b = nb;
        f = nf;
        break;
      }
      step /= 2;
    }
    if (step < 1e-10) break;
  }
  // The sigmoid would extrapolate towards 0 and 1 beyond the data; clamp it to what the calibration
  // rows support at their least and most risky ends (the smoothed isotonic fit's range).
  const iso = fitIsotonic(scores, labels);
  return { method: "platt", a, b, bounds: [iso.y[0]!, iso.y[iso.y.length - 1]!] };
}

export function fitCalibration(method: CalibrationMethod, scores: ArrayLike<number>, labels: ArrayLike<number>): Calibration {
  return method === "isotonic" ? fitIsotonic(scores, labels) : fitPlatt(scores, labels);
}

export function applyCalibration(scores: ArrayLike<number>, c: Calibration): Float64Array {
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = calibrate(scores[i]!, c);
  return out;
}

/** Stable fold of a customer (FNV-1a), so all rows of a customer land in the same fold. */
export function foldOf(key: string, folds: number): number {
  return fnv1a32(key) % folds;
}

/**
 * Out-of-fold calibrated probabilities: each customer's rows are calibrated by a map fitted on the
 * other customers. Used to report Brier scores that are not flattered by fitting on the same rows.
 */
export function crossFitCalibrate(
  method: CalibrationMethod,
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  groups: readonly string[],
  folds = 5,
): Float64Array {
  const n = checkInputs(scores, labels);
  const fold = groups.map((g) => foldOf(g, folds));
  const out = new Float64Array(n);
  for (let k = 0; k < folds; k++) {
    const fitIdx: number[] = [];
    const applyIdx: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === k ? applyIdx : fitIdx).push(i);
    if (applyIdx.length === 0) continue;
    // With one customer group (tiny sets) there is nothing to fit on: fall back to in-sample.
    const src = fitIdx.length > 0 ? fitIdx : applyIdx;
    const c = fitCalibration(method, src.map((i) => scores[i]!), src.map((i) => labels[i]!));
    for (const i of applyIdx) out[i] = calibrate(scores[i]!, c);
  }
  return out;
}

export interface ChosenCalibration {
  calibration: Calibration;
  /** Out-of-fold calibrated scores of the chosen method (for honest Brier and reliability plots). */
  crossFitted: Float64Array;
  /** Out-of-fold Brier per method considered. */
  brierByMethod: Partial<Record<CalibrationMethod, number>>;
}

/** Fits the requested method, or with "auto" the one with the lower out-of-fold Brier score. */
export function chooseCalibration(
  requested: CalibrationMethod | "auto",
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  groups: readonly string[],
): ChosenCalibration {
  const methods: CalibrationMethod[] = requested === "auto" ? ["isotonic", "platt"] : [requested];
  let best: { method: CalibrationMethod; crossFitted: Float64Array; brier: number } | null = null;
  const brierByMethod: ChosenCalibration["brierByMethod"] = {};
  for (const method of methods) {
    const crossFitted = crossFitCalibrate(method, scores, labels, groups);
    const brier = brierScore(labels, crossFitted);
    brierByMethod[method] = brier;
    if (best === null || brier < best.brier) best = { method, crossFitted, brier };
  }
  return { calibration: fitCalibration(best!.method, scores, labels), crossFitted: best!.crossFitted, brierByMethod };
}

function checkInputs(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (scores.length !== labels.length) throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  if (scores.length === 0) throw new RangeError("cannot fit a calibration on no rows");
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i]!)) throw new RangeError(`score ${i} is not finite`);
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`label ${i} is ${labels[i]}, expected 0 or 1`);
  }
  return scores.length;
}
