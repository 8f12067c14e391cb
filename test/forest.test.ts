/**
 * The fast forest trainer: same quality as ml-random-forest's own trainer, artifacts that
 * ml-random-forest loads and scores identically, reproducibility, parallel == serial, Saabas
 * contributions, class weighting, and split finding.
 */
import { RandomForestClassifier } from 'ml-random-forest';
import { describe, expect, it } from 'vitest';
import { binOf, featureThresholds } from '../src/training/forest/binning.js';
import { ML_RANDOM_FOREST_LIKE, trainRandomForest, type ForestTrainOptions } from '../src/training/forest/index.js';
import {
  compileForest,
  isLeaf,
  loadInMlRandomForest,
  predictClass,
  predictProba,
  predictVoteFraction,
  treeContributions,
  type CartNodeJson,
  type RandomForestClassifierJson,
} from '../src/model/forest/index.js';
import { createRng } from '../src/training/forest/random.js';
import { rocAuc } from '../src/training/metrics.js';

interface Data {
  X: number[][];
  y: number[];
}

/** 8 features: an interaction (x0, x1), a sine of x2, a step in x3, four noise columns; Bernoulli labels. */
function synthetic(n: number, seed: number): Data {
  const rng = createRng(seed);
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: 8 }, () => rng.nextFloat());
    const z = 12 * (x[0]! - 0.5) * (x[1]! - 0.5) + 2 * Math.sin(5 * x[2]!) + (x[3]! > 0.7 ? 1.5 : 0) - 0.3;
    X.push(x);
    y.push(rng.nextFloat() < 1 / (1 + Math.exp(-2 * z)) ? 1 : 0);
  }
  return { X, y };
}

const train = synthetic(600, 11);
const heldOut = synthetic(3000, 12);

const mlRandomForestLike = ML_RANDOM_FOREST_LIKE;

/** What ml-random-forest 2.1.0's predictProbability returns (see predict.ts): first tree's vote miscounted. */
function mlrfPredictProbabilityFormula(model: RandomForestClassifierJson, row: number[], label: number): number {
  const forest = compileForest(model);
  const votes = forest.trees.map((tree) => {
    let node = 0;
    while (tree.feature[node]! >= 0) {
      node = row[tree.feature[node]!]! < tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
    }
    return tree.vote[node]!;
  });
  const n = votes.length;
  let acc = votes[0]!; // reduce() without an initial value starts from the first tree's label
  for (let i = 1; i < n; i++) if (votes[i] === label) acc += 1e6 / n;
  return Math.round(acc) / 1e6;
}

function depthOf(node: CartNodeJson): number {
  return isLeaf(node) ? 0 : 1 + Math.max(depthOf(node.left), depthOf(node.right));
}

