/**
 * One CART classification tree grown on binned features (Gini impurity, best-first by depth-first
 * order of creation). Pure CPU work with typed arrays only, so the same function runs in the main
 * thread (nJobs = 1) and in worker threads, and gives bit-identical trees for the same seed.
 *
 * Bootstrap duplicates are represented as integer sample weights (as scikit-learn does) rather
 * than copied rows: a row drawn 3 times weighs 3 in the class sums and counts 3 towards
 * minSamplesSplit / minSamplesLeaf and `numberSamples` (ml-cart counts duplicated rows the same).
 */
import { createRng } from './random.js';

export interface TreeTrainingData {
  /** Column-major bin indexes: bins[feature * nRows + row]. */
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
  /** Features drawn per split (scikit-learn's max_features). */
  readonly maxFeaturesPerSplit: number;
  readonly bootstrap: boolean;
  /** Bootstrap draws per tree (scikit-learn's max_samples); ignored without bootstrap. */
  readonly nDraws: number;
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
  const rng = createRng(seed);

  // --- samples: bootstrap counts -> weights -------------------------------------------------
  const counts = new Int32Array(nRows);
  if (params.bootstrap) {
    for (let d = 0; d < params.nDraws; d++) counts[rng.nextInt(nRows)]!++;
  } else {
    counts.fill(1);
  }
  let nInBag = 0;
  for (let r = 0; r < nRows; r++) if (counts[r]! > 0) nInBag++;
  const rows = new Uint32Array(nInBag);
  const weight = new Float64Array(nRows);
  for (let r = 0, i = 0; r < nRows; r++) {
    const c = counts[r]!;
    if (c > 0) {
      rows[i++] = r;
      weight[r] = c * classWeight[y[r]!]!;
    }
  }

  // --- node storage (grown with push; trees have thousands of nodes, not millions) ----------
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const gain: number[] = [];
  const numberSamples: number[] = [];
  const sums: number[] = []; // weighted class sums, K per node
  const importance = new Float64Array(data.nFeatures);

  const newNode = (classSums: Float64Array, count: number): number => {
    const id = feature.length;
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    gain.push(0);
    numberSamples.push(count);
    for (let k = 0; k < K; k++) sums.push(classSums[k]!);
    return id;
  };

  // Root totals.
  {
    const s = new Float64Array(K);
    let c = 0;
    for (let i = 0; i < nInBag; i++) {
      const r = rows[i]!;
      s[y[r]!]! += weight[r]!;
      c += counts[r]!;
    }
    newNode(s, c);
  }

  // --- scratch buffers reused by every node --------------------------------------------------
  let maxNb = 1;
  for (let f = 0; f < nBins.length; f++) maxNb = Math.max(maxNb, nBins[f]!);
  const hist = new Float64Array(maxNb * K); // weighted class sums per bin; kept all-zero between uses
  const histCount = new Float64Array(maxNb); // bootstrap-counted samples per bin
  const leftSums = new Float64Array(K);
  const rightSums = new Float64Array(K);
  const featPerm = Int32Array.from(candidateFeatures);
  const nCand = featPerm.length;
  const mtry = Math.max(1, Math.min(params.maxFeaturesPerSplit, nCand));
  const minLeaf = Math.max(1, params.minSamplesLeaf);

