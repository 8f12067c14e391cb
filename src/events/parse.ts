/**
 * Turns raw Kafka message bytes into a validated, currency-normalised event, or a reason why not.
 * Pure: no I/O, so the ingest loop can decide what to do with rejects (the dead-letter topic).
 */
import { churnEvent, type ChurnEvent } from "./schema.js";

export interface ParseOptions {
  /** Messages larger than this are rejected before JSON parsing (protects memory and the DB). */
  maxBytes: number;
  /** Currency all amounts are kept in. */
  baseCurrency: string;
  /** Multiplier from a currency to baseCurrency, e.g. { USD: 0.92 } when base is EUR. */
  rates: Readonly<Record<string, number>>;
}

export type ParseResult =
  | { ok: true; event: ChurnEvent }
  | { ok: false; reason: string; code: RejectCode };

export type RejectCode = "oversized" | "empty" | "not_json" | "invalid" | "key_mismatch" | "unknown_currency";

function reject(code: RejectCode, reason: string): ParseResult {
  return { ok: false, code, reason };
}

/** Formats zod issues as "path: message; path: message", short enough for a Kafka header. */
function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.map(String).join(".") : "(root)"}: ${i.message}`)
    .join("; ");
}

export function parseEvent(value: Buffer | null, key: Buffer | null, opts: ParseOptions): ParseResult {
  if (!value || value.length === 0) return reject("empty", "empty message value");
  if (value.length > opts.maxBytes) {
    return reject("oversized", `message is ${value.length} bytes; the limit is ${opts.maxBytes} (MAX_EVENT_BYTES)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(value.toString("utf8"));
  } catch (err) {
    return reject("not_json", `not valid JSON: ${(err as Error).message}`);
  }
  const parsed = churnEvent.safeParse(json);
  if (!parsed.success) return reject("invalid", describeIssues(parsed.error.issues));
  const event = parsed.data;
  // The key decides the partition, and per-customer order relies on one partition per customer.
  if (key && key.length > 0 && key.toString("utf8") !== event.customerId) {
    return reject("key_mismatch", `message key "${key.toString("utf8")}" differs from customerId "${event.customerId}"`);
  }
  return normaliseCurrency(event, opts);
}

/** Converts purchase/refund amounts to the base currency; events in an unknown currency are rejected. */
export function normaliseCurrency(event: ChurnEvent, opts: Pick<ParseOptions, "baseCurrency" | "rates">): ParseResult {
  if (event.type !== "purchase" && event.type !== "refund") return { ok: true, event };
  if (event.currency === opts.baseCurrency) return { ok: true, event };
  const rate = opts.rates[event.currency];
  if (rate === undefined) {
    return reject(
      "unknown_currency",
      `currency ${event.currency} is not ${opts.baseCurrency} and has no rate in CURRENCY_RATES`,
    );
  }
  // Round to cents so that sums do not accumulate binary noise from the conversion.
  const amount = Math.round(event.amount * rate * 100) / 100;
  return { ok: true, event: { ...event, amount, currency: opts.baseCurrency } };
}
