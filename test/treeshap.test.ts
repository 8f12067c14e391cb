/**
 * Path-dependent TreeSHAP: additivity, exactness against brute-force Shapley values of the
 * path-dependent game (Algorithm 1 of Lundberg, Erion & Lee 2018) and against their Algorithm 2
 * (test/support) on trees too deep to enumerate, the quadrature it rests on, hand-computed trees,
 * unused features, NaN routing, batches; and the `cover` the trainer writes into the model JSON.
 */
import { RandomForestClassifier } from 'ml-random-forest';
import { describe, expect, it } from 'vitest';
import {
  forestShap,
  gaussLegendre,
  shapForestFromCompiled,
  treeExpectedValue,
  TreeShapExplainer,
  type ShapTree,
} from '../src/model/forest/treeshap.js';
import {
  compileForest,
  loadInMlRandomForest,
  predictProba,
  type CartNodeJson,
  type RandomForestClassifierJson,
} from '../src/model/forest/index.js';
import { trainRandomForest } from '../src/training/forest/index.js';
import { isLeaf } from '../src/model/forest/json.js';
import { createRng, type Rng } from '../src/training/forest/random.js';
import { Algorithm2Explainer } from './support/treeshap-algorithm2.js';

// --- helpers -----------------------------------------------------------------------------------

interface NodeSpec {
  feature?: number;
  threshold?: number;
  left?: NodeSpec;
  right?: NodeSpec;
  value?: number;
  cover: number;
}

/** Flattens a nested tree in pre-order (children after parents, as ShapTree requires). */
function flatten(root: NodeSpec): ShapTree {
  const nodes: NodeSpec[] = [];
  const ids = new Map<NodeSpec, number>();
  const stack = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    ids.set(n, nodes.length);
    nodes.push(n);
    if (n.left && n.right) stack.push(n.right, n.left);
  }
  const m = nodes.length;
  const t = {
    feature: new Int32Array(m),
    threshold: new Float64Array(m),
    left: new Int32Array(m).fill(-1),
    right: new Int32Array(m).fill(-1),
    leafValue: new Float64Array(m).fill(Number.NaN),
    cover: new Float64Array(m),
  };
  nodes.forEach((n, i) => {
    t.cover[i] = n.cover;
    if (n.left && n.right) {
      t.feature[i] = n.feature!;
      t.threshold[i] = n.threshold!;
      t.left[i] = ids.get(n.left)!;
      t.right[i] = ids.get(n.right)!;
    } else {
      t.feature[i] = -1;
      t.leafValue[i] = n.value!;
    }
  });
  return t;
}

const leaf = (value: number, cover: number): NodeSpec => ({ value, cover });
const split = (feature: number, threshold: number, left: NodeSpec, right: NodeSpec): NodeSpec => ({
  feature,
  threshold,
  left,
  right,
  cover: left.cover + right.cover,
});

/**
 * A random tree over `nFeatures` columns. Few features and deep paths make repeated features on
 * one path (the UNWIND case) common. Leaf values mix pure 0 / 1 (as in real forests) with
 * fractions; covers are split top-down with occasional empty children, which become leaves.
 */
function randomTree(rng: Rng, nFeatures: number, maxDepth: number): ShapTree {
  const grow = (depth: number, cover: number): NodeSpec => {
    if (cover === 0 || depth >= maxDepth || (depth > 0 && rng.nextFloat() < 0.25)) {
      const r = rng.nextFloat();
      return leaf(r < 0.3 ? 0 : r < 0.5 ? 1 : rng.nextFloat(), cover);
    }
    const feature = rng.nextInt(nFeatures);
    const threshold = Math.round(rng.nextFloat() * 20) / 20; // coarse grid: rows hit thresholds exactly
    const r = rng.nextFloat();
    const share = r < 0.05 ? 0 : r < 0.1 ? 1 : 0.05 + 0.9 * rng.nextFloat();
    const leftCover = cover * share;
    const left = grow(depth + 1, leftCover);
    const right = grow(depth + 1, cover - leftCover);
    return { feature, threshold, left, right, cover };
  };
  return flatten(grow(0, 1 + 99 * rng.nextFloat()));
}

