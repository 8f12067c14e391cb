/**
 * When a customer's current lifecycle stage began, as far as their state tells. Lifecycle events
 * carry it, and it makes their ids stable: two workers that notice the same change (at different
 * moments) derive the same event id, so the outbox and consumers see one change, not two.
 */
import type { CustomerState, Lifecycle, LifecycleRule } from "../features/index.js";
import { DAY_MS } from "../lib/time.js";

export function stageSince(state: CustomerState, stage: Lifecycle, rule: Readonly<LifecycleRule>): number | null {
  const p = state.purchases;
  switch (stage) {
    case "cancelled":
      return state.cancelledAt;
    case "lapsed":
      return p.lastAt === null ? null : p.lastAt + rule.activeDays * DAY_MS;
    case "prospect":
      return state.firstSeenAt;
    case "new":
      return p.firstAt;
    case "active":
      return activeSince(state, rule);
  }
}

/**
 * Start of the current run of purchases: the purchase after the latest gap longer than the active
 * window or the latest cancellation, or the end of the "new" period when the run goes back to the
 * first purchase. Null when the run is older than the purchase instants the state keeps.
 */
function activeSince(state: CustomerState, rule: Readonly<LifecycleRule>): number | null {
  const recent = state.purchases.recentAt;
  const cancelled = state.cancelledAt;
  for (let i = recent.length - 1; i > 0; i--) {
    const at = recent[i]!;
    const before = recent[i - 1]!;
    const returned = at - before > rule.activeDays * DAY_MS || (cancelled !== null && before <= cancelled && cancelled < at);
    if (returned) return at;
  }
  const first = state.purchases.firstAt;
  if (first === null || recent.length < state.purchases.count) return null;
  // A cancellation before the very first kept purchase still starts a new run there.
  if (cancelled !== null && cancelled < first) return first;
  return first + rule.newDays * DAY_MS;
}
