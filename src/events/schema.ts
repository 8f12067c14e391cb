/**
 * Event contract v1: what producers send on the purchases and support topics.
 *
 * The zod schemas here are the single source of truth: the worker validates with them and
 * `scripts/gen-schemas.ts` turns them into JSON Schema for producers (docs/schemas/).
 * Kafka key = customerId. Every event carries a globally unique eventId (dedupe key).
 */
import { z } from "zod";

export const EVENT_SCHEMA_VERSION = 1;

const id = z.string().trim().min(1).max(128);
const isoInstant = z.iso.datetime({ offset: true }).describe("ISO-8601 instant with offset or Z");
const money = z.number().finite().nonnegative();
const currency = z
  .string()
  .regex(/^[A-Z]{3}$/, "ISO-4217 code in upper case, e.g. EUR")
  .describe("ISO-4217 currency code");

const base = {
  eventId: id.describe("Globally unique id of this event; duplicates are ignored"),
  customerId: id.describe("Customer id; also the Kafka message key"),
  occurredAt: isoInstant.describe("When it happened in the business (not when it was sent)"),
  schemaVersion: z.literal(EVENT_SCHEMA_VERSION).optional().describe("Contract version, 1"),
};

export const purchaseEvent = z
  .object({
    ...base,
    type: z.literal("purchase"),
    orderId: id,
    amount: money.describe("Order total in `currency`"),
    currency,
    quantity: z.number().int().positive().max(1_000_000).optional().describe("Units in the order"),
    channel: z.string().max(64).optional(),
  })
  .strict();

export const refundEvent = z
  .object({
    ...base,
    type: z.literal("refund"),
    orderId: id,
    amount: money,
    currency,
    reason: z.string().max(500).optional(),
  })
  .strict();

export const ticketPriority = z.enum(["low", "normal", "high", "urgent"]);

export const supportTicketOpenedEvent = z
  .object({
    ...base,
    type: z.literal("support_ticket_opened"),
    ticketId: id,
    priority: ticketPriority.default("normal"),
    category: z.string().max(64).optional(),
    channel: z.string().max(64).optional(),
    escalated: z.boolean().default(false),
  })
  .strict();

export const supportTicketResolvedEvent = z
  .object({
    ...base,
    type: z.literal("support_ticket_resolved"),
    ticketId: id,
    slaBreached: z.boolean().default(false),
    escalated: z.boolean().optional().describe("Set when the ticket was escalated before resolution"),
    resolution: z.string().max(64).optional(),
  })
  .strict();

export const surveyResponseEvent = z
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
  });

export const customerProfileEvent = z
  .object({
    ...base,
    type: z.literal("customer_profile"),
    email: z.email().max(254).optional(),
    name: z.string().max(200).optional(),
    locale: z.string().max(35).optional().describe("BCP-47 tag, e.g. de-DE"),
    signedUpAt: isoInstant.optional().describe("Account creation; starts tenure if earlier than the first event"),
  })
  .strict();

export const cancellationEvent = z
  .object({
    ...base,
    type: z.literal("cancellation"),
    reason: z.string().max(500).optional(),
  })
  .strict()
  .describe("Explicit cancellation (subscription or account closed), where the business has one");

export const churnEvent = z.discriminatedUnion("type", [
  purchaseEvent,
  refundEvent,
  supportTicketOpenedEvent,
  supportTicketResolvedEvent,
  surveyResponseEvent,
  customerProfileEvent,
  cancellationEvent,
]);

export type PurchaseEvent = z.infer<typeof purchaseEvent>;
export type RefundEvent = z.infer<typeof refundEvent>;
export type SupportTicketOpenedEvent = z.infer<typeof supportTicketOpenedEvent>;
export type SupportTicketResolvedEvent = z.infer<typeof supportTicketResolvedEvent>;
export type SurveyResponseEvent = z.infer<typeof surveyResponseEvent>;
export type CustomerProfileEvent = z.infer<typeof customerProfileEvent>;
export type CancellationEvent = z.infer<typeof cancellationEvent>;
/** A validated event as the worker sees it (defaults filled in, amounts as sent). */
export type ChurnEvent = z.infer<typeof churnEvent>;
export type EventType = ChurnEvent["type"];

export const EVENT_TYPES: readonly EventType[] = [
  "purchase",
  "refund",
  "support_ticket_opened",
  "support_ticket_resolved",
  "survey_response",
  "customer_profile",
  "cancellation",
];