const randomLeafValue = (rng: Rng): number => {
  const r = rng.nextFloat();
  return r < 0.3 ? 0 : r < 0.5 ? 1 : rng.nextFloat();
};

/** A split of `cover` on `feature`, occasionally giving one side nothing. */
function randomSplit(rng: Rng, feature: number, cover: number, left: (cover: number) => NodeSpec, right: (cover: number) => NodeSpec): NodeSpec {
  const r = rng.nextFloat();
  const share = r < 0.05 ? 0 : r < 0.1 ? 1 : 0.05 + 0.9 * rng.nextFloat();
  const leftCover = cover * share;
  return { feature, threshold: Math.round(rng.nextFloat() * 20) / 20, left: left(leftCover), right: right(cover - leftCover), cover };
}

function bush(rng: Rng, nFeatures: number, depth: number, cover: number): NodeSpec {
  if (depth === 0 || cover === 0 || rng.nextFloat() < 0.3) return leaf(randomLeafValue(rng), cover);
  return randomSplit(rng, rng.nextInt(nFeatures), cover, (c) => bush(rng, nFeatures, depth - 1, c), (c) => bush(rng, nFeatures, depth - 1, c));
}

/**
 * A deep tree that stays small: a path of `depth` splits on `depth` distinct features (so a leaf
 * has `depth` distinct features on its path, the most the quadrature must integrate), with small
 * random bushes off the path over the same features (repeated features, empty branches).
 */
function spineTree(rng: Rng, depth: number): ShapTree {
  const order = Array.from({ length: depth }, (_, i) => i);
  for (let i = depth - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const grow = (d: number, cover: number): NodeSpec => {
    if (d === depth) return leaf(randomLeafValue(rng), cover);
    // The path always keeps 5-95% of the cover, so its deepest leaf is not weightless.
    const pathCover = cover * (0.05 + 0.9 * rng.nextFloat());
    const path = grow(d + 1, pathCover);
    const off = bush(rng, depth, 3, cover - pathCover);
    const threshold = Math.round(rng.nextFloat() * 20) / 20;
    return rng.nextFloat() < 0.5 ? { feature: order[d]!, threshold, left: path, right: off, cover } : { feature: order[d]!, threshold, left: off, right: path, cover };
  };
  return flatten(grow(0, 1 + 99 * rng.nextFloat()));
}

function hasRepeatedFeatureOnAPath(tree: ShapTree): boolean {
  const visit = (node: number, seen: ReadonlySet<number>): boolean => {
    const f = tree.feature[node]!;
    if (f < 0) return false;
    if (seen.has(f)) return true;
    const next = new Set(seen).add(f);
    return visit(tree.left[node]!, next) || visit(tree.right[node]!, next);
  };
  return visit(0, new Set());
}

function randomRow(rng: Rng, nFeatures: number): number[] {
  return Array.from({ length: nFeatures }, () => {
    const r = rng.nextFloat();
    if (r < 0.1) return Number.NaN;
    if (r < 0.3) return Math.round(rng.nextFloat() * 20) / 20; // exactly on a threshold grid point
    return rng.nextFloat();
  });
}

/**
 * Algorithm 1: expected tree output when only the features in `known` are known. A split on an
 * unknown feature averages its children by cover / the node's cover.
 */
function conditionalExpectation(tree: ShapTree, row: ArrayLike<number>, known: (f: number) => boolean, node = 0): number {
  const f = tree.feature[node]!;
  if (f < 0) return tree.leafValue[node]!;
  const l = tree.left[node]!;
  const r = tree.right[node]!;
  if (known(f)) return conditionalExpectation(tree, row, known, row[f]! < tree.threshold[node]! ? l : r);
  return (
    (tree.cover[l]! * conditionalExpectation(tree, row, known, l) + tree.cover[r]! * conditionalExpectation(tree, row, known, r)) /
    tree.cover[node]!
  );
}

/** Shapley values of the forest's path-dependent game by enumerating every coalition. */
function bruteForceShap(trees: readonly ShapTree[], row: ArrayLike<number>, nFeatures: number): Float64Array {
  const factorial = [1];
  for (let i = 1; i <= nFeatures; i++) factorial.push(factorial[i - 1]! * i);
  const value = (mask: number): number => {
    let s = 0;
    for (const t of trees) s += conditionalExpectation(t, row, (f) => ((mask >> f) & 1) === 1);
    return s / trees.length;
  };
  const v = new Float64Array(1 << nFeatures);
  for (let mask = 0; mask < v.length; mask++) v[mask] = value(mask);
  const phi = new Float64Array(nFeatures);
  for (let i = 0; i < nFeatures; i++) {
    for (let mask = 0; mask < v.length; mask++) {
      if ((mask >> i) & 1) continue;
      let size = 0;
      for (let b = mask; b; b &= b - 1) size++;
      const weight = (factorial[size]! * factorial[nFeatures - size - 1]!) / factorial[nFeatures]!;
      phi[i]! += weight * (v[mask | (1 << i)]! - v[mask]!);
    }
  }
  return phi;
}

const sum = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** 8 signal/noise columns plus a constant ninth (no split can use it); Bernoulli labels. */
function synthetic(n: number, seed: number): { X: number[][]; y: number[] } {
  const rng = createRng(seed);
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: 8 }, () => rng.nextFloat());
    const z = 10 * (x[0]! - 0.5) * (x[1]! - 0.5) + 2 * Math.sin(5 * x[2]!) + (x[3]! > 0.7 ? 1.5 : 0) - 1;
    X.push([...x, 3]);
    y.push(rng.nextFloat() < 1 / (1 + Math.exp(-2 * z)) ? 1 : 0);
  }
  return { X, y };
}

