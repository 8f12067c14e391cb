/**
 * Exact path-dependent TreeSHAP for the forest's probability of class 1 (the mean over trees of
 * the leaf's class fraction), computed the Linear TreeSHAP way (Yu, Bhatt, Ravikumar, Matsuda et
 * al., NeurIPS 2022) in O(T N n) per row: T trees, N nodes per tree, n = ceil(D / 2) with D the
 * most distinct features on one root-to-leaf path. For every row:
 *
 *     expectedValue + sum(phi) = prediction
 *
 * where expectedValue is the mean over trees of the cover-weighted mean leaf value and phi[f] is
 * the Shapley value of feature f for the game "expected tree output when only the features in S
 * are known", the expectation over unknown features taken down both branches in proportion to
 * the training cover (Algorithm 1 of Lundberg, Erion & Lee 2018). These are the same numbers as
 * their Algorithm 2 (O(T L D^2)), which test/support/treeshap-algorithm2.ts keeps as a reference.
 * Unlike Saabas credits they are consistent: raising a feature's true impact never lowers its
 * attribution, which is what makes them fit to be shown to a retention team as reasons.
 *
 * The identity. Take one leaf with value v whose path tests the distinct features P; feature j has
 * zero fraction z_j (product of the cover shares of its splits on the path) and one fraction o_j
 * (1 when the row goes the path's way at all of them, else 0). The leaf's part of the game is
 * v * prod_{j in S} o_j * prod_{j in P \ S} z_j, and since the Shapley weight s!(d-s-1)!/d! is the
 * Beta integral of t^s (1-t)^(d-1-s) over [0, 1],
 *
 *     phi_i = v (o_i - z_i) * integral_0^1 prod_{j in P, j != i} F_j(t) dt,   F_j(t) = z_j (1-t) + o_j t.
 *
 * The integrand is a polynomial of degree |P| - 1 <= D - 1, so Gauss-Legendre quadrature with n
 * nodes integrates it exactly: a polynomial is held as its n values at the nodes, products are
 * element-wise and the integral is a dot product with the weights. (Linear TreeSHAP uses D
 * Chebyshev nodes and inner products with Shapley-weight vectors; the Beta integral makes the
 * weights independent of the path length and halves the nodes.) Per tree and row, over the nodes:
 *
 *  - top-down, WG[c](t) = w(t) * product of F over the edges from the root to c (w: the weights);
 *  - bottom-up, Q[c](t) = sum over leaves l below c of v_l * product of F over the edges c..l;
 *  - the edge into c from its parent p (split feature f) adds
 *        phi_f += (o - z) * sum_k WG[p](t_k) Q[c](t_k),
 *    which summed over the edges of f is the integral above summed over every leaf below them.
 *
 * A feature tested twice on one path is one player whose z and o are products over its splits:
 * the later edge replaces the factor F^p of the earlier ones by the combined F^e, so it multiplies
 * by R = F^e / F^p and adds the difference of the two integrands,
 *        K = ((o^e - z^e) / F^e - (o^p - z^p) / F^p) * R,
 * which telescopes over the path to the integrand of the last one. These are identities between
 * values at the nodes, so they stay exact, and every quantity is finite: F^p > 0 wherever o^p = 1
 * (the nodes lie strictly inside (0, 1)), and where o^p = o^e = 0 the feature was cold already,
 * K = 0 and R is the split's own share. A cold edge with zero cover makes F = 0, which zeroes
 * everything below it without dividing by anything.
 *
 * Numerically nothing is interpolated or converted between bases (the step that limits the depth
 * of the original Linear TreeSHAP): WG and R are products of numbers in [0, 1], the weights are
 * positive, and K is bounded by 1 / t_1 (t_1 the smallest node). test/treeshap.test.ts checks
 * the result against brute force up to depth 16 with 16 distinct features on a path, and against
 * Algorithm 2 up to depth 32.
 *
 * Exact reductions cut the work: phi is linear in the leaf values and zero for a constant tree,
 * so each tree's leaf values are shifted by their most common value and subtrees whose shifted
 * leaves are all zero are dropped; leaves and "cherries" (splits with two leaf children) are
 * folded into their parent as scalars (see PreparedTree); each node handles both its edges at
 * once (their factors sum to 1, see up()); and each tree is laid out once as flat arrays in
 * pre-order, so explaining is a few linear sweeps over typed arrays, over a batch of rows at a
 * time, with no recursion and no allocation.
 *
 * Splits follow ml-cart exactly: left when row[f] < threshold, so NaN goes right.
 */

/** One tree as flat arrays, nodes in any order with children after their parent (root = node 0). */
export interface ShapTree {
  /** Input column tested at each split node, -1 at leaves. */
  readonly feature: Int32Array;
  /** Left when row[feature] < threshold (NaN goes right). */
  readonly threshold: Float64Array;
  /** Child indexes at split nodes (ignored at leaves). */
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Model output at leaves (class-1 fraction); ignored at split nodes. */
  readonly leafValue: Float64Array;
  /** Weighted training samples per node (scikit-learn's weighted_n_node_samples), >= 0. */
  readonly cover: Float64Array;
}

export interface ShapResult {
  /** Mean over trees of the expected tree output with no feature known. */
  readonly expectedValue: number;
  /** Mean over trees of the row's leaf value: expectedValue + sum(phi). */
  readonly prediction: number;
}

/** What shapForestFromCompiled reads: a structural subset of predict.ts's CompiledForest. */
export interface CompiledForestLike {
  readonly trees: readonly {
    readonly feature: Int32Array;
    readonly threshold: Float64Array;
    readonly left: Int32Array;
    readonly right: Int32Array;
    /** nClasses fractions per node. */
    readonly value: Float64Array;
    readonly cover: Float64Array;
  }[];
  readonly nClasses: number;
  readonly hasCover: boolean;
}