  // Depth-first stack of pending nodes: (id, start, end, depth) over `rows`.
  const stack: number[] = [0, 0, nInBag, 0];
  while (stack.length > 0) {
    const depth = stack.pop()!;
    const end = stack.pop()!;
    const start = stack.pop()!;
    const id = stack.pop()!;

    const base = id * K;
    let W = 0;
    let sumSqP = 0;
    for (let k = 0; k < K; k++) {
      const s = sums[base + k]!;
      W += s;
      sumSqP += s * s;
    }
    const C = numberSamples[id]!;
    const impurity = W > 0 ? 1 - sumSqP / (W * W) : 0;
    if (depth >= params.maxDepth || C < params.minSamplesSplit || C < 2 * minLeaf || impurity <= 1e-12) {
      continue; // leaf
    }

    // --- best split over a random subset of features ----------------------------------------
    // Proxy to maximise: sum_k L_k^2 / W_L + sum_k R_k^2 / W_R (equivalent to minimising the
    // weighted child Gini). Start just above the parent's value so zero-gain splits never win.
    const parentProxy = sumSqP / W;
    let bestProxy = parentProxy + Math.abs(parentProxy) * 1e-12;
    let bestFeature = -1;
    let bestLastLeftBin = -1;
    let bestThresholdBin = -1;
    let visited = 0;
    let nonConstant = 0;
    for (let i = 0; i < nCand; i++) {
      // scikit-learn's rule: look at mtry features, more only while all seen so far were constant.
      if (visited >= mtry && nonConstant > 0) break;
      const j = i + rng.nextInt(nCand - i);
      const f = featPerm[j]!;
      featPerm[j] = featPerm[i]!;
      featPerm[i] = f;
      visited++;

      const off = f * nRows;
      let minB = maxNb;
      let maxB = -1;
      for (let p = start; p < end; p++) {
        const r = rows[p]!;
        const b = bins[off + r]!;
        hist[b * K + y[r]!]! += weight[r]!;
        histCount[b]! += counts[r]!;
        if (b < minB) minB = b;
        if (b > maxB) maxB = b;
      }
      if (minB === maxB) {
        clearBins(hist, histCount, minB, maxB, K);
        continue; // constant in this node
      }
      nonConstant++;

      // Scan occupied bins left to right; a candidate lies between two consecutive occupied bins.
      leftSums.fill(0);
      let leftW = 0;
      let leftC = 0;
      let prev = -1;
      for (let b = minB; b <= maxB; b++) {
        const cb = histCount[b]!;
        if (cb === 0) continue;
        if (prev >= 0 && leftC >= minLeaf) {
          const rightC = C - leftC;
          if (rightC < minLeaf) break;
          const rightW = W - leftW;
          if (leftW > 0 && rightW > 0) {
            let sqL = 0;
            let sqR = 0;
            for (let k = 0; k < K; k++) {
              const l = leftSums[k]!;
              const rr = sums[base + k]! - l;
              sqL += l * l;
              sqR += rr * rr;
            }
            const proxy = sqL / leftW + sqR / rightW;
            if (proxy > bestProxy) {
              bestProxy = proxy;
              bestFeature = f;
              bestLastLeftBin = prev;
              // Empty bins between prev and b give the same partition; the middle threshold of
              // that gap generalises better than hugging the left values.
              bestThresholdBin = (prev + b - 1) >>> 1;
            }
          }
        }
        for (let k = 0; k < K; k++) {
          const h = hist[b * K + k]!;
          leftSums[k]! += h;
          leftW += h;
        }
        leftC += cb;
        prev = b;
      }
      clearBins(hist, histCount, minB, maxB, K);
    }

    if (bestFeature < 0) continue;
    const splitGain = (bestProxy - parentProxy) / W;
    if (!(splitGain > params.minGain)) continue;

    // --- partition rows[start, end) in place and total the children exactly -----------------
    const off = bestFeature * nRows;
    leftSums.fill(0);
    rightSums.fill(0);
    let leftC = 0;
    let rightC = 0;
    let lo = start;
    let hi = end - 1;
    while (lo <= hi) {
      const r = rows[lo]!;
      if (bins[off + r]! <= bestLastLeftBin) {
        leftSums[y[r]!]! += weight[r]!;
        leftC += counts[r]!;
        lo++;
      } else {
        rightSums[y[r]!]! += weight[r]!;
        rightC += counts[r]!;
        rows[lo] = rows[hi]!;
        rows[hi] = r;
        hi--;
      }
    }

    feature[id] = bestFeature;
    threshold[id] = thresholds[bestFeature]![bestThresholdBin]!;
    gain[id] = splitGain;
    importance[bestFeature]! += W * splitGain;
    const l = newNode(leftSums, leftC);
    const rgt = newNode(rightSums, rightC);
    left[id] = l;
    right[id] = rgt;
    // Right pushed first so the left subtree is grown first (deterministic node order).
    stack.push(rgt, lo, end, depth + 1);
    stack.push(l, start, lo, depth + 1);
  }

  const nNodes = feature.length;
  const value = new Float64Array(nNodes * K);
  for (let id = 0; id < nNodes; id++) {
    let W = 0;
    for (let k = 0; k < K; k++) W += sums[id * K + k]!;
    for (let k = 0; k < K; k++) value[id * K + k] = W > 0 ? sums[id * K + k]! / W : 0;
  }
  return {
    nNodes,
    nClasses: K,
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    gain: Float64Array.from(gain),
    numberSamples: Float64Array.from(numberSamples),
    value,
    importance,
  };
}

function clearBins(hist: Float64Array, histCount: Float64Array, minB: number, maxB: number, K: number): void {
  hist.fill(0, minB * K, (maxB + 1) * K);
  histCount.fill(0, minB, maxB + 1);
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
    tree.importance,
  ].map((a) => a.buffer as ArrayBuffer);
}
