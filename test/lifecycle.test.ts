import { describe, expect, it } from "vitest";
import type { ChurnEvent } from "../src/events/schema.js";
import { applyEvent, emptyState, lifecycleAt, type CustomerState } from "../src/features/index.js";
import { DAY_MS } from "../src/lib/time.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const at = (day: number) => new Date(T0 + day * DAY_MS).toISOString();
let n = 0;
const purchase = (day: number): ChurnEvent => ({ eventId: `p${n++}`, type: "purchase", customerId: "c", occurredAt: at(day), orderId: `o${n}`, amount: 10, currency: "EUR" });
const cancellation = (day: number): ChurnEvent => ({ eventId: `x${n++}`, type: "cancellation", customerId: "c", occurredAt: at(day) });
const profile = (day: number): ChurnEvent => ({ eventId: `f${n++}`, type: "customer_profile", customerId: "c", occurredAt: at(day), name: "Ann" });
const fold = (...events: ChurnEvent[]): CustomerState => events.reduce(applyEvent, emptyState("c"));
const rule = { activeDays: 180, newDays: 90 };

describe("lifecycleAt", () => {
  it("prospect before any purchase, new after the first, active once the first is older than newDays", () => {
    expect(lifecycleAt(fold(profile(0)), T0 + DAY_MS, rule)).toBe("prospect");
    const s = fold(profile(0), purchase(1));
    expect(lifecycleAt(s, T0 + 10 * DAY_MS, rule)).toBe("new");
    expect(lifecycleAt(s, T0 + 92 * DAY_MS, rule)).toBe("active");
  });

  it("lapsed when the last purchase is more than activeDays old, back on the next purchase", () => {
    const s = fold(purchase(0), purchase(100));
    expect(lifecycleAt(s, T0 + 280 * DAY_MS, rule)).toBe("active");
    expect(lifecycleAt(s, T0 + 281 * DAY_MS, rule)).toBe("lapsed");
    expect(lifecycleAt(applyEvent(s, purchase(300)), T0 + 301 * DAY_MS, rule)).toBe("active");
  });

  it("cancelled after a cancellation, back to active on any later purchase, whatever the arrival order", () => {
    const cancelled = fold(purchase(0), purchase(120), cancellation(130));
    expect(lifecycleAt(cancelled, T0 + 131 * DAY_MS, rule)).toBe("cancelled");
    // Before the cancellation happened, the same state says active (training folds events up to a cutoff).
    expect(lifecycleAt(fold(purchase(0), purchase(120)), T0 + 125 * DAY_MS, rule)).toBe("active");
    const back = fold(cancellation(130), purchase(140), purchase(0), purchase(120));
    expect(lifecycleAt(back, T0 + 141 * DAY_MS, rule)).toBe("active");
    expect(lifecycleAt(fold(cancellation(5)), T0 + 6 * DAY_MS, rule)).toBe("cancelled");
  });
});