/**
 * ShapTrees for class `classIndex` of a compiled forest. Structure and cover arrays are shared,
 * not copied; only the leaf values are extracted.
 */
export function shapForestFromCompiled(forest: CompiledForestLike, classIndex = 1): ShapTree[] {
  if (!forest.hasCover) {
    throw new Error('TreeSHAP needs the training cover of every leaf (`cover` in the model JSON); retrain the model with the churnwatch forest trainer');
  }
  const K = forest.nClasses;
  if (!(Number.isInteger(classIndex) && classIndex >= 0 && classIndex < K)) {
    throw new RangeError(`classIndex ${classIndex} outside 0..${K - 1}`);
  }
  return forest.trees.map((t) => {
    const leafValue = new Float64Array(t.feature.length);
    for (let i = 0; i < leafValue.length; i++) leafValue[i] = t.value[i * K + classIndex]!;
    return { feature: t.feature, threshold: t.threshold, left: t.left, right: t.right, leafValue, cover: t.cover };
  });
}

/**
 * Gauss-Legendre quadrature on [0, 1]: n nodes (ascending, strictly inside the interval) and
 * positive weights summing to 1, exact for polynomials of degree <= 2n - 1. Newton's method on the
 * Legendre polynomial P_n from the usual cosine guesses; converges to full precision in a few
 * steps for the n used here (n <= 64).
 */
export function gaussLegendre(n: number): { readonly nodes: Float64Array; readonly weights: Float64Array } {
  if (!(Number.isInteger(n) && n >= 1 && n <= 64)) throw new RangeError(`quadrature size ${n} outside 1..64`);
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // Root i of P_n on [-1, 1], counted from +1 downwards, so t = (1 - x) / 2 ascends.
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let derivative = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1;
      let p1 = x;
      for (let j = 1; j < n; j++) {
        const p2 = ((2 * j + 1) * x * p1 - j * p0) / (j + 1);
        p0 = p1;
        p1 = p2;
      }
      // p1 = P_n(x), p0 = P_{n-1}(x).
      derivative = (n * (x * p1 - p0)) / (x * x - 1);
      const step = p1 / derivative;
      x -= step;
      if (Math.abs(step) <= 1e-16) break;
    }
    nodes[i] = (1 - x) / 2;
    weights[i] = 1 / ((1 - x * x) * derivative * derivative);
  }
  return { nodes, weights };
}

/**
 * Expected output of one tree when no feature is known: the cover-weighted mean of its leaf
 * values. Each split weighs its children by their share of the children's summed cover, the same
 * fractions TreeSHAP uses, so additivity holds even if a parent's cover is not exactly the sum of
 * its children's (float rounding of weighted counts).
 */
export function treeExpectedValue(tree: ShapTree): number {
  return prepareTree(tree, 1).expectedValue;
}

/**
 * One tree laid out for the sweeps. Its "vector" nodes (the splits that carry WG and Q as n
 * values) are numbered in pre-order, so every parent comes before its children; index 0 is the
 * root, and `size` is 0 when the tree cannot contribute (a single leaf, or every leaf at the
 * baseline value). Each vector node has two child slots. A slot holds a vector node, or a scalar
 * child whose Q is linear, Q(t) = B (1 - t) + A t: a leaf (A = B = its value; 0 when its subtree
 * was dropped) or a "cherry", a split whose children are both leaves (B its expected value, A the
 * value of the leaf the row reaches). Splits that are cherries are 45% of those in the starter-like
 * forest; as slots they cost a comparison and a few multiplications instead of two sweeps of n.
 * A cherry needs plain edges (its feature and its parent's untested above), so that its part of
 * the integrals is a combination of two moments of its parent's WG: sum WG (1 - t), sum WG t.
 */
interface PreparedTree {
  /** Original arrays, for the prediction walk. */
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly leafValue: Float64Array;
  readonly expectedValue: number;
  readonly depth: number;
  /** 1 + the largest feature index tested. */
  readonly nFeatures: number;
  /** Most distinct features on the path to any contributing leaf. */
  readonly distinctDepth: number;

  readonly size: number;
  // The edge from the parent (unused at the root).
  /** Vector index of the parent (-1 at the root). */
  readonly parent: Int32Array;
  /** 1 when this node is its parent's right child. */
  readonly isRight: Uint8Array;
  /** Cover share of the edge (z of a plain edge). */
  readonly share: Float64Array;
  /** The edge's R and K when the parent's feature is repeated, else -1. */
  readonly edgeCoefficients: Int32Array;
  // The node's own split.
  readonly splitFeature: Int32Array;
  readonly splitThreshold: Float64Array;
  /** Vector index whose incoming edge last tested this split's feature above it, or -1 (plain children). */
  readonly previous: Int32Array;
  /** R and K of the edge to the left child when `previous` >= 0 (the right one's follow from it, see up()). */
  readonly leftCoefficients: Int32Array;
  readonly leftShare: Float64Array;
  readonly rightShare: Float64Array;
  /** Vector index of the child in each slot; -1 for a scalar child until the explainer points it at its zero block. */
  readonly leftVector: Int32Array;
  readonly rightVector: Int32Array;
  /** Scalar children: B, and the A of a row that goes left / right at the cherry (equal for a leaf). */
  readonly leftB: Float64Array;
  readonly rightB: Float64Array;
  readonly leftIfLeft: Float64Array;
  readonly leftIfRight: Float64Array;
  readonly rightIfLeft: Float64Array;
  readonly rightIfRight: Float64Array;
  /** A cherry's split (feature -1 for a leaf slot or a vector child). */
  readonly leftCherryFeature: Int32Array;
  readonly leftCherryThreshold: Float64Array;
  readonly rightCherryFeature: Int32Array;
  readonly rightCherryThreshold: Float64Array;
  /**
   * Edges below a repeated split, numbered as edgeCoefficients and leftCoefficients refer to
   * them; the explainer turns those numbers into offsets of 6 x lanes.
   */
  readonly repeatedEdges: readonly RepeatedEdge[];
}

