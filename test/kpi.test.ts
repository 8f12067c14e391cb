import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  averageOrderValue,
  churnRate,
  computeKpis,
  customerEffortScore,
  customerLifetimeValue,
  customerRetentionRate,
  customerSatisfaction,
  expectedLifespanPeriods,
  kpiChange,
  kpiValues,
  netPromoterScore,
  previousPeriod,
  purchaseFrequency,
  readKpiSnapshot,
  snapshotKpis,
  trailingDays,
  type KpiCounts,
} from "../src/kpi/index.js";
import { migrate } from "../src/store/migrate.js";
import { startTestPostgres, type TestPostgres } from "./support/servers.js";

describe("retention metrics (worked examples in docs/architecture.md)", () => {
  it("CRR: S=1000, E=900, N=200 -> 70%", () => {
    expect(customerRetentionRate(1000, 900, 200)).toBeCloseTo(70, 10);
  });

  it("CRR: S=150, 50 acquired, 7 lost, E=193 -> 95.3%", () => {
    expect(150 + 50 - 7).toBe(193);
    expect(customerRetentionRate(150, 193, 50)).toBeCloseTo(95.33, 2);
    expect(churnRate(7, 150)).toBeCloseTo(4.67, 2);
  });

  it("is undefined (null), not 0, without customers at the start", () => {
    expect(customerRetentionRate(0, 10, 10)).toBeNull();
    expect(churnRate(0, 0)).toBeNull();
    expect(averageOrderValue(0, 0)).toBeNull();
    expect(purchaseFrequency(0, 0)).toBeNull();
  });

  it("CLV = AOV x frequency x lifespan, lifespan = 1 / churn per period, capped", () => {
    expect(averageOrderValue(300, 6)).toBe(50);
    expect(purchaseFrequency(6, 4)).toBe(1.5);
    expect(expectedLifespanPeriods(5, 36)).toBeCloseTo(20, 10); // 5% churn/period -> 20 periods
    expect(expectedLifespanPeriods(1, 36)).toBe(36); // 100 periods capped
    expect(expectedLifespanPeriods(0, 36)).toBe(36);
    expect(expectedLifespanPeriods(null, 12)).toBe(12);
    expect(customerLifetimeValue(50, 1.5, 20)).toBe(1500);
    expect(customerLifetimeValue(null, 1.5, 20)).toBeNull();
  });

  it("NPS = %promoters(9-10) - %detractors(0-6); CSAT = % of 4-5; CES = mean", () => {
    // 5 promoters, 3 passives, 2 detractors -> 50% - 20% = 30
    expect(netPromoterScore([10, 9, 9, 10, 9, 8, 7, 7, 6, 0])).toBeCloseTo(30, 10);
    expect(netPromoterScore([0, 6])).toBe(-100);
    expect(netPromoterScore([])).toBeNull();
    expect(customerSatisfaction([5, 4, 3, 1])).toBe(50);
    expect(customerEffortScore([2, 3, 7])).toBe(4);
    expect(customerEffortScore([])).toBeNull();
  });

  it("kpiChange reports direction and whether it is good news", () => {
    const base: KpiCounts = {
      customersAtStart: 100, customersAtEnd: 100, newCustomers: 10, lostCustomers: 10, orders: 100, revenue: 5000,
      buyers: 50, refunds: 0, refundAmount: 0, npsResponses: 10, promoters: 5, detractors: 2, csatResponses: 0,
      satisfied: 0, cesResponses: 4, cesTotal: 12,
    };
    const prev = kpiValues(base);
    const cur = kpiValues({ ...base, lostCustomers: 20, newCustomers: 20, cesTotal: 8 });
    const byKey = new Map(kpiChange(cur, prev).map((c) => [c.key, c]));
    expect(byKey.get("churnRate")).toMatchObject({ value: 20, previous: 10, change: 10, direction: "up", assessment: "worse" });
    expect(byKey.get("retentionRate")).toMatchObject({ value: 80, previous: 90, direction: "down", assessment: "worse" });
    expect(byKey.get("ces")).toMatchObject({ value: 2, previous: 3, direction: "down", assessment: "better" });
    expect(byKey.get("csat")).toMatchObject({ value: null, change: null, direction: null });
    expect(byKey.get("nps")).toMatchObject({ direction: "flat", assessment: "same" });
    expect(kpiChange(cur, null).every((c) => c.change === null)).toBe(true);
  });
});

describe("periods in a time zone", () => {
  it("days start at local midnight, DST days included", () => {
    // 2026-10-25 is the EU switch back to winter time: that Berlin day lasts 25 hours.
    const p = trailingDays(new Date("2026-10-26T10:00:00Z"), 1, "Europe/Berlin");
    expect(p.start.toISOString()).toBe("2026-10-24T22:00:00.000Z");
    expect(p.end.toISOString()).toBe("2026-10-25T23:00:00.000Z");
    const week = trailingDays(new Date("2026-11-23T06:00:00Z"), 7, "UTC");
    expect(week).toEqual({ start: new Date("2026-11-16T00:00:00Z"), end: new Date("2026-11-23T00:00:00Z") });
    expect(previousPeriod(week, "UTC")).toEqual({ start: new Date("2026-11-09T00:00:00Z"), end: week.start });
  });
});

