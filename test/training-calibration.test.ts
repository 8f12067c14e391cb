import { describe, expect, it } from "vitest";
import { calibrate, MAX_PROBABILITY, MIN_PROBABILITY } from "../src/model/calibration.js";
import { calibrationSchema } from "../src/model/artifact.js";
import { bandRanges, checkRiskBands, DEFAULT_RISK_BANDS, formatRiskBands, levelRank, parseRiskBands, riskLevel } from "../src/model/risk-levels.js";
import { baselineScorers, quantileSorted, recencyScores, rfmScores } from "../src/training/baselines.js";
import { bootstrapScorers, customerBootstrap, MetricEngine, percentileInterval } from "../src/training/bootstrap.js";
import { applyCalibration, chooseCalibration, crossFitCalibrate, fitIsotonic, fitPlatt } from "../src/training/calibration.js";
import { DAY_MS, type DatasetRow } from "../src/training/dataset.js";
import { metricSet, topShare } from "../src/training/evaluate.js";
import { averagePrecision, brierScore, rocAuc } from "../src/training/metrics.js";
import { timeSplit } from "../src/training/split.js";
import { bandOutcomes } from "../src/training/thresholds.js";
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
  const weeks = 52;
  const rows = Array.from({ length: weeks }, (_, w) => [0, 1, 2].map((c) => ({ customerId: `c${c}`, cutoff: T0 + w * 7 * DAY_MS, label: 0 }))).flat();

  it("train | gap | validation | gap | test: the newest cutoffs test, no label reaches into the next period", () => {
    const s = timeSplit(rows, { testCutoffs: 4, validationCutoffs: 4, gapDays: 90 });
    expect(s.testCutoffs).toHaveLength(4);
    expect(s.validationCutoffs).toHaveLength(4);
    expect(s.testCutoffs.at(-1)).toBe(T0 + (weeks - 1) * 7 * DAY_MS);
    // A period's labels (cutoff + horizon) end no later than the next period's first cutoff.
    expect(s.validationCutoffs.at(-1)! + 90 * DAY_MS).toBeLessThanOrEqual(s.testCutoffs[0]!);
    expect(s.trainCutoffs.at(-1)! + 90 * DAY_MS).toBeLessThanOrEqual(s.validationCutoffs[0]!);
    // The gaps are as short as the rule allows: the next cutoff would break it.
    expect(s.validationCutoffs.at(-1)! + 7 * DAY_MS + 90 * DAY_MS).toBeGreaterThan(s.testCutoffs[0]!);
    expect(s.gapCutoffs).toHaveLength(24); // 12 + 12: 90 days / 7 = 12.86
    expect(s.trainCutoffs).toHaveLength(weeks - 4 - 4 - 24);
    expect(s.train.length + s.validation.length + s.test.length + s.gapCutoffs.length * 3).toBe(rows.length);
    for (const [a, b] of [[s.train, s.validation], [s.validation, s.test]] as const) {
      expect(Math.max(...a.map((r) => r.cutoff))).toBeLessThan(Math.min(...b.map((r) => r.cutoff)));
    }
  });

  it("refuses with a message that says what is missing and what to change", () => {
    const short = rows.slice(0, 3 * 30); // 30 weekly cutoffs: 4 + 12 + 4 + 12 > 30
    expect(() => timeSplit(short, { testCutoffs: 4, validationCutoffs: 4, gapDays: 90 })).toThrow(/no training cutoff.*--gap-days/);
    expect(() => timeSplit(short, { testCutoffs: 4, validationCutoffs: 4, gapDays: 0 })).not.toThrow();
    expect(() => timeSplit(short, { testCutoffs: 30, validationCutoffs: 1, gapDays: 0 })).toThrow(/nothing is left to train on/);
    expect(() => timeSplit(short, { testCutoffs: 4, validationCutoffs: 26, gapDays: 0 })).toThrow(/26 validation cutoff\(s\) plus at least one training cutoff/);
  });
});

