/**
 * Event contract v1: what producers send on the purchases and support topics.
 *
 * The zod schemas here are the single source of truth: the worker validates with them and
 * `scripts/gen-schemas.ts` turns them into JSON Schema for producers (docs/schemas/).
 * Kafka key = customerId. Every event carries a globally unique eventId (dedupe key).
 *
 * The numeric and date limits are deployment configuration (MAX_AMOUNT, MAX_QUANTITY,
 * EVENT_MIN_OCCURRED_AT), so the schemas are built from a `ContractLimits`; `churnEvent` is the
 * build with the defaults, which is also what the published JSON Schema states. Rules that need a
 * clock (EVENT_MAX_FUTURE_SKEW) or the bytes (size, encoding, duplicate names, the Kafka key) live in
 * parse.ts, because a static schema cannot state them.
 */
import { z } from "zod";
import { codePointLength, EMAIL_PATTERN, ID_PATTERN, SAFE_TEXT_PATTERN } from "./text.js";

export const EVENT_SCHEMA_VERSION = 1;

export interface ContractLimits {
  /** Largest purchase or refund amount, in the event's own currency (before conversion). */
  maxAmount: number;
  /** Largest units per purchase. */
  maxQuantity: number;
  /** Earliest accepted occurredAt and signedUpAt, as an ISO instant. */
  minInstant: string;
}

/**
 * Defaults chosen so that no real order is refused while 1e15 (a customer value that tops every
 * digest) and 1e300 (Infinity after a few sums) are: 1,000,000 is far above any retail order and
 * far below where doubles lose cents. 2000-01-01 is before any plausible event of a live business
 * and after the year-0000 and Unix-epoch dates that broken producers send.
 */
export const DEFAULT_LIMITS: Readonly<ContractLimits> = {
  maxAmount: 1_000_000,
  maxQuantity: 1_000_000,
  minInstant: "2000-01-01T00:00:00.000Z",
};

/** Reject codes a schema rule can ask for through its issue params; other issues are "invalid". */
export type SchemaRejectCode = "invalid" | "invalid_id" | "over_limit" | "instant_out_of_range";

/** Fields holding ids: a pattern failure there is an `invalid_id` (look-alike or unprintable id). */
export const ID_FIELDS: ReadonlySet<string> = new Set(["eventId", "customerId", "orderId", "ticketId", "campaign"]);
/** Fields holding amounts or counts: exceeding their maximum is `over_limit`. */
export const LIMITED_FIELDS: ReadonlySet<string> = new Set(["amount", "quantity"]);

/**
 * A regular expression that accepts an ISO date-time whose calendar year is at least `year`. Only
 * for the published schema: it repeats the instant floor (with one year of slack for offsets) for
 * validators without `formatMinimum`, and covers ajv-formats' comparison, which skips the Unix
 * epoch itself (it tests the millisecond value for truthiness).
 */
export function yearAtLeastPattern(year: number): string {
  const d = String(Math.max(0, Math.min(9999, year))).padStart(4, "0");
  const from = (digit: number) => (digit === 9 ? "9" : `[${digit}-9]`);
  const alternatives: string[] = [];
  for (let pos = 3; pos >= 0; pos--) {
    const digit = Number(d[pos]);
    const prefix = d.slice(0, pos);
    const rest = "\\d".repeat(3 - pos);
    if (pos === 3) alternatives.push(`${prefix}${from(digit)}`);
    else if (digit < 9) alternatives.push(`${prefix}${from(digit + 1)}${rest}`);
  }
  return `^(?:${alternatives.join("|")})-`;
}

/** Free text of at most `max` code points that Postgres can store. */
const text = (max: number) =>
  z.string()
    .regex(SAFE_TEXT_PATTERN, "must not contain U+0000 or a lone surrogate")
    .refine((s) => codePointLength(s) <= max, `at most ${max} characters`)
    .meta({ maxLength: max });

