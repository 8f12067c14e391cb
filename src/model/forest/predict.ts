/**
 * Inference straight from the ml-random-forest JSON, compiled once into flat typed arrays.
 *
 * Why not only ml-random-forest's own methods: its `predictProbability(X, label)` returns hard
 * votes and, in 2.1.0, miscounts them (its `reduce` has no initial value, so the first tree's vote
 * is dropped and that tree's predicted label, in units of 1e-6, is added instead; a row every tree
 * votes 1 for gets (nTrees - 1) / nTrees + 1e-6). Here:
 *  - predictProba: mean over trees of the leaf's class fraction (scikit-learn's predict_proba);
 *    the quantity Saabas contributions decompose.
 *  - predictVoteFraction: fraction of trees whose leaf argmax is the class (what ml-random-forest
 *    means by probability, without the off-by-one).
 *  - predictClass: identical to ml-random-forest's `predict` (mode of votes, same tie rule).
 * Columns are mapped through baseModel.indexes exactly as ml-random-forest does.
 */
import { isLeaf, type CartNodeJson, type RandomForestClassifierJson } from './json.js';

export interface CompiledTree {
  /** Original input column per node, -1 for leaves. */
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Class fractions per node (K each); NaN at split nodes without classDistribution. */
  readonly value: Float64Array;
  /** Class voted by each leaf (first argmax, like ml-cart's maxRowIndex); -1 at split nodes. */
  readonly vote: Int32Array;
  /**
   * Weighted training samples per node: the JSON's `cover` at leaves, the sum of the children's
   * at splits; NaN wherever a leaf below has none.
   */
  readonly cover: Float64Array;
}

export interface CompiledForest {
  readonly trees: readonly CompiledTree[];
  readonly nClasses: number;
  /** Number of input columns the model needs (max index used + 1). */
  readonly nInputs: number;
  /** True when every split node carries classDistribution (needed for contributions). */
  readonly hasNodeDistributions: boolean;
  /** True when every leaf carries `cover` (needed for TreeSHAP); splits then have it too. */
  readonly hasCover: boolean;
}

export type ForestModel = RandomForestClassifierJson | CompiledForest;

/** Compiled forms of JSON models already seen, so per-row calls do not recompile. */
const compiled = new WeakMap<RandomForestClassifierJson, CompiledForest>();

/** Flattens a model for fast inference; cached per JSON object (treat the JSON as immutable). */
export function compileForest(model: ForestModel): CompiledForest {
  if ('trees' in model) return model;
  let forest = compiled.get(model);
  if (!forest) {
    forest = compile(model);
    compiled.set(model, forest);
  }
  return forest;
}

/** Throws unless the row has every column the model reads. */
export function checkRowWidth(forest: CompiledForest, row: ArrayLike<number>): void {
  if (row.length < forest.nInputs) {
    throw new RangeError(`row has ${row.length} features but the model reads ${forest.nInputs}`);
  }
}

