/**
 * Time arithmetic for features. Everything is epoch milliseconds (numbers), because the state is
 * stored as JSONB and read back with JSON.parse, which would turn Dates into strings.
 */

import { DAY_MS } from "../lib/time.js";

export { DAY_MS, HOUR_MS } from "../lib/time.js";

/** Parses an event's ISO-8601 instant. Throws rather than returning NaN: a NaN would poison every min/max it touches. */
export function instantMs(iso: string): number {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new RangeError(`not an ISO-8601 instant: "${iso}"`);
  return ms;
}

/** Accepts the two ways callers hold "now"; rejects invalid Dates for the same reason as instantMs. */
export function asOfMs(asOf: Date | number): number {
  const ms = typeof asOf === "number" ? asOf : asOf.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`asOf is not a valid instant: ${String(asOf)}`);
  return ms;
}

/** UTC day number. Windowed counters bucket by it, so "last 30 days" means the 30 UTC days ending on asOf's day. */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/**
 * Whole-and-fractional days from `from` to `to`, never negative: producers' clocks run a little ahead
 * and live scoring uses the worker's clock, so an event may look a few seconds "in the future".
 */
export function daysSince(from: number, to: number): number {
  return from >= to ? 0 : (to - from) / DAY_MS;
}

export function minOf(current: number | null, value: number): number {
  return current === null || value < current ? value : current;
}

export function maxOf(current: number | null, value: number): number {
  return current === null || value > current ? value : current;
}