const id = z.string()
  .min(1, "must not be empty")
  .regex(ID_PATTERN, "no control, zero-width, bidi or other invisible characters and no space at either end")
  .refine((s) => codePointLength(s) <= 128, "at most 128 characters")
  .meta({ maxLength: 128 });

const currency = z
  .string()
  .regex(/^[A-Z]{3}$/, "ISO-4217 code in upper case, e.g. EUR")
  .describe("ISO-4217 currency code");

export function buildEventSchemas(limits: Readonly<ContractLimits>) {
  const floorMs = Date.parse(limits.minInstant);
  const floorYear = new Date(floorMs).getUTCFullYear();
  const isoInstant = z.iso.datetime({ offset: true })
    .refine((v) => Date.parse(v) >= floorMs, {
      message: `not before ${limits.minInstant} (EVENT_MIN_OCCURRED_AT)`,
      params: { rejectCode: "instant_out_of_range" },
    })
    // What the refine checks, for JSON Schema validators: exact with ajv-formats (formatMinimum),
    // approximate (calendar year, one year of slack for offsets) everywhere else.
    .meta({ formatMinimum: limits.minInstant, allOf: [{ pattern: yearAtLeastPattern(floorYear - 1) }] });
  const money = z.number()
    .nonnegative()
    .max(limits.maxAmount, `at most ${limits.maxAmount} in the event's currency (MAX_AMOUNT)`);

  const base = {
    eventId: id.describe("Globally unique id of this event; duplicates are ignored"),
    customerId: id.describe("Customer id; also the Kafka message key"),
    occurredAt: isoInstant.describe(
      "When it happened in the business (not when it was sent): ISO-8601 instant with offset or Z, " +
      `not before ${limits.minInstant} (EVENT_MIN_OCCURRED_AT) and at most EVENT_MAX_FUTURE_SKEW ` +
      "(default 1 day) after the worker's clock, which only the worker can check",
    ),
    schemaVersion: z.literal(EVENT_SCHEMA_VERSION).optional().describe("Contract version, 1"),
  };

  const purchase = z
    .object({
      ...base,
      type: z.literal("purchase"),
      orderId: id,
      amount: money.describe("Order total in `currency`"),
      currency,
      quantity: z.number().int().positive()
        .max(limits.maxQuantity, `at most ${limits.maxQuantity} (MAX_QUANTITY)`)
        .optional().describe("Units in the order"),
      channel: text(64).optional(),
    })
    .strict();

  const refund = z
    .object({
      ...base,
      type: z.literal("refund"),
      orderId: id,
      amount: money,
      currency,
      reason: text(500).optional(),
    })
    .strict();

  const supportTicketOpened = z
    .object({
      ...base,
      type: z.literal("support_ticket_opened"),
      ticketId: id,
      priority: ticketPriority.default("normal"),
      category: text(64).optional(),
      channel: text(64).optional(),
      escalated: z.boolean().default(false),
    })
    .strict();

  const supportTicketResolved = z
    .object({
      ...base,
      type: z.literal("support_ticket_resolved"),
      ticketId: id,
      slaBreached: z.boolean().default(false),
      escalated: z.boolean().optional().describe("Set when the ticket was escalated before resolution"),
      resolution: text(64).optional(),
    })
    .strict();

  const surveyResponse = z
    .object({
      ...base,
      type: z.literal("survey_response"),
      nps: z.number().int().min(0).max(10).optional().describe("Net Promoter answer 0-10"),
      csat: z.number().int().min(1).max(5).optional().describe("Customer satisfaction 1-5"),
      ces: z.number().int().min(1).max(7).optional().describe("Customer effort score 1-7 (7 = hardest)"),
    })
    .strict()
    .refine((e) => e.nps !== undefined || e.csat !== undefined || e.ces !== undefined, {
      message: "a survey_response needs at least one of nps, csat, ces",
    })
    // The refine above, for JSON Schema: one score present and not null (null means absent).
    .meta({
      anyOf: ["nps", "csat", "ces"].map((k) => ({ required: [k], properties: { [k]: { not: { type: "null" } } } })),
    });

  const customerProfile = z
    .object({
      ...base,
      type: z.literal("customer_profile"),
      // null clears a stored address or name (the customer withdrew it; GDPR): unlike every other
      // optional field, where null means absent (events/parse.ts keeps these two nulls).
      email: z.string()
        .regex(EMAIL_PATTERN, "an e-mail address; internationalised addresses (RFC 6531) are accepted")
        .refine((s) => codePointLength(s) <= 254, "at most 254 characters")
        .meta({ maxLength: 254 })
        .nullable()
        .optional()
        .describe("E-mail address, internationalised addresses included; a malformed one rejects the whole event (see README). null clears the stored address"),
      name: text(200).nullable().optional().describe("The customer's name; null clears the stored name"),
      locale: text(35).optional().describe("BCP-47 tag, e.g. de-DE"),
      signedUpAt: isoInstant.optional().describe(
        "Account creation; starts tenure if earlier than the first event. Same bounds as occurredAt",
      ),
    })
    .strict();

  const cancellation = z
    .object({
      ...base,
      type: z.literal("cancellation"),
      reason: text(500).optional(),
    })
    .strict()
    .describe("Explicit cancellation (subscription or account closed), where the business has one");

  // What a retention team did about a customer and how it went, sent back by the CRM or contact
  // centre. It feeds cooldowns, the "saved" KPI and the `treated` dataset columns; it is NOT a
  // model feature (folding it leaves every feature unchanged, see features/apply.ts).
  const retentionOutcome = z
    .object({
      ...base,
      type: z.literal("retention_outcome"),
      outcome: retentionOutcomeKind.describe(
        "contacted: the customer was reached; offer_made: an offer was put to them; accepted / declined: their answer; " +
          "unreachable: the team tried and did not reach them",
      ),
      campaign: id.describe("Campaign or playbook the contact belongs to (an id, no personal data)"),
      channel: text(64).describe("How the team reached out, e.g. email, phone, sms, in_app"),
      note: noteText.optional().describe(
        "Short free text for the team's records, at most 280 characters. Must not hold personal data: an e-mail address " +
          "or an international phone number (+ and 7 or more digits) is rejected; anything else is the producer's responsibility",
      ),
    })
    .strict()
    .describe("What a retention team did about the customer and how it went (CRM or contact-centre feedback)");

  // The customer asked to be forgotten (GDPR Art. 17), relayed by the system that took the request.
  // It is not data about the customer: ingest never stores it as an event or folds it into the
  // state; it records a pending erasure that runs right after the batch commits (admin/erasure.ts).
  const erasureRequest = z
    .object({ ...base, type: z.literal("erasure_request") })
    .strict()
    .describe(
      "The customer asked for their data to be erased (GDPR Art. 17): everything stored about customerId is removed " +
        "right after this event is consumed, a tombstone (null value) goes to the CRM topic, and an audit row without " +
        "personal data is kept. Events of the customer that arrive later are new data and are processed normally",
    );

  const churnEvent = z.discriminatedUnion("type", [
    purchase,
    refund,
    supportTicketOpened,
    supportTicketResolved,
    surveyResponse,
    customerProfile,
    cancellation,
    retentionOutcome,
    erasureRequest,
  ], { error: (iss) => (iss.code === "invalid_union" ? `type must be one of ${EVENT_TYPES.join(", ")}` : undefined) });

  return { purchase, refund, supportTicketOpened, supportTicketResolved, surveyResponse, customerProfile, cancellation, retentionOutcome, erasureRequest, churnEvent };
}