function compile(model: RandomForestClassifierJson): CompiledForest {
  if (model.name !== 'RFClassifier') throw new RangeError(`Invalid model: ${String(model.name)}`);
  const { estimators, indexes } = model.baseModel;

  let nClasses = 2;
  let nInputs = 0;
  for (const idx of indexes) for (const c of idx) nInputs = Math.max(nInputs, c + 1);
  const visit = (node: CartNodeJson, fn: (n: CartNodeJson) => void): void => {
    const stack: CartNodeJson[] = [node];
    while (stack.length > 0) {
      const n = stack.pop()!;
      fn(n);
      if (!isLeaf(n)) stack.push(n.right, n.left);
    }
  };
  for (const est of estimators) {
    visit(est.root, (n) => {
      const d = isLeaf(n) ? n.distribution[0]! : n.classDistribution;
      if (d) nClasses = Math.max(nClasses, d.length);
    });
  }

  let hasNodeDistributions = true;
  let hasCover = true;
  const trees = estimators.map((est, t) => {
    const columns = indexes[t]!;
    const nodes: CartNodeJson[] = [];
    visit(est.root, (n) => nodes.push(n)); // pre-order: parent before children
    const id = new Map<CartNodeJson, number>();
    nodes.forEach((n, i) => id.set(n, i));
    const m = nodes.length;
    const tree = {
      feature: new Int32Array(m),
      threshold: new Float64Array(m),
      left: new Int32Array(m).fill(-1),
      right: new Int32Array(m).fill(-1),
      value: new Float64Array(m * nClasses).fill(Number.NaN),
      vote: new Int32Array(m).fill(-1),
      cover: new Float64Array(m).fill(Number.NaN),
    };
    nodes.forEach((n, i) => {
      if (isLeaf(n)) {
        if (typeof n.cover === 'number') tree.cover[i] = n.cover;
        else hasCover = false;
        tree.feature[i] = -1;
        const d = n.distribution[0]!;
        for (let k = 0; k < nClasses; k++) tree.value[i * nClasses + k] = d[k] ?? 0;
        let best = 0;
        for (let k = 1; k < d.length; k++) if (d[k]! > d[best]!) best = k;
        tree.vote[i] = best;
      } else {
        const col = columns[n.splitColumn];
        if (col === undefined) throw new RangeError(`tree ${t}: splitColumn ${n.splitColumn} outside indexes`);
        tree.feature[i] = col;
        tree.threshold[i] = n.splitValue;
        tree.left[i] = id.get(n.left)!;
        tree.right[i] = id.get(n.right)!;
        if (n.classDistribution) {
          for (let k = 0; k < nClasses; k++) tree.value[i * nClasses + k] = n.classDistribution[k] ?? 0;
        } else {
          hasNodeDistributions = false;
        }
      }
    });
    // Split cover from the leaves up (pre-order: children after their parent). A split's own
    // `cover`, which older models carry, is the same sum up to rounding and is not read.
    for (let i = m - 1; i >= 0; i--) {
      if (tree.feature[i]! >= 0) tree.cover[i] = tree.cover[tree.left[i]!]! + tree.cover[tree.right[i]!]!;
    }
    return tree;
  });
  return { trees, nClasses, nInputs, hasNodeDistributions, hasCover };
}

/** Index of the leaf a row reaches (ml-cart's rule: left when x < threshold, so NaN goes right). */
export function leafIndex(tree: CompiledTree, row: ArrayLike<number>): number {
  let node = 0;
  while (tree.feature[node]! >= 0) {
    node = row[tree.feature[node]!]! < tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
  }
  return node;
}

/** Mean leaf class fraction over trees (soft probability, scikit-learn's predict_proba). */
export function predictProba(model: ForestModel, rows: ReadonlyArray<ArrayLike<number>>, classIndex = 1): Float64Array {
  const forest = compileForest(model);
  const K = forest.nClasses;
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    checkRowWidth(forest, row);
    let s = 0;
    for (const tree of forest.trees) s += tree.value[leafIndex(tree, row) * K + classIndex]!;
    out[i] = s / forest.trees.length;
  }
  return out;
}

/** Fraction of trees voting for `classIndex` (ml-random-forest's notion of probability, counted correctly). */
export function predictVoteFraction(
  model: ForestModel,
  rows: ReadonlyArray<ArrayLike<number>>,
  classIndex = 1,
): Float64Array {
  const forest = compileForest(model);
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    checkRowWidth(forest, rows[i]!);
    let votes = 0;
    for (const tree of forest.trees) if (tree.vote[leafIndex(tree, rows[i]!)] === classIndex) votes++;
    out[i] = votes / forest.trees.length;
  }
  return out;
}

/** Same labels as ml-random-forest's `predict`: mode of tree votes, the class reaching the top count first wins ties. */
export function predictClass(model: ForestModel, rows: ReadonlyArray<ArrayLike<number>>): Int32Array {
  const forest = compileForest(model);
  const out = new Int32Array(rows.length);
  const counts = new Int32Array(forest.nClasses);
  for (let i = 0; i < rows.length; i++) {
    checkRowWidth(forest, rows[i]!);
    counts.fill(0);
    let best = 0;
    let bestCount = 0;
    for (const tree of forest.trees) {
      const v = tree.vote[leafIndex(tree, rows[i]!)]!;
      const c = ++counts[v]!;
      if (c > bestCount) {
        bestCount = c;
        best = v;
      }
    }
    out[i] = best;
  }
  return out;
}
