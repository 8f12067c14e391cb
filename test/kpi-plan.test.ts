/**
 * The KPI queries read one period (plus the active window before it), not all of raw_event: on
 * three years of events, EXPLAIN shows index range scans bounded by the period and no sequential
 * scan of raw_event, and the results equal the whole-history formulation the queries replaced.
 */
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeKpiCounts, type KpiCounts } from "../src/kpi/index.js";
import type { Queryable } from "../src/store/queryable.js";
import { startMigratedPostgres, stopMigratedPostgres, type TestPostgres } from "./support/servers.js";

let server: TestPostgres;
let pool: pg.Pool;
const EVENTS = 60_000;

beforeAll(async () => {
  ({ server, pool } = await startMigratedPostgres(4));
  const client = await pool.connect();
  try {
    // Three years of events for 3,000 customers, drawn by a seeded generator: mostly purchases,
    // some cancellations, refunds, surveys and tickets, in every order a customer can produce.
    await client.query("select setseed(0.42)");
    await client.query(
      `insert into raw_event (event_id, customer_id, type, occurred_at, payload, source_topic, source_partition, source_offset)
       select 'e' || g, c, t, at,
              json_build_object('amount', round((random() * 200)::numeric, 2), 'nps', floor(random() * 11)::int,
                                'csat', 1 + floor(random() * 5)::int, 'ces', 1 + floor(random() * 7)::int),
              'test', 0, g
         from (select g, 'c' || (1 + floor(random() * 3000)::int) as c,
                      (array['purchase', 'purchase', 'purchase', 'purchase', 'cancellation', 'refund',
                             'survey_response', 'support_ticket_opened'])[1 + floor(random() * 8)::int] as t,
                      timestamptz '2024-01-01 00:00:00+00' + random() * interval '1095 days' as at
                 from generate_series(1, $1) g) s`,
      [EVENTS],
    );
  } finally {
    client.release();
  }
  // What autovacuum does on a live table: statistics, and the visibility map for index-only scans.
  await pool.query("vacuum analyze raw_event");
}, 180_000);

afterAll(async () => {
  await stopMigratedPostgres({ server, pool });
});

/** The queries before they were bounded: every purchase and cancellation up to the period's end. */
const WHOLE_HISTORY_BASE_SQL = `
with per_customer as (
  select customer_id,
         min(occurred_at) filter (where type = 'purchase') as first_purchase,
         max(occurred_at) filter (where type = 'purchase' and occurred_at < $1) as last_purchase_start,
         max(occurred_at) filter (where type = 'cancellation' and occurred_at < $1) as last_cancel_start,
         max(occurred_at) filter (where type = 'purchase') as last_purchase_end,
         max(occurred_at) filter (where type = 'cancellation') as last_cancel_end
    from raw_event
   where type in ('purchase', 'cancellation') and occurred_at < $2
   group by customer_id
), status as (
  select first_purchase,
         (last_purchase_start >= $1::timestamptz - make_interval(days => $3)
           and (last_cancel_start is null or last_cancel_start < last_purchase_start)) as at_start,
         (last_purchase_end >= $2::timestamptz - make_interval(days => $3)
           and (last_cancel_end is null or last_cancel_end < last_purchase_end)) as at_end
    from per_customer
)
select count(*) filter (where at_start)::int as s,
       count(*) filter (where at_end)::int as e,
       count(*) filter (where at_start and not at_end)::int as lost,
       count(*) filter (where first_purchase >= $1 and first_purchase < $2)::int as n
  from status`;

/** Runs the queries and keeps them, so the test can EXPLAIN exactly what computeKpiCounts sent. */
function recording(db: pg.Pool): Queryable & { seen: { sql: string; params: unknown[] }[] } {
  const seen: { sql: string; params: unknown[] }[] = [];
  return {
    seen,
    query(sql: string, params?: unknown[]) {
      seen.push({ sql, params: params ?? [] });
      return db.query(sql, params);
    },
  } as Queryable & { seen: typeof seen };
}

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Index Cond"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** The plan nodes that read raw_event: heap scans with their bitmap index scans, and index scans. */
async function explain(sql: string, params: unknown[]): Promise<PlanNode[]> {
  const { rows } = await pool.query<{ "QUERY PLAN": { Plan: PlanNode }[] }>(`explain (analyze, format json) ${sql}`, params);
  return nodes(rows[0]!["QUERY PLAN"][0]!.Plan).filter((n) => n["Relation Name"] === "raw_event");
}

/** The index a raw_event scan reads through (a bitmap heap scan's comes from its child). */
function indexOf(scan: PlanNode): PlanNode | undefined {
  if (scan["Index Name"]) return scan;
  return (scan.Plans ?? []).flatMap(nodes).find((n) => n["Node Type"] === "Bitmap Index Scan");
}