export const ticketPriority = z.enum(["low", "normal", "high", "urgent"]);

/** The outcomes a retention team can report, in the order a contact usually goes. */
export const RETENTION_OUTCOMES = ["contacted", "offer_made", "accepted", "declined", "unreachable"] as const;
export const retentionOutcomeKind = z.enum(RETENTION_OUTCOMES);
/**
 * Outcomes in which the team reached the customer: the customer was treated. "unreachable" is not
 * treatment (the customer heard nothing). One definition for cooldowns, the saved KPI and the
 * `treated` columns of training datasets.
 */
export const REACHED_OUTCOMES: ReadonlySet<string> = new Set<string>(["contacted", "offer_made", "accepted", "declined"]);
export type RetentionOutcomeKind = z.infer<typeof retentionOutcomeKind>;

/**
 * Personal data a machine can spot in a note: an e-mail address, or an international phone number
 * (a "+" and at least 7 digits, single spaces, dots or dashes between them). A tripwire, not a
 * guarantee: it catches the usual paste of a contact detail while leaving dates, prices and order
 * numbers alone (a national number without "+" looks like any other number and passes).
 */
const NOTE_EMAIL = String.raw`[^\s@]@[^\s@.]+\.[^\s@]`;
const NOTE_PHONE = String.raw`\+\s?\d(?:[\s.-]?\d){6}`;
export const NOTE_PII_PATTERN = new RegExp(String.raw`^(?![\s\S]*(?:${NOTE_EMAIL}))(?![\s\S]*(?:${NOTE_PHONE}))`, "u");

