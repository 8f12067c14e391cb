/**
 * The JSON shape of ml-random-forest 2.1's `RandomForestClassifier.toJSON()` (with ml-cart 2.1
 * trees), and the conversion from our flat trees to it.
 *
 * What ml-random-forest reads back in `RandomForestClassifier.load`: baseModel.indexes (per tree,
 * the columns of the input the tree sees: tree column j = input column indexes[j]), nEstimators,
 * estimators[] ({ options, root, name: 'DTClassifier' }), and from each node only: `distribution`
 * (present => leaf; a 1 x nClasses matrix as [[...]]), else splitValue, splitColumn, gain, left,
 * right. Everything else is carried for fidelity with what ml-random-forest itself writes.
 *
 * Shared by serving (src/model) and training (src/training/forest/cart-json.ts writes it).
 *
 * One addition: split nodes carry `classDistribution` (weighted class fractions of the training
 * samples that reached the node). ml-cart stores class fractions on leaves only, and Saabas
 * contributions need them at every node. ml-cart's loader ignores the field (it must not be
 * called `distribution`: that marks a leaf). Leaves also carry `cover`: the weighted sample total
 * their class fractions come from (bootstrap count x class weight), which path-dependent TreeSHAP
 * needs to average over the branches a row does not take. A split's cover is the sum of its
 * children's, so it is not written (compileForest derives it); models from before leaf-only
 * cover may still have it on splits, where it is ignored.
 */

/** ml-cart DecisionTreeClassifier options, as stored per estimator and repeated on every node. */
export interface CartOptionsJson {
  gainFunction: 'gini';
  splitFunction: 'mean';
  /** ml-cart: a node with <= minNumSamples rows is a leaf (our minSamplesSplit - 1). */
  minNumSamples: number;
  /** Infinity when unbounded (JSON.stringify writes null; ml-random-forest ignores it on load). */
  maxDepth: number;
  gainThreshold: number;
}

interface CartNodeOptionFields {
  kind?: 'classifier';
  gainFunction?: 'gini';
  splitFunction?: 'mean';
  minNumSamples?: number;
  maxDepth?: number;
  gainThreshold?: number;
}

export interface CartSplitNodeJson extends CartNodeOptionFields {
  /** Go left when row[splitColumn] < splitValue. */
  splitValue: number;
  /** Column of the tree's input, i.e. position in baseModel.indexes[tree]. */
  splitColumn: number;
  gain: number;
  numberSamples: number;
  /** Added by churnwatch's trainer (ignored by ml-cart): weighted class fractions at this node. */
  classDistribution?: number[];
  /** Written by churnwatch's trainer before leaf-only cover; ignored (see the file comment). */
  cover?: number;
  left: CartNodeJson;
  right: CartNodeJson;
  distribution?: undefined;
}

export interface CartLeafJson extends CartNodeOptionFields {
  /** 1 x nClasses class fractions. ml-cart's own leaves may be shorter (max label seen + 1). */
  distribution: number[][];
  /** ml-cart leaves sometimes keep a rejected split's gain (or null); ignored on load. */
  gain?: number | null;
  /** Added by churnwatch's trainer (ignored by ml-cart): weighted samples in the leaf. */
  cover?: number;
}

export type CartNodeJson = CartSplitNodeJson | CartLeafJson;

export interface DecisionTreeClassifierJson {
  options: CartOptionsJson & { kind: 'classifier' };
  root: CartNodeJson;
  name: 'DTClassifier';
}

export interface RandomForestBaseModelJson {
  indexes: number[][];
  /** Columns per tree (length of each indexes entry). */
  n: number;
  replacement: boolean;
  /** ml-random-forest's per-tree feature fraction (0, 1] or count. */
  maxFeatures: number;
  nEstimators: number;
  treeOptions?: Partial<CartOptionsJson>;
  isClassifier: boolean;
  seed?: number;
  estimators: DecisionTreeClassifierJson[];
  useSampleBagging: boolean;
}

export interface RandomForestClassifierJson {
  baseModel: RandomForestBaseModelJson;
  name: 'RFClassifier';
}

export function isLeaf(node: CartNodeJson): node is CartLeafJson {
  return node.distribution !== undefined;
}