const data = synthetic(400, 5);
// Balanced class weights make cover differ from the bootstrap count, so a cover written from
// numberSamples instead of weighted totals would break the class-fraction check below.
const trainedPromise = trainRandomForest(data.X, data.y, {
  nEstimators: 20,
  maxDepth: 8,
  classWeight: 'balanced',
  nJobs: 1,
  seed: 3,
});

function walk(node: CartNodeJson, fn: (n: CartNodeJson) => void): void {
  fn(node);
  if (!isLeaf(node)) {
    walk(node.left, fn);
    walk(node.right, fn);
  }
}

// --- tests -------------------------------------------------------------------------------------

describe('TreeSHAP on hand-built trees', () => {
  it('a stump: phi = leaf value - cover-weighted mean; NaN goes right', () => {
    // E = (3 * 0.2 + 1 * 0.8) / 4 = 0.35
    const stump = [flatten(split(0, 0.5, leaf(0.2, 3), leaf(0.8, 1)))];
    const out = new Float64Array(2);
    let r = forestShap(stump, [0.1, 9], out);
    expect(r.expectedValue).toBeCloseTo(0.35, 15);
    expect(r.prediction).toBe(0.2);
    expect(out[0]).toBeCloseTo(-0.15, 15);
    expect(out[1]).toBe(0);
    r = forestShap(stump, [Number.NaN, 9], out);
    expect(r.prediction).toBe(0.8);
    expect(out[0]).toBeCloseTo(0.45, 15);
    r = forestShap(stump, [0.5, 9], out); // x == threshold goes right (ml-cart: left only when x < t)
    expect(r.prediction).toBe(0.8);
  });

  it('two levels, two features: the values worked out by hand', () => {
    // Root x0 < 0.5 (cover 10): left x1 < 0.5 (cover 6) -> leaves 0 (cover 2) / 0.6 (cover 4); right leaf 1 (cover 4).
    // Row (0.2, 0.8) reaches the 0.6 leaf. f({}) = 0.64, f({0}) = (2*0 + 4*0.6)/6 = 0.4,
    // f({1}) = (6*0.6 + 4*1)/10 = 0.76, f({0,1}) = 0.6.
    // phi0 = ((0.4 - 0.64) + (0.6 - 0.76)) / 2 = -0.2; phi1 = ((0.76 - 0.64) + (0.6 - 0.4)) / 2 = 0.16.
    const tree = flatten(split(0, 0.5, split(1, 0.5, leaf(0, 2), leaf(0.6, 4)), leaf(1, 4)));
    const out = new Float64Array(2);
    const r = forestShap([tree], [0.2, 0.8], out);
    expect(r.expectedValue).toBeCloseTo(0.64, 15);
    expect(r.prediction).toBe(0.6);
    expect(out[0]).toBeCloseTo(-0.2, 14);
    expect(out[1]).toBeCloseTo(0.16, 14);
    expect(treeExpectedValue(tree)).toBeCloseTo(0.64, 15);
  });

  it('averages over trees and accumulates a feature used in several trees', () => {
    const a = flatten(split(0, 0.5, leaf(0.2, 3), leaf(0.8, 1))); // phi0 at x0=0.1: -0.15
    const b = flatten(split(0, 0.5, split(1, 0.5, leaf(0, 2), leaf(0.6, 4)), leaf(1, 4))); // -0.2, 0.16
    const out = new Float64Array(2);
    const r = forestShap([a, b], [0.1, 0.8], out);
    expect(out[0]).toBeCloseTo((-0.15 - 0.2) / 2, 14);
    expect(out[1]).toBeCloseTo(0.16 / 2, 14);
    expect(r.expectedValue).toBeCloseTo((0.35 + 0.64) / 2, 15);
    expect(r.prediction).toBeCloseTo((0.2 + 0.6) / 2, 15);
  });
});