/** An edge whose parent's feature is tested above it too; its R and K are the explainer's to compute. */
interface RepeatedEdge {
  /** z of the edge's feature combined over its splits on the path, this one included and not. */
  readonly combinedZero: number;
  readonly previousCombinedZero: number;
  readonly share: number;
}

/** What both TreeSHAP passes need of a tree, checked: branch shares, leaf deltas, expectations. */
export interface TreeAnalysis {
  /** Node count. */
  readonly m: number;
  /** Each node's share of its parent's cover (1 at the root). */
  readonly share: Float64Array;
  /** Each node's parent (-1 at the root). */
  readonly parentOf: Int32Array;
  /** The most common leaf value: subtracting it leaves most leaves at zero (skipped). */
  readonly baseline: number;
  /** (leaf value - baseline) x scale at leaves. */
  readonly delta: Float64Array;
  /** 1 where a node has a leaf with a non-zero delta below it. */
  readonly live: Uint8Array;
  /** Cover-weighted mean leaf value below each node. */
  readonly expected: Float64Array;
  readonly depthBelow: Int32Array;
  /** 1 + the largest feature index tested. */
  readonly nFeatures: number;
}

/** Validates a tree's structure and computes what the TreeSHAP passes share; throws RangeError. */
export function analyseTree(tree: ShapTree, scale: number): TreeAnalysis {
  const { feature, threshold, left, right, leafValue, cover } = tree;
  const m = feature.length;
  if (m === 0) throw new RangeError('tree has no nodes');
  for (const [name, a] of [['threshold', threshold], ['left', left], ['right', right], ['leafValue', leafValue], ['cover', cover]] as const) {
    if (a.length !== m) throw new RangeError(`tree.${name} has ${a.length} entries, feature has ${m}`);
  }
  const share = new Float64Array(m);
  share[0] = 1;
  const parentOf = new Int32Array(m).fill(-1);
  let nFeatures = 0;
  let baselineCount = 0;
  let baseline = 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < m; i++) {
    const f = feature[i]!;
    if (f < 0) {
      const v = leafValue[i]!;
      if (!Number.isFinite(v)) throw new RangeError(`leaf ${i} has value ${v}`);
      const c = (counts.get(v) ?? 0) + 1;
      counts.set(v, c);
      if (c > baselineCount) {
        baselineCount = c;
        baseline = v;
      }
      continue;
    }
    const l = left[i]!;
    const r = right[i]!;
    // Children after parents makes the bottom-up pass below a single reverse sweep and rules out cycles.
    if (!(l > i && l < m && r > i && r < m && l !== r) || parentOf[l] !== -1 || parentOf[r] !== -1) {
      throw new RangeError(`split ${i} has children ${l}, ${r}: need two nodes after it that no other split has`);
    }
    parentOf[l] = i;
    parentOf[r] = i;
    const cl = cover[l]!;
    const cr = cover[r]!;
    if (!(cl >= 0 && cr >= 0 && cl + cr > 0 && Number.isFinite(cl + cr))) {
      throw new RangeError(`split ${i}: children cover ${cl}, ${cr} (need finite, >= 0, not both 0)`);
    }
    share[l] = cl / (cl + cr);
    share[r] = cr / (cl + cr);
    nFeatures = Math.max(nFeatures, f + 1);
  }

  const delta = new Float64Array(m);
  const live = new Uint8Array(m);
  const expected = new Float64Array(m);
  const depthBelow = new Int32Array(m);
  for (let i = m - 1; i >= 0; i--) {
    if (feature[i]! < 0) {
      const d = (leafValue[i]! - baseline) * scale;
      delta[i] = d;
      live[i] = d !== 0 ? 1 : 0;
      expected[i] = leafValue[i]!;
    } else {
      const l = left[i]!;
      const r = right[i]!;
      live[i] = live[l]! | live[r]!;
      expected[i] = share[l]! * expected[l]! + share[r]! * expected[r]!;
      depthBelow[i] = 1 + Math.max(depthBelow[l]!, depthBelow[r]!);
    }
  }

  return { m, share, parentOf, baseline, delta, live, expected, depthBelow, nFeatures };
}

