/**
 * Turns raw Kafka message bytes into a validated, currency-normalised event, or a reason why not.
 * Pure: no I/O, so the ingest loop can decide what to do with rejects (the dead-letter topic).
 *
 * Order of checks, cheapest and most fundamental first: size, the Kafka key's bytes, the value's
 * bytes (UTF-8), JSON syntax and duplicate names, text Postgres cannot store, the contract (zod),
 * key = customerId, the clock (future skew), the currency. Every reason names fields and rules,
 * never input text: the original bytes travel with the dead letter, the reason goes into headers,
 * logs and a Postgres column.
 */
import type { z } from "zod";
import { scanJson } from "./json-scan.js";
import { safeReason } from "./reason.js";
import {
  buildEventSchemas,
  CONTRACT_FIELDS,
  DEFAULT_LIMITS,
  ID_FIELDS,
  LIMITED_FIELDS,
  type ChurnEvent,
  type ContractLimits,
} from "./schema.js";
import { findUnsafeText, unstorable } from "./text.js";
import { firstInvalidUtf8 } from "./utf8.js";

/** Default for EVENT_MAX_FUTURE_SKEW: producers' clocks run a little ahead, a day is generous. */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 24 * 60 * 60 * 1000;

export interface ParseOptions {
  /** Messages larger than this are rejected before JSON parsing (protects memory and the DB). */
  maxBytes: number;
  /** Currency all amounts are kept in. */
  baseCurrency: string;
  /** Multiplier from a currency to baseCurrency, e.g. { USD: 0.92 } when base is EUR. */
  rates: Readonly<Record<string, number>>;
  /** MAX_AMOUNT, MAX_QUANTITY, EVENT_MIN_OCCURRED_AT; unset ones take DEFAULT_LIMITS. Read once
   * per options object (the schema is built and kept for it), so do not change them in place. */
  limits?: Partial<ContractLimits>;
  /** EVENT_MAX_FUTURE_SKEW: how far occurredAt/signedUpAt may lie after `now()`. Default one day. */
  maxFutureSkewMs?: number;
  /** The clock the future-skew rule reads; injected so tests and replays are deterministic. */
  now?: () => Date;
}

export type ParseResult =
  | { ok: true; event: ChurnEvent }
  | { ok: false; reason: string; code: RejectCode };

export type RejectCode =
  | "oversized"
  | "empty"
  | "not_utf8"
  | "not_json"
  | "duplicate_key"
  | "unsafe_text"
  | "invalid"
  | "invalid_id"
  | "over_limit"
  | "instant_out_of_range"
  | "key_mismatch"
  | "unknown_currency"
  /** Valid by the contract, but the database refused it (found by narrowing a failing batch down). */
  | "unstorable";

/** Every reject code, for metrics and documentation. */
export const REJECT_CODES: readonly RejectCode[] = [
  "oversized", "empty", "not_utf8", "not_json", "duplicate_key", "unsafe_text", "invalid", "invalid_id",
  "over_limit", "instant_out_of_range", "key_mismatch", "unknown_currency", "unstorable",
];

function reject(code: RejectCode, reason: string): ParseResult {
  return { ok: false, code, reason: safeReason(reason) };
}

/** Schemas per limit set; a worker has one, tests a few. */
const schemaCache = new Map<string, ReturnType<typeof buildEventSchemas>["churnEvent"]>();
/** The schema for each options object: options are configuration, built once and reused. */
const schemaByOptions = new WeakMap<ParseOptions, ReturnType<typeof buildEventSchemas>["churnEvent"]>();

