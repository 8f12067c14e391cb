/**
 * The simulator's contract: valid, unique, deterministic, internally consistent events, and a
 * streaming path that yields exactly what the in-memory path does.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { churnEvent, EVENT_TYPES, type ChurnEvent } from "../src/events/schema.js";
import {
  DAY_MS,
  simulate,
  simulateCustomers,
  simulateStream,
  truthToJson,
  type SimulationResult,
} from "../src/simulate/index.js";
import { topicFor, topicKindFor } from "../src/events/topics.js";
import { Rng } from "../src/simulate/random.js";
import { isoSecond } from "../src/simulate/time.js";

const NOW = "2026-01-01T00:00:00Z";
const NOW_MS = Date.parse(NOW);
const OPTS = { seed: 42, customers: 1200, now: NOW } as const;

let run: SimulationResult;
beforeAll(() => {
  run = simulate(OPTS);
});

const ms = (e: ChurnEvent): number => Date.parse(e.occurredAt);

function byCustomer(events: readonly ChurnEvent[]): Map<string, ChurnEvent[]> {
  const map = new Map<string, ChurnEvent[]>();
  for (const e of events) {
    const list = map.get(e.customerId);
    if (list) list.push(e);
    else map.set(e.customerId, [e]);
  }
  return map;
}

describe("simulate: contract", () => {
  it("produces a substantial run in which every event passes the event contract unchanged", () => {
    expect(run.events.length).toBeGreaterThan(20_000);
    // parse() fills defaults and strict() rejects extras: a round trip that changes nothing proves
    // every field is sent explicitly and nothing else is.
    const changed = run.events.filter((e) => JSON.stringify(churnEvent.parse(e)) !== JSON.stringify(e));
    expect(changed).toEqual([]);
    const types = new Set(run.events.map((e) => e.type));
    // The simulator models customers, not retention teams or privacy requests: it sends every type
    // but retention_outcome and erasure_request.
    expect([...types].sort()).toEqual(EVENT_TYPES.filter((t) => t !== "retention_outcome" && t !== "erasure_request").sort());
  });

  it("keeps events sorted, inside [now - 540 days, now), with whole-second timestamps", () => {
    const start = NOW_MS - 540 * DAY_MS;
    let prev = -Infinity;
    const wrong: string[] = [];
    for (const e of run.events) {
      const t = ms(e);
      if (t < prev || t < start || t >= NOW_MS || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(e.occurredAt)) {
        wrong.push(`${e.eventId} ${e.occurredAt}`);
      }
      prev = t;
    }
    expect(wrong).toEqual([]);
  });

  it("is deterministic for a seed and different for another seed", () => {
    const again = simulate(OPTS);
    expect(again.events.map((e) => JSON.stringify(e)).join("\n")).toBe(run.events.map((e) => JSON.stringify(e)).join("\n"));
    expect([...again.truth.values()]).toEqual([...run.truth.values()]);

    const other = simulate({ ...OPTS, seed: 43 });
    const sample = (r: SimulationResult) => r.events.slice(0, 200).map((e) => ({ ...e, eventId: "" }));
    expect(sample(other)).not.toEqual(sample(run));
    expect(other.events[0]?.eventId.startsWith("43-")).toBe(true);
  });

  it("simulates each customer independently of how many others there are", () => {
    // Customer i's random stream depends only on (seed, i): a small run is a slice of a big one.
    const small = simulate({ ...OPTS, customers: 50 });
    const ids = new Set(small.truth.keys());
    expect(small.events).toEqual(run.events.filter((e) => ids.has(e.customerId)));
  });

  it("uses unique, deterministic ids: events, customers, orders, tickets", () => {
    const eventIds = new Set(run.events.map((e) => e.eventId));
    expect(eventIds.size).toBe(run.events.length);
    const malformed = run.events.filter((e) => !/^c-\d{6}$/.test(e.customerId) || !e.eventId.startsWith(`42-${e.customerId}-`));
    expect(malformed).toEqual([]);
    expect(run.truth.size).toBe(OPTS.customers);
    expect([...run.truth.keys()]).toContain("c-000123");

    const orders = run.events.filter((e) => e.type === "purchase").map((e) => e.orderId);
    expect(new Set(orders).size).toBe(orders.length);
    const opened = run.events.filter((e) => e.type === "support_ticket_opened").map((e) => e.ticketId);
    expect(new Set(opened).size).toBe(opened.length);
  });

  it("starts every customer with a customer_profile at signup, with a plausible identity", () => {
    for (const [customerId, events] of byCustomer(run.events)) {
      const first = events[0];
      expect(first?.type, customerId).toBe("customer_profile");
      if (first?.type !== "customer_profile") continue;
      expect(first.email).toMatch(/^[a-z0-9.]+@example\.(com|org)$/);
      expect(first.name).toMatch(/^\S+ \S.*$/);
      expect(first.locale).toMatch(/^[a-z]{2}-[A-Z]{2}$/);
      const truth = run.truth.get(customerId);
      expect(first.signedUpAt).toBe(isoSecond(truth?.signedUpAt ?? NaN));
      expect(Date.parse(first.signedUpAt ?? "")).toBeLessThanOrEqual(ms(first));
    }
  });

  it("resolves tickets after they open, on the same ticket and customer", () => {
    const opened = new Map<string, ChurnEvent>();
    let resolved = 0;
    for (const e of run.events) {
      if (e.type === "support_ticket_opened") opened.set(e.ticketId, e);
      if (e.type === "support_ticket_resolved") {
        const open = opened.get(e.ticketId);
        expect(open, e.ticketId).toBeDefined();
        expect(open?.customerId).toBe(e.customerId);
        expect(ms(e)).toBeGreaterThan(ms(open as ChurnEvent));
        resolved++;
      }
    }
    // Nearly all tickets resolve inside the window; only the last days' may still be open.
    expect(resolved / opened.size).toBeGreaterThan(0.95);
  });

  it("refunds an earlier order of the same customer, in its currency, for at most its amount", () => {
    const orders = new Map<string, ChurnEvent>();
    let refunds = 0;
    for (const e of run.events) {
      if (e.type === "purchase") orders.set(e.orderId, e);
      if (e.type === "refund") {
        const order = orders.get(e.orderId);
        expect(order?.type, e.orderId).toBe("purchase");
        if (order?.type !== "purchase") continue;
        expect(order.customerId).toBe(e.customerId);
        expect(e.currency).toBe(order.currency);
        expect(e.amount).toBeLessThanOrEqual(order.amount);
        expect(ms(e)).toBeGreaterThan(ms(order));
        refunds++;
      }
    }
    expect(refunds).toBeGreaterThan(100);
  });

  it("silences churned customers after churnedAt, sends cancellations only at it, and counts truly", () => {
    const events = byCustomer(run.events);
    let churned = 0;
    let cancelled = 0;
    let formerAnswers = 0;
    for (const truth of run.truth.values()) {
      const mine = events.get(truth.customerId) ?? [];
      const cancellations = mine.filter((e) => e.type === "cancellation");
      const purchases = mine.filter((e) => e.type === "purchase");
      expect(truth.purchases).toBe(purchases.length);
      expect(truth.lastPurchaseAt).toBe(purchases.length > 0 ? ms(purchases.at(-1) as ChurnEvent) : null);
      expect(truth.tickets).toBe(mine.filter((e) => e.type === "support_ticket_opened").length);
      expect(truth.surveys).toBe(mine.filter((e) => e.type === "survey_response").length);
      if (truth.churnedAt === null) {
        expect(cancellations).toEqual([]);
        continue;
      }
      churned++;
      const churnedAt = truth.churnedAt;
      expect(truth.decidedAt).not.toBeNull();
      expect(truth.decidedAt as number).toBeLessThanOrEqual(churnedAt);
      expect(truth.churnPath).not.toBeNull();
      expect(truth.churnDriver).not.toBeNull();
      const late = mine.filter((e) => ms(e) > churnedAt && (e.type === "purchase" || e.type === "support_ticket_opened"));
      expect(late, truth.customerId).toEqual([]);
      // A former customer may still answer a relationship survey (NPS) unless they cancelled,
      // which takes them off the list; nothing else they initiate happens after churnedAt.
      const lateSurveys = mine.filter((e) => ms(e) > churnedAt && e.type === "survey_response");
      if (truth.cancelled) expect(lateSurveys, truth.customerId).toEqual([]);
      for (const e of lateSurveys) expect(e.type === "survey_response" && e.nps !== undefined, e.eventId).toBe(true);
      formerAnswers += lateSurveys.length;
      const lastPurchase = purchases.at(-1);
      if (lastPurchase) expect(ms(lastPurchase)).toBeLessThan(churnedAt);
      expect(cancellations.length).toBe(truth.cancelled ? 1 : 0);
      if (truth.cancelled) {
        cancelled++;
        expect(ms(cancellations[0] as ChurnEvent)).toBe(churnedAt);
      }
    }
    expect(churned).toBeGreaterThan(OPTS.customers * 0.2);
    // Some but not all churners say so explicitly: silent churn must stay the main case.
    expect(cancelled / churned).toBeGreaterThan(0.25);
    expect(cancelled / churned).toBeLessThan(0.6);
    // Silent leavers are not perfectly silent: some answer a survey after leaving.
    expect(formerAnswers).toBeGreaterThan(churned * 0.05);
  });

  it("records pauses and lapses in the truth for customers who stay, and they really go quiet", () => {
    const purchases = new Map<string, number[]>();
    for (const e of run.events) if (e.type === "purchase") purchases.set(e.customerId, [...(purchases.get(e.customerId) ?? []), ms(e)]);
    const paused = [...run.truth.values()].filter((t) => t.pauses > 0);
    expect(paused.length).toBeGreaterThan(OPTS.customers * 0.05);
    for (const t of paused) expect(t.pausedDays, t.customerId).toBeGreaterThan(0);
    // A pause or lapse shows in the events as a long gap between purchases: most of the customers
    // with one and at least two purchases have a gap of 60+ days, far beyond their usual rhythm.
    const withGap = paused.filter((t) => {
      const p = purchases.get(t.customerId) ?? [];
      return p.length >= 2 && p.some((x, i) => i > 0 && x - (p[i - 1] as number) > 60 * DAY_MS);
    });
    const eligible = paused.filter((t) => (purchases.get(t.customerId) ?? []).length >= 2);
    expect(withGap.length / eligible.length).toBeGreaterThan(0.6);
    // Customers who never paused and never left keep a steadier rhythm.
    const steady = [...run.truth.values()].filter((t) => t.pauses === 0 && t.churnedAt === null && t.persona === "frequent_low_basket");
    const steadyGap = steady.filter((t) => {
      const p = purchases.get(t.customerId) ?? [];
      return p.length >= 2 && p.some((x, i) => i > 0 && x - (p[i - 1] as number) > 60 * DAY_MS);
    });
    expect(steadyGap.length / steady.length).toBeLessThan(withGap.length / eligible.length);
  });

  it("writes a JSON-ready ground truth ordered by customer id", () => {
    const json = truthToJson(run.truth);
    expect(json).toHaveLength(OPTS.customers);
    expect(json[0]?.customerId).toBe("c-000000");
    const churned = json.find((t) => t.churnedAt !== null);
    expect(churned?.churnedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});

describe("simulateStream", () => {
  it("yields exactly the in-memory events, whatever the slice length, and the same truth", () => {
    const expected = run.events.map((e) => JSON.stringify(e));
    for (const sliceDays of [28, 1, 365]) {
      const streamed = simulateCustomers(OPTS, sliceDays);
      const got: string[] = [];
      for (const e of streamed.events) got.push(JSON.stringify(e));
      expect(got.length).toBe(expected.length);
      expect(got.join("\n") === expected.join("\n"), `sliceDays ${sliceDays}`).toBe(true);
      expect(new Map([...streamed.truth].sort())).toEqual(new Map([...run.truth].sort()));
    }
  });

  it("streams a 200,000+ event run over 12,000 customers in order", () => {
    let count = 0;
    let prev = "";
    let ordered = true;
    const started = performance.now();
    for (const e of simulateStream({ seed: 3, customers: 12_000, now: NOW })) {
      if (e.occurredAt < prev) ordered = false;
      prev = e.occurredAt;
      count++;
    }
    const seconds = (performance.now() - started) / 1000;
    expect(count).toBeGreaterThan(200_000);
    expect(ordered).toBe(true);
    console.info(`simulateStream: ${count} events in ${seconds.toFixed(2)} s (${Math.round(count / seconds)} events/s)`);
  });
});

describe("options", () => {
  it("honours start, days and currency options", () => {
    const r = simulate({ seed: 1, customers: 200, now: NOW, start: "2025-06-01T00:00:00Z", currency: "GBP" });
    expect(ms(r.events[0] as ChurnEvent)).toBeGreaterThanOrEqual(Date.parse("2025-06-01T00:00:00Z"));
    const purchases = r.events.filter((e) => e.type === "purchase");
    expect(purchases.length).toBeGreaterThan(100);
    expect(purchases.every((e) => e.type === "purchase" && e.currency === "GBP")).toBe(true);

    const short = simulate({ seed: 1, customers: 200, now: NOW, days: 30 });
    expect(Math.min(...short.events.map(ms))).toBeGreaterThanOrEqual(NOW_MS - 30 * DAY_MS);
  });

  it("puts a share of customers on a foreign currency, priced to convert back to the same range", () => {
    const r = simulate({ seed: 8, customers: 2000, now: NOW, days: 365, foreignCurrency: { code: "USD", share: 0.2, rateToBase: 0.9 } });
    const usdCustomers = [...r.truth.values()].filter((t) => t.currency === "USD");
    expect(usdCustomers.length / r.truth.size).toBeGreaterThan(0.15);
    expect(usdCustomers.length / r.truth.size).toBeLessThan(0.25);
    expect(usdCustomers.every((t) => t.locale === "en-US")).toBe(true);

    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const purchases = r.events.filter((e) => e.type === "purchase");
    const eur = median(purchases.filter((e) => e.currency === "EUR").map((e) => e.amount));
    const usdInEur = median(purchases.filter((e) => e.currency === "USD").map((e) => e.amount * 0.9));
    expect(usdInEur / eur).toBeGreaterThan(0.75);
    expect(usdInEur / eur).toBeLessThan(1.33);
  });

  it("rejects invalid options with a clear error", () => {
    expect(() => simulate({ seed: -1, customers: 1, now: NOW })).toThrow(/seed/);
    expect(() => simulate({ seed: 1.5, customers: 1, now: NOW })).toThrow(/seed/);
    expect(() => simulate({ seed: 1, customers: -3, now: NOW })).toThrow(/customers/);
    expect(() => simulate({ seed: 1, customers: 1, now: "yesterday" })).toThrow(/now/);
    expect(() => simulate({ seed: 1, customers: 1, now: NOW, start: "2027-01-01" })).toThrow(/start/);
    expect(() => simulate({ seed: 1, customers: 1, now: NOW, currency: "eur" })).toThrow(/currency/);
    expect(() => simulate({ seed: 1, customers: 1, now: NOW, foreignCurrency: { code: "EUR", share: 0.1, rateToBase: 1 } })).toThrow(/base currency/);
    expect(() => simulate({ seed: 1, customers: 1, now: NOW, foreignCurrency: { code: "USD", share: 2, rateToBase: 1 } })).toThrow(/share/);
    expect(simulate({ seed: 1, customers: 0, now: NOW }).events).toEqual([]);
  });
});

describe("topicFor", () => {
  it("routes commerce events to purchases and support/feedback events to support", () => {
    const expected: Record<string, string> = {
      purchase: "purchases",
      refund: "purchases",
      cancellation: "purchases",
      customer_profile: "purchases",
      support_ticket_opened: "support",
      support_ticket_resolved: "support",
      survey_response: "support",
      retention_outcome: "support",
      erasure_request: "purchases",
    };
    for (const type of EVENT_TYPES) expect(topicFor({ type }), type).toBe(expected[type]);
    expect(topicFor({ type: "survey_response" }, { purchases: "p.v1", support: "s.v1" })).toBe("s.v1");
    expect(topicKindFor("refund")).toBe("purchases");
  });
});

describe("building blocks", () => {
  it("formats instants exactly like Date#toISOString without milliseconds", () => {
    const rng = new Rng(5);
    const samples = [0, Date.parse("2024-02-29T23:59:59Z"), Date.parse("2000-03-01T00:00:00Z"), Date.parse("1969-12-31T23:59:59Z")];
    for (let i = 0; i < 2000; i++) samples.push(Math.floor((rng.next() * 8e12 - 2e12) / 1000) * 1000);
    for (const t of samples) expect(isoSecond(t)).toBe(new Date(t).toISOString().replace(".000Z", "Z"));
  });

  it("has a reproducible PRNG with independent streams and sane distributions", () => {
    const a = new Rng(9, 1);
    const b = new Rng(9, 1);
    const c = new Rng(9, 2);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);

    const n = 50_000;
    let u = 0;
    let g = 0;
    let ln: number[] = [];
    for (let i = 0; i < n; i++) {
      u += a.next();
      g += a.gamma(2.5, 4);
      ln.push(a.logNormal(30, 0.5));
    }
    expect(u / n).toBeCloseTo(0.5, 2);
    expect(g / n).toBeGreaterThan(9.7); // mean 10
    expect(g / n).toBeLessThan(10.3);
    ln = ln.sort((x, y) => x - y);
    expect(ln[n / 2]).toBeGreaterThan(29); // median 30
    expect(ln[n / 2]).toBeLessThan(31);

    // Beta(1, 2.5): mean 1/3.5 and never outside [0, 1] (the per-customer dropout chance).
    const betas = Array.from({ length: n }, () => a.beta(1, 2.5));
    expect(betas.reduce((x, y) => x + y, 0) / n).toBeCloseTo(1 / 3.5, 2);
    expect(betas.every((p) => p >= 0 && p <= 1)).toBe(true);
  });
});