describe('trainRandomForest vs ml-random-forest', () => {
  it('reaches the held-out ROC AUC of ml-random-forest\'s own trainer (same settings, within 0.01)', async () => {
    // Two 30-tree forests per trainer (seeds 1 and 2), AUC averaged: one forest's AUC varies by
    // about +-0.007 with the seed, so a single pair would test luck more than the trainer.
    const aucs = { mlrf: [] as number[], ours: [] as number[] };
    for (const seed of [1, 2]) {
      const reference = new RandomForestClassifier({ nEstimators: 30, noOOB: true, seed });
      reference.train(train.X, train.y);
      aucs.mlrf.push(rocAuc(heldOut.y, reference.predictProbability(heldOut.X, 1)));

      const ours = await trainRandomForest(train.X, train.y, { ...mlRandomForestLike, nEstimators: 30, seed });
      aucs.ours.push(rocAuc(heldOut.y, loadInMlRandomForest(ours.model).predictProbability(heldOut.X, 1)));
    }
    const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(aucs.mlrf)).toBeGreaterThan(0.85); // the task is learnable at all
    expect(Math.abs(mean(aucs.ours) - mean(aucs.mlrf))).toBeLessThan(0.01);
  });

  it('writes the same JSON shape as RandomForestClassifier.toJSON(), plus classDistribution on split nodes and cover on leaves', async () => {
    const small = synthetic(120, 3);
    const reference = new RandomForestClassifier({ nEstimators: 3, noOOB: true, seed: 1, treeOptions: { maxDepth: 3 } });
    reference.train(small.X, small.y);
    const theirs = JSON.parse(JSON.stringify(reference.toJSON())) as RandomForestClassifierJson;
    const ours = JSON.parse(JSON.stringify((await trainRandomForest(small.X, small.y, { nEstimators: 3, maxDepth: 3, nJobs: 1 })).model)) as RandomForestClassifierJson;

    expect(Object.keys(ours)).toEqual(Object.keys(theirs));
    expect(Object.keys(ours.baseModel)).toEqual(Object.keys(theirs.baseModel));
    const [ourTree, theirTree] = [ours.baseModel.estimators[0]!, theirs.baseModel.estimators[0]!];
    expect(Object.keys(ourTree)).toEqual(Object.keys(theirTree));
    expect(Object.keys(ourTree.options)).toEqual(Object.keys(theirTree.options));
    // ml-cart leaves come in three forms (node too small; no split candidate: gain null; split
    // rejected: split fields kept). Ours are the plainest form: node options + distribution, and
    // the weighted sample total TreeSHAP needs (ml-cart ignores it).
    const firstLeaf = (n: CartNodeJson): CartNodeJson => (isLeaf(n) ? n : firstLeaf(n.left));
    const ourLeafKeys = Object.keys(firstLeaf(ourTree.root));
    const nodeOptionKeys = ['kind', 'gainFunction', 'splitFunction', 'minNumSamples', 'maxDepth', 'gainThreshold'];
    expect(ourLeafKeys).toEqual([...nodeOptionKeys, 'distribution', 'cover']);
    for (const k of ourLeafKeys.filter((k) => k !== 'cover')) expect(Object.keys(firstLeaf(theirTree.root))).toContain(k);
    const theirSplitKeys = Object.keys(theirTree.root);
    expect(Object.keys(ourTree.root)).toEqual([...theirSplitKeys.slice(0, -2), 'classDistribution', 'left', 'right']);
    expect(ours.baseModel.indexes).toEqual([0, 1, 2].map(() => [0, 1, 2, 3, 4, 5, 6, 7]));
  });
});

describe('artifact in ml-random-forest', () => {
  it('loads from JSON text and predicts what our own inference predicts', async () => {
    const trained = await trainRandomForest(train.X, train.y, { nEstimators: 25, maxDepth: 6, nJobs: 1, seed: 5 });
    const model = JSON.parse(JSON.stringify(trained.model)) as RandomForestClassifierJson;
    const loaded = RandomForestClassifier.load(model as never);

    const rows = heldOut.X.slice(0, 500);
    expect(loaded.predict(rows)).toEqual(Array.from(predictClass(model, rows)));
    // Per-tree votes agree: ml-random-forest's own per-estimator predictions vs our leaf votes.
    const perTree = loaded.predictionValues(rows);
    const forest = compileForest(model);
    for (let i = 0; i < 50; i++) {
      const votes = forest.trees.map((t) => t.vote[compileLeaf(t, rows[i]!)]!);
      expect(perTree.getRow(i)).toEqual(votes);
    }
    // predictProbability is a vote fraction with ml-random-forest 2.1.0's first-tree miscount.
    const probs = loaded.predictProbability(rows, 1);
    rows.forEach((row, i) => expect(probs[i]).toBeCloseTo(mlrfPredictProbabilityFormula(model, row, 1), 9));
    const fractions = predictVoteFraction(model, rows);
    rows.forEach((_, i) => expect(Math.abs(probs[i]! - fractions[i]!)).toBeLessThanOrEqual(1 / 25 + 1e-6));
  });

  it('maps columns through per-tree feature subsets (indexes) the way ml-random-forest does', async () => {
    const trained = await trainRandomForest(train.X, train.y, { nEstimators: 15, featuresPerTree: 0.5, maxFeatures: 'all', nJobs: 1 });
    const { indexes } = trained.model.baseModel;
    expect(indexes.every((idx) => idx.length === 4)).toBe(true);
    expect(new Set(indexes.map((idx) => idx.join())).size).toBeGreaterThan(1);
    const loaded = loadInMlRandomForest(trained.model);
    const rows = heldOut.X.slice(0, 400);
    expect(loaded.predict(rows)).toEqual(Array.from(predictClass(trained.model, rows)));
  });

  it('routes NaN like ml-cart (x < t is false: right), in training and inference alike', async () => {
    const withNaN = train.X.map((r, i) => (i % 7 === 0 ? r.map((v, f) => (f === 0 || f === 2 ? Number.NaN : v)) : r));
    const trained = await trainRandomForest(withNaN, train.y, { nEstimators: 10, nJobs: 1 });
    const rows = heldOut.X.slice(0, 300).map((r, i) => (i % 3 === 0 ? r.map((v, f) => (f === 2 ? Number.NaN : v)) : r));
    expect(loadInMlRandomForest(trained.model).predict(rows)).toEqual(Array.from(predictClass(trained.model, rows)));
  });
});

