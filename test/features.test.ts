/**
 * Feature values on small hand-made histories, one concern per test. Times are at noon UTC so
 * that day windows (whole UTC days ending on asOf's day) have no boundary ambiguity.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ChurnEvent } from "../src/events/schema.js";
import { EVENT_EXAMPLES } from "../src/events/examples.js";
import {
  applyEvent,
  emptyState,
  FEATURE_DESCRIPTIONS,
  FEATURE_NAMES,
  FEATURE_SET_VERSION,
  featureRecord,
  featureVector,
  MAX_PENDING_TICKETS,
  npsCategory,
  RECENT_PURCHASES_KEPT,
  stateAsOf,
  type CustomerState,
} from "../src/features/index.js";
import { DAY_MS as DAY } from "../src/lib/time.js";

const HOUR = 3_600_000;
const T0 = Date.parse("2026-01-01T12:00:00Z");
const C = "c-1";
const iso = (ms: number): string => new Date(ms).toISOString();

let seq = 0;
const nextId = (p: string): string => `${p}-${++seq}`;

const purchase = (at: number, amount = 10, eventId = nextId("p")): ChurnEvent => ({
  eventId, type: "purchase", customerId: C, occurredAt: iso(at), orderId: eventId, amount, currency: "EUR",
});
const refund = (at: number, amount: number): ChurnEvent => ({
  eventId: nextId("r"), type: "refund", customerId: C, occurredAt: iso(at), orderId: "o", amount, currency: "EUR",
});
const opened = (
  at: number, ticketId: string, priority: "low" | "normal" | "high" | "urgent" = "normal", escalated = false,
): ChurnEvent => ({
  eventId: nextId("to"), type: "support_ticket_opened", customerId: C, occurredAt: iso(at), ticketId, priority, escalated,
});
const resolved = (at: number, ticketId: string, slaBreached = false, escalated?: boolean): ChurnEvent => ({
  eventId: nextId("tr"), type: "support_ticket_resolved", customerId: C, occurredAt: iso(at), ticketId, slaBreached,
  ...(escalated === undefined ? {} : { escalated }),
});
const survey = (at: number, answers: { nps?: number; csat?: number; ces?: number }, eventId = nextId("s")): ChurnEvent => ({
  eventId, type: "survey_response", customerId: C, occurredAt: iso(at), ...answers,
});
const profile = (at: number, fields: { email?: string; name?: string; locale?: string; signedUpAt?: string }, eventId = nextId("pr")): ChurnEvent => ({
  eventId, type: "customer_profile", customerId: C, occurredAt: iso(at), ...fields,
});

const fold = (events: ChurnEvent[], customerId = C): CustomerState =>
  events.reduce((s, e) => applyEvent(s, e), emptyState(customerId));

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe("feature set", () => {
  it("has unique snake_case names, a description each, and a version derived from the names", () => {
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_NAMES.length);
    for (const n of FEATURE_NAMES) expect(n).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
    expect(Object.keys(FEATURE_DESCRIPTIONS).sort()).toEqual([...FEATURE_NAMES].sort());
    expect(FEATURE_NAMES.length).toBeGreaterThanOrEqual(30);
    expect(FEATURE_NAMES.length).toBeLessThanOrEqual(40);
    expect(FEATURE_SET_VERSION).toMatch(/^fs-1-[0-9a-f]{8}$/);
    // Reproducible outside the code (e.g. by a training script in another language).
    const hash = createHash("sha256").update(FEATURE_NAMES.join(",")).digest("hex").slice(0, 8);
    expect(FEATURE_SET_VERSION).toBe(`fs-1-${hash}`);
  });

  it("gives a finite vector of the right length for an empty state (sentinels, no NaN)", () => {
    const v = featureVector(emptyState(C), T0);
    expect(v).toHaveLength(FEATURE_NAMES.length);
    expect(v.every(Number.isFinite)).toBe(true);
    const r = featureRecord(emptyState(C), T0);
    expect(r.tenure_days).toBe(0);
    expect(r.days_since_last_purchase).toBe(0);
    expect(r.mean_days_between_purchases).toBe(-1);
    expect(r.recency_vs_interval).toBe(-1);
    expect(r.last_nps).toBe(-1);
    expect(r.has_nps).toBe(0);
    expect(r.mean_resolution_hours).toBe(-1);
  });

  it("vector follows FEATURE_NAMES order and equals the record", () => {
    const s = fold([purchase(T0, 12), survey(T0 + DAY, { nps: 9 }), opened(T0 + 2 * DAY, "t1")]);
    const r = featureRecord(s, T0 + 10 * DAY);
    expect(featureVector(s, T0 + 10 * DAY)).toEqual(FEATURE_NAMES.map((n) => r[n]));
  });

  it("accepts Date and epoch-ms asOf alike and rejects an invalid one", () => {
    const s = fold([purchase(T0)]);
    expect(featureVector(s, new Date(T0 + DAY))).toEqual(featureVector(s, T0 + DAY));
    expect(() => featureVector(s, new Date("nope"))).toThrow(/asOf/);
  });
});

describe("purchases", () => {
  it("every 12 days then 64 days of silence: recency 64, interval 12, about 5.3 intervals overdue", () => {
    const events = Array.from({ length: 6 }, (_, i) => purchase(T0 + i * 12 * DAY, 20));
    const last = T0 + 5 * 12 * DAY;
    const r = featureRecord(fold(events), last + 64 * DAY);
    expect(r.purchase_count).toBe(6);
    expect(r.days_since_last_purchase).toBe(64);
    expect(r.mean_days_between_purchases).toBe(12);
    expect(r.std_days_between_purchases).toBe(0);
    expect(r.recency_vs_interval).toBeCloseTo(64 / 12, 10);
    expect(r.tenure_days).toBe(60 + 64);
    // Last purchase 64 days ago, then 76, 88, 100, ...: three inside 90 days, none inside 30.
    expect(r.purchases_30d).toBe(0);
    expect(r.purchases_90d).toBe(3);
    expect(r.spend_90d).toBe(60);
    // 3 in the last 90 days vs 3 in the 90 before.
    expect(r.purchase_trend_90d).toBe(0);
  });

  it("sums money exactly and averages order value", () => {
    const r = featureRecord(fold([purchase(T0, 0.1), purchase(T0, 0.2), purchase(T0, 59.9)]), T0);
    expect(r.total_spend).toBe(60.2);
    expect(r.avg_order_value).toBeCloseTo(60.2 / 3, 12);
  });

  it("uses tenure as recency when there is no purchase, -1 for intervals under 2 purchases", () => {
    const r0 = featureRecord(fold([survey(T0, { csat: 4 })]), T0 + 10 * DAY);
    expect(r0.days_since_last_purchase).toBe(10);
    expect(r0.avg_order_value).toBe(0);
    const r1 = featureRecord(fold([purchase(T0)]), T0 + 10 * DAY);
    expect(r1.days_since_last_purchase).toBe(10);
    expect(r1.mean_days_between_purchases).toBe(-1);
    expect(r1.std_days_between_purchases).toBe(-1);
    expect(r1.recency_vs_interval).toBe(-1);
    const r2 = featureRecord(fold([purchase(T0), purchase(T0 + 4 * DAY)]), T0 + 10 * DAY);
    expect(r2.mean_days_between_purchases).toBe(4);
    expect(r2.std_days_between_purchases).toBe(-1);
    expect(r2.recency_vs_interval).toBe(1.5);
  });

  it("measures interval spread", () => {
    // gaps 2, 4, 6 days: mean 4, population std sqrt(8/3)
    const r = featureRecord(fold([0, 2, 6, 12].map((d) => purchase(T0 + d * DAY))), T0 + 12 * DAY);
    expect(r.mean_days_between_purchases).toBe(4);
    expect(r.std_days_between_purchases).toBeCloseTo(Math.sqrt(8 / 3), 12);
  });

  it("floors the usual interval at one day so same-day orders do not explode the ratio", () => {
    const r = featureRecord(fold([purchase(T0), purchase(T0 + HOUR)]), T0 + HOUR + 30 * DAY);
    expect(r.recency_vs_interval).toBeCloseTo(30, 10);
  });

  it("computes intervals from the most recent purchases only", () => {
    // An old weekly habit, then a recent 3-day rhythm of exactly RECENT_PURCHASES_KEPT purchases.
    const old = Array.from({ length: 20 }, (_, i) => purchase(T0 + i * 7 * DAY));
    const start = T0 + 400 * DAY;
    const recent = Array.from({ length: RECENT_PURCHASES_KEPT }, (_, i) => purchase(start + i * 3 * DAY));
    const s = fold([...old, ...recent]);
    expect(s.purchases.recentAt).toHaveLength(RECENT_PURCHASES_KEPT);
    const r = featureRecord(s, start + (RECENT_PURCHASES_KEPT - 1) * 3 * DAY);
    expect(r.mean_days_between_purchases).toBe(3);
    expect(r.purchase_count).toBe(20 + RECENT_PURCHASES_KEPT);
  });

  it("windows and trend: 30/90-day counts and spend, last 90 vs the 90 before", () => {
    const asOf = T0 + 365 * DAY;
    const events = [
      purchase(asOf - 5 * DAY, 10),
      purchase(asOf - 29 * DAY, 20), // inside 30d (day 29 back)
      purchase(asOf - 30 * DAY, 40), // outside 30d, inside 90d
      purchase(asOf - 89 * DAY, 80),
      purchase(asOf - 90 * DAY, 160), // previous 90
      purchase(asOf - 179 * DAY, 320), // previous 90
      purchase(asOf - 180 * DAY, 640), // outside both
    ];
    const r = featureRecord(fold(events), asOf);
    expect(r.purchases_30d).toBe(2);
    expect(r.spend_30d).toBe(30);
    expect(r.purchases_90d).toBe(4);
    expect(r.spend_90d).toBe(150);
    expect(r.purchase_trend_90d).toBe((4 - 2) / 6);
    expect(r.spend_trend_90d).toBeCloseTo((150 - 480) / 630, 12);
    expect(r.total_spend).toBe(1270);
    // Silence makes the windows empty and the trend -1 (stopped buying), with no new event.
    const later = featureRecord(fold(events), asOf + 120 * DAY);
    expect(later.purchases_90d).toBe(0);
    expect(later.spend_trend_90d).toBe(-1);
  });

  it("frequency per 30 days of tenure, tenure floored at 30 days", () => {
    expect(featureRecord(fold([purchase(T0), purchase(T0)]), T0 + DAY).purchases_per_30d).toBe(2);
    expect(featureRecord(fold([purchase(T0), purchase(T0 + 59 * DAY)]), T0 + 60 * DAY).purchases_per_30d).toBe(1);
  });

  it("counts the same purchase applied twice twice (upstream dedupes; a bug must show)", () => {
    const p = purchase(T0, 25);
    const s = fold([p, p]);
    expect(s.purchases.count).toBe(2);
    expect(s.eventCount).toBe(2);
    expect(featureRecord(s, T0).total_spend).toBe(50);
  });
});

describe("refunds", () => {
  it("counts, sums and relates refunds to spend", () => {
    const r = featureRecord(fold([purchase(T0, 100), refund(T0 + DAY, 25), refund(T0 + 2 * DAY, 5)]), T0 + 3 * DAY);
    expect(r.refund_count).toBe(2);
    expect(r.refund_amount).toBe(30);
    expect(r.refund_ratio).toBe(0.3);
  });

  it("caps the ratio at 1 (refunds of orders from before the history)", () => {
    expect(featureRecord(fold([refund(T0, 5)]), T0).refund_ratio).toBe(1);
    expect(featureRecord(fold([purchase(T0, 5), refund(T0, 50)]), T0).refund_ratio).toBe(1);
    expect(featureRecord(fold([purchase(T0, 5)]), T0).refund_ratio).toBe(0);
  });
});

describe("support tickets", () => {
  it("a resolution arriving before its opening ends as one resolved ticket with the right duration", () => {
    const o = opened(T0, "t-9", "high");
    const d = resolved(T0 + 30 * HOUR, "t-9", true);
    for (const order of [[o, d], [d, o]]) {
      const s = fold(order);
      const r = featureRecord(s, T0 + 2 * DAY);
      expect(s.tickets.pending).toEqual([]);
      expect(r.tickets_total).toBe(1);
      expect(r.tickets_open).toBe(0);
      expect(r.mean_resolution_hours).toBe(30);
      expect(r.sla_breaches).toBe(1);
      expect(r.high_priority_tickets).toBe(1);
    }
    // Half-way (resolved seen, opened not yet): one ticket, not open, no duration yet.
    const half = featureRecord(fold([d]), T0 + 2 * DAY);
    expect(half.tickets_total).toBe(1);
    expect(half.tickets_open).toBe(0);
    expect(half.mean_resolution_hours).toBe(-1);
  });

  it("open tickets, their age, windows, priorities, escalations and last contact", () => {
    const asOf = T0 + 100 * DAY;
    const events = [
      opened(asOf - 95 * DAY, "a", "urgent"), // outside 90d
      resolved(asOf - 94 * DAY, "a", false, true), // escalated at resolution
      opened(asOf - 60 * DAY, "b", "low"),
      resolved(asOf - 60 * DAY + 2 * HOUR, "b"),
      opened(asOf - 20 * DAY, "c", "high", true), // still open, escalated at opening
      opened(asOf - 10 * DAY, "d", "normal"),
      opened(asOf - 3 * DAY, "e", "high"),
      resolved(asOf - 2 * DAY, "e", true),
    ];
    const r = featureRecord(fold(events), asOf);
    expect(r.tickets_total).toBe(5);
    expect(r.tickets_open).toBe(2);
    expect(r.oldest_open_ticket_days).toBe(20);
    expect(r.tickets_14d).toBe(2);
    expect(r.tickets_30d).toBe(3);
    expect(r.tickets_90d).toBe(4);
    expect(r.high_priority_tickets).toBe(3);
    expect(r.high_priority_tickets_90d).toBe(2);
    expect(r.escalated_tickets).toBe(2);
    expect(r.sla_breaches).toBe(1);
    expect(r.mean_resolution_hours).toBeCloseTo((24 + 2 + 24) / 3, 10);
    expect(r.days_since_last_support_contact).toBe(2);
  });

  it("clamps a resolution stamped before its opening to zero duration", () => {
    const r = featureRecord(fold([opened(T0, "x"), resolved(T0 - HOUR, "x")]), T0 + DAY);
    expect(r.mean_resolution_hours).toBe(0);
    expect(r.tickets_open).toBe(0);
  });

  it("keeps at most MAX_PENDING_TICKETS half-seen tickets, dropping the oldest, counts intact", () => {
    const events = Array.from({ length: MAX_PENDING_TICKETS + 5 }, (_, i) => opened(T0 + i * HOUR, `t${i}`));
    const s = fold(events);
    expect(s.tickets.pending).toHaveLength(MAX_PENDING_TICKETS);
    expect(s.tickets.pending.some((p) => p.ticketId === "t0")).toBe(false);
    expect(s.tickets.opened).toBe(MAX_PENDING_TICKETS + 5);
  });

  it("days since last support contact falls back to tenure", () => {
    expect(featureRecord(fold([purchase(T0)]), T0 + 7 * DAY).days_since_last_support_contact).toBe(7);
  });
});

describe("surveys", () => {
  it("takes the latest answer by occurredAt, not by arrival, per metric", () => {
    const newer = survey(T0 + 5 * DAY, { nps: 3 });
    const older = survey(T0, { nps: 10, csat: 5 });
    const csatOnly = survey(T0 + 6 * DAY, { csat: 2 });
    for (const order of [[older, newer, csatOnly], [csatOnly, newer, older], [newer, csatOnly, older]]) {
      const s = fold(order);
      const r = featureRecord(s, T0 + 10 * DAY);
      expect(r.last_nps).toBe(3);
      expect(r.nps_category).toBe(-1);
      expect(r.has_nps).toBe(1);
      expect(r.last_csat).toBe(2);
      expect(r.has_csat).toBe(1);
      expect(r.has_ces).toBe(0);
      expect(r.last_ces).toBe(-1);
      expect(r.days_since_last_survey).toBe(4);
      expect(s.surveys.nps).toEqual({ value: 3, at: T0 + 5 * DAY, eventId: newer.eventId });
    }
  });

  it("breaks same-instant ties by eventId", () => {
    const a = survey(T0, { nps: 2 }, "srv-a");
    const b = survey(T0, { nps: 9 }, "srv-b");
    expect(featureRecord(fold([a, b]), T0).last_nps).toBe(9);
    expect(featureRecord(fold([b, a]), T0).last_nps).toBe(9);
  });

  it("maps NPS to detractor / passive / promoter", () => {
    expect([0, 6, 7, 8, 9, 10].map(npsCategory)).toEqual([-1, -1, 0, 0, 1, 1]);
    expect(featureRecord(fold([survey(T0, { ces: 7 })]), T0)).toMatchObject({ last_ces: 7, has_ces: 1, nps_category: 0 });
  });
});

describe("profile, tenure and lifecycle facts", () => {
  it("keeps the latest value per profile field by occurredAt", () => {
    const first = profile(T0, { email: "old@example.com", name: "Ada", locale: "en-GB" });
    const later = profile(T0 + DAY, { email: "new@example.com" });
    for (const order of [[first, later], [later, first]]) {
      const s = fold(order);
      expect(s.profile).toEqual({ email: "new@example.com", name: "Ada", locale: "en-GB" });
    }
  });

  it("starts tenure at signup when it is earlier than the first event", () => {
    const s = fold([purchase(T0), profile(T0 + DAY, { signedUpAt: iso(T0 - 100 * DAY) })]);
    expect(s.signedUpAt).toBe(T0 - 100 * DAY);
    expect(s.firstSeenAt).toBe(T0);
    const r = featureRecord(s, T0 + 10 * DAY);
    expect(r.tenure_days).toBe(110);
    expect(r.days_since_last_event).toBe(9);
    expect(r.days_since_last_purchase).toBe(10);
  });

  it("keeps non-feature facts for later stages from the contract examples", () => {
    const s = fold(EVENT_EXAMPLES, "c-42");
    expect(s.firstSeenAt).toBe(Date.parse("2025-11-02T00:00:00Z"));
    expect(s.signedUpAt).toBe(Date.parse("2025-11-02T00:00:00Z"));
    expect(s.lastEventAt).toBe(Date.parse("2026-04-01T00:00:00Z"));
    expect(s.cancelledAt).toBe(Date.parse("2026-04-01T00:00:00Z"));
    expect(s.profile).toEqual({ email: "ada@example.com", name: "Ada Lovelace", locale: "en-GB" });
    expect(s.surveys.nps?.value).toBe(3);
    expect(s.tickets.closed).toBe(1);
    const r = featureRecord(s, Date.parse("2026-04-01T00:00:00Z"));
    expect(r).toMatchObject({
      purchase_count: 1, total_spend: 59.9, refund_amount: 29.95, refund_ratio: 0.5, tickets_total: 1,
      sla_breaches: 1, high_priority_tickets: 1, mean_resolution_hours: 56.5, last_nps: 3, nps_category: -1,
      last_csat: 2, last_ces: 6,
    });
  });

  it("rejects an event for another customer", () => {
    expect(() => applyEvent(emptyState("c-2"), purchase(T0))).toThrow(/c-1/);
  });
});

describe("purity and storage", () => {
  it("does not mutate its input and returns a new state", () => {
    let s = deepFreeze(emptyState(C));
    const events = [
      purchase(T0), purchase(T0 + DAY), refund(T0, 1), opened(T0, "t"), resolved(T0 + HOUR, "t"),
      resolved(T0, "u"), survey(T0, { nps: 5 }), profile(T0, { email: "a@example.com", signedUpAt: iso(T0) }),
      { eventId: "x", type: "cancellation", customerId: C, occurredAt: iso(T0) } as ChurnEvent,
    ];
    for (const e of events) {
      const before = JSON.stringify(s);
      const next = applyEvent(s, e);
      expect(next).not.toBe(s);
      expect(JSON.stringify(s)).toBe(before);
      s = deepFreeze(next);
    }
    expect(s.eventCount).toBe(events.length);
  });

  it("round-trips through JSON (the JSONB column) without changing state or features", () => {
    const s = fold([
      purchase(T0, 9.99), purchase(T0 + 3 * DAY), opened(T0, "t"), resolved(T0 + 5 * HOUR, "q"),
      survey(T0, { nps: 8, ces: 2 }), profile(T0, { name: "Z", signedUpAt: iso(T0 - DAY) }),
    ]);
    const back = JSON.parse(JSON.stringify(s)) as CustomerState;
    expect(back).toEqual(s);
    expect(featureVector(back, T0 + 9 * DAY)).toEqual(featureVector(s, T0 + 9 * DAY));
    const more = purchase(T0 + 4 * DAY, 3);
    expect(applyEvent(back, more)).toEqual(applyEvent(s, more));
  });
});

describe("point in time", () => {
  const history = [
    purchase(T0, 10), purchase(T0 + 10 * DAY, 20), opened(T0 + 11 * DAY, "t"), survey(T0 + 12 * DAY, { nps: 9 }),
  ];
  const asOf = T0 + 30 * DAY;

  it("stateAsOf ignores events after asOf, so a later event cannot change the vector", () => {
    const base = featureVector(stateAsOf(C, history, asOf), asOf);
    const later = [
      purchase(asOf + 1, 1000), resolved(asOf + DAY, "t", true), survey(asOf + 1, { nps: 0 }),
      opened(asOf + 2 * DAY, "z", "urgent"), refund(asOf + 5, 10),
    ];
    expect(featureVector(stateAsOf(C, [...later, ...history].reverse(), asOf), asOf)).toEqual(base);
    // An event exactly at asOf counts.
    const atCutoff = featureRecord(stateAsOf(C, [...history, purchase(asOf, 5)], asOf), asOf);
    expect(atCutoff.purchase_count).toBe(3);
    expect(atCutoff.days_since_last_purchase).toBe(0);
  });

  it("guards a state that holds a slightly later event: no negative recencies, windows end at asOf's day", () => {
    const s = fold([...history, purchase(asOf + 5 * 60_000), purchase(asOf + 3 * DAY, 7)]);
    const r = featureRecord(s, asOf);
    expect(r.days_since_last_purchase).toBe(0);
    expect(r.days_since_last_event).toBe(0);
    expect(r.spend_30d).toBe(20 + 10); // T0 is 30 days back (outside); +5 minutes is on asOf's day, +3 days is not
    for (const v of featureVector(s, asOf)) expect(v).toBeGreaterThanOrEqual(-1);
  });
});