function prepareTree(tree: ShapTree, scale: number): PreparedTree {
  const { feature, threshold, left, right, leafValue } = tree;
  const { m, share, parentOf, baseline, delta, live, expected, depthBelow, nFeatures } = analyseTree(tree, scale);

  // Depth-first over the live part, vector nodes numbered in visiting order. lastEdge[f] is the
  // vector index of the latest edge on the current path whose parent splits on f (-1: f is not
  // tested above); stack entries >= m mark the way back up from node (entry - m), where lastEdge
  // is restored. There are at most as many vector nodes as splits, so arrays of m are enough.
  const parent = new Int32Array(m);
  const isRight = new Uint8Array(m);
  const edgeShare = new Float64Array(m);
  const combinedZero = new Float64Array(m);
  const edgeCoefficients = new Int32Array(m).fill(-1);
  const splitFeature = new Int32Array(m);
  const splitThreshold = new Float64Array(m);
  const previous = new Int32Array(m);
  const coefficients = [new Int32Array(m).fill(-1), new Int32Array(m).fill(-1)] as const;
  const childShare = [new Float64Array(m), new Float64Array(m)] as const;
  const vector = [new Int32Array(m).fill(-1), new Int32Array(m).fill(-1)] as const;
  const slotB = [new Float64Array(m), new Float64Array(m)] as const;
  const slotLeft = [new Float64Array(m), new Float64Array(m)] as const;
  const slotRight = [new Float64Array(m), new Float64Array(m)] as const;
  const cherryFeature = [new Int32Array(m).fill(-1), new Int32Array(m).fill(-1)] as const;
  const cherryThreshold = [new Float64Array(m), new Float64Array(m)] as const;
  const repeatedEdges: RepeatedEdge[] = [];

  const lastEdge = new Int32Array(nFeatures).fill(-1);
  const savedLastEdge = new Int32Array(m);
  const vectorIndex = new Int32Array(m).fill(-1);
  let size = 0;
  let distinct = 0;
  let distinctDepth = 0;
  const stack: number[] = feature[0]! >= 0 && live[0] === 1 ? [0] : [];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (e >= m) {
      const c = e - m;
      lastEdge[feature[parentOf[c]!]!] = savedLastEdge[c]!;
      if (savedLastEdge[c] === -1) distinct--;
      continue;
    }
    const c = e;
    const j = size++;
    vectorIndex[c] = j;
    const p = parentOf[c]!;
    parent[j] = -1;
    combinedZero[j] = 1;
    if (p >= 0) {
      const jp = vectorIndex[p]!;
      const side = right[p] === c ? 1 : 0;
      parent[j] = jp;
      isRight[j] = side;
      edgeShare[j] = share[c]!;
      vector[side][jp] = j;
      edgeCoefficients[j] = coefficients[side][jp]!;
      combinedZero[j] = previous[jp]! >= 0 ? combinedZero[previous[jp]!]! * share[c]! : share[c]!;
      const fp = feature[p]!;
      savedLastEdge[c] = lastEdge[fp]!;
      if (lastEdge[fp] === -1) distinct++;
      lastEdge[fp] = j;
      stack.push(c + m);
    }
    const f = feature[c]!;
    const prev = lastEdge[f]!;
    splitFeature[j] = f;
    splitThreshold[j] = threshold[c]!;
    previous[j] = prev;
    const below = distinct + (prev === -1 ? 1 : 0); // distinct features on the paths into c's children
    // Right pushed first, so the left child gets the next vector index (pre-order).
    for (const side of [1, 0] as const) {
      const x = side === 0 ? left[c]! : right[c]!;
      childShare[side][j] = share[x]!;
      const repeatedEdge = (): void => {
        coefficients[side][j] = repeatedEdges.length;
        repeatedEdges.push({ combinedZero: combinedZero[prev]! * share[x]!, previousCombinedZero: combinedZero[prev]!, share: share[x]! });
      };
      // up() needs the left edge's R and K; down() those of every edge into a vector node.
      if (prev !== -1 && side === 0) repeatedEdge();
      if (live[x] === 0) continue; // a leaf slot worth 0
      const fx = feature[x]!;
      if (fx < 0) {
        slotB[side][j] = delta[x]!;
        slotLeft[side][j] = delta[x]!;
        slotRight[side][j] = delta[x]!;
        distinctDepth = Math.max(distinctDepth, below);
        continue;
      }
      const xl = left[x]!;
      const xr = right[x]!;
      if (prev === -1 && feature[xl]! < 0 && feature[xr]! < 0 && fx !== f && lastEdge[fx] === -1) {
        slotB[side][j] = share[xl]! * delta[xl]! + share[xr]! * delta[xr]!;
        slotLeft[side][j] = delta[xl]!;
        slotRight[side][j] = delta[xr]!;
        cherryFeature[side][j] = fx;
        cherryThreshold[side][j] = threshold[x]!;
        distinctDepth = Math.max(distinctDepth, below + 1);
        continue;
      }
      if (prev !== -1 && side === 1) repeatedEdge();
      stack.push(x);
    }
  }

  return {
    feature,
    threshold,
    left,
    right,
    leafValue,
    expectedValue: expected[0]!,
    depth: depthBelow[0]!,
    nFeatures,
    distinctDepth,
    size,
    parent: parent.slice(0, size),
    isRight: isRight.slice(0, size),
    share: edgeShare.slice(0, size),
    edgeCoefficients: edgeCoefficients.slice(0, size),
    splitFeature: splitFeature.slice(0, size),
    splitThreshold: splitThreshold.slice(0, size),
    previous: previous.slice(0, size),
    leftCoefficients: coefficients[0].slice(0, size),
    leftShare: childShare[0].slice(0, size),
    rightShare: childShare[1].slice(0, size),
    leftVector: vector[0].slice(0, size),
    rightVector: vector[1].slice(0, size),
    leftB: slotB[0].slice(0, size),
    rightB: slotB[1].slice(0, size),
    leftIfLeft: slotLeft[0].slice(0, size),
    leftIfRight: slotRight[0].slice(0, size),
    rightIfLeft: slotLeft[1].slice(0, size),
    rightIfRight: slotRight[1].slice(0, size),
    leftCherryFeature: cherryFeature[0].slice(0, size),
    leftCherryThreshold: cherryThreshold[0].slice(0, size),
    rightCherryFeature: cherryFeature[1].slice(0, size),
    rightCherryThreshold: cherryThreshold[1].slice(0, size),
    repeatedEdges,
  };
}

/**
 * R and K of a repeated edge at the quadrature nodes, for the three states of (o^e, o^p) the row
 * can put it in, laid out [R(0,1), R(1,1), R(0,0), K(0,1), K(1,1), K(0,0)], one lane per node.
 * State index: o^e when o^p = 1, else 2 (o^e = 0 then too).
 */
