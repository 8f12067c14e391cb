/**
 * Fault: PostgreSQL freezes (SIGSTOP: connections stay open, nothing answers), the way a stuck
 * disk or a paused VM looks. /readyz must answer within its one-second bound and say "not ready";
 * after SIGCONT ingest continues and every event lands exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulate } from "../../src/simulate/index.js";
import { expectExactlyOnce } from "../support/exactly-once.js";
import { waitFor } from "../support/kafka.js";
import { report, since, startFaultBed, waitForEvents, type FaultBed } from "../support/fault-bed.js";

let bed: FaultBed;
beforeAll(async () => {
  bed = await startFaultBed();
});
afterAll(async () => {
  await bed?.pg.thaw().catch(() => undefined);
  await bed?.stop();
});

async function readyz(port: number): Promise<{ status: number; ms: number; body: string }> {
  const start = Date.now();
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, ms: since(start), body: await res.text() };
}

describe("fault: Postgres frozen mid-ingest", () => {
  it("answers /readyz within a second while frozen and recovers exactly once after", async () => {
    const s = await bed.scenario({ partitions: 2 });
    const { events } = simulate({ seed: 53, customers: 150, now: "2026-10-01T00:00:00Z", days: 300 });
    const half = Math.floor(events.length / 2);
    await s.produce(events.slice(0, half));
    const worker = await s.startWorker({ http: true });
    try {
      await waitFor("first half stored", async () => worker.ingest.stats.messages >= half, 60_000);
      await waitFor("ready before the freeze", async () => (await readyz(worker.httpPort!)).status === 200, 30_000);
      await bed.pg.freeze();
      const frozenAt = Date.now();
      await s.produce(events.slice(half));
      const during = await readyz(worker.httpPort!);
      expect(during.status).toBe(503);
      expect(during.ms).toBeLessThan(1_500);
      expect(JSON.parse(during.body).checks.database.ok).toBe(false);
      await new Promise((r) => setTimeout(r, 5_000));
      const later = await readyz(worker.httpPort!);
      expect(later.ms).toBeLessThan(1_500);
      await bed.pg.thaw();
      const thawedAt = Date.now();
      const drainMs = await waitForEvents(s.db, events.length, 120_000);
      await expectExactlyOnce(s.db, events);
      await waitFor("ready again", async () => (await readyz(worker.httpPort!)).status === 200, 30_000);
      report("postgres frozen", { frozenMs: thawedAt - frozenAt, readyzMsWhileFrozen: during.ms, recoveryAfterThawMs: since(thawedAt), drainMs, lost: 0, doubled: 0 });
    } finally {
      await bed.pg.thaw().catch(() => undefined);
      await worker.stop();
    }
  });
});
