/**
 * CSV column mapping: how the rows of a plain transactions export become purchase (and refund)
 * events in the contract. Most shops can export "customer, date, quantity, amount"; the mapping
 * says which column is which (by header name or, for header-less files, by position), how fields
 * are separated (any delimiter, or runs of whitespace), how dates (with their time zone) and
 * amounts are written, and how to derive a stable eventId, so replaying the same file twice
 * stores every transaction once.
 *
 * eventId: with `eventId.columns` (a transaction or order-line id), a hash of those columns;
 * without, a hash of every mapped value plus the row's occurrence number among identical rows (two
 * identical coffees on the same day are two purchases, and stay distinct on the next replay). The
 * occurrence numbering assumes identical rows keep their relative order between exports.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { resolveDelimiter } from "./csv.js";
import { checkTimeZone, dateParser, parseOffset, type DateParser } from "./dates.js";

/**
 * A column: its header name ("customer_id"), or its position counted from 1 ({ "column": 3 }, or
 * just 3), for files without a header row or with unhelpful headers.
 */
const columnRef = z.union([
  z.string().min(1),
  z.number().int().positive(),
  z.object({ column: z.number().int().positive() }).strict(),
]);
export type ColumnRef = z.infer<typeof columnRef>;

export const mappingSchema = z
  .object({
    description: z.string().optional(),
    /** One character, an alias (comma, semicolon, pipe, tab, space), "whitespace" (runs of spaces/tabs) or a longer string. */
    delimiter: z.string().min(1).default(","),
    /** false: the first line is data, and columns are given by position. */
    header: z.boolean().default(true),
    columns: z
      .object({
        customerId: columnRef,
        /** One column, or several joined with a space (a date and a time in separate columns). */
        occurredAt: z.union([columnRef, z.array(columnRef).min(1).max(4)]),
        amount: columnRef,
        quantity: columnRef.optional(),
        orderId: columnRef.optional(),
        currency: columnRef.optional(),
      })
      .strict(),
    dateFormat: z.string().min(1).default("iso"),
    /** Fixed offset for dates without one ("+01:00"); default UTC. */
    utcOffset: z.string().optional(),
    /** Instead of utcOffset: an IANA zone ("Europe/Berlin"), DST-correct. */
    timeZone: z.string().min(1).optional(),
    /**
     * Currency of rows without a currency column (or with an empty cell). Default: the base
     * currency (BASE_CURRENCY). A history in another currency than BASE_CURRENCY needs a rate, or
     * becomes the base currency when BASE_CURRENCY is unset (see replayCurrency).
     */
    currency: z.string().regex(/^[A-Z]{3}$/, "an ISO-4217 code such as EUR").optional(),
    /** "1.234,56" style amounts. */
    decimalComma: z.boolean().default(false),
    /** "total": the amount column is the row total; "unit_price": multiply by quantity. */
    amountIs: z.enum(["total", "unit_price"]).default("total"),
    /** Negative amounts (returns in many exports): turn them into refund events, or reject the row. */
    negativeAmounts: z.enum(["refund", "reject"]).default("reject"),
    eventId: z
      .object({
        prefix: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/).default("csv"),
        columns: z.array(columnRef).optional(),
      })
      .default({ prefix: "csv" }),
    channel: z.string().max(64).optional(),
  })
  .strict();

export type CsvMapping = z.output<typeof mappingSchema>;

const OPTIONS_HINT =
  'mapping fields: delimiter ("," ";" "tab" "whitespace" ...), header (false for files without a header row), ' +
  'columns (header names or positions like { "column": 3 }), dateFormat, utcOffset or timeZone, currency, decimalComma, amountIs, negativeAmounts, eventId; ' +
  "see examples/mappings/ and docs/retraining.md";

export function parseMapping(json: unknown): CsvMapping {
  const parsed = mappingSchema.safeParse(json);
  if (!parsed.success) {
    throw new RangeError(`invalid mapping: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")} (${OPTIONS_HINT})`);
  }
  const m = parsed.data;
  if (m.utcOffset !== undefined && m.timeZone !== undefined) {
    throw new RangeError('invalid mapping: give either "utcOffset" (a fixed offset) or "timeZone" (an IANA zone, DST-correct), not both');
  }
  resolveDelimiter(m.delimiter);
  if (m.utcOffset !== undefined) parseOffset(m.utcOffset);
  if (m.timeZone !== undefined) checkTimeZone(m.timeZone);
  dateParser(m.dateFormat, m.utcOffset, m.timeZone);
  if (!m.header) {
    const named = Object.entries(m.columns).flatMap(([k, ref]) => (Array.isArray(ref) ? ref.map((r) => [k, r] as const) : [[k, ref] as const])).filter(([, ref]) => typeof ref === "string");
    if (named.length > 0) {
      throw new RangeError(
        `invalid mapping: "header": false says the file has no header row, so columns must be positions, but ${named.map(([k, v]) => `${k} = "${v}"`).join(", ")} ` +
          `${named.length === 1 ? "is a name" : "are names"}: write e.g. "${named[0]![0]}": { "column": 1 }`,
      );
    }
  }
  return m;
}

