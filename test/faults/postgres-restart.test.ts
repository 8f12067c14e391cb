/**
 * Fault: PostgreSQL stops in the middle of ingest (fast shutdown, every connection cut) and
 * starts again 5 s later. Failed batches are rewound and fetched again from the offsets Postgres
 * holds; readiness is false while the database is away; every event lands exactly once.
 */
import { describe, expect, it } from "vitest";
import { simulate } from "../../src/simulate/index.js";
import { expectExactlyOnce } from "../support/exactly-once.js";
import { waitFor } from "../support/kafka.js";
import { report, since, waitForEvents, useFaultBed } from "../support/fault-bed.js";

const bed = useFaultBed();

describe("fault: Postgres restart mid-ingest", () => {
  it("rewinds failed batches and applies every event once after the restart", async () => {
    const s = await bed.scenario({ partitions: 3 });
    const { events } = simulate({ seed: 47, customers: 200, now: "2026-10-01T00:00:00Z", days: 300 });
    await s.produce(events);
    const worker = await s.startWorker();
    try {
      await waitFor("ingest under way", async () => worker.ingest.stats.applied > 0, 30_000);
      const downAt = Date.now();
      const restarted = bed.pg.restart(5_000);
      const notReady = await waitFor("not ready without the database", async () => {
        const r = await worker.db.pool.query("select 1").then(() => true, () => false);
        return r ? false : "down";
      }, 10_000);
      expect(notReady).toBe("down");
      await restarted;
      const upAt = Date.now();
      const drainMs = await waitForEvents(s.db, events.length, 120_000);
      await expectExactlyOnce(s.db, events);
      report("postgres restart", { downMs: upAt - downAt, recoveryAfterUpMs: since(upAt), drainMs, lost: 0, doubled: 0 });
    } finally {
      await worker.stop();
    }
  });
});