function schemaFor(opts: ParseOptions) {
  let schema = schemaByOptions.get(opts);
  if (schema) return schema;
  const l = { ...DEFAULT_LIMITS, ...opts.limits };
  // Normalised so that "2000-01-01" and "2000-01-01T00:00:00Z" share a schema and read the same.
  const limits: ContractLimits = { ...l, minInstant: new Date(Date.parse(l.minInstant)).toISOString() };
  const key = `${limits.maxAmount}|${limits.maxQuantity}|${limits.minInstant}`;
  schema = schemaCache.get(key);
  if (!schema) {
    schema = buildEventSchemas(limits).churnEvent;
    schemaCache.set(key, schema);
  }
  schemaByOptions.set(opts, schema);
  return schema;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function parseEvent(value: Buffer | null, key: Buffer | null, opts: ParseOptions): ParseResult {
  if (!value || value.length === 0) return reject("empty", "empty message value");
  if (value.length > opts.maxBytes) {
    return reject("oversized", `message is ${value.length} bytes; the limit is ${opts.maxBytes} (MAX_EVENT_BYTES)`);
  }

  // The key decides the partition and must equal customerId; check its bytes before anything
  // else reads them as text.
  let keyText: string | null = null;
  if (key && key.length > 0) {
    const bad = firstInvalidUtf8(key);
    if (bad >= 0) return reject("not_utf8", `the message key is not UTF-8 (first bad byte at offset ${bad} of ${key.length})`);
    keyText = utf8.decode(key);
    const problem = unstorable(keyText);
    if (problem) return reject("unsafe_text", `the message key contains ${problem}, which Postgres cannot store`);
  }

  const badByte = firstInvalidUtf8(value);
  if (badByte >= 0) {
    return reject("not_utf8", `the message value is not UTF-8 (first bad byte at offset ${badByte} of ${value.length}); events are UTF-8 JSON`);
  }
  const text = utf8.decode(value);

  const scan = scanJson(text);
  if (!scan.ok) {
    const at = `at byte ${Buffer.byteLength(text.slice(0, scan.index), "utf8")}`;
    if (scan.problem === "duplicate_key") {
      const name = scan.key !== undefined && CONTRACT_FIELDS.has(scan.key) ? `field ${scan.key}` : "a field name";
      return reject("duplicate_key", `${name} appears twice in one object ${at}; JSON readers disagree on which one counts`);
    }
    return reject("not_json", `not valid JSON: ${scan.detail} ${at}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Unreachable when the scanner accepts (it accepts exactly JSON); the message is not used
    // because V8 quotes the input in it.
    return reject("not_json", "not valid JSON");
  }

  const unsafe = findUnsafeText(json, CONTRACT_FIELDS);
  if (unsafe) return reject("unsafe_text", `${unsafe.problem} in ${unsafe.where}, which Postgres cannot store`);

  const input = withoutNulls(json);
  const parsed = schemaFor(opts).safeParse(input);
  if (!parsed.success) return reject(classify(parsed.error.issues, json), describeIssues(parsed.error.issues, input));
  const event = parsed.data;

  if (keyText !== null && keyText !== event.customerId) {
    // Neither value is repeated: both are in the dead letter itself, and ids can be personal.
    return reject("key_mismatch", "the message key differs from customerId (the key decides the partition, so one customer's events would be split)");
  }

  const latest = (opts.now ? opts.now().getTime() : Date.now()) + (opts.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS);
  const tooLate = Date.parse(event.occurredAt) > latest ? "occurredAt"
    : event.type === "customer_profile" && event.signedUpAt !== undefined && Date.parse(event.signedUpAt) > latest ? "signedUpAt"
    : null;
  if (tooLate) {
    return reject(
      "instant_out_of_range",
      `${tooLate} is more than ${formatDuration(opts.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS)} after the worker's clock (EVENT_MAX_FUTURE_SKEW); replay it once it is due, or fix the producer's clock`,
    );
  }
  return normaliseCurrency(event, opts);
}

/** Fields of customer_profile where null is a value: it clears what is stored (events/schema.ts). */
const CLEARABLE_PROFILE_FIELDS: ReadonlySet<string> = new Set(["email", "name"]);

/**
 * Top-level nulls mean "absent": producers built on Jackson and similar libraries write null for an
 * unset optional field. A required field that is null is then reported as missing. Exception: a
 * customer_profile's email and name, where null clears the stored value (a customer withdrew it).
 */
function withoutNulls(json: unknown): unknown {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return json;
  const record = json as Record<string, unknown>;
  const profile = record.type === "customer_profile";
  let out: Record<string, unknown> | null = null;
  // Copies only when there is a null to drop: most events have none (a plain loop, no callbacks,
  // because this runs for every message).
  for (const k in record) {
    if (record[k] !== null || (profile && CLEARABLE_PROFILE_FIELDS.has(k))) continue;
    out ??= { ...record };
    delete out[k];
  }
  return out ?? record;
}

type Issue = z.core.$ZodIssue;

/** The reject code of the first issue: the rules the issue tracker asked to tell apart. */
function classify(issues: readonly Issue[], json: unknown): RejectCode {
  const first = issues[0];
  if (!first) return "invalid";
  const field = typeof first.path[0] === "string" ? first.path[0] : undefined;
  if (first.code === "custom") {
    const code = (first.params as { rejectCode?: RejectCode } | undefined)?.rejectCode;
    if (code) return code;
  }
  if (field && ID_FIELDS.has(field) && first.code === "invalid_format") return "invalid_id";
  if (field && LIMITED_FIELDS.has(field)) {
    if (first.code === "too_big") return "over_limit";
    // 1e400 is valid JSON and parses to Infinity, which zod reports as "not a number".
    const raw = (json as Record<string, unknown>)[field];
    if (typeof raw === "number" && !Number.isFinite(raw)) return "over_limit";
  }
  return "invalid";
}

/** Formats zod issues as "path: message; path: message", short enough for a Kafka header. */
function describeIssues(issues: readonly Issue[], input: unknown): string {
  return issues
    .slice(0, 5)
    .map((i) => `${describePath(i.path)}: ${describeIssue(i, input)}`)
    .join("; ");
}

function describePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(root)";
  // Paths are contract field names (unknown names come as unrecognized_keys, not as paths), but
  // stay safe should that change.
  return path.map((p) => (typeof p === "number" || CONTRACT_FIELDS.has(String(p)) ? String(p) : "(field)")).join(".");
}

function describeIssue(issue: Issue, input: unknown): string {
  if (issue.code === "unrecognized_keys") {
    // Unknown names are input: show only names the contract uses elsewhere (orderId on a survey).
    const known = issue.keys.filter((k) => CONTRACT_FIELDS.has(k));
    const others = issue.keys.length - known.length;
    const parts: string[] = [];
    if (known.length) parts.push(`field${known.length > 1 ? "s" : ""} ${known.join(", ")} not part of this type`);
    if (others) parts.push(`${others} unknown field${others > 1 ? "s" : ""} (names not repeated here; see the message)`);
    return parts.join(" and ");
  }
  // "expected string, received undefined" says less than "required" (a null counts as missing).
  const [field] = issue.path;
  if (issue.code === "invalid_type" && issue.path.length === 1 && typeof field === "string" &&
      input !== null && typeof input === "object" && !(field in input)) {
    return "required";
  }
  // zod's own messages name types, formats and limits from the schema, never the input value.
  return issue.message;
}

function formatDuration(ms: number): string {
  const units: [number, string][] = [[86_400_000, "day"], [3_600_000, "hour"], [60_000, "minute"], [1000, "second"]];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${name}${ms / size === 1 ? "" : "s"}`;
  }
  return `${ms} ms`;
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
