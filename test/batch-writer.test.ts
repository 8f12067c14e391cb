/** The batch writer against a real PostgreSQL: offsets, dedupe and the state cache's validity check. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb, type Db } from "../src/store/db.js";
import { migrate } from "../src/store/migrate.js";
import { writeBatch, type PartitionRef } from "../src/ingest/write/batch-writer.js";
import { StateCache } from "../src/ingest/write/state-cache.js";
import type { ChurnEvent } from "../src/events/schema.js";
import type { CustomerState } from "../src/features/index.js";
import { startTestPostgres, type TestPostgres } from "./support/servers.js";

let server: TestPostgres;
let db: Db;
beforeAll(async () => {
  server = await startTestPostgres();
  db = openDb(server.url);
  await migrate(db.pool);
});
afterAll(async () => {
  await db?.close();
  await server?.stop();
});

const purchase = (id: string, amount: number): ChurnEvent =>
  ({ eventId: id, type: "purchase", customerId: "c-1", occurredAt: "2026-05-01T00:00:00Z", orderId: id, amount, currency: "EUR" });
const ref = (topic: string): PartitionRef => ({ groupId: "g", topic, partition: 0 });

async function stored(): Promise<CustomerState> {
  const { rows } = await db.pool.query<{ state: CustomerState }>("select state from customer_state where customer_id = 'c-1'");
  return rows[0]!.state;
}

describe("writeBatch", () => {
  it("uses a cached state only while no other writer has changed the row", async () => {
    const cacheA = new StateCache();
    const cacheB = new StateCache();
    await writeBatch(db.pool, ref("purchases"), { events: [{ offset: 0, event: purchase("a", 10) }], rejects: [], nextOffset: 1 }, cacheA);
    // Another worker (its own cache) applies an event for the same customer from another topic.
    await writeBatch(db.pool, ref("support"), { events: [{ offset: 0, event: purchase("b", 20) }], rejects: [], nextOffset: 1 }, cacheB);
    expect(cacheB.misses).toBe(1);
    // Worker A's cached state is stale (1 event, the row has 2): it must read the row, not reuse it.
    await writeBatch(db.pool, ref("purchases"), { events: [{ offset: 1, event: purchase("c", 30) }], rejects: [], nextOffset: 2 }, cacheA);
    expect(cacheA.hits).toBe(0);
    expect(cacheA.misses).toBe(1);
    expect(await stored()).toMatchObject({ purchases: { count: 3, spendCents: 6000 } });
    // Now A's cache is current: the next batch reuses it and the result is still exact.
    await writeBatch(db.pool, ref("purchases"), { events: [{ offset: 2, event: purchase("d", 40) }], rejects: [], nextOffset: 3 }, cacheA);
    expect(cacheA.hits).toBe(1);
    expect(await stored()).toMatchObject({ purchases: { count: 4, spendCents: 10000 } });
  });

  it("skips messages below the stored offset and events whose id is already stored", async () => {
    const out = await writeBatch(db.pool, ref("purchases"), {
      events: [{ offset: 1, event: purchase("c", 30) }, { offset: 3, event: purchase("a", 10) }, { offset: 4, event: purchase("e", 5) }],
      rejects: [], nextOffset: 5,
    });
    expect(out).toMatchObject({ applied: 1, duplicates: 1, skippedByOffset: 1 });
    expect(await stored()).toMatchObject({ purchases: { count: 5, spendCents: 10500 } });
    const { rows } = await db.pool.query("select next_offset from consumer_offset where topic = 'purchases'");
    expect(rows[0]).toEqual({ next_offset: 5 });
  });

  it("does not reuse a cached state from before the customer's row was deleted (an erasure), even at an equal event count", async () => {
    const ev = (id: string, amount: number): ChurnEvent =>
      ({ eventId: id, type: "purchase", customerId: "c-9", occurredAt: "2026-05-01T00:00:00Z", orderId: id, amount, currency: "EUR" });
    const cacheA = new StateCache();
    const cacheB = new StateCache();
    await writeBatch(db.pool, ref("t9a"), { events: [{ offset: 0, event: ev("x1", 10) }, { offset: 1, event: ev("x2", 10) }], rejects: [], nextOffset: 2 }, cacheA);
    // Erased: every row about c-9 goes. Then two new events arrive through another worker.
    await db.pool.query("delete from customer_state where customer_id = 'c-9'");
    await db.pool.query("delete from raw_event where customer_id = 'c-9'");
    await writeBatch(db.pool, ref("t9b"), { events: [{ offset: 0, event: ev("y1", 1) }, { offset: 1, event: ev("y2", 1) }], rejects: [], nextOffset: 2 }, cacheB);
    // Worker A still holds the pre-erasure state at the same count (2): it must read the row.
    await writeBatch(db.pool, ref("t9a"), { events: [{ offset: 2, event: ev("y3", 1) }], rejects: [], nextOffset: 3 }, cacheA);
    expect(cacheA.hits).toBe(0);
    const { rows } = await db.pool.query<{ state: CustomerState }>("select state from customer_state where customer_id = 'c-9'");
    expect(rows[0]!.state).toMatchObject({ eventCount: 3, purchases: { count: 3, spendCents: 300 } });
  });

  it("records an erasure request instead of storing or applying it", async () => {
    const req: ChurnEvent = { eventId: "erase-1", type: "erasure_request", customerId: "c-1", occurredAt: "2026-05-02T00:00:00Z" };
    const before = await stored();
    const out = await writeBatch(db.pool, ref("t-erase"), { events: [{ offset: 0, event: req }, { offset: 1, event: req }], rejects: [], nextOffset: 2 });
    expect(out).toMatchObject({ applied: 0, duplicates: 1, erasures: ["c-1"], customers: [] });
    expect(await stored()).toEqual(before);
    expect((await db.pool.query("select 1 from raw_event where event_id = 'erase-1'")).rowCount).toBe(0);
    const { rows } = await db.pool.query("select customer_id, source_topic, source_offset, requested_at from erasure_request");
    expect(rows).toEqual([{ customer_id: "c-1", source_topic: "t-erase", source_offset: 0, requested_at: new Date("2026-05-02T00:00:00Z") }]);
  });
});
