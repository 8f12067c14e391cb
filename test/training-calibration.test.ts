import { describe, expect, it } from "vitest";
import { calibrate } from "../src/model/calibration.js";
import { calibrationSchema } from "../src/model/artifact.js";
import { fitRfm, quantileSorted, recencyScores, rfmScores } from "../src/training/baselines.js";
import { applyCalibration, chooseCalibration, crossFitCalibrate, fitIsotonic, fitPlatt } from "../src/training/calibration.js";
import { DAY_MS, type DatasetRow } from "../src/training/dataset.js";
import { metricSet, topShare } from "../src/training/evaluate.js";
import { brierScore, rocAuc } from "../src/training/metrics.js";
import { timeSplit } from "../src/training/split.js";
import { pickThresholds } from "../src/training/thresholds.js";
import { createRng } from "../src/training/forest/random.js";

/** Seeded uniform numbers (the project's PRNG), so a failing case can be reproduced from its seed. */
function rng(seed: number): () => number {
  const r = createRng(seed);
  return () => r.nextFloat();
}

/** Scores whose true churn probability is score^3: badly miscalibrated (overconfident) but well ranked. */
function miscalibrated(n: number, seed: number): { scores: Float64Array; labels: Uint8Array; groups: string[] } {
  const r = rng(seed);
  const scores = new Float64Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    scores[i] = r();
    labels[i] = r() < scores[i]! ** 3 ? 1 : 0;
  }
  return { scores, labels, groups: Array.from({ length: n }, (_, i) => `c${i}`) };
}

describe("time split", () => {
  const T0 = Date.parse("2024-01-01T00:00:00Z");
  const rows = Array.from({ length: 30 }, (_, w) => [0, 1, 2].map((c) => ({ customerId: `c${c}`, cutoff: T0 + w * 7 * DAY_MS, label: 0 }))).flat();

  it("validates on the newest cutoffs and never trains on a later cutoff than it validates", () => {
    const s = timeSplit(rows, { validationCutoffs: 4, gapDays: 90 });
    expect(s.validationCutoffs).toHaveLength(4);
    expect(Math.max(...s.train.map((r) => r.cutoff))).toBeLessThan(Math.min(...s.validation.map((r) => r.cutoff)));
    // Training labels (cutoff + horizon) end no later than the first validation cutoff.
    expect(Math.max(...s.trainCutoffs) + 90 * DAY_MS).toBeLessThanOrEqual(s.validationCutoffs[0]!);
    expect(s.gapCutoffs.length).toBe(12); // 90 days / 7 = 12.86: the 12 cutoffs in (first validation - 90d, first validation)
    expect(s.train.length + s.validation.length + s.gapCutoffs.length * 3).toBe(rows.length);
    expect(new Set(s.validation.map((r) => r.cutoff)).size).toBe(4);
  });

  it("refuses when no training cutoff is left", () => {
    const twelveWeeks = rows.slice(0, 36); // 3 customers x 12 weekly cutoffs
    expect(() => timeSplit(twelveWeeks, { validationCutoffs: 4, gapDays: 0 })).not.toThrow();
    expect(() => timeSplit(twelveWeeks, { validationCutoffs: 4, gapDays: 90 })).toThrow(/no training cutoff/);
    expect(() => timeSplit(twelveWeeks, { validationCutoffs: 12, gapDays: 0 })).toThrow(/at least 13/);
  });
});

describe("calibration", () => {
  const { scores, labels, groups } = miscalibrated(6000, 1);
  const holdout = miscalibrated(6000, 2);

  it("isotonic (PAV) is monotone, valid for the artifact, and cuts the Brier score of miscalibrated scores", () => {
    const iso = fitIsotonic(scores, labels);
    expect(calibrationSchema.safeParse(iso).success).toBe(true);
    for (let i = 1; i < iso.x.length; i++) {
      expect(iso.x[i]!).toBeGreaterThan(iso.x[i - 1]!);
      expect(iso.y[i]!).toBeGreaterThan(iso.y[i - 1]!); // strictly: knots are block means of merged violators
    }
    const grid = Array.from({ length: 1001 }, (_, i) => i / 1000).map((v) => calibrate(v, iso));
    for (let i = 1; i < grid.length; i++) expect(grid[i]!).toBeGreaterThanOrEqual(grid[i - 1]!);
    const before = brierScore(holdout.labels, holdout.scores);
    const after = brierScore(holdout.labels, applyCalibration(holdout.scores, iso));
    expect(after).toBeLessThan(before * 0.75);
    // Ranking is kept (only the flat end blocks can tie).
    expect(rocAuc(holdout.labels, applyCalibration(holdout.scores, iso))).toBeGreaterThan(rocAuc(holdout.labels, holdout.scores) - 0.005);
  });

  it("isotonic pools violators: a decreasing pair becomes one knot at their mean", () => {
    const c = fitIsotonic([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1]);
    expect(c.x).toEqual([0.1, 0.25, 0.4]);
    expect(c.y).toEqual([0, 0.5, 1]);
  });

  it("Platt recovers a known sigmoid and reduces the Brier score", () => {
    const r = rng(3);
    const n = 20000;
    const s = new Float64Array(n);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = r();
      y[i] = r() < 1 / (1 + Math.exp(-6 * s[i]! + 3)) ? 1 : 0; // a = -6, b = 3 in calibrate's form
    }
    const p = fitPlatt(s, y);
    expect(p.a).toBeCloseTo(-6, 0);
    expect(p.b).toBeCloseTo(3, 0);
    const platt = fitPlatt(scores, labels);
    expect(brierScore(holdout.labels, applyCalibration(holdout.scores, platt))).toBeLessThan(brierScore(holdout.labels, holdout.scores));
  });

  it("Platt stays finite on perfectly separated scores (smoothed targets)", () => {
    const p = fitPlatt([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]);
    expect(Number.isFinite(p.a) && Number.isFinite(p.b)).toBe(true);
    expect(calibrate(0.9, p)).toBeGreaterThan(0.5);
    expect(calibrate(0.1, p)).toBeLessThan(0.5);
  });

  it("cross-fitting grades rows with maps fitted on other customers; auto picks the lower Brier", () => {
    const oof = crossFitCalibrate("isotonic", scores, labels, groups);
    const inSample = applyCalibration(scores, fitIsotonic(scores, labels));
    expect(brierScore(labels, oof)).toBeGreaterThanOrEqual(brierScore(labels, inSample));
    const chosen = chooseCalibration("auto", scores, labels, groups);
    const { isotonic, platt } = chosen.brierByMethod;
    expect(chosen.calibration.method).toBe(isotonic! <= platt! ? "isotonic" : "platt");
  });
});

