/**
 * Which Kafka topic an event belongs on: part of the event contract. Replay, the simulate CLI, the
 * demo and the benchmarks all route through here, so they agree with the worker's subscription:
 * commerce events on one topic, support and feedback on the other (they usually come from
 * different source systems). Retention outcomes go with support: they come from the CRM or the
 * contact centre, the systems that also send tickets and surveys, not from the shop.
 */
import type { EventType } from "./schema.js";

export interface Topics {
  purchases: string;
  support: string;
}

export const DEFAULT_TOPICS: Readonly<Topics> = { purchases: "purchases", support: "support" };

const SUPPORT_TYPES: ReadonlySet<EventType> = new Set<EventType>([
  "support_ticket_opened",
  "support_ticket_resolved",
  "survey_response",
  "retention_outcome",
]);

/**
 * "purchases" for purchase, refund, cancellation, customer_profile and erasure_request (it comes
 * from the system that holds the customer's account, like the profile); "support" otherwise.
 */
export function topicKindFor(type: EventType): keyof Topics {
  return SUPPORT_TYPES.has(type) ? "support" : "purchases";
}

export function topicFor(event: { type: EventType }, topics: Readonly<Topics> = DEFAULT_TOPICS): string {
  return topics[topicKindFor(event.type)];
}
