/**
 * What "nothing lost, nothing doubled" means for ingest, checked against the database: every
 * produced event stored once, each customer's purchase count and spend equal to what was
 * produced, and the states' event counts adding up to the events applied.
 */
import { expect } from "vitest";
import type pg from "pg";
import type { ChurnEvent } from "../../src/events/schema.js";
import type { CustomerState } from "../../src/features/index.js";

export type Totals = Map<string, { count: number; cents: number }>;

/** Per-customer purchase counts and spend (cents), computed from what was produced. */
export function expectedTotals(events: readonly ChurnEvent[], usdRate = 0.9): Totals {
  const out: Totals = new Map();
  for (const e of events) {
    if (e.type !== "purchase") continue;
    const t = out.get(e.customerId) ?? { count: 0, cents: 0 };
    const amount = e.currency === "USD" ? Math.round(e.amount * usdRate * 100) / 100 : e.amount;
    out.set(e.customerId, { count: t.count + 1, cents: t.cents + Math.round(amount * 100) });
  }
  return out;
}

export async function storedTotals(pool: pg.Pool): Promise<Totals> {
  const { rows } = await pool.query<{ customer_id: string; state: CustomerState }>("select customer_id, state from customer_state where event_count > 0");
  return new Map(rows.filter((r) => r.state.purchases.count > 0)
    .map((r) => [r.customer_id, { count: r.state.purchases.count, cents: r.state.purchases.spendCents }]));
}

export async function count(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await pool.query(sql, params);
  return Number(Object.values(rows[0] ?? { n: 0 })[0]);
}

/** Asserts the store holds exactly the produced events, each applied once. */
export async function expectExactlyOnce(pool: pg.Pool, events: readonly ChurnEvent[]): Promise<void> {
  expect(await count(pool, "select count(*) from raw_event")).toBe(events.length);
  expect(await count(pool, "select coalesce(sum(event_count), 0) from customer_state")).toBe(events.length);
  expect(await storedTotals(pool)).toEqual(expectedTotals(events));
}