describe('TreeSHAP is exact', () => {
  it('equals brute-force Shapley values of the path-dependent game on random trees (<= 8 features)', () => {
    const rng = createRng(2024);
    let treesWithRepeats = 0;
    for (let trial = 0; trial < 60; trial++) {
      const nFeatures = 1 + rng.nextInt(8);
      const trees = Array.from({ length: 1 + rng.nextInt(4) }, () => randomTree(rng, nFeatures, 2 + rng.nextInt(7)));
      treesWithRepeats += trees.filter(hasRepeatedFeatureOnAPath).length;
      const explainer = new TreeShapExplainer(trees);
      const out = new Float64Array(nFeatures);
      for (let k = 0; k < 5; k++) {
        const row = randomRow(rng, nFeatures);
        const { expectedValue, prediction } = explainer.explain(row, out);
        const expected = bruteForceShap(trees, row, nFeatures);
        expect(maxAbsDiff(out, expected)).toBeLessThan(1e-12);
        expect(expectedValue).toBeCloseTo(conditionalExpectationMean(trees, row, () => false), 12);
        expect(prediction).toBeCloseTo(conditionalExpectationMean(trees, row, () => true), 15);
      }
    }
    // The UNWIND case (a feature tested twice on one path) must be well represented.
    expect(treesWithRepeats).toBeGreaterThan(30);
  });

  it('equals brute force on trees trained by our trainer', async () => {
    const trained = await trainedPromise;
    const trees = shapForestFromCompiled(compileForest(trained.model));
    const out = new Float64Array(9);
    for (const row of data.X.slice(0, 3)) {
      forestShap(trees, row, out);
      expect(maxAbsDiff(out, bruteForceShap(trees, row, 9))).toBeLessThan(1e-12);
    }
  });
});