function compileLeaf(tree: ReturnType<typeof compileForest>['trees'][number], row: number[]): number {
  let node = 0;
  while (tree.feature[node]! >= 0) node = row[tree.feature[node]!]! < tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
  return node;
}

describe('reproducibility and parallelism', () => {
  it('gives the identical model for the same seed and a different one for another seed', async () => {
    const a = await trainRandomForest(train.X, train.y, { nEstimators: 10, nJobs: 1, seed: 9 });
    const b = await trainRandomForest(train.X, train.y, { nEstimators: 10, nJobs: 1, seed: 9 });
    const c = await trainRandomForest(train.X, train.y, { nEstimators: 10, nJobs: 1, seed: 10 });
    expect(JSON.stringify(b.model)).toBe(JSON.stringify(a.model));
    expect(JSON.stringify(c.model)).not.toBe(JSON.stringify(a.model));
  });

  it('trains the same forest in worker threads as in the calling thread', async () => {
    const options: ForestTrainOptions = { nEstimators: 12, maxDepth: 8, seed: 21, classWeight: 'balanced' };
    const serial = await trainRandomForest(train.X, train.y, { ...options, nJobs: 1 });
    const parallel = await trainRandomForest(train.X, train.y, { ...options, nJobs: 3 });
    expect(JSON.stringify(parallel.model)).toBe(JSON.stringify(serial.model));
    expect(Array.from(parallel.featureImportances)).toEqual(Array.from(serial.featureImportances));
  });
});

describe('Saabas contributions', () => {
  it('bias + sum(contributions) equals the predicted probability, and they point at the signal', async () => {
    const trained = await trainRandomForest(train.X, train.y, { nEstimators: 40, maxDepth: 8, nJobs: 1, seed: 2 });
    const compiled = compileForest(trained.model);
    const rows = heldOut.X.slice(0, 200);
    const proba = predictProba(compiled, rows);
    const totalAbs = new Float64Array(8);
    rows.forEach((row, i) => {
      const { bias, contributions, prediction } = treeContributions(compiled, row);
      const sum = contributions.reduce((s, v) => s + v, 0);
      expect(bias + sum).toBeCloseTo(proba[i]!, 12);
      expect(prediction).toBeCloseTo(proba[i]!, 12);
      contributions.forEach((v, f) => (totalAbs[f]! += Math.abs(v)));
    });
    // Bias = mean root class-1 fraction = roughly the training base rate.
    const baseRate = train.y.reduce((s, v) => s + v, 0) / train.y.length;
    expect(treeContributions(compiled, rows[0]!).bias).toBeCloseTo(baseRate, 1);
    // Informative columns (0-3) carry more attribution than pure noise (4-7).
    const informative = totalAbs.slice(0, 4).reduce((s, v) => s + v, 0);
    const noise = totalAbs.slice(4).reduce((s, v) => s + v, 0);
    expect(informative).toBeGreaterThan(3 * noise);
  });

  it('refuses models without class distributions at split nodes (ml-random-forest\'s own)', () => {
    const small = synthetic(100, 4);
    const reference = new RandomForestClassifier({ nEstimators: 2, noOOB: true, treeOptions: { maxDepth: 2 } });
    reference.train(small.X, small.y);
    const json = JSON.parse(JSON.stringify(reference.toJSON())) as RandomForestClassifierJson;
    expect(() => treeContributions(json, small.X[0]!)).toThrow(/classDistribution/);
  });
});

