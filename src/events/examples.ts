/** One valid example per event type: used in the generated docs and as test fixtures. */
import type { ChurnEvent } from "./schema.js";

export const EVENT_EXAMPLES: ChurnEvent[] = [
  {
    eventId: "ord-1001", type: "purchase", customerId: "c-42", occurredAt: "2026-03-01T10:15:00Z",
    orderId: "1001", amount: 59.9, currency: "EUR", quantity: 2, channel: "web",
  },
  {
    eventId: "ref-1001", type: "refund", customerId: "c-42", occurredAt: "2026-03-04T08:00:00Z",
    orderId: "1001", amount: 29.95, currency: "EUR", reason: "damaged item",
  },
  {
    eventId: "tkt-77-open", type: "support_ticket_opened", customerId: "c-42",
    occurredAt: "2026-03-05T09:00:00+01:00", ticketId: "77", priority: "high", category: "delivery",
    channel: "email", escalated: false,
  },
  {
    eventId: "tkt-77-done", type: "support_ticket_resolved", customerId: "c-42",
    occurredAt: "2026-03-07T17:30:00+01:00", ticketId: "77", slaBreached: true, resolution: "refunded",
  },
  {
    eventId: "srv-9", type: "survey_response", customerId: "c-42", occurredAt: "2026-03-08T12:00:00Z",
    nps: 3, csat: 2, ces: 6,
  },
  {
    eventId: "prof-c-42-1", type: "customer_profile", customerId: "c-42", occurredAt: "2025-11-02T00:00:00Z",
    email: "ada@example.com", name: "Ada Lovelace", locale: "en-GB", signedUpAt: "2025-11-02T00:00:00Z",
  },
  {
    eventId: "cancel-c-42", type: "cancellation", customerId: "c-42", occurredAt: "2026-04-01T00:00:00Z",
    reason: "moved to competitor",
  },
  {
    eventId: "out-c-42-1", type: "retention_outcome", customerId: "c-42", occurredAt: "2026-03-10T14:20:00Z",
    outcome: "offer_made", campaign: "winback-2026-q1", channel: "phone", note: "offered 15% on the next order",
  },
  { eventId: "erase-7f3a9c", type: "erasure_request", customerId: "c-42", occurredAt: "2026-05-02T09:30:00Z" },
];