describe("calibration never claims certainty", () => {
  const { scores, labels, groups } = miscalibrated(6000, 1);
  const holdout = miscalibrated(6000, 2);
  const extremes = [-1e9, -1, 0, 1e-12, 0.5, 1 - 1e-12, 1, 2, 1e9];

  it("smoothed isotonic is strictly monotone at the knots, non-decreasing everywhere, valid for the artifact", () => {
    const iso = fitIsotonic(scores, labels);
    expect(calibrationSchema.safeParse(iso).success).toBe(true);
    for (let i = 1; i < iso.x.length; i++) {
      expect(iso.x[i]!).toBeGreaterThan(iso.x[i - 1]!);
      expect(iso.y[i]!).toBeGreaterThan(iso.y[i - 1]!);
    }
    const grid = [-1, ...Array.from({ length: 2001 }, (_, i) => i / 2000), 2].map((v) => calibrate(v, iso));
    for (let i = 1; i < grid.length; i++) expect(grid[i]!).toBeGreaterThanOrEqual(grid[i - 1]!);
    const before = brierScore(holdout.labels, holdout.scores);
    const after = brierScore(holdout.labels, applyCalibration(holdout.scores, iso));
    expect(after).toBeLessThan(before * 0.75);
    // Ranking is kept (only the flat end blocks can tie).
    expect(rocAuc(holdout.labels, applyCalibration(holdout.scores, iso))).toBeGreaterThan(rocAuc(holdout.labels, holdout.scores) - 0.005);
  });

  it("no calibrated value is 0 or 1 for any raw score, even on perfectly separated data", () => {
    const separated = { s: [0.1, 0.2, 0.3, 0.7, 0.8, 0.9], y: [0, 0, 0, 1, 1, 1] };
    const fits = [
      fitIsotonic(scores, labels),
      fitPlatt(scores, labels),
      fitIsotonic(separated.s, separated.y),
      fitPlatt(separated.s, separated.y),
      fitIsotonic([0.5], [1]),
    ];
    for (const c of fits) {
      for (const v of extremes) {
        const p = calibrate(v, c);
        expect(p, `${c.method} at ${v}`).toBeGreaterThan(0);
        expect(p, `${c.method} at ${v}`).toBeLessThan(1);
      }
    }
    // Four rows that all churned are not certainty: (4 + a) / (4 + a + b) with a + b = 2.
    const allChurned = fitIsotonic(separated.s, separated.y);
    expect(allChurned.y).toHaveLength(2);
    expect(allChurned.y.at(-1)!).toBeCloseTo((3 + 1) / (3 + 2), 10); // rate 0.5 prior: a = b = 1
    expect(allChurned.y[0]!).toBeCloseTo(1 / 5, 10);
  });

  it("the bound shrinks with evidence: an end block of n churners gives (n + a) / (n + a + b)", () => {
    const top = (n: number) => {
      // n non-churners at low scores, n churners at high scores: two pure blocks of n rows.
      const s = [...Array.from({ length: n }, (_, i) => i / (10 * n)), ...Array.from({ length: n }, (_, i) => 0.9 + i / (10 * n))];
      const y = [...Array<number>(n).fill(0), ...Array<number>(n).fill(1)];
      const c = fitIsotonic(s, y);
      return { hi: calibrate(1, c), lo: calibrate(0, c), rows: c.rows };
    };
    const t40 = top(40);
    expect(t40.hi).toBeCloseTo(41 / 42, 10); // the example: 40 of 40 -> ~0.976, not 1
    expect(t40.lo).toBeCloseTo(1 / 42, 10);
    expect(t40.rows).toEqual([40, 40]);
    const sizes = [5, 40, 400, 4000].map(top);
    for (let i = 1; i < sizes.length; i++) {
      expect(sizes[i]!.hi).toBeGreaterThan(sizes[i - 1]!.hi);
      expect(sizes[i]!.lo).toBeLessThan(sizes[i - 1]!.lo);
    }
    expect(sizes.at(-1)!.hi).toBeLessThan(1);
  });

  it("smoothing can pool what raw rates would keep apart, and keeps the result monotone", () => {
    // Raw PAV keeps 0/1 and 1/10 apart (0 < 0.1); smoothed, the single row would sit above the ten.
    const c = fitIsotonic([0.1, ...Array<number>(10).fill(0.2), 0.9], [0, 1, ...Array<number>(9).fill(0), 1]);
    for (let i = 1; i < c.y.length; i++) expect(c.y[i]!).toBeGreaterThan(c.y[i - 1]!);
    expect(c.rows!.reduce((s, v) => s + v, 0)).toBe(12);
    expect(c.x[0]!).toBeCloseTo((0.1 + 10 * 0.2) / 11, 10); // the first two blocks pooled
  });

  it("old artifacts and uncalibrated scores are clamped inside (0, 1) at serving time", () => {
    const old = { method: "isotonic" as const, x: [0.1, 0.9], y: [0, 1] };
    expect(calibrate(0, old)).toBe(MIN_PROBABILITY);
    expect(calibrate(1, old)).toBe(MAX_PROBABILITY);
    expect(calibrate(1, { method: "none" })).toBe(MAX_PROBABILITY);
    expect(calibrate(0, { method: "none" })).toBe(MIN_PROBABILITY);
    expect(calibrate(1, { method: "platt", a: -80, b: 0 })).toBe(MAX_PROBABILITY); // 1/(1+e^-80) rounds to 1
    expect(Number(calibrate(1, old).toFixed(4))).toBeLessThan(1); // survives the scorer's 4-decimal rounding
    // Platt's bounds from its calibration rows.
    const p = fitPlatt(scores, labels);
    expect(calibrate(1e9, p)).toBeCloseTo(Math.min(MAX_PROBABILITY, p.bounds[1]), 12);
    expect(calibrate(-1e9, p)).toBeCloseTo(Math.max(MIN_PROBABILITY, p.bounds[0]), 12);
    expect(p.bounds[1]).toBeLessThan(1);
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

  it("cross-fitting grades rows with maps fitted on other customers; auto picks the lower Brier", () => {
    const oof = crossFitCalibrate("isotonic", scores, labels, groups);
    const inSample = applyCalibration(scores, fitIsotonic(scores, labels));
    expect(brierScore(labels, oof)).toBeGreaterThanOrEqual(brierScore(labels, inSample));
    const chosen = chooseCalibration("auto", scores, labels, groups);
    const { isotonic, platt } = chosen.brierByMethod;
    expect(chosen.calibration.method).toBe(isotonic! <= platt! ? "isotonic" : "platt");
  });
});

describe("risk bands", () => {
  it("defaults read naturally and parse from a deployment setting", () => {
    expect(DEFAULT_RISK_BANDS).toEqual({ medium: 0.3, high: 0.6 });
    expect(parseRiskBands("medium=0.3,high=0.6")).toEqual({ medium: 0.3, high: 0.6 });
    expect(parseRiskBands(" high = 0.7 ")).toEqual({ medium: 0.3, high: 0.7 });
    expect(parseRiskBands("MEDIUM=.2, high=0.5")).toEqual({ medium: 0.2, high: 0.5 });
    expect(parseRiskBands(formatRiskBands({ medium: 0.15, high: 0.45 }))).toEqual({ medium: 0.15, high: 0.45 });
  });

  it("refuses settings that would make a band empty or claim certainty, saying what is expected", () => {
    for (const bad of ["", "medium=0.6,high=0.3", "medium=0.5,high=0.5", "high=1", "medium=0", "low=0.1", "medium=abc", "medium=0.2,medium=0.3", "high=0.2"]) {
      expect(() => parseRiskBands(bad), bad).toThrow(/risk band|expected "medium=P,high=P"/);
    }
    expect(() => parseRiskBands("medium=0.6,high=0.3")).toThrow(/e\.g\. "medium=0\.3,high=0\.6"/);
    expect(() => checkRiskBands({ medium: Number.NaN, high: 0.5 })).toThrow(/strictly between 0 and 1/);
  });

  it("a larger probability never gets a lower level", () => {
    const bands = parseRiskBands("medium=0.25,high=0.55");
    let prev = -1;
    for (let i = 0; i <= 10000; i++) {
      const rank = levelRank(riskLevel(i / 10000, bands));
      expect(rank).toBeGreaterThanOrEqual(prev);
      prev = rank;
    }
    expect(riskLevel(0.25, bands)).toBe("medium");
    expect(riskLevel(0.5499, bands)).toBe("medium");
    expect(riskLevel(0.55, bands)).toBe("high");
    expect(bandRanges(bands).map((b) => [b.level, b.from, b.to])).toEqual([["low", 0, 0.25], ["medium", 0.25, 0.55], ["high", 0.55, 1]]);
  });

  it("band outcomes: share and realised churn per band, with customer-bootstrap intervals", () => {
    const { scores, labels, groups } = miscalibrated(4000, 4);
    const probs = applyCalibration(scores, fitIsotonic(scores, labels));
    const out = bandOutcomes(probs, labels, DEFAULT_RISK_BANDS, { groups, bootstrap: { replicates: 200, seed: 1 } });
    expect(out.map((b) => b.level)).toEqual(["low", "medium", "high"]);
    expect(out.reduce((s, b) => s + b.share, 0)).toBeCloseTo(1, 12);
    expect(out.reduce((s, b) => s + b.rows, 0)).toBe(4000);
    // Calibrated in sample: each band's realised churn lies inside its range, and rises with the level.
    for (const b of out) {
      expect(b.churnRate).toBeGreaterThanOrEqual(b.from - 0.02);
      expect(b.churnRate).toBeLessThan(b.to + 0.02);
      expect(b.churnRateInterval![0]).toBeLessThanOrEqual(b.churnRate);
      expect(b.churnRateInterval![1]).toBeGreaterThanOrEqual(b.churnRate);
    }
    expect(out[2]!.churnRate).toBeGreaterThan(out[1]!.churnRate);
    expect(out[1]!.churnRate).toBeGreaterThan(out[0]!.churnRate);
  });
});

describe("metrics and the customer bootstrap", () => {
  const { scores, labels } = miscalibrated(3000, 7);
  // Coarse scores with many ties, like RFM's 13 values.
  const coarse = Float64Array.from(scores, (s) => Math.round(s * 12));

  it("the weighted engine equals the reference metrics with unit weights, ties included", () => {
    for (const s of [scores, coarse]) {
      const m = new MetricEngine(labels, s, scores).compute();
      expect(m.rocAuc).toBeCloseTo(rocAuc(labels, s), 12);
      expect(m.prAuc).toBeCloseTo(averagePrecision(labels, s), 12);
      expect(m.brier).toBeCloseTo(brierScore(labels, scores), 12);
    }
  });

  it("a row weighted k counts like k copies of it", () => {
    const w = Float64Array.from(labels, (_, i) => (i % 3 === 0 ? 2 : i % 5 === 0 ? 0 : 1));
    const idx: number[] = [];
    w.forEach((k, i) => {
      for (let j = 0; j < k; j++) idx.push(i);
    });
    const copies = new MetricEngine(idx.map((i) => labels[i]!), idx.map((i) => coarse[i]!), idx.map((i) => scores[i]!)).compute();
    const weighted = new MetricEngine(labels, coarse, scores).compute(w);
    for (const k of Object.keys(copies) as (keyof typeof copies)[]) expect(weighted[k], k).toBeCloseTo(copies[k], 10);
  });

  it("top-10% precision and lift count ties at the boundary pro rata; ECE is zero for perfect calibration", () => {
    // 20 rows, top 10% = 2 rows; four rows tie at the top, two of them churned.
    const s = [1, 1, 1, 1, ...Array<number>(16).fill(0)];
    const y = [1, 1, 0, 0, ...Array<number>(16).fill(0)];
    const t = topShare(y, s);
    expect(t.precision).toBeCloseTo(0.5);
    expect(t.lift).toBeCloseTo(0.5 / 0.1);
    const m = metricSet(y, s, s.map((v) => v * 0.5));
    expect(m).toMatchObject({ rows: 20, positives: 2, precisionTop10: 0.5 });
    expect(m.rocAuc).toBeCloseTo(rocAuc(y, s));
    expect(m.ece).toBeCloseTo(Math.abs(4 * 0.5 - 2) / 20 + 0, 12); // bin 0.5: predicted 2, observed 2 -> 0
    expect(metricSet([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]).ece).toBe(0);
  });

  it("resamples customers: all rows of a customer share one weight; intervals cover the estimate", () => {
    const groups = Array.from(labels, (_, i) => `c${i % 500}`); // 500 customers, 6 rows each
    // A customer's rows at neighbouring cutoffs are near copies: the same score and outcome.
    const copyOf = (a: ArrayLike<number>) => Float64Array.from(a, (_, i) => a[i % 500]!);
    // The second scorer keeps only "below or above 0.5": a much poorer ranking.
    const [cScores, cCoarse, cLabels] = [copyOf(scores), copyOf(Float64Array.from(scores, (v) => (v < 0.5 ? 0 : 1))), Uint8Array.from(copyOf(labels))];
    customerBootstrap(groups, { replicates: 5, seed: 3 }, (w) => {
      for (let i = 500; i < groups.length; i++) expect(w[i]).toBe(w[i % 500]);
      expect(w.reduce((s, v) => s + v, 0)).toBe(groups.length); // 500 draws x 6 rows
    });
    const engines = [new MetricEngine(cLabels, cScores, cScores), new MetricEngine(cLabels, cCoarse, cScores)];
    const b = bootstrapScorers(engines, groups, { replicates: 300, seed: 5 });
    const [lo, hi] = b.intervals[0]!.rocAuc;
    expect(lo).toBeLessThan(b.point[0]!.rocAuc);
    expect(hi).toBeGreaterThan(b.point[0]!.rocAuc);
    // Clustered rows give wider intervals than pretending every row is its own customer (about
    // sqrt(6) wider here, where each customer's six rows are copies).
    const rowsAsCustomers = bootstrapScorers(engines, groups.map((_, i) => `r${i}`), { replicates: 300, seed: 5 });
    const width = (x: readonly [number, number]) => x[1] - x[0];
    expect(width(b.intervals[0]!.rocAuc)).toBeGreaterThan(1.8 * width(rowsAsCustomers.intervals[0]!.rocAuc));
    // Paired difference: the two-valued score loses ranking; its interval lies below zero.
    expect(b.rocAucVsFirst[1]!.estimate).toBeLessThan(0);
    expect(b.rocAucVsFirst[1]!.interval[1]).toBeLessThan(0);
    // Same seed, same intervals.
    expect(bootstrapScorers(engines, groups, { replicates: 300, seed: 5 }).intervals).toEqual(b.intervals);
  });

  it("percentile intervals ignore NaN replicates", () => {
    expect(percentileInterval([3, 1, Number.NaN, 2])).toEqual([1.05, 2.95]);
    expect(percentileInterval([Number.NaN])).toEqual([Number.NaN, Number.NaN]);
  });
});

describe("baselines", () => {
  const names = ["days_since_last_purchase", "purchase_count", "total_spend"];
  const row = (id: number, r: number, f: number, m: number, label: 0 | 1, cutoff = 0): DatasetRow => ({ customerId: `c${id}`, cutoff, features: [r, f, m], label });
  const base = Array.from({ length: 100 }, (_, i) => row(i, i, 100 - i, (100 - i) * 10, 0));

  it("RFM quintiles are cut among the customers of the same cutoff; recent, frequent, big spenders score lowest", () => {
    const scored = [...base, row(200, 1, 99, 990, 0), row(201, 95, 2, 20, 1), row(202, 50, 50, 500, 0)];
    const s = rfmScores(scored, names);
    expect(s[100]).toBe(3); // 18 - (5 + 5 + 5)
    expect(s[101]).toBe(15); // 18 - (1 + 1 + 1)
    expect(s[102]).toBe(9);
    expect(Array.from(recencyScores([row(0, 12.5, 1, 1, 0)], names))).toEqual([12.5]);
    expect(() => rfmScores(base, ["tenure_days"])).toThrow(/days_since_last_purchase/);
  });

  it("one definition: a row's RFM score does not depend on which other cutoffs are held (train and evaluate agree)", () => {
    const other = Array.from({ length: 100 }, (_, i) => row(i, i * 3, 5, 50, 1, 7 * DAY_MS)); // another cutoff, other distribution
    const alone = rfmScores(base, names);
    const together = rfmScores([...other, ...base], names);
    expect(Array.from(together.slice(100))).toEqual(Array.from(alone));
  });

  it("baseline probabilities come from the calibration rows when given, out of fold otherwise", () => {
    const evaluated = base.map((r, i) => ({ ...r, label: (i > 70 ? 1 : 0) as 0 | 1 }));
    const calib = evaluated.map((r) => ({ ...r, cutoff: -7 * DAY_MS }));
    const withCalib = baselineScorers(evaluated, calib, names);
    expect(withCalib.map((b) => b.name)).toEqual(["recency", "rfm"]);
    for (const b of withCalib) for (const p of b.probabilities) expect(p > 0 && p < 1).toBe(true);
    const oof = baselineScorers(evaluated, null, names);
    expect(Array.from(oof[0]!.rankScores)).toEqual(Array.from(withCalib[0]!.rankScores));
  });

  it("quantiles interpolate like numpy", () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4, 5], 0.2)).toBe(1.8);
  });
});