/** Position of a column (0-based) from a reference, or a message that says what to change. */
function columnIndex(ref: ColumnRef, role: string, header: readonly string[] | null, index: Map<string, number>): number {
  if (typeof ref === "number") return ref - 1;
  if (typeof ref === "object") return ref.column - 1;
  if (header === null) throw new RangeError(`mapping column ${role} = "${ref}" is a header name, but the file has no header ("header": false): give its position, e.g. { "column": 1 }`);
  const i = index.get(ref.trim());
  if (i === undefined) throw new RangeError(`mapping column ${role} = "${ref}" is not in the header (${header.join(", ")})${headerHints(header)}`);
  return i;
}

/** Why a header might not hold the names a mapping expects: another delimiter, or no header at all. */
function headerHints(header: readonly string[]): string {
  const hints: string[] = [];
  const first = header.join(",");
  if (header.length === 1) {
    const seen: string[] = ([["\t", '"tab"'], [";", '";"'], ["|", '"|"']] as const).filter(([ch]) => first.includes(ch)).map(([, name]) => name);
    if (/\S\s{2,}\S|\S \S/.test(first)) seen.push('"whitespace" (runs of spaces)');
    hints.push(`the header row was read as a single column: is "delimiter" right?${seen.length ? ` This line contains ${seen.join(" and ")}.` : ""}`);
  }
  const looksLikeData = header.some((h) => /^-?\d+([.,]\d+)?$/.test(h.trim()) || /^\d{1,4}[-./]\d{1,2}[-./]\d{1,4}/.test(h.trim()));
  if (looksLikeData) hints.push('the first row looks like data: if the file has no header row, set "header": false and give columns by position ({ "column": 1 })');
  return hints.length ? `; ${hints.join("; ")}` : "";
}

export interface ConverterOptions {
  /** Currency for rows without one when the mapping names none (the replay's base currency). */
  defaultCurrency?: string;
}

export type RowResult = { ok: true; event: Record<string, unknown> } | { ok: false; reason: string };

/**
 * Binds a mapping to a header row (null for files without one); returns a converter for the data
 * rows (stateful: occurrence counts).
 */
export function rowConverter(mapping: CsvMapping, header: readonly string[] | null, opts: ConverterOptions = {}): (fields: readonly string[]) => RowResult {
  const index = new Map((header ?? []).map((h, i) => [h.trim(), i]));
  const c = mapping.columns;
  const label1 = (ref: ColumnRef) => (typeof ref === "string" ? ref : `column ${typeof ref === "number" ? ref : ref.column}`);
  const label = (ref: ColumnRef | ColumnRef[] | undefined) => (ref === undefined ? "" : Array.isArray(ref) ? ref.map(label1).join(" + ") : label1(ref));
  const col = (ref: ColumnRef, role: string) => columnIndex(ref, role, header, index);
  const iCustomer = col(c.customerId, "customerId");
  const iDates = (Array.isArray(c.occurredAt) ? c.occurredAt : [c.occurredAt]).map((ref) => col(ref, "occurredAt"));
  const iAmount = col(c.amount, "amount");
  const iQuantity = c.quantity !== undefined ? col(c.quantity, "quantity") : -1;
  const iOrder = c.orderId !== undefined ? col(c.orderId, "orderId") : -1;
  const iCurrency = c.currency !== undefined ? col(c.currency, "currency") : -1;
  const idColumns = (mapping.eventId.columns ?? []).map((ref) => col(ref, "eventId.columns"));
  const needed = Math.max(iCustomer, ...iDates, iAmount, iQuantity, iOrder, iCurrency, ...idColumns) + 1;
  if (header !== null && needed > header.length) {
    throw new RangeError(`the mapping reads column ${needed}, but the header has ${header.length} column(s) (${header.join(", ")})${headerHints(header)}`);
  }
  const parseDate: DateParser = dateParser(mapping.dateFormat, mapping.utcOffset, mapping.timeZone);
  const defaultCurrency = mapping.currency ?? opts.defaultCurrency ?? "EUR";
  const names = { customerId: label(c.customerId), occurredAt: label(c.occurredAt), amount: label(c.amount), quantity: label(c.quantity) };
  const seen = new Map<string, number>();
  const expected = header !== null ? header.length : needed;

  return (fields) => {
    if (fields.length < needed || (header !== null && fields.length < header.length)) {
      const whitespace = mapping.delimiter === "whitespace" ? ' (with "delimiter": "whitespace", a value containing spaces must be double-quoted)' : "";
      return { ok: false, reason: `${fields.length} column(s), expected ${expected}${header !== null ? " as in the header" : ` (the mapping reads column ${needed})`}${whitespace}` };
    }
    const customerId = fields[iCustomer]!.trim();
    if (!customerId) return { ok: false, reason: `empty ${names.customerId}` };
    const date = parseDate(iDates.map((i) => fields[i]!.trim()).join(" "));
    if (!date.ok) return { ok: false, reason: `${names.occurredAt}: ${date.reason}` };
    let amount = parseAmount(fields[iAmount]!, mapping.decimalComma);
    if (amount === null) {
      const hint = !mapping.decimalComma && /^\s*-?\d+,\d{1,2}\s*$/.test(fields[iAmount]!) ? ' (for "12,50" style amounts set "decimalComma": true)' : "";
      return { ok: false, reason: `${names.amount}: "${fields[iAmount]}" is not an amount${hint}` };
    }
    let quantity: number | undefined;
    if (iQuantity >= 0 && fields[iQuantity]!.trim() !== "") {
      const q = Number(fields[iQuantity]!.trim());
      if (!Number.isInteger(q) || q === 0) return { ok: false, reason: `${names.quantity}: "${fields[iQuantity]}" is not a non-zero whole number` };
      quantity = q;
    }
    if (mapping.amountIs === "unit_price") {
      if (quantity === undefined) return { ok: false, reason: `amountIs "unit_price" needs a quantity, ${names.quantity || "(no quantity column)"} is empty` };
      amount = amount * Math.abs(quantity);
    }
    // A return is usually written with a negative amount, a negative quantity, or both.
    const negative = amount < 0 || (quantity !== undefined && quantity < 0);
    if (negative && mapping.negativeAmounts === "reject") {
      return { ok: false, reason: `negative amount or quantity (set "negativeAmounts": "refund" to import returns as refunds)` };
    }
    amount = Math.round(Math.abs(amount) * 100) / 100;
    const currency = (iCurrency >= 0 ? fields[iCurrency]!.trim().toUpperCase() : "") || defaultCurrency;
    const occurredAt = new Date(date.ms).toISOString();
    const orderRaw = iOrder >= 0 ? fields[iOrder]!.trim() : "";

    let key: string;
    if (idColumns.length) {
      key = JSON.stringify(idColumns.map((i) => fields[i]!.trim()));
    } else {
      key = JSON.stringify([customerId, occurredAt, amount, quantity ?? null, orderRaw, currency, negative]);
    }
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    const hash = createHash("sha256").update(n === 1 ? key : `${key}#${n}`).digest("hex").slice(0, 24);
    const eventId = `${mapping.eventId.prefix}-${hash}`;
    const orderId = orderRaw || eventId;

    const event: Record<string, unknown> = negative
      ? { eventId, type: "refund", customerId, occurredAt, orderId, amount, currency }
      : {
          eventId,
          type: "purchase",
          customerId,
          occurredAt,
          orderId,
          amount,
          currency,
          ...(quantity !== undefined ? { quantity } : {}),
          ...(mapping.channel ? { channel: mapping.channel } : {}),
        };
    return { ok: true, event };
  };
}