describe("thresholds", () => {
  const { scores, labels } = miscalibrated(5000, 4);
  const probs = applyCalibration(scores, fitIsotonic(scores, labels));

  it("high = where the top 10% start, medium = top 30%", () => {
    const t = pickThresholds(probs, labels);
    expect(t.medium).toBeLessThanOrEqual(t.high);
    expect(t.shares.high).toBeGreaterThanOrEqual(0.1);
    expect(t.shares.high).toBeLessThan(0.15);
    expect(t.shares.high + t.shares.medium).toBeGreaterThanOrEqual(0.3);
    expect(t.precision.high).toBeGreaterThan(t.precision.medium);
    expect(t.precision.medium).toBeGreaterThan(t.precision.low);
  });

  it("a precision target picks the lowest threshold meeting it", () => {
    const t = pickThresholds(probs, labels, { highTop: 0.1, mediumTop: 0.3, highPrecision: 0.6 });
    expect(t.highRule).toBe("precision");
    expect(t.precision.high).toBeGreaterThanOrEqual(0.6);
    const unreachable = pickThresholds(probs, labels, { highTop: 0.1, mediumTop: 0.3, highPrecision: 1, minSupport: 1000 });
    expect(unreachable.highRule).toBe("share");
    expect(unreachable.note).toMatch(/no threshold reached/);
  });
});

describe("baselines and metrics", () => {
  const names = ["days_since_last_purchase", "purchase_count", "total_spend"];
  const row = (id: number, r: number, f: number, m: number, label: 0 | 1): DatasetRow => ({ customerId: `c${id}`, cutoff: 0, features: [r, f, m], label });
  const train = Array.from({ length: 100 }, (_, i) => row(i, i, 100 - i, (100 - i) * 10, 0));

  it("RFM quintiles come from the training rows; recent, frequent, big spenders score lowest risk", () => {
    const rfm = fitRfm(train, names);
    expect(rfm.recency).toEqual([19.8, 39.6, 59.4, 79.2]);
    const [best, worst, middle] = rfmScores(rfm, [row(0, 1, 99, 990, 0), row(1, 95, 2, 20, 1), row(2, 50, 50, 500, 0)], names);
    expect(best).toBe(3); // 18 - (5 + 5 + 5)
    expect(worst).toBe(15); // 18 - (1 + 1 + 1)
    expect(middle).toBe(9);
    expect(Array.from(recencyScores([row(0, 12.5, 1, 1, 0)], names))).toEqual([12.5]);
    expect(() => fitRfm(train, ["tenure_days"])).toThrow(/days_since_last_purchase/);
  });

  it("quantiles interpolate like numpy", () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4, 5], 0.2)).toBe(1.8);
  });

  it("top-10% precision and lift count ties at the boundary pro rata", () => {
    // 20 rows, top 10% = 2 rows; four rows tie at the top, two of them churned.
    const scores = [1, 1, 1, 1, ...Array(16).fill(0)];
    const labels = [1, 1, 0, 0, ...Array(16).fill(0)];
    const t = topShare(labels, scores);
    expect(t.precision).toBeCloseTo(0.5);
    expect(t.lift).toBeCloseTo(0.5 / 0.1);
    const m = metricSet(labels, scores, scores.map((s) => s * 0.5));
    expect(m).toMatchObject({ rows: 20, positives: 2, precisionTop10: 0.5 });
    expect(m.rocAuc).toBeCloseTo(rocAuc(labels, scores));
  });
});
