/** The pure part of the write: events (in offset order) folded into the customers' stored states. */
import type { ChurnEvent } from "../../events/schema.js";
import { applyEvent, emptyState, type CustomerState } from "../../features/index.js";

export function applyToStates(states: Map<string, CustomerState>, events: readonly ChurnEvent[]): void {
  for (const event of events) {
    states.set(event.customerId, applyEvent(states.get(event.customerId) ?? emptyState(event.customerId), event));
  }
}