describe('TreeSHAP on deep trees', () => {
  it('equals brute force at depth 16 with 16 distinct features on a path', () => {
    const rng = createRng(16);
    const trees = [spineTree(rng, 16), spineTree(rng, 16)];
    const explainer = new TreeShapExplainer(trees);
    expect(explainer.maxDepth).toBeGreaterThanOrEqual(16);
    expect(explainer.quadratureSize).toBe(8);
    const out = new Float64Array(16);
    for (let k = 0; k < 3; k++) {
      const row = randomRow(rng, 16);
      const { expectedValue, prediction } = explainer.explain(row, out);
      expect(maxAbsDiff(out, bruteForceShap(trees, row, 16))).toBeLessThan(1e-12);
      expect(Math.abs(expectedValue + sum(out) - prediction)).toBeLessThan(1e-12);
    }
  });

  it('equals brute force at depth 16 on 6 features (features repeated along every path)', () => {
    const rng = createRng(61);
    const trees = Array.from({ length: 3 }, () => randomTree(rng, 6, 16));
    const explainer = new TreeShapExplainer(trees);
    expect(explainer.maxDepth).toBe(16);
    const out = new Float64Array(6);
    for (let k = 0; k < 5; k++) {
      const row = randomRow(rng, 6);
      explainer.explain(row, out);
      expect(maxAbsDiff(out, bruteForceShap(trees, row, 6))).toBeLessThan(1e-12);
    }
  });

  it('equals Algorithm 2 up to depth 32 (32 distinct features on a path, 16 quadrature nodes)', () => {
    const rng = createRng(32);
    for (const depth of [20, 24, 32]) {
      const trees = Array.from({ length: 3 }, () => spineTree(rng, depth));
      const explainer = new TreeShapExplainer(trees);
      const reference = new Algorithm2Explainer(trees);
      expect(explainer.quadratureSize).toBe(depth / 2);
      const out = new Float64Array(depth);
      const expected = new Float64Array(depth);
      for (let k = 0; k < 10; k++) {
        const row = randomRow(rng, depth);
        const r = explainer.explain(row, out);
        reference.explain(row, expected);
        expect(maxAbsDiff(out, expected)).toBeLessThan(1e-12);
        expect(Math.abs(r.expectedValue + sum(out) - r.prediction)).toBeLessThan(1e-12);
      }
    }
  });
});

describe('TreeSHAP over batches of rows', () => {
  it('explainRows gives each row what explain gives it, over several batches and wider outputs', async () => {
    const trained = await trainedPromise;
    const compiled = compileForest(trained.model);
    const trees = shapForestFromCompiled(compiled);
    const explainer = new TreeShapExplainer(trees);
    // More rows than one batch, the last batch partial; plain arrays and typed arrays mixed.
    const rows: ArrayLike<number>[] = synthetic(2 * explainer.batchSize + 5, 9).X.map((x, i) => (i % 2 === 0 ? x : Float64Array.from(x)));
    const width = 11;
    const phi = new Float64Array(rows.length * width).fill(7);
    const predictions = new Float64Array(rows.length);
    explainer.explainRows(rows, phi, predictions);
    const proba = predictProba(compiled, rows);
    const one = new Float64Array(9);
    rows.forEach((row, i) => {
      const r = explainer.explain(row, one);
      const mine = phi.subarray(i * width, (i + 1) * width);
      expect(Array.from(mine.subarray(0, 9))).toEqual(Array.from(one));
      expect(Array.from(mine.subarray(9))).toEqual([0, 0]);
      expect(predictions[i]).toBe(r.prediction);
      expect(predictions[i]).toBeCloseTo(proba[i]!, 14);
    });
  });

  it('refuses outputs that do not hold rows x features', () => {
    const explainer = new TreeShapExplainer([flatten(split(1, 0.5, leaf(0.2, 3), leaf(0.8, 1)))]);
    expect(() => explainer.explainRows([[0, 0.1], [0, 0.9]], new Float64Array(3))).toThrow(/rows x/);
    expect(() => explainer.explainRows([[0, 0.1], [0, 0.9]], new Float64Array(2))).toThrow(/rows x/);
    expect(() => explainer.explainRows([[0, 0.1]], new Float64Array(2), new Float64Array(0))).toThrow(/predictions/);
    explainer.explainRows([], new Float64Array(0));
  });
});

