/** Applies a stored calibration to a raw forest score (fitting lives in src/training/calibration.ts). */
import type { Calibration } from "./artifact.js";

export function calibrate(raw: number, c: Calibration): number {
  switch (c.method) {
    case "none":
      return raw;
    case "platt":
      return 1 / (1 + Math.exp(c.a * raw + c.b));
    case "isotonic":
      return interpolate(raw, c.x, c.y);
  }
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