const count = async (sql: string, params: unknown[]) => Number((await pool.query<{ n: string }>(sql, params)).rows[0]!.n);

const PERIODS = [
  { start: "2025-06-01T00:00:00Z", end: "2025-07-01T00:00:00Z", window: 90 },
  { start: "2026-10-01T00:00:00Z", end: "2026-11-01T00:00:00Z", window: 30 },
  { start: "2025-11-20T00:00:00Z", end: "2025-11-21T00:00:00Z", window: 365 },
  // The window reaches back before the first event: the history check finds nothing older.
  { start: "2024-02-01T00:00:00Z", end: "2024-03-01T00:00:00Z", window: 90 },
  // After the last event: everyone has lapsed by the end.
  { start: "2027-01-15T00:00:00Z", end: "2027-02-15T00:00:00Z", window: 60 },
];

describe("KPI queries on three years of events", () => {
  it("give the same counts as the whole-history queries", async () => {
    for (const p of PERIODS) {
      const start = new Date(p.start);
      const end = new Date(p.end);
      const got: KpiCounts = await computeKpiCounts(pool, { start, end, activeWindowDays: p.window });
      const { rows } = await pool.query<{ s: number; e: number; lost: number; n: number }>(WHOLE_HISTORY_BASE_SQL, [start, end, p.window]);
      const ref = rows[0]!;
      expect({ s: got.customersAtStart, e: got.customersAtEnd, lost: got.lostCustomers, n: got.newCustomers }, p.start).toEqual(ref);
    }
    // The data really exercises every count (otherwise the comparison proves little).
    const busy = await computeKpiCounts(pool, { start: new Date(PERIODS[0]!.start), end: new Date(PERIODS[0]!.end), activeWindowDays: 90 });
    expect(busy.customersAtStart).toBeGreaterThan(100);
    expect(busy.lostCustomers).toBeGreaterThan(10);
    expect(busy.orders).toBeGreaterThan(100);
    const early = await computeKpiCounts(pool, { start: new Date(PERIODS[3]!.start), end: new Date(PERIODS[3]!.end), activeWindowDays: 90 });
    expect(early.newCustomers).toBeGreaterThan(100);
  });

  it("read the period through the occurred_at index, never a sequential scan of raw_event", async () => {
    const p = PERIODS[0]!;
    const start = new Date(p.start);
    const end = new Date(p.end);
    const db = recording(pool);
    await computeKpiCounts(db, { start, end, activeWindowDays: p.window });
    expect(db.seen).toHaveLength(2);
    const inWindow = await count(
      "select count(*) as n from raw_event where occurred_at >= $1::timestamptz - make_interval(days => $3) and occurred_at < $2", [start, end, p.window]);
    const inPeriod = await count("select count(*) as n from raw_event where occurred_at >= $1 and occurred_at < $2", [start, end]);
    const buyers = await count("select count(distinct customer_id) as n from raw_event where type = 'purchase' and occurred_at >= $1 and occurred_at < $2", [start, end]);
    expect(inWindow).toBeLessThan(EVENTS / 5);
    // The check can fail: the whole-history query reads everything up to the period's end.
    const before = await explain(WHOLE_HISTORY_BASE_SQL, [start, end, p.window]);
    expect(before.reduce((sum, s) => sum + s["Actual Rows"]! * s["Actual Loops"]!, 0)).toBeGreaterThan(2 * inWindow);

    for (const q of db.seen) {
      const scans = await explain(q.sql, q.params);
      expect(scans.length).toBeGreaterThan(0);
      for (const s of scans) expect(s["Node Type"], q.sql).not.toMatch(/Seq Scan/);
      // The main scan is a range of the occurred_at index and returns at most the window's rows.
      const ranged = scans.filter((s) => indexOf(s)?.["Index Name"] === "raw_event_occurred_at_idx");
      expect(ranged.length, q.sql).toBe(1);
      const main = ranged[0]!;
      expect(indexOf(main)!["Index Cond"]).toMatch(/occurred_at >= .*occurred_at < /);
      expect(main["Actual Rows"]! * main["Actual Loops"]!).toBeLessThanOrEqual(q.sql.includes("make_interval") ? inWindow : inPeriod);
      // History before the window is looked up per candidate new customer (at most the period's
      // buyers), each a probe of the customer index that stops at the first purchase.
      for (const probe of scans.filter((s) => s !== main)) {
        expect(indexOf(probe)?.["Index Name"]).toBe("raw_event_customer_id_occurred_at_idx");
        expect(probe["Actual Loops"]!).toBeLessThanOrEqual(buyers);
      }
    }
  });
});
