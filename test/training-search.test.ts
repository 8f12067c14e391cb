import { describe, expect, it } from "vitest";
import { prebin, trainRandomForest } from "../src/training/forest/index.js";
import { createRng } from "../src/training/forest/random.js";
import { DEFAULT_GRID, forestOptions, gridCandidates, searchHyperparameters } from "../src/training/search.js";

/** Two informative features and two noise features; label depends on x0 and x1. */
function data(n: number, seed: number): { X: number[][]; y: Uint8Array } {
  const r = createRng(seed);
  const X: number[][] = [];
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const row = [r.nextFloat(), r.nextFloat(), r.nextFloat(), Math.floor(r.nextFloat() * 5)];
    X.push(row);
    y[i] = r.nextFloat() < 0.15 + 0.7 * (row[0]! > 0.5 ? 1 : 0) * row[1]! ? 1 : 0;
  }
  return { X, y };
}

describe("hyperparameter search", () => {
  it("the default grid has 16 candidates over depth, leaf size, features per split and class weight", () => {
    const c = gridCandidates(DEFAULT_GRID);
    expect(c).toHaveLength(16);
    expect(new Set(c.map((p) => JSON.stringify(p))).size).toBe(16);
    expect(forestOptions(c[0]!, 30, 7)).toMatchObject({ nEstimators: 30, maxDepth: 6, minSamplesLeaf: 20, maxFeatures: "sqrt", classWeight: "balanced", seed: 7 });
    expect(forestOptions({ ...c[0]!, classWeight: "none" }, 30, 7).classWeight).toBeNull();
    expect(() => gridCandidates({ ...DEFAULT_GRID, maxDepth: [] })).toThrow(/empty/);
  });

  it("binning once gives the same forest as binning per fit, in thread and on workers", async () => {
    const { X, y } = data(1500, 1);
    const opts = { nEstimators: 6, maxDepth: 5, minSamplesLeaf: 5, seed: 3, compactJson: true } as const;
    const pre = prebin(X);
    const plain = await trainRandomForest(X, y, { ...opts, nJobs: 1 });
    const shared = await trainRandomForest(X, y, { ...opts, nJobs: 1, prebinned: pre });
    expect(JSON.stringify(shared.model)).toBe(JSON.stringify(plain.model));
    const threaded = await trainRandomForest(X, y, { ...opts, nJobs: 2, prebinned: pre });
    expect(JSON.stringify(threaded.model)).toBe(JSON.stringify(plain.model));
    await expect(trainRandomForest(X.slice(1), y.slice(1), { ...opts, nJobs: 1, prebinned: pre })).rejects.toThrow(/other rows/);
  });

  it("chooses the candidate with the highest validation ROC AUC and reports every candidate", async () => {
    const train = data(2000, 2);
    const val = data(1000, 3);
    const seen: number[] = [];
    const r = await searchHyperparameters({
      xTrain: train.X, yTrain: train.y, xValidation: val.X, yValidation: val.y,
      grid: { maxDepth: [1, 6], minSamplesLeaf: [10], maxFeatures: ["all"], classWeight: ["balanced", "none"] },
      trees: 5, seed: 1, onCandidate: (done) => seen.push(done),
    });
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(r.candidates).toHaveLength(4);
    const best = Math.max(...r.candidates.map((c) => c.validationRocAuc));
    const chosen = r.candidates.find((c) => c.maxDepth === r.chosen.maxDepth && c.classWeight === r.chosen.classWeight)!;
    expect(chosen.validationRocAuc).toBe(best);
    // A depth-1 stump cannot use the interaction of x0 and x1: depth 6 wins.
    expect(r.chosen.maxDepth).toBe(6);
    expect(Object.keys(r.chosen).sort()).toEqual(["classWeight", "maxDepth", "maxFeatures", "minSamplesLeaf"]);
  });
});