describe('Gauss-Legendre quadrature', () => {
  it('integrates t^j over [0, 1] exactly for j <= 2n - 1', () => {
    for (let n = 1; n <= 24; n++) {
      const { nodes, weights } = gaussLegendre(n);
      for (let i = 0; i < n; i++) {
        expect(nodes[i]).toBeGreaterThan(i === 0 ? 0 : nodes[i - 1]!);
        expect(nodes[i]).toBeLessThan(1);
        expect(weights[i]).toBeGreaterThan(0);
      }
      for (let j = 0; j <= 2 * n - 1; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += weights[i]! * nodes[i]! ** j;
        expect(Math.abs(s * (j + 1) - 1)).toBeLessThan(1e-13);
      }
    }
  });
});

function conditionalExpectationMean(trees: readonly ShapTree[], row: ArrayLike<number>, known: (f: number) => boolean): number {
  return trees.reduce((s, t) => s + conditionalExpectation(t, row, known), 0) / trees.length;
}

describe('TreeSHAP additivity', () => {
  it('expectedValue + sum(phi) = prediction on random deep trees', () => {
    const rng = createRng(7);
    const trees = Array.from({ length: 30 }, () => randomTree(rng, 20, 14));
    const explainer = new TreeShapExplainer(trees);
    const out = new Float64Array(20);
    for (let k = 0; k < 200; k++) {
      const row = randomRow(rng, 20);
      const { expectedValue, prediction } = explainer.explain(row, out);
      expect(Math.abs(expectedValue + sum(out) - prediction)).toBeLessThan(1e-9);
    }
  });

  it('expectedValue + sum(phi) = predictProba on a forest from our trainer', async () => {
    const trained = await trainedPromise;
    const compiled = compileForest(trained.model);
    const trees = shapForestFromCompiled(compiled);
    const rows = synthetic(300, 6).X;
    const proba = predictProba(compiled, rows);
    const out = new Float64Array(9);
    let spread = 0;
    rows.forEach((row, i) => {
      const { expectedValue, prediction } = forestShap(trees, row, out);
      expect(prediction).toBeCloseTo(proba[i]!, 14);
      expect(Math.abs(expectedValue + sum(out) - proba[i]!)).toBeLessThan(1e-9);
      spread += Math.abs(proba[i]! - expectedValue);
    });
    expect(spread / rows.length).toBeGreaterThan(0.05); // the rows are not all at the mean (phi not trivially 0)

    // expectedValue is the mean over trees of the cover-weighted mean leaf value, read from the JSON.
    let e = 0;
    for (const est of trained.model.baseModel.estimators) {
      let wv = 0;
      let w = 0;
      walk(est.root, (n) => {
        if (isLeaf(n)) {
          wv += n.cover! * n.distribution[0]![1]!;
          w += n.cover!;
        }
      });
      e += wv / w;
    }
    expect(forestShap(trees, rows[0]!, out).expectedValue).toBeCloseTo(e / trained.model.baseModel.estimators.length, 12);
  });
});

