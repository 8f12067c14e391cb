/**
 * Options of a simulation run and the derived, shared read-only context. Validation happens here,
 * once, so that the per-customer hot loop can trust its inputs.
 */
import { DAY_MS } from "../lib/time.js";
export { DAY_MS, HOUR_MS } from "../lib/time.js";

export interface ForeignCurrency {
  /** ISO-4217 code, e.g. "USD". */
  code: string;
  /** Share of customers (0..1) who pay in this currency; all their orders and refunds use it. */
  share: number;
  /**
   * Multiplier from this currency to the base currency, as in the worker's CURRENCY_RATES
   * (e.g. 0.92 for USD when the base is EUR). Amounts are divided by it, so that after the
   * worker's conversion they land on the same price distribution as base-currency customers.
   */
  rateToBase: number;
}

export type Instant = Date | string | number;

export interface SimulateOptions {
  /** Unsigned 32-bit integer; the same seed always yields the same events and ids. */
  seed: number;
  /** Number of customers (ids c-000000 .. c-{customers-1}). */
  customers: number;
  /** End of the window (exclusive). Required: a default of "today" would break reproducibility. */
  now: Instant;
  /** Window length in days before `now` (default 540); ignored when `start` is given. */
  days?: number;
  /** Start of the window (inclusive); default `now - days`. */
  start?: Instant;
  /** Base currency of prices (default EUR). */
  currency?: string;
  /** Optional second currency to exercise conversion in the worker. */
  foreignCurrency?: ForeignCurrency;
  /**
   * Share of customers who were already customers before the window starts (default 0.4); their
   * profile is sent at the window start with an earlier signedUpAt. The rest sign up inside it.
   */
  existingShare?: number;
}

/** Shared by every customer of a run. */
export interface SimContext {
  seed: number;
  customers: number;
  startMs: number;
  endMs: number;
  /** UTC midnight on or before startMs: the simulation steps in whole UTC days. */
  firstDayMs: number;
  /** UTC month (0..11) of each simulated day, so the hot loop never builds a Date. */
  months: Uint8Array;
  currency: string;
  foreign: ForeignCurrency | null;
  existingShare: number;
}

function toMs(value: Instant, name: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === "number" ? value : Date.parse(value);
  if (!Number.isFinite(ms)) throw new RangeError(`${name} is not a valid date: ${String(value)}`);
  return ms;
}

const CURRENCY_CODE = /^[A-Z]{3}$/;

export function makeContext(opts: SimulateOptions): SimContext {
  const { seed, customers } = opts;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer in 0..4294967295, got ${seed}`);
  }
  if (!Number.isInteger(customers) || customers < 0) {
    throw new RangeError(`customers must be a non-negative integer, got ${customers}`);
  }
  const endMs = toMs(opts.now, "now");
  const days = opts.days ?? 540;
  if (opts.start === undefined && (!Number.isFinite(days) || days <= 0)) {
    throw new RangeError(`days must be positive, got ${days}`);
  }
  const startMs = opts.start === undefined ? endMs - days * DAY_MS : toMs(opts.start, "start");
  if (startMs >= endMs) throw new RangeError("start must be before now");
  const currency = opts.currency ?? "EUR";
  if (!CURRENCY_CODE.test(currency)) throw new RangeError(`currency must be an ISO-4217 code, got ${currency}`);
  const foreign = opts.foreignCurrency ?? null;
  if (foreign) {
    if (!CURRENCY_CODE.test(foreign.code)) throw new RangeError(`foreign currency must be an ISO-4217 code, got ${foreign.code}`);
    if (foreign.code === currency) throw new RangeError(`foreign currency equals the base currency ${currency}`);
    if (!(foreign.share >= 0 && foreign.share <= 1)) throw new RangeError(`foreign share must be in 0..1, got ${foreign.share}`);
    if (!(foreign.rateToBase > 0) || !Number.isFinite(foreign.rateToBase)) {
      throw new RangeError(`foreign rateToBase must be positive, got ${foreign.rateToBase}`);
    }
  }
  const existingShare = opts.existingShare ?? 0.4;
  if (!(existingShare >= 0 && existingShare <= 1)) throw new RangeError(`existingShare must be in 0..1, got ${existingShare}`);

  const firstDayMs = Math.floor(startMs / DAY_MS) * DAY_MS;
  const dayCount = Math.ceil((endMs - firstDayMs) / DAY_MS);
  const months = new Uint8Array(dayCount);
  for (let d = 0; d < dayCount; d++) months[d] = new Date(firstDayMs + d * DAY_MS).getUTCMonth();
  return { seed, customers, startMs, endMs, firstDayMs, months, currency, foreign, existingShare };
}

/** "c-000123": fixed width keeps ids sortable in tools that sort as text. */
export function customerIdOf(index: number): string {
  return `c-${String(index).padStart(6, "0")}`;
}