function repeatedCoefficients(edge: RepeatedEdge, t: Float64Array, into: Float64Array, at: number): void {
  const lanes = t.length;
  const zE = edge.combinedZero;
  const zP = edge.previousCombinedZero;
  for (let k = 0; k < lanes; k++) {
    const tk = t[k]!;
    const omt = 1 - tk;
    const fp = zP * omt + tk; // F^p with o^p = 1: > 0 since tk > 0
    const r0 = (zE * omt) / fp;
    const r1 = (zE * omt + tk) / fp;
    into[at + k] = r0;
    into[at + lanes + k] = r1;
    into[at + 2 * lanes + k] = edge.share;
    // K = ((o^e - z^e) - (o^p - z^p) R) / F^p, using (o^e - z^e) / F^e * R = (o^e - z^e) / F^p.
    into[at + 3 * lanes + k] = (-zE - (1 - zP) * r0) / fp;
    into[at + 4 * lanes + k] = (1 - zE - (1 - zP) * r1) / fp;
    into[at + 5 * lanes + k] = 0;
  }
}

/** Rows explained together: enough to spread each node's bookkeeping, few enough to stay in cache. */
const BATCH = 16;
/** Upper bound on each of WG and Q, which decides the batch for very large trees. */
const BUFFER_BYTES = 1 << 22;

/**
 * Path-dependent TreeSHAP over a fixed forest. Prepares every tree once and holds the sweep
 * buffers, sized for the largest tree, so explaining allocates nothing per row but the small
 * result object of `explain`. Not re-entrant (one call at a time), which JavaScript's single
 * thread guarantees unless a caller nests calls.
 *
 * Rows go through each tree in batches (`explainRows`): every per-node step loads the node's
 * data and chooses its code path once and then runs over the batch's rows, which is what makes
 * the sweeps cheap (a single row through `explain` is about half as fast per row). Within a row,
 * the quadrature values are processed four at a time as four statements on locals, not a loop
 * over k: V8 compiles a short loop over typed arrays into code that re-checks every array on
 * every element, and the unrolled form measured 2.4x faster. n is rounded up to a multiple of
 * four; the extra lanes have weight 0 and a node inside (0, 1), so they add exactly nothing.
 */
export class TreeShapExplainer {
  /** Mean over trees of each tree's expected value. */
  readonly expectedValue: number;
  /** Minimum row (and output) length: 1 + the largest feature index any tree tests. */
  readonly nFeatures: number;
  readonly maxDepth: number;
  readonly nTrees: number;
  /** Quadrature nodes n: ceil(most distinct features on a contributing path / 2), at least 1. */
  readonly quadratureSize: number;
  /** Rows per pass through a tree. */
  readonly batchSize: number;

  private readonly trees: readonly PreparedTree[];
  /** Per tree: R and K of its repeated edges, 6 x lanes each. */
  private readonly coefficients: readonly Float64Array[];
  /** n rounded up to a multiple of 4. */
  private readonly lanes: number;
  /** Quadrature nodes and weights, padded to `lanes`. */
  private readonly t: Float64Array;
  private readonly w: Float64Array;
  /** Vector index of the block of Q that stays 0: the "vector child" of every scalar slot. */
  private readonly zeroBlock: number;

  // Per batch: the rows (batchSize x nFeatures) and phi (same shape). Per node and row, at
  // (node * batchSize + row) x lanes for WG and Q, at node * batchSize + row for the rest.
  private readonly x: Float64Array;
  private readonly phi: Float64Array;
  private readonly wg: Float64Array;
  private readonly q: Float64Array;
  /** 1 when the row goes left at the split. */
  private readonly goesLeft: Float64Array;
  /** o of the incoming edge's feature, combined over its splits on the path. */
  private readonly combinedOne: Float64Array;
  /** Offset of the incoming repeated edge's R for the row (its state chosen). */
  private readonly edgeR: Int32Array;
  /** A of the left and right slot. */
  private readonly leftA: Float64Array;
  private readonly rightA: Float64Array;
  private readonly resultScratch = new Float64Array(1);