describe('TreeSHAP: unused features and NaN', () => {
  it('gives exactly 0 to features no tree tests (and overwrites whatever out held)', async () => {
    const rng = createRng(11);
    const used = [0, 2, 4];
    const trees = Array.from({ length: 5 }, () => {
      const t = randomTree(rng, 3, 6);
      const feature = t.feature.map((f) => (f < 0 ? f : used[f]!));
      return { ...t, feature };
    });
    const out = new Float64Array(8).fill(7);
    const row = Array.from({ length: 8 }, () => rng.nextFloat());
    forestShap(trees, row, out);
    for (const f of [1, 3, 5, 6, 7]) expect(out[f]).toBe(0);
    expect(used.some((f) => out[f] !== 0)).toBe(true);

    // The trainer cannot split on the constant column 8.
    const trained = await trainedPromise;
    const forestTrees = shapForestFromCompiled(compileForest(trained.model));
    const out9 = new Float64Array(9).fill(7);
    for (const x of data.X.slice(0, 50)) {
      forestShap(forestTrees, x, out9);
      expect(out9[8]).toBe(0);
    }
  });

  it('routes NaN right, like ml-cart: the same phi as +Infinity, not as -Infinity', async () => {
    const trained = await trainedPromise;
    const compiled = compileForest(trained.model);
    const trees = shapForestFromCompiled(compiled);
    const explainer = new TreeShapExplainer(trees);
    const base = data.X[1]!;
    for (const f of [0, 2, 3]) {
      const withNaN = base.slice();
      withNaN[f] = Number.NaN;
      const plusInf = base.slice();
      plusInf[f] = Number.POSITIVE_INFINITY;
      const minusInf = base.slice();
      minusInf[f] = Number.NEGATIVE_INFINITY;
      const a = new Float64Array(9);
      const b = new Float64Array(9);
      const c = new Float64Array(9);
      const ra = explainer.explain(withNaN, a);
      explainer.explain(plusInf, b);
      explainer.explain(minusInf, c);
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(maxAbsDiff(a, c)).toBeGreaterThan(1e-3);
      expect(ra.prediction).toBeCloseTo(predictProba(compiled, [withNaN])[0]!, 14);
      expect(Math.abs(ra.expectedValue + sum(a) - ra.prediction)).toBeLessThan(1e-9);
    }
  });
});

describe('TreeSHAP input checks', () => {
  it('refuses models without cover, bad trees and short rows', () => {
    const small = synthetic(60, 4);
    const reference = new RandomForestClassifier({ nEstimators: 2, noOOB: true, treeOptions: { maxDepth: 2 } });
    reference.train(small.X, small.y);
    const json = JSON.parse(JSON.stringify(reference.toJSON())) as RandomForestClassifierJson;
    const compiled = compileForest(json);
    expect(compiled.hasCover).toBe(false);
    expect(() => shapForestFromCompiled(compiled)).toThrow(/cover/);

    const good = flatten(split(1, 0.5, leaf(0.2, 3), leaf(0.8, 1)));
    expect(() => new TreeShapExplainer([])).toThrow(/no trees/);
    expect(() => new TreeShapExplainer([{ ...good, left: Int32Array.from([0, -1, -1]) }])).toThrow(/children/);
    expect(() => new TreeShapExplainer([{ ...good, cover: Float64Array.from([4, 0, 0]) }])).toThrow(/cover/);
    expect(() => forestShap([good], [0.1], new Float64Array(2))).toThrow(/row has 1/);
    expect(() => forestShap([good], [0.1, 0.2], new Float64Array(1))).toThrow(/output/);
  });
});

