/**
 * One CART classification tree grown on binned features (Gini impurity, best-first by depth-first
 * order of creation). Pure CPU work with typed arrays only, so the same function runs in the main
 * thread (nJobs = 1) and in worker threads, and gives bit-identical trees for the same seed.
 *
 * Bootstrap duplicates are represented as integer sample weights (as scikit-learn does) rather
 * than copied rows: a row drawn 3 times weighs 3 in the class sums and counts 3 towards
 * minSamplesSplit / minSamplesLeaf and `numberSamples` (ml-cart counts duplicated rows the same).
 * Class labels must be < 256 and bootstrap counts < 2^23 (packed in one Int32 per row).
 */
import { createRng } from './random.js';

export interface TreeTrainingData {
  /** Row-major bin indexes: bins[row * nFeatures + feature]. */
  readonly bins: Uint8Array;
  readonly nRows: number;
  readonly nFeatures: number;
  readonly nBins: Uint16Array;
  /** Per feature; thresholds[f][b] separates bin b (left) from bin b + 1 (right). */
  readonly thresholds: readonly Float64Array[];
  /** Class index per row, 0 .. nClasses - 1. */
  readonly y: Uint8Array;
  readonly nClasses: number;
  /** Weight per class (1 for unweighted; 'balanced' weights otherwise). */
  readonly classWeight: Float64Array;
}

export interface TreeParams {
  readonly maxDepth: number;
  /** A node with fewer (bootstrap-counted) samples than this becomes a leaf. */
  readonly minSamplesSplit: number;
  readonly minSamplesLeaf: number;
  /** A split must reduce Gini impurity by more than this (ml-cart's gainThreshold). */
  readonly minGain: number;
  /**
   * Features drawn per split (scikit-learn's max_features), resolved against the tree's own
   * candidate columns (they differ per tree when featuresPerTree < 1 or with replacement).
   */
  readonly maxFeatures: MaxFeaturesSpec;
  readonly bootstrap: boolean;
  /** Bootstrap draws per tree (scikit-learn's max_samples); ignored without bootstrap. */
  readonly nDraws: number;
}

/** 'sqrt' | 'log2' | 'all', a fraction in (0, 1], or a count > 1. */
export type MaxFeaturesSpec = 'sqrt' | 'log2' | 'all' | number;

/** Number of features to draw per split out of `available` (a count is capped at `available`). */
export function featuresPerSplit(spec: MaxFeaturesSpec, available: number): number {
  if (spec === 'sqrt') return Math.max(1, Math.floor(Math.sqrt(available)));
  if (spec === 'log2') return Math.max(1, Math.floor(Math.log2(available)));
  if (spec === 'all') return available;
  if (spec > 0 && spec <= 1) return Math.max(1, Math.floor(available * spec));
  if (Number.isInteger(spec) && spec > 1) return Math.min(spec, available);
  throw new RangeError(`maxFeatures must be 'sqrt', 'log2', 'all', a fraction in (0, 1] or an integer > 1, got ${spec}`);
}

/** A tree as parallel typed arrays (transferable between threads without copying). */
export interface FlatTree {
  readonly nNodes: number;
  readonly nClasses: number;
  /** Original column index, -1 for leaves. */
  readonly feature: Int32Array;
  /** Row goes left when x[feature] < threshold (ml-cart's rule). */
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Gini gain of the split (parent impurity - weighted child impurity), ml-cart's `gain`. */
  readonly gain: Float64Array;
  /** Bootstrap-counted samples in the node, ml-cart's `numberSamples`. */
  readonly numberSamples: Float64Array;
  /** Weighted class fractions of each node: value[node * nClasses + k]. */
  readonly value: Float64Array;
  /**
   * Weighted samples in the node (bootstrap count x class weight): the total `value` is a fraction
   * of, scikit-learn's weighted_n_node_samples. TreeSHAP weighs unseen branches by it.
   */
  readonly cover: Float64Array;
  /** Weighted impurity decrease per original feature (unnormalised MDI of this tree). */
  readonly importance: Float64Array;
}

/**
 * Grows one tree. `candidateFeatures` are the columns this tree may split on (all columns, or the
 * ml-random-forest style per-tree subset); per split, `maxFeaturesPerSplit` of them are drawn.
 */
