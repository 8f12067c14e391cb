/**
 * Random-forest training that writes ml-random-forest's model format.
 *
 * ml-random-forest trains through ml-cart, whose split search re-sorts and re-splits the rows for
 * every candidate value (O(n^2) per feature per node). This trainer bins each feature once into
 * <= 256 quantile bins and searches splits on per-bin class sums, grows trees in worker threads,
 * and converts the result to the JSON `RandomForestClassifier.toJSON()` produces, so
 * `RandomForestClassifier.load` scores our models unchanged.
 *
 * Feature sampling: ml-random-forest draws one column subset per tree (`indexes`); scikit-learn
 * draws `max_features` columns at every split, which decorrelates trees better. We do the latter
 * (`maxFeatures`) and keep `indexes` the identity by default; `featuresPerTree` adds the former.
 */
import { availableParallelism } from 'node:os';
import { binRows, fitBinMapper, MAX_BINS, type BinMapper, type BinnedMatrix } from './binning.js';
import type { CartOptionsJson, RandomForestClassifierJson } from '../../model/forest/json.js';
import { flatTreeToCartJson } from './cart-json.js';
import { growTrees, type TreeTask } from './parallel.js';
import { createRng, deriveSeed } from './random.js';
import { featuresPerSplit, type FlatTree, type MaxFeaturesSpec, type TreeParams, type TreeTrainingData } from './tree.js';

export interface ForestTrainOptions {
  /** Trees in the forest. Default 100. */
  nEstimators?: number;
  /** Maximum depth (root = depth 0). Default Infinity. */
  maxDepth?: number;
  /** Nodes with fewer samples (bootstrap duplicates counted) are leaves. Default 2 (ml-cart's minNumSamples + 1). */
  minSamplesSplit?: number;
  /** Minimum samples in each child of a split. Default 1. */
  minSamplesLeaf?: number;
  /** A split must reduce Gini impurity (node-relative, ml-cart's `gain`) by more than this. Default 0; ml-cart uses 0.01. */
  minGain?: number;
  /**
   * Features drawn at every split (scikit-learn's max_features): 'sqrt' | 'log2' | 'all', a
   * fraction in (0, 1], or a count > 1. Default 'sqrt'.
   */
  maxFeatures?: MaxFeaturesSpec;
  /**
   * Columns each tree sees (ml-random-forest's maxFeatures, stored as `indexes`): a fraction in
   * (0, 1] or a count > 1. Default 1 (all columns, identity indexes unless featureReplacement).
   */
  featuresPerTree?: number;
  /** Draw the per-tree columns with replacement (ml-random-forest's `replacement`). Default false. */
  featureReplacement?: boolean;
  /** Bootstrap rows per tree (ml-random-forest's useSampleBagging). Default true. */
  bootstrap?: boolean;
  /** Bootstrap draws per tree: fraction in (0, 1] or count. Default: number of rows. */
  maxSamples?: number;
  /** 'balanced' = nRows / (nClasses * count_k), as scikit-learn; or one weight per class. Default none. */
  classWeight?: 'balanced' | readonly number[] | null;
  /** Quantile bins per feature, 2..256. Default 256 (exact splits when a feature has <= 256 distinct values). */
  maxBins?: number;
  /** 32-bit seed; same seed + data + options => identical model for any nJobs. Default 42. */
  seed?: number;
  /** Worker threads; 1 trains in the calling thread. Default os.availableParallelism(). */
  nJobs?: number;
  /** Leave out ml-cart's option fields repeated on every node (about half the JSON). Default false. */
  compactJson?: boolean;
  /**
   * These rows already binned by `prebin` (same rows array, same maxBins): several forests on the
   * same rows, as in a hyperparameter search, then bin once instead of once per forest.
   */
  prebinned?: PreBinned;
}

export interface PreBinned {
  readonly rows: ReadonlyArray<ArrayLike<number>>;
  readonly maxBins: number;
  readonly mapper: BinMapper;
  readonly binned: BinnedMatrix;
}