describe('class weights, split finding, options', () => {
  it("'balanced' class weights raise probabilities of a rare class", async () => {
    const rng = createRng(77);
    const X: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const x = Array.from({ length: 5 }, () => rng.nextFloat());
      X.push(x);
      y.push(rng.nextFloat() < (x[0]! > 0.8 ? 0.25 : 0.02) ? 1 : 0); // ~6% positives
    }
    const base = { nEstimators: 30, maxDepth: 4, minSamplesLeaf: 20, nJobs: 1, seed: 3 };
    const plain = await trainRandomForest(X, y, base);
    const balanced = await trainRandomForest(X, y, { ...base, classWeight: 'balanced' });
    const mean = (a: Float64Array): number => a.reduce((s, v) => s + v, 0) / a.length;
    const pPlain = predictProba(plain.model, X);
    const pBalanced = predictProba(balanced.model, X);
    expect(mean(pPlain)).toBeLessThan(0.1);
    expect(mean(pBalanced)).toBeGreaterThan(3 * mean(pPlain));
    // Weighted root class fraction is ~0.5 by construction of 'balanced'.
    expect(treeContributions(balanced.model, X[0]!).bias).toBeCloseTo(0.5, 1);
    expect(balanced.classWeight[1]! / balanced.classWeight[0]!).toBeGreaterThan(10);
    // Ranking is what matters for churn lists: weighting must not destroy it.
    expect(rocAuc(y, pBalanced)).toBeGreaterThan(0.7);
  });

  it('puts a perfectly separating feature at the root of every tree, with the threshold in the gap', async () => {
    // Column 4 takes <= 101 distinct values, so its bins are exact (every gap is a candidate);
    // with more distinct values than maxBins, quantile bins may not have a threshold in the gap.
    const rng = createRng(8);
    const X: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 500; i++) {
      const x = Array.from({ length: 6 }, () => rng.nextFloat());
      const u = Math.round(100 * x[4]!) / 100;
      x[4] = rng.nextFloat() < 0.4 ? 0.6 + 0.4 * u : 0.5 * u; // classes separated by the gap (0.5, 0.6)
      X.push(x);
      y.push(x[4]! > 0.55 ? 1 : 0);
    }
    const maxNegative = Math.max(...X.filter((_, i) => y[i] === 0).map((x) => x[4]!));
    const minPositive = Math.min(...X.filter((_, i) => y[i] === 1).map((x) => x[4]!));
    const trained = await trainRandomForest(X, y, { nEstimators: 10, maxFeatures: 'all', nJobs: 1 });
    for (const est of trained.model.baseModel.estimators) {
      const root = est.root;
      if (isLeaf(root)) throw new Error('root should split');
      expect(root.splitColumn).toBe(4);
      expect(isLeaf(root.left) && isLeaf(root.right)).toBe(true);
      // Bootstrap trees only see their own sample, so their threshold is only guaranteed to lie in
      // the gap of that sample; on all rows (no bootstrap) it lies in the gap of the data.
      expect(root.splitValue).toBeGreaterThan(0.45);
      expect(root.splitValue).toBeLessThan(0.65);
    }
    const allRows = await trainRandomForest(X, y, { nEstimators: 1, maxFeatures: 'all', bootstrap: false, nJobs: 1 });
    const root = allRows.model.baseModel.estimators[0]!.root;
    if (isLeaf(root)) throw new Error('root should split');
    expect(root.splitColumn).toBe(4);
    expect(root.splitValue).toBeGreaterThan(maxNegative);
    expect(root.splitValue).toBeLessThan(minPositive);
    expect(trained.featureImportances[4]).toBeCloseTo(1, 12);
    expect(trained.featureImportances.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
  });

  it('respects maxDepth and ranks informative features first by importance', async () => {
    const trained = await trainRandomForest(train.X, train.y, { nEstimators: 20, maxDepth: 4, nJobs: 1 });
    for (const est of trained.model.baseModel.estimators) expect(depthOf(est.root)).toBeLessThanOrEqual(4);
    const imp = Array.from(trained.featureImportances);
    expect(Math.min(...imp.slice(0, 3))).toBeGreaterThan(Math.max(...imp.slice(4)));
  });

  it('compactJson drops only the repeated node options: smaller, same predictions in ml-random-forest', async () => {
    const options: ForestTrainOptions = { nEstimators: 8, maxDepth: 6, nJobs: 1, seed: 4 };
    const full = await trainRandomForest(train.X, train.y, options);
    const compact = await trainRandomForest(train.X, train.y, { ...options, compactJson: true });
    expect(JSON.stringify(compact.model).length).toBeLessThan(0.6 * JSON.stringify(full.model).length);
    const rows = heldOut.X.slice(0, 300);
    const loaded = loadInMlRandomForest(JSON.parse(JSON.stringify(compact.model)) as RandomForestClassifierJson);
    expect(loaded.predict(rows)).toEqual(loadInMlRandomForest(full.model).predict(rows));
    expect(Array.from(predictProba(compact.model, rows))).toEqual(Array.from(predictProba(full.model, rows)));
  });

  it('draws maxSamples bootstrap samples per tree (numberSamples at the root)', async () => {
    const trained = await trainRandomForest(train.X, train.y, { nEstimators: 3, maxSamples: 0.5, nJobs: 1 });
    for (const est of trained.model.baseModel.estimators) {
      if (isLeaf(est.root)) throw new Error('root should split');
      expect(est.root.numberSamples).toBe(300);
    }
  });

  it('rejects bad input with clear errors', async () => {
    await expect(trainRandomForest([[1], [2]], [0, 2.5])).rejects.toThrow(/class index/);
    await expect(trainRandomForest([[1], [2]], [0])).rejects.toThrow(/labels/);
    await expect(trainRandomForest([[1], [2]], [0, 1], { maxFeatures: 5 })).rejects.toThrow(/maxFeatures/);
    await expect(trainRandomForest([[1], [2]], [0, 1], { maxBins: 1000 })).rejects.toThrow(/maxBins/);
  });
});

describe('binning', () => {
  it('uses every gap when there are few distinct values, and bins agree with x < threshold', () => {
    const t = featureThresholds(Float64Array.from([3, 1, 2, 2, 1, Number.NaN]), 256);
    expect(Array.from(t)).toEqual([1.5, 2.5]);
    expect([0.5, 1, 1.5, 2, 2.5, 3, 99, Number.NaN].map((x) => binOf(t, x))).toEqual([0, 0, 1, 1, 2, 2, 2, 2]);
  });

  it('caps the bins at maxBins with roughly equal frequencies, thresholds between distinct values', () => {
    const rng = createRng(1);
    const values = Float64Array.from({ length: 10_000 }, () => rng.nextFloat());
    const t = featureThresholds(values, 64);
    expect(t.length).toBe(63);
    for (let i = 1; i < t.length; i++) expect(t[i]!).toBeGreaterThan(t[i - 1]!);
    const counts = new Array(64).fill(0);
    for (const v of values) counts[binOf(t, v)]++;
    expect(Math.min(...counts)).toBeGreaterThan(100);
    expect(Math.max(...counts)).toBeLessThan(220);
  });
});
