/**
 * Applies a stored calibration to a raw forest score (fitting lives in src/training/calibration.ts).
 *
 * A calibrated probability never claims certainty: whatever the method, and for old artifacts whose
 * isotonic knots reach exactly 0 or 1, the result lies in [MIN_PROBABILITY, MAX_PROBABILITY]. New
 * artifacts are already bounded tighter by the evidence (smoothed block rates, see the fitting
 * side); the clamp is the last guard, e.g. for `none` (a raw forest score can be 0 or 1) and for a
 * sigmoid whose tail rounds to 1 in floating point. The bounds survive rounding to 4 decimals.
 */
import type { Calibration } from "./artifact.js";

/** No churn history is evidence for "certainly stays" below this... */
export const MIN_PROBABILITY = 0.001;
/** ...or "certainly leaves" above this. */
export const MAX_PROBABILITY = 0.999;

export function calibrate(raw: number, c: Calibration): number {
  let p: number;
  switch (c.method) {
    case "none":
      p = raw;
      break;
    case "platt":
      p = 1 / (1 + Math.exp(c.a * raw + c.b));
      // The sigmoid extrapolates beyond the calibration rows; `bounds` (new artifacts) keeps it
      // within what the most and least confident groups of those rows support.
      if (c.bounds) p = Math.min(c.bounds[1], Math.max(c.bounds[0], p));
      break;
    case "isotonic":
      p = interpolate(raw, c.x, c.y);
      break;
  }
  // NaN (a broken raw score) stays NaN so callers see it; everything else is clamped.
  return p < MIN_PROBABILITY ? MIN_PROBABILITY : p > MAX_PROBABILITY ? MAX_PROBABILITY : p;
}

/** Piecewise-linear through the knots, flat beyond the ends (isotonic regression's convention). */
function interpolate(v: number, x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  if (v <= x[0]!) return y[0]!;
  if (v >= x[n - 1]!) return y[n - 1]!;
  let lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid]! <= v) lo = mid; else hi = mid;
  }
  const x0 = x[lo]!, x1 = x[hi]!, y0 = y[lo]!, y1 = y[hi]!;
  return x1 === x0 ? y1 : y0 + ((v - x0) / (x1 - x0)) * (y1 - y0);
}