describe('cover in the model JSON', () => {
  it('is on leaves only, the weighted sample total; compile sums it up the splits', async () => {
    const trained = await trainedPromise;
    const w = trained.classWeight;
    expect(w[1]! / w[0]!).not.toBeCloseTo(1, 2);
    const compiled = compileForest(trained.model);
    expect(compiled.hasCover).toBe(true);
    trained.model.baseModel.estimators.forEach((est, t) => {
      const tree = compiled.trees[t]!;
      // compile lays nodes out in pre-order, the order walk visits them.
      let i = 0;
      walk(est.root, (n) => {
        const cover = tree.cover[i]!;
        if (isLeaf(n)) {
          expect(n.cover).toBe(cover);
        } else {
          expect(n.cover).toBeUndefined();
          expect(cover).toBe(tree.cover[tree.left[i]!]! + tree.cover[tree.right[i]!]!);
        }
        expect(cover).toBeGreaterThan(0);
        const fractions = isLeaf(n) ? n.distribution[0]! : n.classDistribution!;
        // cover x class fraction / class weight = bootstrap count of that class: an integer.
        fractions.forEach((p, k) => {
          const count = (cover * p) / w[k]!;
          expect(Math.abs(count - Math.round(count))).toBeLessThan(1e-6);
        });
        i++;
      });
    });
  });

  it('root cover: nRows with balanced weights and no bootstrap; numberSamples without weights', async () => {
    const balanced = await trainRandomForest(data.X, data.y, { nEstimators: 2, bootstrap: false, classWeight: 'balanced', nJobs: 1 });
    for (const tree of compileForest(balanced.model).trees) expect(tree.cover[0]).toBeCloseTo(data.X.length, 9);
    const plain = await trainRandomForest(data.X, data.y, { nEstimators: 2, maxDepth: 4, nJobs: 1, compactJson: true });
    const compiled = compileForest(plain.model);
    plain.model.baseModel.estimators.forEach((est, t) => {
      let i = 0;
      walk(est.root, (n) => {
        if (!isLeaf(n)) expect(compiled.trees[t]!.cover[i]).toBe(n.numberSamples);
        else expect(Object.keys(n).sort()).toEqual(['cover', 'distribution']);
        i++;
      });
    });
  });

  it('ml-random-forest still loads the model and predicts the same; without leaf cover there is no TreeSHAP', async () => {
    const trained = await trainedPromise;
    const withCover = JSON.parse(JSON.stringify(trained.model)) as RandomForestClassifierJson;
    const withoutCover = JSON.parse(JSON.stringify(trained.model), (k, v: unknown) => (k === 'cover' ? undefined : v)) as RandomForestClassifierJson;
    expect(JSON.stringify(withoutCover)).not.toContain('"cover"');
    expect(JSON.stringify(withCover)).toContain('"cover"');
    const rows = synthetic(300, 8).X;
    const a = loadInMlRandomForest(withCover);
    const b = loadInMlRandomForest(withoutCover);
    const direct = RandomForestClassifier.load(withCover as unknown as Parameters<typeof RandomForestClassifier.load>[0]);
    expect(a.predict(rows)).toEqual(b.predict(rows));
    expect(direct.predict(rows)).toEqual(b.predict(rows));
    expect(a.predictProbability(rows, 1)).toEqual(b.predictProbability(rows, 1));

    expect(compileForest(withCover).hasCover).toBe(true);
    expect(compileForest(withoutCover).hasCover).toBe(false);
    expect(Number.isNaN(compileForest(withoutCover).trees[0]!.cover[0])).toBe(true);
    // One leaf without cover is enough to make the model unfit for TreeSHAP.
    const oneLeafLess = JSON.parse(JSON.stringify(trained.model)) as RandomForestClassifierJson;
    let leafNode: CartNodeJson = oneLeafLess.baseModel.estimators[0]!.root;
    while (!isLeaf(leafNode)) leafNode = leafNode.right;
    delete leafNode.cover;
    expect(compileForest(oneLeafLess).hasCover).toBe(false);
  });

  it('reads models whose splits carry cover too (written before leaf-only cover)', async () => {
    const trained = await trainedPromise;
    const everyNode = JSON.parse(JSON.stringify(trained.model)) as RandomForestClassifierJson;
    const fill = (n: CartNodeJson): number => {
      if (isLeaf(n)) return n.cover!;
      n.cover = fill(n.left) + fill(n.right);
      return n.cover;
    };
    for (const est of everyNode.baseModel.estimators) fill(est.root);
    const old = compileForest(everyNode);
    const now = compileForest(trained.model);
    expect(old.hasCover).toBe(true);
    old.trees.forEach((tree, t) => expect(Array.from(tree.cover)).toEqual(Array.from(now.trees[t]!.cover)));
  });
});
