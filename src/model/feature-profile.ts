/**
 * The distribution of each feature on the rows a model was trained on, recorded in the artifact so
 * the worker can tell later whether today's customers still look like them (population stability
 * index, src/quality/drift.ts). Shared ground: training writes it (fit.ts), serving reads it.
 *
 * Bins are training-row quantiles (deciles by default), so each holds about a tenth of the rows
 * and PSI weighs every part of the range alike. Edges are upper bounds, inclusive: bin i holds
 * values in (edges[i-1], edges[i]], the last bin everything above the last edge. Features with point
 * masses (counts that are mostly 0, the -1 "missing" sentinel) get fewer, wider bins: repeated
 * quantiles collapse into one edge, so the mass stays in one bin instead of being split by row
 * order. An edge at the maximum is dropped, so no bin is empty by construction and a value beyond
 * the training range lands in the last bin (where it shows up as drift if it is common).
 */
import { z } from "zod";

export const DEFAULT_PROFILE_BINS = 10;

export const featureProfileSchema = z.object({
  /** What the shares were measured on, e.g. "training period rows". */
  source: z.string(),
  rows: z.number().int().positive(),
  features: z.array(
    z.object({
      name: z.string(),
      /** Ascending inclusive upper bounds; one fewer than the bins. */
      edges: z.array(z.number()),
      /** Share of the rows in each bin; sums to 1. */
      shares: z.array(z.number().min(0).max(1)),
    }).refine((f) => f.shares.length === f.edges.length + 1, "shares must have one entry more than edges"),
  ),
});
export type FeatureProfile = z.infer<typeof featureProfileSchema>;
export type FeatureBins = FeatureProfile["features"][number];

/** The bin of a value: the first edge it does not exceed, or the last bin. */
export function binIndex(edges: readonly number[], v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Shares of `values` in the bins `edges` define. */
export function binShares(values: ArrayLike<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) counts[binIndex(edges, values[i]!)]!++;
  const n = values.length;
  return counts.map((c) => (n === 0 ? 0 : c / n));
}

/** Quantile edges of one feature's values (see the module comment). */
export function quantileEdges(values: ArrayLike<number>, bins = DEFAULT_PROFILE_BINS): number[] {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return [];
  const max = sorted[n - 1]!;
  const edges: number[] = [];
  for (let q = 1; q < bins; q++) {
    const e = sorted[Math.max(0, Math.ceil((q * n) / bins) - 1)]!;
    if (e < max && (edges.length === 0 || e > edges[edges.length - 1]!)) edges.push(e);
  }
  return edges;
}

/** The profile of rows (feature vectors in `names` order). */
export function profileFeatures(rows: readonly (readonly number[])[], names: readonly string[], source: string, bins = DEFAULT_PROFILE_BINS): FeatureProfile {
  if (rows.length === 0) throw new RangeError("no rows to profile");
  const column = new Float64Array(rows.length);
  const features = names.map((name, j) => {
    for (let i = 0; i < rows.length; i++) column[i] = rows[i]![j]!;
    const edges = quantileEdges(column, bins);
    // Rounded: the artifact stays readable, and 1e-6 of a share is far below any PSI that matters.
    return { name, edges, shares: binShares(column, edges).map((s) => Math.round(s * 1e6) / 1e6) };
  });
  return { source, rows: rows.length, features };
}