export function buildTree(
  data: TreeTrainingData,
  params: TreeParams,
  seed: number,
  candidateFeatures: Int32Array,
): FlatTree {
  const { bins, nRows, nBins, thresholds, y, classWeight } = data;
  const K = data.nClasses;
  const P = data.nFeatures;
  const rng = createRng(seed);

  // --- samples ----------------------------------------------------------------------------------
  // A row's weight is (bootstrap count) x classWeight[class], so histograms only need integer
  // bootstrap counts per class; weights are applied when scanning. Count and class are packed in
  // one Int32 per row (count << 8 | class): the split search reads it at scattered rows, and one
  // small array stays in cache where separate weight/count/class arrays would not.
  const code = new Int32Array(nRows);
  if (params.bootstrap) {
    for (let d = 0; d < params.nDraws; d++) code[rng.nextInt(nRows)]! += 256;
  } else {
    code.fill(256);
  }
  let nInBag = 0;
  for (let r = 0; r < nRows; r++) {
    if (code[r]! > 0) {
      code[r]! |= y[r]!;
      nInBag++;
    }
  }
  const rows = new Uint32Array(nInBag);
  for (let r = 0, i = 0; r < nRows; r++) if (code[r]! > 0) rows[i++] = r;
  const rightRows = new Uint32Array(nInBag); // partition buffer

  // --- node storage (grown with push; trees have thousands of nodes, not millions) -------------
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const gain: number[] = [];
  const classCounts: number[] = []; // bootstrap-counted samples per class, K per node
  const importance = new Float64Array(P);

  const newNode = (counts: Int32Array): number => {
    const id = feature.length;
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    gain.push(0);
    for (let k = 0; k < K; k++) classCounts.push(counts[k]!);
    return id;
  };

  const leftCounts = new Int32Array(K);
  const rightCounts = new Int32Array(K);
  for (let i = 0; i < nInBag; i++) {
    const c = code[rows[i]!]!;
    leftCounts[c & 255]! += c >>> 8;
  }
  newNode(leftCounts); // root

  // --- scratch buffers reused by every node ----------------------------------------------------
  let maxNb = 1;
  for (let f = 0; f < nBins.length; f++) maxNb = Math.max(maxNb, nBins[f]!);
  const featPerm = Int32Array.from(candidateFeatures);
  const nCand = featPerm.length;
  const mtry = Math.max(1, Math.min(featuresPerSplit(params.maxFeatures, nCand), nCand));
  const minLeaf = Math.max(1, params.minSamplesLeaf);
  // Histograms of the features drawn for one node, built in one pass over the node's rows:
  // hist[(j * maxNb + b) * K + k] = bootstrap count of class k in bin b of drawn feature j.
  const hist = new Int32Array(mtry * maxNb * K);
  const drawn = new Int32Array(mtry);
  const nodeW = new Float64Array(K);
  const leftW = new Float64Array(K);

  // Depth-first stack of pending nodes: (id, start, end, depth) over `rows`.
  const stack: number[] = [0, 0, nInBag, 0];
  while (stack.length > 0) {
    const depth = stack.pop()!;
    const end = stack.pop()!;
    const start = stack.pop()!;
    const id = stack.pop()!;

    const base = id * K;
    let W = 0;
    let C = 0;
    let sumSqP = 0;
    for (let k = 0; k < K; k++) {
      const cnt = classCounts[base + k]!;
      const w = cnt * classWeight[k]!;
      nodeW[k] = w;
      C += cnt;
      W += w;
      sumSqP += w * w;
    }
    const impurity = W > 0 ? 1 - sumSqP / (W * W) : 0;
    if (depth >= params.maxDepth || C < params.minSamplesSplit || C < 2 * minLeaf || impurity <= 1e-12) {
      continue; // leaf
    }

    // --- best split over randomly drawn features ----------------------------------------------
    // Proxy to maximise: sum_k L_k^2 / W_L + sum_k R_k^2 / W_R (equivalent to minimising the
    // weighted child Gini). Start just above the parent's value so zero-gain splits never win.
    const parentProxy = sumSqP / W;
    let bestProxy = parentProxy + Math.abs(parentProxy) * 1e-12;
    let bestFeature = -1;
    let bestLastLeftBin = -1;
    let bestThresholdBin = -1;
    let nextCand = 0;
    let nonConstant = 0;
    // scikit-learn's rule: look at mtry features, and draw more (one at a time) only while every
    // feature seen so far was constant in this node.
    for (let batch = mtry; batch > 0 && nextCand < nCand && nonConstant === 0; batch = 1) {
      let m = 0;
      while (m < batch && nextCand < nCand) {
        const j = nextCand + rng.nextInt(nCand - nextCand);
        const f = featPerm[j]!;
        featPerm[j] = featPerm[nextCand]!;
        featPerm[nextCand++] = f;
        drawn[m++] = f;
      }

      // The hot loop: one pass over the node's rows fills all m histograms.
      for (let p = start; p < end; p++) {
        const r = rows[p]!;
        const c = code[r]!;
        const k = c & 255;
        const cnt = c >>> 8;
        const rowOff = r * P;
        for (let j = 0; j < m; j++) hist[(j * maxNb + bins[rowOff + drawn[j]!]!) * K + k]! += cnt;
      }

      for (let j = 0; j < m; j++) {
        const f = drawn[j]!;
        const nb = nBins[f]!;
        const h0 = j * maxNb * K;
        // Scan bins left to right; a candidate lies between two consecutive occupied bins.
        leftW.fill(0);
        let wL = 0;
        let cL = 0;
        let prev = -1;
        let occupied = 0;
        for (let b = 0; b < nb; b++) {
          let cb = 0;
          for (let k = 0; k < K; k++) cb += hist[h0 + b * K + k]!;
          if (cb === 0) continue;
          occupied++;
          if (prev >= 0 && cL >= minLeaf) {
            if (C - cL < minLeaf) break;
            const wR = W - wL;
            if (wL > 0 && wR > 0) {
              let sqL = 0;
              let sqR = 0;
              for (let k = 0; k < K; k++) {
                const l = leftW[k]!;
                const rr = nodeW[k]! - l;
                sqL += l * l;
                sqR += rr * rr;
              }
              const proxy = sqL / wL + sqR / wR;
              if (proxy > bestProxy) {
                bestProxy = proxy;
                bestFeature = f;
                bestLastLeftBin = prev;
                // Empty bins between prev and b give the same partition; the middle threshold
                // of that gap generalises better than hugging the left values.
                bestThresholdBin = (prev + b - 1) >>> 1;
              }
            }
          }
          for (let k = 0; k < K; k++) {
            const w = hist[h0 + b * K + k]! * classWeight[k]!;
            leftW[k]! += w;
            wL += w;
          }
          cL += cb;
          prev = b;
        }
        // The `break` above only fires after two occupied bins, so occupied > 1 <=> not constant.
        if (occupied > 1) nonConstant++;
        hist.fill(0, h0, h0 + nb * K);
      }
    }

    if (bestFeature < 0) continue;
    const splitGain = (bestProxy - parentProxy) / W;
    if (!(splitGain > params.minGain)) continue;

    // --- stable partition of rows[start, end), counting the children's classes ----------------
    // Stable, so every node's rows stay in ascending row order: the hot loop's scattered reads of
    // bins and code then move forward through memory, which the hardware prefetcher follows.
    leftCounts.fill(0);
    rightCounts.fill(0);
    let lo = start;
    let nRight = 0;
    for (let p = start; p < end; p++) {
      const r = rows[p]!;
      const c = code[r]!;
      if (bins[r * P + bestFeature]! <= bestLastLeftBin) {
        leftCounts[c & 255]! += c >>> 8;
        rows[lo++] = r;
      } else {
        rightCounts[c & 255]! += c >>> 8;
        rightRows[nRight++] = r;
      }
    }
    rows.set(rightRows.subarray(0, nRight), lo);

    feature[id] = bestFeature;
    threshold[id] = thresholds[bestFeature]![bestThresholdBin]!;
    gain[id] = splitGain;
    importance[bestFeature]! += W * splitGain;
    const l = newNode(leftCounts);
    const rgt = newNode(rightCounts);
    left[id] = l;
    right[id] = rgt;
    // Right pushed first so the left subtree is grown first (deterministic node order).
    stack.push(rgt, lo, end, depth + 1);
    stack.push(l, start, lo, depth + 1);
  }

  const nNodes = feature.length;
  const value = new Float64Array(nNodes * K);
  const numberSamples = new Float64Array(nNodes);
  const cover = new Float64Array(nNodes);
  for (let id = 0; id < nNodes; id++) {
    let W = 0;
    let C = 0;
    for (let k = 0; k < K; k++) {
      C += classCounts[id * K + k]!;
      W += classCounts[id * K + k]! * classWeight[k]!;
    }
    numberSamples[id] = C;
    cover[id] = W;
    for (let k = 0; k < K; k++) value[id * K + k] = W > 0 ? (classCounts[id * K + k]! * classWeight[k]!) / W : 0;
  }
  return {
    nNodes,
    nClasses: K,
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    gain: Float64Array.from(gain),
    numberSamples,
    value,
    cover,
    importance,
  };
}

/** Buffers of a FlatTree, for postMessage transfer lists. */
export function flatTreeBuffers(tree: FlatTree): ArrayBuffer[] {
  return [
    tree.feature,
    tree.threshold,
    tree.left,
    tree.right,
    tree.gain,
    tree.numberSamples,
    tree.value,
    tree.cover,
    tree.importance,
  ].map((a) => a.buffer as ArrayBuffer);
}