/** Bins rows once for several trainRandomForest calls; kept in shared memory so worker threads can read it. */
export function prebin(rows: ReadonlyArray<ArrayLike<number>>, maxBins: number = MAX_BINS): PreBinned {
  if (rows.length === 0) throw new RangeError('no training rows');
  const nFeatures = rows[0]!.length;
  const mapper = fitBinMapper(rows, nFeatures, maxBins);
  const binned = binRows(rows, mapper, new Uint8Array(new SharedArrayBuffer(rows.length * nFeatures)));
  return { rows, maxBins, mapper, binned };
}

export interface ResolvedForestOptions {
  nEstimators: number;
  maxDepth: number;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  minGain: number;
  maxFeatures: MaxFeaturesSpec;
  featuresPerTree: number;
  featureReplacement: boolean;
  bootstrap: boolean;
  maxSamples: number | null;
  classWeight: 'balanced' | readonly number[] | null;
  maxBins: number;
  seed: number;
  nJobs: number;
  compactJson: boolean;
}

export interface TrainedForest {
  /** Exactly the shape of ml-random-forest's RandomForestClassifier.toJSON() (+ classDistribution on split nodes). */
  model: RandomForestClassifierJson;
  /** Mean decrease in Gini impurity per input column, summing to 1 (scikit-learn's definition). */
  featureImportances: Float64Array;
  nClasses: number;
  /** Weight applied to each class. */
  classWeight: Float64Array;
  options: ResolvedForestOptions;
  stats: { binningSeconds: number; growSeconds: number; totalSeconds: number; nodes: number; leaves: number };
}

/**
 * ml-random-forest's own defaults in our option names (ml-cart: minNumSamples 3, gainThreshold
 * 0.01; all features at every split, per-tree feature bagging with replacement), single-threaded:
 * the setting under which our trainer is compared with ml-random-forest's in tests and bench:train.
 */
export const ML_RANDOM_FOREST_LIKE: Readonly<ForestTrainOptions> = {
  maxFeatures: 'all',
  featuresPerTree: 1,
  featureReplacement: true,
  minSamplesSplit: 4,
  minGain: 0.01,
  nJobs: 1,
};

const DEFAULTS: ResolvedForestOptions = {
  nEstimators: 100,
  maxDepth: Infinity,
  minSamplesSplit: 2,
  minSamplesLeaf: 1,
  minGain: 0,
  maxFeatures: 'sqrt',
  featuresPerTree: 1,
  featureReplacement: false,
  bootstrap: true,
  maxSamples: null,
  classWeight: null,
  maxBins: MAX_BINS,
  seed: 42,
  nJobs: 0, // replaced by availableParallelism() below
  compactJson: false,
};

export function resolveForestOptions(options: ForestTrainOptions = {}): ResolvedForestOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([k, v]) => v !== undefined && k !== 'prebinned'));
  const o: ResolvedForestOptions = { ...DEFAULTS, ...defined, nJobs: options.nJobs ?? availableParallelism() };
  if (!Number.isInteger(o.nEstimators) || o.nEstimators < 1) throw new RangeError('nEstimators must be an integer >= 1');
  if (!(o.maxDepth >= 0)) throw new RangeError('maxDepth must be >= 0');
  if (!(o.minSamplesSplit >= 2)) throw new RangeError('minSamplesSplit must be >= 2');
  if (!(o.minSamplesLeaf >= 1)) throw new RangeError('minSamplesLeaf must be >= 1');
  if (!(o.minGain >= 0)) throw new RangeError('minGain must be >= 0');
  if (!Number.isInteger(o.maxBins) || o.maxBins < 2 || o.maxBins > MAX_BINS) throw new RangeError(`maxBins must be an integer in [2, ${MAX_BINS}]`);
  if (!Number.isInteger(o.seed)) throw new RangeError('seed must be an integer');
  if (!Number.isInteger(o.nJobs) || o.nJobs < 1) throw new RangeError('nJobs must be an integer >= 1');
  return o;
}

