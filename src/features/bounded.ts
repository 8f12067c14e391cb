/**
 * The bounded, order-independent containers the state keeps detail in (top-K instants, per-day
 * buckets) and the window read over the buckets. Updates return a new array (or the same one when
 * nothing changes) and never mutate their input.
 */
import type { DayBucket } from "./state.js";

/**
 * Adds `value` to the ascending multiset `sortedAsc` and keeps only the `k` largest.
 * The k largest of a multiset are unique, so the result does not depend on insertion order.
 */
export function insertTopK(sortedAsc: readonly number[], value: number, k: number): readonly number[] {
  const first = sortedAsc[0];
  // Not among the k largest. (Equal to the smallest kept: inserting it and dropping one copy is a no-op.)
  if (sortedAsc.length >= k && first !== undefined && value <= first) return sortedAsc;
  // Events mostly arrive near the end of time, so search from the back.
  let i = sortedAsc.length;
  while (i > 0 && (sortedAsc[i - 1] as number) > value) i--;
  const next = sortedAsc.slice();
  next.splice(i, 0, value);
  if (next.length > k) next.splice(0, next.length - k);
  return next;
}

/**
 * Adds one event of `day` to per-day buckets, keeping only days within `keepDays` of the latest day.
 *
 * Why this is order independent: the kept window is defined by the latest day over all events, a
 * max. An event older than the window when it arrives would be outside the final window too (the
 * latest day only grows); an event inside it when it arrives is evicted later exactly when the
 * final window excludes it. So the final buckets are the same in every arrival order.
 */
export function addToDayBuckets(
  buckets: readonly DayBucket[],
  day: number,
  sum: number,
  keepDays: number,
): readonly DayBucket[] {
  const last = buckets[buckets.length - 1];
  const latest = last === undefined ? day : Math.max(last[0], day);
  if (day <= latest - keepDays) return buckets;

  let i = buckets.length;
  while (i > 0 && (buckets[i - 1] as DayBucket)[0] > day) i--;
  const next = buckets.slice();
  const existing = next[i - 1];
  if (existing !== undefined && existing[0] === day) {
    next[i - 1] = [day, existing[1] + 1, existing[2] + sum];
  } else {
    next.splice(i, 0, [day, 1, sum]);
  }

  let drop = 0;
  while (drop < next.length && (next[drop] as DayBucket)[0] <= latest - keepDays) drop++;
  if (drop > 0) next.splice(0, drop);
  return next;
}

/** Counts and sums of three nested day windows (see windowSums). */
export interface WindowTotals {
  readonly count: readonly [number, number, number];
  readonly sum: readonly [number, number, number];
}

/**
 * Count and sum of the buckets in each window (today - span, today] for three ascending spans,
 * in one pass from the newest bucket. Windows are whole UTC days: "last 30 days at asOf" = days
 * (asOfDay - 30, asOfDay]. Buckets after `today` are left out (a state should not hold them; see
 * vector.ts). Three fixed spans rather than a list: this runs on every scoring, and the list
 * version's small allocations made it the hottest function of featureVector.
 */
export function windowSums(
  buckets: readonly DayBucket[],
  today: number,
  spans: readonly [number, number, number],
): WindowTotals {
  const [a, b, c] = spans;
  let ca = 0, cb = 0, cc = 0;
  let sa = 0, sb = 0, sc = 0;
  for (let i = buckets.length - 1; i >= 0; i--) {
    const bucket = buckets[i] as DayBucket;
    const age = today - bucket[0];
    if (age < 0) continue;
    if (age >= c) break;
    cc += bucket[1];
    sc += bucket[2];
    if (age < b) {
      cb += bucket[1];
      sb += bucket[2];
      if (age < a) {
        ca += bucket[1];
        sa += bucket[2];
      }
    }
  }
  return { count: [ca, cb, cc], sum: [sa, sb, sc] };
}
