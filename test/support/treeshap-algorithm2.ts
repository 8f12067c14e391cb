/**
 * Reference implementation for tests and the TreeSHAP benchmark: path-dependent TreeSHAP as
 * Algorithm 2 of Lundberg, Erion & Lee 2018 ("Consistent individualized feature attribution for
 * tree ensembles"), O(T L D^2) per row. This was src/model/forest/treeshap.ts until the Linear
 * TreeSHAP rewrite; it is kept here because it is an independent route to the same numbers (no
 * quadrature, no polynomial evaluation), so comparing the two checks exactness on trees far too
 * deep or wide for brute-force enumeration, and the benchmark measures the speed-up against it.
 *
 * Reductions (exact): each tree's leaf values are shifted by their most common value, so those
 * leaves contribute nothing, and subtrees whose shifted leaves are all zero are not visited.
 * Branches with zero cover that the row does not take are skipped too.
 */
import { analyseTree, type ShapResult, type ShapTree } from '../../src/model/forest/treeshap.js';

interface PreparedTree {
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly leafValue: Float64Array;
  /** Share of the parent's children cover that goes to this node (1 at the root). */
  readonly share: Float64Array;
  /** (leafValue - baseline) * scale at leaves, 0 at split nodes. */
  readonly delta: Float64Array;
  /** 1 when the subtree has a leaf with delta != 0 (only those contribute to phi). */
  readonly live: Uint8Array;
  /** 1 at splits whose feature an ancestor tests too (only there can UNWIND be needed). */
  readonly repeated: Uint8Array;
  readonly expectedValue: number;
  readonly depth: number;
  /** 1 + the largest feature index tested. */
  readonly nFeatures: number;
}

function prepareTree(tree: ShapTree, scale: number): PreparedTree {
  const { feature, threshold, left, right, leafValue } = tree;
  const { m, share, baseline, delta, live, expected, depthBelow, nFeatures } = analyseTree(tree, scale);
  // Depth-first with a per-feature count of the splits on the current path; entries >= m mark
  // the way back up from node (entry - m).
  const repeated = new Uint8Array(m);
  const onPath = new Int32Array(nFeatures);
  const stack = [0];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (e >= m) {
      onPath[feature[e - m]!]!--;
      continue;
    }
    const f = feature[e]!;
    if (f < 0) continue;
    repeated[e] = onPath[f]! > 0 ? 1 : 0;
    onPath[f]!++;
    stack.push(e + m, right[e]!, left[e]!);
  }
  return {
    feature,
    threshold,
    left,
    right,
    leafValue,
    share,
    delta,
    live,
    repeated,
    expectedValue: expected[0]!,
    depth: depthBelow[0]!,
    nFeatures,
  };
}

/**
 * Path-dependent TreeSHAP over a fixed forest. Holds the path buffers, sized once for the deepest
 * tree, so explaining a row allocates nothing but its small result object. Not re-entrant (one
 * row at a time), which JavaScript's single thread guarantees unless a caller nests calls.
 *
 * The path of Algorithm 2 is split in two. Its weights change at every node (EXTEND rescales all
 * of them), so each depth has its own weight segment, written straight from the parent's. Its
 * elements (feature, zero fraction, one fraction) only grow by one per node, so a child appends
 * to its parent's element segment in place; only a node that UNWINDs a repeated feature (a few
 * percent of nodes) copies the elements into its depth's own segment first, because its ancestors
 * still need theirs.
 */
export class Algorithm2Explainer {
  /** Mean over trees of each tree's expected value. */
  readonly expectedValue: number;
  /** Minimum row (and output) length: 1 + the largest feature index any tree tests. */
  readonly nFeatures: number;
  readonly maxDepth: number;
  readonly nTrees: number;

  private readonly trees: readonly PreparedTree[];

  /** Segment length per depth: a node at depth k has at most k + 1 path elements. */
  private readonly stride: number;
  private readonly weight: Float64Array;
  private readonly elemFeature: Int32Array;
  private readonly elemZero: Float64Array;
  private readonly elemOne: Float64Array;
  /** reciprocal[k] = 1 / k: the weight recurrences divide by small integers at every step. */
  private readonly reciprocal: Float64Array;

