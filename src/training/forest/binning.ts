/**
 * Quantile binning of features, computed once per training run (the idea of LightGBM and
 * scikit-learn's HistGradientBoosting). Split search then works on per-bin class sums instead of
 * sorted raw values, which makes one node's search O(rows x features) instead of ml-cart's
 * O(rows^2 x features).
 *
 * Bin of x = number of thresholds t with t <= x, so "bin <= b" is exactly "x < thresholds[b]":
 * the same `<` test ml-cart's TreeNode.classify uses at inference, hence a threshold taken from
 * here routes training rows exactly as the histogram said. Thresholds are midpoints between two
 * adjacent distinct training values (ml-cart's `splitFunction: 'mean'`).
 *
 * NaN is put in the last bin: ml-cart sends NaN right (NaN < t is false), and the last bin is
 * right of every threshold, so training and inference agree.
 */

/** Maximum bins per feature: bin indexes are stored in a Uint8Array. */
export const MAX_BINS = 256;

export interface BinMapper {
  /** Per feature, strictly increasing split candidates; nBins = thresholds.length + 1. */
  readonly thresholds: readonly Float64Array[];
}

/**
 * Row-major matrix of bin indexes: bins[row * nFeatures + feature]. Row-major because the split
 * search visits a node's rows in scattered order and reads several features of each row: one
 * row's bins share a cache line.
 */
export interface BinnedMatrix {
  readonly bins: Uint8Array;
  readonly nRows: number;
  readonly nFeatures: number;
  /** thresholds.length + 1 per feature. */
  readonly nBins: Uint16Array;
}

/**
 * Split candidates for one feature. With at most maxBins distinct values every gap between two
 * distinct values is a candidate (exact splits, like ml-cart). Otherwise candidates sit at
 * (approximately) equal-frequency quantiles, each placed in the gap just below a quantile value so
 * that it separates real, distinct training values.
 */
export function featureThresholds(values: Float64Array, maxBins: number): Float64Array {
  if (!(maxBins >= 2 && maxBins <= MAX_BINS)) {
    throw new RangeError(`maxBins must be in [2, ${MAX_BINS}], got ${maxBins}`);
  }
  const sorted = Float64Array.from(values).sort(); // typed-array sort is numeric, NaN last
  let n = sorted.length;
  while (n > 0 && Number.isNaN(sorted[n - 1]!)) n--;
  if (n === 0) return new Float64Array(0);

  // Distinct values, in order.
  const distinct: number[] = [sorted[0]!];
  for (let i = 1; i < n; i++) {
    if (sorted[i]! !== sorted[i - 1]!) distinct.push(sorted[i]!);
  }
  if (distinct.length <= maxBins) {
    const t = new Float64Array(distinct.length - 1);
    for (let i = 1; i < distinct.length; i++) t[i - 1] = midpoint(distinct[i - 1]!, distinct[i]!);
    return t;
  }

  const out: number[] = [];
  for (let k = 1; k < maxBins; k++) {
    const q = sorted[Math.floor((k * n) / maxBins)]!;
    // Gap just below q: between the largest value < q and q itself.
    const j = lowerBound(sorted, n, q);
    if (j === 0) continue;
    const t = midpoint(sorted[j - 1]!, q);
    if (out.length === 0 || t > out[out.length - 1]!) out.push(t);
  }
  return Float64Array.from(out);
}

/** Fits thresholds for every column of a row-major data set. */
export function fitBinMapper(
  rows: ReadonlyArray<ArrayLike<number>>,
  nFeatures: number,
  maxBins: number,
): BinMapper {
  const nRows = rows.length;
  const column = new Float64Array(nRows);
  const thresholds: Float64Array[] = [];
  for (let f = 0; f < nFeatures; f++) {
    for (let i = 0; i < nRows; i++) column[i] = rows[i]![f]!;
    thresholds.push(featureThresholds(column, maxBins));
  }
  return { thresholds };
}

/**
 * Bins a row-major data set. `bins` may be backed by a SharedArrayBuffer so worker threads read it
 * without a copy.
 */
export function binRows(
  rows: ReadonlyArray<ArrayLike<number>>,
  mapper: BinMapper,
  bins: Uint8Array = new Uint8Array(rows.length * mapper.thresholds.length),
): BinnedMatrix {
  const nRows = rows.length;
  const nFeatures = mapper.thresholds.length;
  if (bins.length !== nRows * nFeatures) throw new RangeError('bins buffer has the wrong size');
  const nBins = new Uint16Array(nFeatures);
  for (let f = 0; f < nFeatures; f++) {
    const t = mapper.thresholds[f]!;
    nBins[f] = t.length + 1;
    for (let i = 0; i < nRows; i++) bins[i * nFeatures + f] = binOf(t, rows[i]![f]!);
  }
  return { bins, nRows, nFeatures, nBins };
}

/** Number of thresholds <= x (binary search); NaN maps to the last bin. */
export function binOf(thresholds: Float64Array, x: number): number {
  if (Number.isNaN(x)) return thresholds.length;
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (thresholds[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in sorted[0, n) whose value is >= x. */
function lowerBound(sorted: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Midpoint of a < b that is guaranteed > a, so "x < t" keeps a on the left and b on the right;
 * (a + b) / 2 can round down to a when a and b are adjacent doubles.
 */
function midpoint(a: number, b: number): number {
  const m = a / 2 + b / 2;
  return m > a && m <= b ? m : b;
}