/** ml-random-forest's reading of maxFeatures: (0, 1] is a fraction (floored), an integer > 1 a count. */
export function countFromSpec(spec: number, available: number, name: string): number {
  if (spec > 0 && spec <= 1) return Math.max(1, Math.floor(available * spec));
  if (Number.isInteger(spec) && spec > 1) {
    if (spec > available) throw new RangeError(`${name} = ${spec} exceeds the ${available} available`);
    return spec;
  }
  throw new RangeError(`${name} must be a fraction in (0, 1] or an integer > 1, got ${spec}`);
}

/** Per-tree column subsets in ml-random-forest's `indexes` form. */
function treeIndexes(o: ResolvedForestOptions, nFeatures: number): number[][] {
  const n = countFromSpec(o.featuresPerTree, nFeatures, 'featuresPerTree');
  const identity = Array.from({ length: nFeatures }, (_, i) => i);
  if (n === nFeatures && !o.featureReplacement) return Array.from({ length: o.nEstimators }, () => identity.slice());
  // Drawn in the calling thread from a stream separate from the trees' own seeds.
  const rng = createRng(deriveSeed(o.seed, -1));
  return Array.from({ length: o.nEstimators }, () => {
    if (o.featureReplacement) return Array.from({ length: n }, () => rng.nextInt(nFeatures));
    const perm = identity.slice();
    for (let i = 0; i < n; i++) {
      const j = i + rng.nextInt(nFeatures - i);
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    return perm.slice(0, n).sort((a, b) => a - b);
  });
}

export function classWeights(y: Uint8Array, nClasses: number, spec: ResolvedForestOptions['classWeight']): Float64Array {
  const w = new Float64Array(nClasses).fill(1);
  if (spec === null) return w;
  if (spec === 'balanced') {
    const counts = new Float64Array(nClasses);
    for (let i = 0; i < y.length; i++) counts[y[i]!]!++;
    for (let k = 0; k < nClasses; k++) if (counts[k]! > 0) w[k] = y.length / (nClasses * counts[k]!);
    return w;
  }
  if (spec.length !== nClasses) throw new RangeError(`classWeight needs ${nClasses} entries, got ${spec.length}`);
  spec.forEach((v, k) => {
    if (!(v > 0 && Number.isFinite(v))) throw new RangeError('class weights must be finite and > 0');
    w[k] = v;
  });
  return w;
}

/**
 * Trains a random-forest classifier.
 * @param rows row-major features (number[][] or typed-array rows); NaN is allowed and goes right.
 * @param labels class indexes 0 .. K-1 (churn: 0 = stays, 1 = churns).
 */
export async function trainRandomForest(
  rows: ReadonlyArray<ArrayLike<number>>,
  labels: ArrayLike<number>,
  options: ForestTrainOptions = {},
): Promise<TrainedForest> {
  const t0 = performance.now();
  const o = resolveForestOptions(options);
  const nRows = rows.length;
  if (nRows === 0) throw new RangeError('no training rows');
  if (labels.length !== nRows) throw new RangeError(`${nRows} rows but ${labels.length} labels`);
  const nFeatures = rows[0]!.length;
  if (nFeatures === 0) throw new RangeError('rows have no features');

  const y = new Uint8Array(nRows);
  let maxLabel = 0;
  for (let i = 0; i < nRows; i++) {
    if (rows[i]!.length !== nFeatures) throw new RangeError(`row ${i} has ${rows[i]!.length} features, expected ${nFeatures}`);
    const v = labels[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new RangeError(`label ${v} at row ${i} is not a class index 0..255`);
    y[i] = v;
    if (v > maxLabel) maxLabel = v;
  }
  const nClasses = Math.max(2, maxLabel + 1);
  const classWeight = classWeights(y, nClasses, o.classWeight);

  const pre = options.prebinned;
  if (pre !== undefined && (pre.rows !== rows || pre.maxBins !== o.maxBins)) {
    throw new RangeError('prebinned was made from other rows or another maxBins');
  }
  const parallel = Math.min(o.nJobs, o.nEstimators) > 1;
  const mapper = pre?.mapper ?? fitBinMapper(rows, nFeatures, o.maxBins);
  const binned = pre?.binned ?? binRows(rows, mapper, parallel ? new Uint8Array(new SharedArrayBuffer(nRows * nFeatures)) : undefined);
  const t1 = performance.now();

  const indexes = treeIndexes(o, nFeatures);
  const nTreeColumns = indexes[0]!.length;
  const tasks: TreeTask[] = indexes.map((idx, t) => ({
    treeIndex: t,
    seed: deriveSeed(o.seed, t),
    candidateFeatures: Int32Array.from(new Set(idx)).sort(),
  }));
  // Validate here (workers would only fail later); an integer count must fit the columns a tree sees.
  featuresPerSplit(o.maxFeatures, nTreeColumns);
  if (typeof o.maxFeatures === 'number' && o.maxFeatures > 1 && o.maxFeatures > nTreeColumns) {
    throw new RangeError(`maxFeatures = ${o.maxFeatures} exceeds the ${nTreeColumns} columns each tree sees`);
  }
  const params: TreeParams = {
    maxDepth: o.maxDepth,
    minSamplesSplit: o.minSamplesSplit,
    minSamplesLeaf: o.minSamplesLeaf,
    minGain: o.minGain,
    maxFeatures: o.maxFeatures,
    bootstrap: o.bootstrap,
    nDraws: o.maxSamples === null ? nRows : countFromSpec(o.maxSamples, nRows, 'maxSamples'),
  };
  const data: TreeTrainingData = {
    bins: binned.bins,
    nRows,
    nFeatures,
    nBins: binned.nBins,
    thresholds: mapper.thresholds,
    y,
    nClasses,
    classWeight,
  };
  const trees = await growTrees(data, params, tasks, o.nJobs);
  const t2 = performance.now();

  const cartOptions: CartOptionsJson = {
    gainFunction: 'gini',
    splitFunction: 'mean',
    minNumSamples: o.minSamplesSplit - 1,
    maxDepth: o.maxDepth,
    gainThreshold: o.minGain,
  };
  const estimators = trees.map((tree, t) => {
    const idx = indexes[t]!;
    const local = new Map<number, number>();
    idx.forEach((col, j) => {
      if (!local.has(col)) local.set(col, j);
    });
    return flatTreeToCartJson(tree, cartOptions, (col) => local.get(col)!, o.compactJson);
  });
  const model: RandomForestClassifierJson = {
    baseModel: {
      indexes,
      n: nTreeColumns,
      replacement: o.featureReplacement,
      maxFeatures: o.featuresPerTree,
      nEstimators: o.nEstimators,
      treeOptions: { ...cartOptions },
      isClassifier: true,
      seed: o.seed,
      estimators,
      useSampleBagging: o.bootstrap,
    },
    name: 'RFClassifier',
  };

  let nodes = 0;
  let leaves = 0;
  for (const tree of trees) {
    nodes += tree.nNodes;
    for (let i = 0; i < tree.nNodes; i++) if (tree.feature[i]! < 0) leaves++;
  }
  return {
    model,
    featureImportances: meanDecreaseImpurity(trees, nFeatures),
    nClasses,
    classWeight,
    options: o,
    stats: {
      binningSeconds: (t1 - t0) / 1000,
      growSeconds: (t2 - t1) / 1000,
      totalSeconds: (performance.now() - t0) / 1000,
      nodes,
      leaves,
    },
  };
}

/** scikit-learn's feature_importances_: per-tree MDI normalised to 1, averaged, renormalised. */
export function meanDecreaseImpurity(trees: readonly FlatTree[], nFeatures: number): Float64Array {
  const total = new Float64Array(nFeatures);
  for (const tree of trees) {
    let s = 0;
    for (let f = 0; f < nFeatures; f++) s += tree.importance[f]!;
    if (s > 0) for (let f = 0; f < nFeatures; f++) total[f]! += tree.importance[f]! / s;
  }
  let s = 0;
  for (let f = 0; f < nFeatures; f++) s += total[f]!;
  if (s > 0) for (let f = 0; f < nFeatures; f++) total[f]! /= s;
  return total;
}