  // State of the current row and tree, in fields so the recursion passes only numbers.
  private row: ArrayLike<number> = [];
  private out: Float64Array = new Float64Array(0);
  private feature: Int32Array = new Int32Array(0);
  private threshold: Float64Array = new Float64Array(0);
  private left: Int32Array = new Int32Array(0);
  private right: Int32Array = new Int32Array(0);
  private share: Float64Array = new Float64Array(0);
  private delta: Float64Array = new Float64Array(0);
  private live: Uint8Array = new Uint8Array(0);
  private repeated: Uint8Array = new Uint8Array(0);

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
    for (const t of this.trees) {
      e += t.expectedValue;
      depth = Math.max(depth, t.depth);
      nFeatures = Math.max(nFeatures, t.nFeatures);
    }
    this.expectedValue = e / trees.length;
    this.maxDepth = depth;
    this.nFeatures = nFeatures;
    this.stride = depth + 2;
    const size = (depth + 1) * this.stride;
    this.weight = new Float64Array(size);
    this.elemFeature = new Int32Array(size);
    this.elemZero = new Float64Array(size);
    this.elemOne = new Float64Array(size);
    this.reciprocal = new Float64Array(depth + 3);
    for (let k = 1; k < this.reciprocal.length; k++) this.reciprocal[k] = 1 / k;
  }

  /**
   * Writes phi (per input column, averaged over trees) into out[0 .. out.length) and returns the
   * expected value and the prediction. Columns no tree tests get exactly 0.
   */
  explain(row: ArrayLike<number>, out: Float64Array): ShapResult {
    if (row.length < this.nFeatures) throw new RangeError(`row has ${row.length} features but the model reads ${this.nFeatures}`);
    if (out.length < this.nFeatures) throw new RangeError(`output has room for ${out.length} features but the model reads ${this.nFeatures}`);
    out.fill(0);
    this.row = row;
    this.out = out;
    let prediction = 0;
    try {
      for (const t of this.trees) {
        this.feature = t.feature;
        this.threshold = t.threshold;
        this.left = t.left;
        this.right = t.right;
        this.share = t.share;
        this.delta = t.delta;
        this.live = t.live;
        this.repeated = t.repeated;
        if (t.live[0] === 1) this.recurse(0, 0, 0, 0, 0, 1, 1, -1);
        let node = 0;
        while (t.feature[node]! >= 0) node = row[t.feature[node]!]! < t.threshold[node]! ? t.left[node]! : t.right[node]!;
        prediction += t.leafValue[node]!;
      }
    } finally {
      // Do not keep the caller's arrays alive between calls.
      this.row = [];
      this.out = new Float64Array(0);
    }
    return { expectedValue: this.expectedValue, prediction: prediction / this.nTrees };
  }

  /**
   * RECURSE of Algorithm 2 at `node` (at `depth`): EXTEND the parent's path (weights at
   * parentWeights, elements at elems, u of each) by the split that led here, then either credit
   * a leaf or descend. zero = share of cover reaching this node when the parent's feature is
   * unknown; one = 1 when the row itself goes this way, else 0 (nothing in between, in the
   * path-dependent variant).
   */
  private recurse(
    node: number,
    depth: number,
    parentWeights: number,
    elems: number,
    u: number,
    zero: number,
    one: number,
    parentFeature: number,
  ): void {
    const pw = this.weight;
    const rec = this.reciprocal;
    const w = depth * this.stride;
    this.elemFeature[elems + u] = parentFeature;
    this.elemZero[elems + u] = zero;
    this.elemOne[elems + u] = one;

    // EXTEND, reading the parent's weights: weight[i] becomes the weight of coalitions of size i
    // among the u + 1 path features.
    const invN = rec[u + 1]!;
    pw[w + u] = u === 0 ? 1 : 0;
    if (one !== 0) {
      for (let i = u - 1; i >= 0; i--) {
        const x = pw[parentWeights + i]!;
        pw[w + i + 1]! += x * (i + 1) * invN;
        pw[w + i] = zero * x * (u - i) * invN;
      }
    } else {
      for (let i = u - 1; i >= 0; i--) pw[w + i] = zero * pw[parentWeights + i]! * (u - i) * invN;
    }

    const f = this.feature[node]!;
    if (f < 0) {
      this.creditLeaf(node, w, elems, u);
      return;
    }

    let hot: number;
    let cold: number;
    if (this.row[f]! < this.threshold[node]!) {
      hot = this.left[node]!;
      cold = this.right[node]!;
    } else {
      hot = this.right[node]!;
      cold = this.left[node]!;
    }

    // A feature tested again below is one player, not two: take its earlier element off the
    // path and fold its fractions into this split's.
    let inZero = 1;
    let inOne = 1;
    let last = u;
    const ef = this.elemFeature;
    for (let k = this.repeated[node] === 1 ? 1 : u + 1; k <= u; k++) {
      if (ef[elems + k] === f) {
        inZero = this.elemZero[elems + k]!;
        inOne = this.elemOne[elems + k]!;
        elems = this.unwind(w, elems, depth * this.stride, u, k);
        last = u - 1;
        break;
      }
    }

    const share = this.share;
    const live = this.live;
    const hotZero = share[hot]! * inZero;
    if (live[hot] === 1 && (hotZero !== 0 || inOne !== 0)) this.recurse(hot, depth + 1, w, elems, last + 1, hotZero, inOne, f);
    const coldZero = share[cold]! * inZero;
    if (live[cold] === 1 && coldZero !== 0) this.recurse(cold, depth + 1, w, elems, last + 1, coldZero, 0, f);
  }

  /**
   * UNWIND element k out of the path (u + 1 elements): undo its EXTEND on the weights at w in
   * place, and copy the other elements from elems to `into`. Returns where the elements now are.
   */
  private unwind(w: number, elems: number, into: number, u: number, k: number): number {
    const pw = this.weight;
    const rec = this.reciprocal;
    const ef = this.elemFeature;
    const ez = this.elemZero;
    const eo = this.elemOne;
    const one = eo[elems + k]!;
    const zero = ez[elems + k]!;
    const n1 = u + 1;
    const invN1 = rec[n1]!;
    let next = pw[w + u]!;
    if (one !== 0) {
      for (let i = u - 1; i >= 0; i--) {
        const x = pw[w + i]!;
        const unwound = next * n1 * rec[i + 1]!;
        pw[w + i] = unwound;
        next = x - unwound * zero * (u - i) * invN1;
      }
    } else {
      for (let i = u - 1; i >= 0; i--) pw[w + i] = (pw[w + i]! * n1 * rec[u - i]!) / zero;
    }
    for (let i = 0, j = 0; i <= u; i++) {
      if (i === k) continue;
      ef[into + j] = ef[elems + i]!;
      ez[into + j] = ez[elems + i]!;
      eo[into + j] = eo[elems + i]!;
      j++;
    }
    return into;
  }

  /**
   * At a leaf, path feature k gets (sum of the path weights with k unwound) x (one - zero) x leaf
   * value. For a feature the row does not follow (one = 0) that sum is a sum common to all such
   * features divided by its own zero fraction, so the credit is simply -leaf value x that sum.
   */
  private creditLeaf(node: number, w: number, elems: number, u: number): void {
    const v = this.delta[node]!;
    if (v === 0) return;
    const pw = this.weight;
    const rec = this.reciprocal;
    const ef = this.elemFeature;
    const ez = this.elemZero;
    const eo = this.elemOne;
    const out = this.out;
    const n1 = u + 1;
    const invN1 = rec[n1]!;
    let coldCredit = 0;
    let haveColdCredit = false;
    for (let k = 1; k <= u; k++) {
      const f = ef[elems + k]!;
      if (eo[elems + k] !== 0) {
        const zero = ez[elems + k]!;
        let next = pw[w + u]!;
        let total = 0;
        for (let i = u - 1; i >= 0; i--) {
          const unwound = next * n1 * rec[i + 1]!;
          total += unwound;
          next = pw[w + i]! - unwound * zero * (u - i) * invN1;
        }
        out[f]! += total * (1 - zero) * v;
      } else {
        if (!haveColdCredit) {
          haveColdCredit = true;
          let sum = 0;
          for (let i = u - 1; i >= 0; i--) sum += pw[w + i]! * rec[u - i]!;
          coldCredit = -sum * n1 * v;
        }
        out[f]! += coldCredit;
      }
    }
  }
}