describe("computeKpis on a real event log (embedded Postgres)", () => {
  let server: TestPostgres;
  let pool: pg.Pool;
  let seq = 0;

  async function event(customerId: string, type: string, occurredAt: string, fields: Record<string, unknown> = {}): Promise<void> {
    const eventId = `e${++seq}`;
    const payload = { eventId, customerId, type, occurredAt, ...fields };
    await pool.query(
      `insert into raw_event (event_id, customer_id, type, occurred_at, payload, source_topic, source_partition, source_offset)
       values ($1, $2, $3, $4, $5, 'test', 0, $6)`,
      [eventId, customerId, type, occurredAt, JSON.stringify(payload), seq],
    );
  }
  const buy = (c: string, at: string, amount: number) => event(c, "purchase", at, { orderId: `o${seq}`, amount, currency: "EUR" });
  const cancel = (c: string, at: string) => event(c, "cancellation", at);

  beforeAll(async () => {
    server = await startTestPostgres();
    pool = new pg.Pool({ connectionString: server.url, max: 4 });
    // The server shuts down right after pool.end(); a client still closing then receives the
    // shutdown notice as an 'error' event, which must not fail the run.
    pool.on("error", () => undefined);
    await migrate(pool);
    // Period [2026-10-01, 2026-11-01), 90-day active window: active at start = bought since 2026-07-03,
    // active at end = bought since 2026-08-03.
    await buy("c1", "2026-09-10T10:00:00Z", 40); // active at start, buys again: retained
    await buy("c1", "2026-10-15T10:00:00Z", 100);
    await buy("c1", "2026-10-16T10:00:00Z", 60);
    await event("c1", "refund", "2026-10-17T10:00:00Z", { orderId: "o3", amount: 20, currency: "EUR" });
    await buy("c2", "2026-07-20T10:00:00Z", 80); // active at start, silent since: lost
    await buy("c3", "2026-09-01T10:00:00Z", 25); // active at start, cancels: lost
    await cancel("c3", "2026-10-05T10:00:00Z");
    await buy("c4", "2026-10-10T10:00:00Z", 50); // new, active at end
    await buy("c5", "2026-10-20T10:00:00Z", 30); // new, cancels again in the period
    await cancel("c5", "2026-10-25T10:00:00Z");
    await buy("c6", "2026-05-01T10:00:00Z", 10); // lapsed before the period, comes back: at end, not new
    await buy("c6", "2026-10-12T10:00:00Z", 70);
    await buy("c7", "2026-09-15T10:00:00Z", 20); // cancelled before the start, buys again in the period
    await cancel("c7", "2026-09-20T10:00:00Z");
    await buy("c7", "2026-10-02T10:00:00Z", 50);
    await buy("c8", "2026-09-30T23:59:59Z", 15); // active at start and end; the next order is next period's
    await buy("c8", "2026-11-01T00:00:00Z", 999);
    // Surveys: NPS 10, 9, 7, 3 in the period (and a 0 before it), CSAT 5, 4, 2, CES 2, 5.
    await event("c1", "survey_response", "2026-09-20T10:00:00Z", { nps: 0 });
    await event("c1", "survey_response", "2026-10-18T10:00:00Z", { nps: 10, csat: 5 });
    await event("c4", "survey_response", "2026-10-18T10:00:00Z", { nps: 9, csat: 4, ces: 2 });
    await event("c6", "survey_response", "2026-10-19T10:00:00Z", { nps: 7, ces: 5 });
    await event("c7", "survey_response", "2026-10-20T10:00:00Z", { nps: 3, csat: 2 });
  }, 120_000);

  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  const period = { start: new Date("2026-10-01T00:00:00Z"), end: new Date("2026-11-01T00:00:00Z") };

  it("counts S, E, N and lost by the active-customer rule", async () => {
    const r = await computeKpis(pool, { ...period, activeWindowDays: 90 });
    expect(r.counts).toMatchObject({
      customersAtStart: 4, // c1 c2 c3 c8
      customersAtEnd: 5, // c1 c4 c6 c7 c8
      newCustomers: 2, // c4 c5
      lostCustomers: 2, // c2 c3
      orders: 6,
      revenue: 360,
      buyers: 5,
      refunds: 1,
      refundAmount: 20,
      npsResponses: 4, promoters: 2, detractors: 1,
      csatResponses: 3, satisfied: 2,
      cesResponses: 2, cesTotal: 7,
    });
    expect(r.values.retentionRate).toBeCloseTo(75, 10); // (5 - 2) / 4
    expect(r.values.churnRate).toBeCloseTo(50, 10);
    expect(r.values.averageOrderValue).toBe(60);
    expect(r.values.purchaseFrequency).toBe(1.2);
    expect(r.values.expectedLifespanPeriods).toBe(2);
    expect(r.values.customerLifetimeValue).toBeCloseTo(144, 10);
    expect(r.values.nps).toBeCloseTo(25, 10);
    expect(r.values.csat).toBeCloseTo(66.667, 2);
    expect(r.values.ces).toBe(3.5);
  });

  it("a shorter active window changes who counts", async () => {
    const r = await computeKpis(pool, { ...period, activeWindowDays: 30 });
    // at start: bought since 2026-09-01 -> c1, c3, c8 (c2's July order is too old)
    expect(r.counts.customersAtStart).toBe(3);
  });

  it("stores snapshots and compares with the previous period", async () => {
    const prev = { start: new Date("2026-09-01T00:00:00Z"), end: period.start };
    const out = await snapshotKpis(pool, { ...period, activeWindowDays: 90 }, prev, new Date("2026-11-02T00:00:00Z"));
    expect(out.previous).not.toBeNull();
    const stored = await readKpiSnapshot(pool, period.start, period.end);
    expect(stored?.values.retentionRate).toBeCloseTo(75, 10);
    expect(await readKpiSnapshot(pool, prev.start, prev.end)).not.toBeNull();
    const orders = out.changes.find((c) => c.key === "activeCustomers")!;
    expect(orders.value).toBe(5);
    expect(orders.previous).toBe(out.previous!.values.activeCustomers);
  });
});