const noteText = z.string()
  .regex(SAFE_TEXT_PATTERN, "must not contain U+0000 or a lone surrogate")
  .regex(NOTE_PII_PATTERN, "must not hold an e-mail address or a phone number (notes are kept with the event; no personal data)")
  .refine((s) => codePointLength(s) <= 280, "at most 280 characters")
  .meta({ maxLength: 280 });

export const EVENT_TYPES = [
  "purchase",
  "refund",
  "support_ticket_opened",
  "support_ticket_resolved",
  "survey_response",
  "customer_profile",
  "cancellation",
  "retention_outcome",
  "erasure_request",
] as const;

const defaults = buildEventSchemas(DEFAULT_LIMITS);
export const purchaseEvent = defaults.purchase;
export const refundEvent = defaults.refund;
export const supportTicketOpenedEvent = defaults.supportTicketOpened;
export const supportTicketResolvedEvent = defaults.supportTicketResolved;
export const surveyResponseEvent = defaults.surveyResponse;
export const customerProfileEvent = defaults.customerProfile;
export const cancellationEvent = defaults.cancellation;
export const retentionOutcomeEvent = defaults.retentionOutcome;
export const erasureRequestEvent = defaults.erasureRequest;
/** The contract with the default limits: what docs/schemas/events.v1.json states. */
export const churnEvent = defaults.churnEvent;

export type PurchaseEvent = z.infer<typeof purchaseEvent>;
export type RefundEvent = z.infer<typeof refundEvent>;
export type SupportTicketOpenedEvent = z.infer<typeof supportTicketOpenedEvent>;
export type SupportTicketResolvedEvent = z.infer<typeof supportTicketResolvedEvent>;
export type SurveyResponseEvent = z.infer<typeof surveyResponseEvent>;
export type CustomerProfileEvent = z.infer<typeof customerProfileEvent>;
export type CancellationEvent = z.infer<typeof cancellationEvent>;
export type RetentionOutcomeEvent = z.infer<typeof retentionOutcomeEvent>;
export type ErasureRequestEvent = z.infer<typeof erasureRequestEvent>;
/** A validated event as the worker sees it (defaults filled in, amounts as sent). */
export type ChurnEvent = z.infer<typeof churnEvent>;
export type EventType = ChurnEvent["type"];

/** Every field name the contract knows: the only input text a reject reason may repeat. */
export const CONTRACT_FIELDS: ReadonlySet<string> = new Set(
  Object.values(defaults).flatMap((s) => (s instanceof z.ZodObject ? Object.keys(s.shape) : [])),
);