  constructor(trees: readonly ShapTree[]) {
    if (trees.length === 0) throw new RangeError('forest has no trees');
    const scale = 1 / trees.length;
    this.trees = trees.map((t, i) => {
      try {
        return prepareTree(t, scale);
      } catch (err) {
        throw new RangeError(`tree ${i}: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    this.nTrees = trees.length;
    let e = 0;
    let depth = 0;
    let nFeatures = 0;
    let distinctDepth = 0;
    let size = 0;
    for (const t of this.trees) {
      e += t.expectedValue;
      depth = Math.max(depth, t.depth);
      nFeatures = Math.max(nFeatures, t.nFeatures);
      distinctDepth = Math.max(distinctDepth, t.distinctDepth);
      size = Math.max(size, t.size);
    }
    this.expectedValue = e / trees.length;
    this.maxDepth = depth;
    this.nFeatures = nFeatures;

    const n = Math.max(1, Math.ceil(distinctDepth / 2));
    this.quadratureSize = n;
    const lanes = 4 * Math.ceil(n / 4);
    this.lanes = lanes;
    const { nodes, weights } = gaussLegendre(n);
    this.t = new Float64Array(lanes).fill(0.5);
    this.t.set(nodes);
    this.w = new Float64Array(lanes);
    this.w.set(weights);
    this.zeroBlock = size;
    this.coefficients = this.trees.map((tree) => {
      const block = 6 * lanes;
      const coefficients = new Float64Array(block * tree.repeatedEdges.length);
      tree.repeatedEdges.forEach((edge, i) => repeatedCoefficients(edge, this.t, coefficients, i * block));
      for (const a of [tree.edgeCoefficients, tree.leftCoefficients]) {
        for (let j = 0; j < a.length; j++) if (a[j]! >= 0) a[j]! *= block;
      }
      for (const a of [tree.leftVector, tree.rightVector]) for (let j = 0; j < a.length; j++) if (a[j]! < 0) a[j] = size;
      return coefficients;
    });

    const batch = Math.max(1, Math.min(BATCH, Math.floor(BUFFER_BYTES / (8 * (size + 1) * lanes))));
    this.batchSize = batch;
    this.x = new Float64Array(batch * nFeatures);
    this.phi = new Float64Array(batch * nFeatures);
    this.wg = new Float64Array((size + 1) * batch * lanes);
    this.q = new Float64Array((size + 1) * batch * lanes);
    this.goesLeft = new Float64Array(size * batch);
    this.combinedOne = new Float64Array(size * batch);
    this.edgeR = new Int32Array(size * batch);
    this.leftA = new Float64Array(size * batch);
    this.rightA = new Float64Array(size * batch);
  }

  /**
   * Writes phi (per input column, averaged over trees) into out[0 .. out.length) and returns the
   * expected value and the prediction. Columns no tree tests get exactly 0. For many rows,
   * explainRows is the faster way.
   */
  explain(row: ArrayLike<number>, out: Float64Array): ShapResult {
    if (out.length < this.nFeatures) throw new RangeError(`output has room for ${out.length} features but the model reads ${this.nFeatures}`);
    this.explainRows([row], out, this.resultScratch);
    return { expectedValue: this.expectedValue, prediction: this.resultScratch[0]! };
  }

  /**
   * Explains rows[i] into phi[i * width .. (i + 1) * width), where width = phi.length /
   * rows.length (at least nFeatures; columns no tree tests get exactly 0), and writes the
   * forest's prediction for each row into predictions when given: expectedValue + the sum of a
   * row's phi equals it.
   */
  explainRows(rows: readonly ArrayLike<number>[], phi: Float64Array, predictions?: Float64Array): void {
    const F = this.nFeatures;
    const width = rows.length === 0 ? F : phi.length / rows.length;
    if (!(Number.isInteger(width) && width >= F)) {
      throw new RangeError(`phi has ${phi.length} entries for ${rows.length} rows; need rows x (at least ${F})`);
    }
    if (predictions && predictions.length < rows.length) throw new RangeError(`predictions has room for ${predictions.length} of ${rows.length} rows`);
    for (const row of rows) if (row.length < F) throw new RangeError(`row has ${row.length} features but the model reads ${F}`);
    phi.fill(0);
    const x = this.x;
    for (let start = 0; start < rows.length; start += this.batchSize) {
      const nb = Math.min(this.batchSize, rows.length - start);
      // One matrix for the batch: the sweeps then read a single Float64Array whatever the callers' row types.
      for (let r = 0; r < nb; r++) {
        const row = rows[start + r]!;
        for (let f = 0; f < F; f++) x[r * F + f] = row[f]!;
      }
      this.phi.fill(0);
      for (let i = 0; i < this.trees.length; i++) {
        const tree = this.trees[i]!;
        if (tree.size === 0) continue;
        const coefficients = this.coefficients[i]!;
        this.decide(tree, nb);
        for (let lane = 0; lane < this.lanes; lane += 4) {
          this.down(tree, coefficients, lane, nb);
          this.up(tree, coefficients, lane, nb);
        }
      }
      for (let r = 0; r < nb; r++) {
        phi.set(this.phi.subarray(r * F, (r + 1) * F), (start + r) * width);
        if (predictions) {
          let prediction = 0;
          for (const tree of this.trees) {
            const { feature, threshold, left, right } = tree;
            let node = 0;
            while (feature[node]! >= 0) node = x[r * F + feature[node]!]! < threshold[node]! ? left[node]! : right[node]!;
            prediction += tree.leafValue[node]!;
          }
          predictions[start + r] = prediction / this.nTrees;
        }
      }
    }
  }

  /**
   * Everything that depends on the row but not on t: the direction at each vector node, the o of
   * its incoming edge (and for a repeated one, which R and K apply), and the A of its slots.
   * Per-row choices are arithmetic on 0/1 (Number(x < y)), not branches: the row goes either way
   * about half the time, and a mispredicted branch costs more than the node's arithmetic.
   */
  private decide(tree: PreparedTree, nb: number): void {
    const B = this.batchSize;
    const F = this.nFeatures;
    const lanes = this.lanes;
    const x = this.x;
    const goesLeft = this.goesLeft;
    const combinedOne = this.combinedOne;
    const edgeR = this.edgeR;
    const leftA = this.leftA;
    const rightA = this.rightA;
    const { size, parent, isRight, edgeCoefficients, previous, splitFeature, splitThreshold } = tree;
    const { leftIfLeft, leftIfRight, rightIfLeft, rightIfRight } = tree;
    const { leftCherryFeature, leftCherryThreshold, rightCherryFeature, rightCherryThreshold } = tree;
    for (let j = 0; j < size; j++) {
      const jb = j * B;
      if (j > 0) {
        const pb = parent[j]! * B;
        const side = isRight[j]!;
        const at = edgeCoefficients[j]!;
        if (at < 0) {
          for (let r = 0; r < nb; r++) combinedOne[jb + r] = Number(goesLeft[pb + r] !== side);
        } else {
          // A repeated edge ANDs the o of the feature's earlier edges into its own; (o, o^p) picks R and K.
          const previousB = previous[parent[j]!]! * B;
          for (let r = 0; r < nb; r++) {
            const o = Number(goesLeft[pb + r] !== side);
            const oPrevious = combinedOne[previousB + r]!;
            combinedOne[jb + r] = o * oPrevious;
            edgeR[jb + r] = at + (o * oPrevious + 2 * (1 - oPrevious)) * lanes;
          }
        }
      }
      const f = splitFeature[j]!;
      const threshold = splitThreshold[j]!;
      for (let r = 0; r < nb; r++) goesLeft[jb + r] = Number(x[r * F + f]! < threshold);
      const fl = leftCherryFeature[j]!;
      const ll = leftIfLeft[j]!;
      const lr = leftIfRight[j]!;
      if (fl >= 0) {
        const tl = leftCherryThreshold[j]!;
        for (let r = 0; r < nb; r++) leftA[jb + r] = lr + Number(x[r * F + fl]! < tl) * (ll - lr);
      } else {
        for (let r = 0; r < nb; r++) leftA[jb + r] = lr;
      }
      const fr = rightCherryFeature[j]!;
      const rl = rightIfLeft[j]!;
      const rr = rightIfRight[j]!;
      if (fr >= 0) {
        const tr = rightCherryThreshold[j]!;
        for (let r = 0; r < nb; r++) rightA[jb + r] = rr + Number(x[r * F + fr]! < tr) * (rl - rr);
      } else {
        for (let r = 0; r < nb; r++) rightA[jb + r] = rr;
      }
    }
  }

  /**
   * Top-down over lanes c .. c+3: WG of every vector node, and the cherries' own contributions,
   * (A - B) * sum(WG of the cherry), from two moments of the parent's WG since WG(cherry) =
   * WG(parent) * (z (1 - t) + o t).
   */
  private down(tree: PreparedTree, coefficients: Float64Array, c: number, nb: number): void {
    const B = this.batchSize;
    const F = this.nFeatures;
    const lanes = this.lanes;
    const wg = this.wg;
    const phi = this.phi;
    const goesLeft = this.goesLeft;
    const combinedOne = this.combinedOne;
    const edgeR = this.edgeR;
    const leftA = this.leftA;
    const rightA = this.rightA;
    const { size, parent, share, edgeCoefficients } = tree;
    const { leftShare, rightShare, leftB, rightB, leftCherryFeature, rightCherryFeature } = tree;
    const t0 = this.t[c]!;
    const t1 = this.t[c + 1]!;
    const t2 = this.t[c + 2]!;
    const t3 = this.t[c + 3]!;
    const u0 = 1 - t0;
    const u1 = 1 - t1;
    const u2 = 1 - t2;
    const u3 = 1 - t3;

    for (let r = 0; r < nb; r++) {
      const b = r * lanes + c;
      wg[b] = this.w[c]!;
      wg[b + 1] = this.w[c + 1]!;
      wg[b + 2] = this.w[c + 2]!;
      wg[b + 3] = this.w[c + 3]!;
    }
    for (let j = 0; j < size; j++) {
      const jb = j * B;
      if (j > 0) {
        const pb = parent[j]! * B;
        const at = edgeCoefficients[j]!;
        if (at < 0) {
          const z = share[j]!;
          const a0 = z * u0;
          const a1 = z * u1;
          const a2 = z * u2;
          const a3 = z * u3;
          for (let r = 0; r < nb; r++) {
            const b = (jb + r) * lanes + c;
            const p = (pb + r) * lanes + c;
            const o = combinedOne[jb + r]!;
            wg[b] = wg[p]! * (a0 + o * t0);
            wg[b + 1] = wg[p + 1]! * (a1 + o * t1);
            wg[b + 2] = wg[p + 2]! * (a2 + o * t2);
            wg[b + 3] = wg[p + 3]! * (a3 + o * t3);
          }
        } else {
          for (let r = 0; r < nb; r++) {
            const b = (jb + r) * lanes + c;
            const p = (pb + r) * lanes + c;
            const e = edgeR[jb + r]! + c;
            wg[b] = wg[p]! * coefficients[e]!;
            wg[b + 1] = wg[p + 1]! * coefficients[e + 1]!;
            wg[b + 2] = wg[p + 2]! * coefficients[e + 2]!;
            wg[b + 3] = wg[p + 3]! * coefficients[e + 3]!;
          }
        }
      }
      const fl = leftCherryFeature[j]!;
      const fr = rightCherryFeature[j]!;
      if (fl < 0 && fr < 0) continue;
      const zl = leftShare[j]!;
      const zr = rightShare[j]!;
      const bl = leftB[j]!;
      const br = rightB[j]!;
      for (let r = 0; r < nb; r++) {
        const b = (jb + r) * lanes + c;
        const x0 = wg[b]!;
        const x1 = wg[b + 1]!;
        const x2 = wg[b + 2]!;
        const x3 = wg[b + 3]!;
        const m0 = x0 * u0 + x1 * u1 + x2 * u2 + x3 * u3;
        const m1 = x0 * t0 + x1 * t1 + x2 * t2 + x3 * t3;
        const g = goesLeft[jb + r]!;
        if (fl >= 0) phi[r * F + fl]! += (leftA[jb + r]! - bl) * (zl * m0 + g * m1);
        if (fr >= 0) phi[r * F + fr]! += (rightA[jb + r]! - br) * (zr * m0 + (1 - g) * m1);
      }
    }
  }

  /**
   * Bottom-up over lanes c .. c+3: each vector node pulls Q from its two slots (a vector child's
   * Q, or B (1 - t) + A t) and adds the contribution of both its edges. The two edge factors sum
   * to 1 (F_l + F_r = (z_l + z_r)(1 - t) + (o_l + o_r) t; for repeated edges R_l + R_r = 1 and
   * K_l + K_r = 0 likewise), so with D = Q_l - Q_r everything comes from the left edge:
   * Q = Q_r + F_l D and the contribution is (o_l - z_l) sum(WG D), or sum(WG K_l D).
   */
  private up(tree: PreparedTree, coefficients: Float64Array, c: number, nb: number): void {
    const B = this.batchSize;
    const F = this.nFeatures;
    const lanes = this.lanes;
    const wg = this.wg;
    const q = this.q;
    const phi = this.phi;
    const goesLeft = this.goesLeft;
    const combinedOne = this.combinedOne;
    const leftA = this.leftA;
    const rightA = this.rightA;
    const zero = this.zeroBlock;
    const { size, previous, splitFeature, leftShare, leftB, rightB, leftVector, rightVector, leftCoefficients } = tree;
    const t0 = this.t[c]!;
    const t1 = this.t[c + 1]!;
    const t2 = this.t[c + 2]!;
    const t3 = this.t[c + 3]!;
    const u0 = 1 - t0;
    const u1 = 1 - t1;
    const u2 = 1 - t2;
    const u3 = 1 - t3;

    for (let j = size - 1; j >= 0; j--) {
      const jb = j * B;
      const lv = leftVector[j]!;
      const rv = rightVector[j]!;
      const lvb = lv * B;
      const rvb = rv * B;
      const f = splitFeature[j]!;
      const zl = leftShare[j]!;
      const prev = previous[j]!;
      const bl = leftB[j]!;
      const br = rightB[j]!;
      // F_l = z_l (1 - t) + o_l t, with o_l = 1 when the row goes left.
      const a0 = zl * u0;
      const a1 = zl * u1;
      const a2 = zl * u2;
      const a3 = zl * u3;
      if (prev < 0 && lv !== zero && rv !== zero) {
        // Two vector children (a third of the nodes): no slot terms.
        for (let r = 0; r < nb; r++) {
          const b = (jb + r) * lanes + c;
          const lb = (lvb + r) * lanes + c;
          const rb = (rvb + r) * lanes + c;
          const g = goesLeft[jb + r]!;
          const r0 = q[rb]!;
          const r1 = q[rb + 1]!;
          const r2 = q[rb + 2]!;
          const r3 = q[rb + 3]!;
          const d0 = q[lb]! - r0;
          const d1 = q[lb + 1]! - r1;
          const d2 = q[lb + 2]! - r2;
          const d3 = q[lb + 3]! - r3;
          q[b] = r0 + (a0 + g * t0) * d0;
          q[b + 1] = r1 + (a1 + g * t1) * d1;
          q[b + 2] = r2 + (a2 + g * t2) * d2;
          q[b + 3] = r3 + (a3 + g * t3) * d3;
          phi[r * F + f]! += (g - zl) * (wg[b]! * d0 + wg[b + 1]! * d1 + wg[b + 2]! * d2 + wg[b + 3]! * d3);
        }
        continue;
      }
      const bd0 = (bl - br) * u0;
      const bd1 = (bl - br) * u1;
      const bd2 = (bl - br) * u2;
      const bd3 = (bl - br) * u3;
      const kl = leftCoefficients[j]!;
      for (let r = 0; r < nb; r++) {
        const b = (jb + r) * lanes + c;
        const lb = (lvb + r) * lanes + c;
        const rb = (rvb + r) * lanes + c;
        const g = goesLeft[jb + r]!;
        const al = leftA[jb + r]!;
        const ar = rightA[jb + r]!;
        const ad = al - ar;
        const r0 = q[rb]! + br * u0 + ar * t0;
        const r1 = q[rb + 1]! + br * u1 + ar * t1;
        const r2 = q[rb + 2]! + br * u2 + ar * t2;
        const r3 = q[rb + 3]! + br * u3 + ar * t3;
        const d0 = q[lb]! - q[rb]! + bd0 + ad * t0;
        const d1 = q[lb + 1]! - q[rb + 1]! + bd1 + ad * t1;
        const d2 = q[lb + 2]! - q[rb + 2]! + bd2 + ad * t2;
        const d3 = q[lb + 3]! - q[rb + 3]! + bd3 + ad * t3;
        if (prev < 0) {
          q[b] = r0 + (a0 + g * t0) * d0;
          q[b + 1] = r1 + (a1 + g * t1) * d1;
          q[b + 2] = r2 + (a2 + g * t2) * d2;
          q[b + 3] = r3 + (a3 + g * t3) * d3;
          phi[r * F + f]! += (g - zl) * (wg[b]! * d0 + wg[b + 1]! * d1 + wg[b + 2]! * d2 + wg[b + 3]! * d3);
        } else {
          // The left edge's R and K for the row: o^e is the direction, o^p the feature's earlier edges.
          const oPrevious = combinedOne[prev * B + r]!;
          const e = kl + (g * oPrevious + 2 * (1 - oPrevious)) * lanes + c;
          const k = e + 3 * lanes;
          q[b] = r0 + coefficients[e]! * d0;
          q[b + 1] = r1 + coefficients[e + 1]! * d1;
          q[b + 2] = r2 + coefficients[e + 2]! * d2;
          q[b + 3] = r3 + coefficients[e + 3]! * d3;
          phi[r * F + f]! +=
            wg[b]! * coefficients[k]! * d0 + wg[b + 1]! * coefficients[k + 1]! * d1 + wg[b + 2]! * coefficients[k + 2]! * d2 + wg[b + 3]! * coefficients[k + 3]! * d3;
        }
      }
    }
  }
}

const explainers = new WeakMap<readonly ShapTree[], TreeShapExplainer>();

/**
 * TreeSHAP of one row over `trees`: fills out with phi per input column (averaged over trees) and
 * returns { expectedValue, prediction }. The explainer (and its buffers) is built on first use
 * and cached per trees array, so pass the same array for every row.
 */
export function forestShap(trees: readonly ShapTree[], row: ArrayLike<number>, out: Float64Array): ShapResult {
  let explainer = explainers.get(trees);
  if (!explainer) {
    explainer = new TreeShapExplainer(trees);
    explainers.set(trees, explainer);
  }
  return explainer.explain(row, out);
}
