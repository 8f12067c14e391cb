/**
 * CSV column mapping: how the rows of a plain transactions export become purchase (and refund)
 * events in the contract. Most shops can export "customer, date, quantity, amount"; the mapping
 * says which column is which, how dates and amounts are written, and how to derive a stable
 * eventId, so replaying the same file twice stores every transaction once.
 *
 * eventId: with `eventId.columns` (a transaction or order-line id), a hash of those columns;
 * without, a hash of every mapped value plus the row's occurrence number among identical rows (two
 * identical coffees on the same day are two purchases, and stay distinct on the next replay). The
 * occurrence numbering assumes identical rows keep their relative order between exports.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { dateParser, parseOffset, type DateParser } from "./dates.js";

export const mappingSchema = z
  .object({
    description: z.string().optional(),
    delimiter: z.string().length(1).default(","),
    columns: z
      .object({
        customerId: z.string().min(1),
        occurredAt: z.string().min(1),
        amount: z.string().min(1),
        quantity: z.string().min(1).optional(),
        orderId: z.string().min(1).optional(),
        currency: z.string().min(1).optional(),
      })
      .strict(),
    dateFormat: z.string().min(1).default("iso"),
    utcOffset: z.string().default("Z"),
    /** Currency for rows without a currency column or with an empty cell. */
    currency: z.string().regex(/^[A-Z]{3}$/, "an ISO-4217 code such as EUR").default("EUR"),
    /** "1.234,56" style amounts. */
    decimalComma: z.boolean().default(false),
    /** "total": the amount column is the row total; "unit_price": multiply by quantity. */
    amountIs: z.enum(["total", "unit_price"]).default("total"),
    /** Negative amounts (returns in many exports): turn them into refund events, or reject the row. */
    negativeAmounts: z.enum(["refund", "reject"]).default("reject"),
    eventId: z
      .object({
        prefix: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/).default("csv"),
        columns: z.array(z.string().min(1)).optional(),
      })
      .default({ prefix: "csv" }),
    channel: z.string().max(64).optional(),
  })
  .strict();

export type CsvMapping = z.output<typeof mappingSchema>;

export function parseMapping(json: unknown): CsvMapping {
  const parsed = mappingSchema.safeParse(json);
  if (!parsed.success) {
    throw new RangeError(`invalid mapping: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  }
  parseOffset(parsed.data.utcOffset);
  dateParser(parsed.data.dateFormat, parsed.data.utcOffset);
  return parsed.data;
}

export type RowResult = { ok: true; event: Record<string, unknown> } | { ok: false; reason: string };

/** Binds a mapping to a header row; returns a converter for the data rows (stateful: occurrence counts). */
export function rowConverter(mapping: CsvMapping, header: readonly string[]): (fields: readonly string[]) => RowResult {
  const index = new Map(header.map((h, i) => [h.trim(), i]));
  const col = (name: string, role: string): number => {
    const i = index.get(name);
    if (i === undefined) throw new RangeError(`mapping column ${role} = "${name}" is not in the header (${header.join(", ")})`);
    return i;
  };
  const c = mapping.columns;
  const iCustomer = col(c.customerId, "customerId");
  const iDate = col(c.occurredAt, "occurredAt");
  const iAmount = col(c.amount, "amount");
  const iQuantity = c.quantity ? col(c.quantity, "quantity") : -1;
  const iOrder = c.orderId ? col(c.orderId, "orderId") : -1;
  const iCurrency = c.currency ? col(c.currency, "currency") : -1;
  const idColumns = (mapping.eventId.columns ?? []).map((n) => col(n, "eventId.columns"));
  const parseDate: DateParser = dateParser(mapping.dateFormat, mapping.utcOffset);
  const seen = new Map<string, number>();

  return (fields) => {
    if (fields.length < header.length) return { ok: false, reason: `${fields.length} columns, the header has ${header.length}` };
    const customerId = fields[iCustomer]!.trim();
    if (!customerId) return { ok: false, reason: `empty ${c.customerId}` };
    const date = parseDate(fields[iDate]!);
    if (!date.ok) return { ok: false, reason: `${c.occurredAt}: ${date.reason}` };
    let amount = parseAmount(fields[iAmount]!, mapping.decimalComma);
    if (amount === null) return { ok: false, reason: `${c.amount}: "${fields[iAmount]}" is not an amount` };
    let quantity: number | undefined;
    if (iQuantity >= 0 && fields[iQuantity]!.trim() !== "") {
      const q = Number(fields[iQuantity]!.trim());
      if (!Number.isInteger(q) || q === 0) return { ok: false, reason: `${c.quantity}: "${fields[iQuantity]}" is not a non-zero whole number` };
      quantity = q;
    }
    if (mapping.amountIs === "unit_price") {
      if (quantity === undefined) return { ok: false, reason: `amountIs "unit_price" needs a quantity, ${c.quantity ?? "(no quantity column)"} is empty` };
      amount = amount * Math.abs(quantity);
    }
    // A return is usually written with a negative amount, a negative quantity, or both.
    const negative = amount < 0 || (quantity !== undefined && quantity < 0);
    if (negative && mapping.negativeAmounts === "reject") {
      return { ok: false, reason: `negative amount or quantity (set "negativeAmounts": "refund" to import returns as refunds)` };
    }
    amount = Math.round(Math.abs(amount) * 100) / 100;
    const currency = (iCurrency >= 0 ? fields[iCurrency]!.trim().toUpperCase() : "") || mapping.currency;
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
