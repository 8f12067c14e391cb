/**
 * The pure parts of live quality: the metrics agree with training's definitions on the same rows,
 * PSI on distributions whose answer is known, and the training-row profile's bins.
 */
import { describe, expect, it } from "vitest";
import { bandChurn, liveMetrics } from "../src/quality/metrics.js";
import { DriftAccumulator, psi, PSI_FLOOR } from "../src/quality/drift.js";
import { binIndex, binShares, profileFeatures, quantileEdges } from "../src/model/feature-profile.js";
import { MetricEngine } from "../src/training/bootstrap.js";
import { rocAuc } from "../src/training/metrics.js";
import { createRng } from "../src/training/forest/random.js";

function sample(n: number, seed: number, grid: number | null) {
  const rng = createRng(seed);
  const labels = new Uint8Array(n);
  const probabilities = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = rng.nextFloat();
    // Coarse grids make ties, which both definitions must count the same way.
    probabilities[i] = grid === null ? p : Math.round(p * grid) / grid;
    labels[i] = rng.nextFloat() < p ? 1 : 0;
  }
  return { labels, probabilities };
}

describe("live metrics", () => {
  it("equal training's ROC AUC, precision in the top 10%, ECE and Brier on the same rows, ties included", () => {
    for (const [n, seed, grid] of [[1000, 1, null], [997, 2, 20], [50, 3, 4], [13, 4, 2]] as const) {
      const { labels, probabilities } = sample(n, seed, grid);
      const live = liveMetrics(labels, probabilities);
      const train = new MetricEngine(labels, probabilities, probabilities).compute();
      expect(live.rocAuc, `n=${n}`).toBeCloseTo(train.rocAuc, 12);
      expect(live.rocAuc, `n=${n}`).toBeCloseTo(rocAuc(labels, probabilities), 12);
      expect(live.precisionTop10, `n=${n}`).toBeCloseTo(train.precisionTop10, 12);
      expect(live.ece, `n=${n}`).toBeCloseTo(train.ece, 12);
      expect(live.brier, `n=${n}`).toBeCloseTo(train.brier, 12);
    }
  });

  it("are null where undefined (one class, no rows) rather than NaN", () => {
    expect(liveMetrics([1, 1], [0.2, 0.9])).toMatchObject({ rows: 2, positives: 2, rocAuc: null, churnRate: 1 });
    expect(liveMetrics([], [])).toMatchObject({ rows: 0, rocAuc: null, ece: null, precisionTop10: null });
    expect(() => liveMetrics([2], [0.5])).toThrow(/expected 0 or 1/);
  });

  it("count realised churn per stored level, in the order given, keeping unknown levels", () => {
    const bands = bandChurn(["high", "low", "high", "weird"], [1, 0, 0, 1], [0.8, 0.1, 0.7, 0.5], ["low", "medium", "high"]);
    expect(bands.map((b) => [b.level, b.rows, b.churned, b.churnRate])).toEqual([
      ["low", 1, 0, 0], ["medium", 0, 0, null], ["high", 2, 1, 0.5], ["weird", 1, 1, 1],
    ]);
    expect(bands[2]!.meanPredicted).toBeCloseTo(0.75, 12);
  });
});

describe("population stability index", () => {
  it("is 0 for identical shares, symmetric in its terms, and matches worked examples", () => {
    expect(psi([0.25, 0.25, 0.5], [0.25, 0.25, 0.5])).toBe(0);
    // (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5) = 0.1733 + 0.1014
    expect(psi([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.25 * Math.log(2) + 0.25 * Math.log(1.5), 12);
    expect(psi([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.2747, 4);
    expect(psi([0.25, 0.75], [0.5, 0.5])).toBeCloseTo(psi([0.5, 0.5], [0.25, 0.75]), 12);
    // Ten deciles with a shift of 5 points from the lowest to the highest: about 0.05, "stable".
    const shifted = [0.05, ...Array(8).fill(0.1), 0.15];
    expect(psi(Array(10).fill(0.1), shifted)).toBeCloseTo(0.05 * Math.log(0.5) * -1 + 0.05 * Math.log(1.5), 12);
    expect(() => psi([1], [0.5, 0.5])).toThrow(/shares/);
  });

  it("floors empty bins so a new value range is large but finite", () => {
    const v = psi([0.5, 0.5, 0], [0.4, 0.4, 0.2]);
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeCloseTo(2 * (-0.1 * Math.log(0.8)) + (0.2 - PSI_FLOOR) * Math.log(0.2 / PSI_FLOOR), 12);
    expect(v).toBeGreaterThan(1);
  });

  it("on samples: the same distribution stays well under 0.1, a shifted one goes over 0.2", () => {
    const rng = createRng(11);
    const normal = (mean: number) => () => mean + Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
    const draw = (n: number, f: () => number) => Array.from({ length: n }, () => [f()]);
    const profile = profileFeatures(draw(20_000, normal(0)), ["x"], "test");
    const same = new DriftAccumulator(profile, ["x"]);
    for (const [v] of draw(5_000, normal(0))) same.add([v!]);
    const shifted = new DriftAccumulator(profile, ["x"]);
    for (const [v] of draw(5_000, normal(0.5))) shifted.add([v!]);
    expect(same.report(0.2)).toMatchObject({ rows: 5000, drifted: [] });
    expect(same.report(0.2).features[0]!.psi).toBeLessThan(0.02);
    // A half-standard-deviation shift of a normal: PSI about 0.25 on deciles.
    const r = shifted.report(0.2);
    expect(r.features[0]!.psi).toBeGreaterThan(0.2);
    expect(r.features[0]!.psi).toBeLessThan(0.35);
    expect(r.drifted).toEqual(["x"]);
  });

  it("compares only the profiled features the code still computes", () => {
    const acc = new DriftAccumulator({ source: "t", rows: 4, features: [{ name: "gone", edges: [0], shares: [0.5, 0.5] }, { name: "kept", edges: [0], shares: [0.5, 0.5] }] }, ["kept"]);
    acc.add([1]);
    expect(acc.report().features.map((f) => f.feature)).toEqual(["kept"]);
  });
});

describe("training-row profile", () => {
  it("cuts deciles, inclusive upper edges, one bin per point mass, no empty last bin", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(quantileEdges(values)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(binShares(values, quantileEdges(values))).toEqual(Array(10).fill(0.1));
    // 70% zeros, then 1..30: the zeros are one bin, never split by row order.
    const counts = [...Array(70).fill(0), ...Array.from({ length: 30 }, (_, i) => i + 1)];
    const edges = quantileEdges(counts);
    expect(edges).toEqual([0, 10, 20]);
    expect(binShares(counts, edges)).toEqual([0.7, 0.1, 0.1, 0.1]);
    // A constant feature: one bin holding everything; a value above the maximum lands in the last bin.
    expect(quantileEdges([5, 5, 5])).toEqual([]);
    expect(binIndex([0, 10, 20], 20)).toBe(2);
    expect(binIndex([0, 10, 20], 21)).toBe(3);
    expect(binIndex([0, 10, 20], -1)).toBe(0);
  });

  it("profiles every column of the rows by name", () => {
    const p = profileFeatures([[0, 1], [0, 2], [1, 3], [1, 4]], ["a", "b"], "rows", 2);
    expect(p).toEqual({
      source: "rows", rows: 4,
      features: [{ name: "a", edges: [0], shares: [0.5, 0.5] }, { name: "b", edges: [2], shares: [0.5, 0.5] }],
    });
  });
});