export interface CurrencySetting {
  /** BASE_CURRENCY's value (or its default). */
  baseCurrency: string;
  /** Whether BASE_CURRENCY was set in the environment (not just defaulted). */
  baseCurrencyExplicit: boolean;
  rates: Readonly<Record<string, number>>;
}

export class CurrencyMismatchError extends RangeError {
  override name = "CurrencyMismatchError";
}

/**
 * The base currency a replay of this mapping keeps amounts in. A history in one currency is the
 * common case: when the mapping names it and BASE_CURRENCY is unset, that currency becomes the
 * base (with a note: the worker must run with the same BASE_CURRENCY). When BASE_CURRENCY is set
 * to another currency without a rate, every row would be rejected: one error says what to set.
 */
export function replayCurrency(mapping: Pick<CsvMapping, "currency">, setting: CurrencySetting): { baseCurrency: string; note?: string } {
  const cur = mapping.currency;
  if (cur === undefined || cur === setting.baseCurrency || setting.rates[cur] !== undefined) return { baseCurrency: setting.baseCurrency };
  if (!setting.baseCurrencyExplicit) {
    return {
      baseCurrency: cur,
      note: `amounts are kept in ${cur}, the mapping's currency (BASE_CURRENCY is not set); run the worker with BASE_CURRENCY=${cur} too, so live events and this history use the same currency`,
    };
  }
  throw new CurrencyMismatchError(
    `the mapping says amounts are in ${cur}, but BASE_CURRENCY is ${setting.baseCurrency} and CURRENCY_RATES has no ${cur} rate, so every row would be rejected: ` +
      `set BASE_CURRENCY=${cur} (amounts kept in ${cur}; the worker needs the same setting) or CURRENCY_RATES=${cur}=<${setting.baseCurrency} per ${cur}>`,
  );
}

/** "12.50", "-3", "1,234.50"; with decimalComma "12,50", "1.234,50". Currency symbols and spaces are ignored. */
export function parseAmount(text: string, decimalComma: boolean): number | null {
  let t = text.trim().replace(/[\s\u00a0€$£¥]/g, "");
  if (t === "") return null;
  if (decimalComma) {
    if (!/^-?\d{1,3}(\.\d{3})*(,\d+)?$|^-?\d+(,\d+)?$/.test(t)) return null;
    t = t.replace(/\./g, "").replace(",", ".");
  } else {
    if (!/^-?\d{1,3}(,\d{3})*(\.\d+)?$|^-?\d+(\.\d+)?$/.test(t)) return null;
    t = t.replace(/,/g, "");
  }
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}
