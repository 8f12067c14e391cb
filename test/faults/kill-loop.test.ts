/**
 * Fault: the worker (the real entry point, src/main.ts) is SIGKILLed again and again at random
 * moments while it ingests, and restarted each time, as an orchestrator would. No batch may be
 * lost or applied twice, whatever instant the kill hits (fetch, transaction, commit, Kafka commit).
 */
import { describe, expect, it } from "vitest";
import { simulate } from "../../src/simulate/index.js";
import { Rng } from "../../src/simulate/random.js";
import { count, expectExactlyOnce } from "../support/exactly-once.js";
import { waitFor } from "../support/kafka.js";
import { report, since, waitForEvents, useFaultBed } from "../support/fault-bed.js";

const bed = useFaultBed();

const KILLS = 10;

describe("fault: random SIGKILLs during ingest", () => {
  it(`loses and doubles nothing across ${KILLS} kills`, { timeout: 300_000 }, async () => {
    const s = await bed.scenario({ partitions: 3 });
    // More events than ten lives can ingest in their few hundred milliseconds each (a worker
    // applies a few thousand a second): every kill hits a worker in the middle of a backlog, with
    // fetches, transactions and commits under way. (Slices produced before each life were ingested
    // whole before the kill, so the kills hit idle workers.)
    const { events } = simulate({ seed: 61, customers: 2_000, now: "2026-10-01T00:00:00Z", days: 400 });
    const rng = new Rng(61);
    await s.produce(events);
    const kills: number[] = [];
    const start = Date.now();
    for (let life = 0; life < KILLS; life++) {
      const before = await count(s.db, "select count(*) from raw_event").catch(() => 0);
      const worker = s.spawnWorker({ LOG_LEVEL: "info" });
      await worker.waitForOutput("joined consumer group", 60_000);
      await waitFor(`life ${life}: ingesting`, async () => (await count(s.db, "select count(*) from raw_event")) > before, 60_000);
      // Somewhere in the middle of its work: 0-600 ms after the first commit of this life.
      await new Promise((r) => setTimeout(r, Math.floor(rng.next() * 600)));
      worker.kill("SIGKILL");
      expect(await worker.exited).toBe("SIGKILL");
      kills.push(await count(s.db, "select count(*) from raw_event"));
    }
    const last = s.spawnWorker();
    try {
      const drainMs = await waitForEvents(s.db, events.length, 120_000);
      await expectExactlyOnce(s.db, events);
      expect(kills.length).toBe(KILLS);
      // Every kill left a backlog (the worker was mid-stream), and every life made progress.
      expect(kills.filter((n) => n >= events.length)).toEqual([]);
      expect(kills.every((n, i) => n > (kills[i - 1] ?? 0))).toBe(true);
      report("random SIGKILLs", { kills: KILLS, events: events.length, storedAtKills: kills.join("/"), lastDrainMs: drainMs, totalMs: since(start), lost: 0, doubled: 0 });
    } finally {
      last.kill("SIGTERM");
      await last.exited;
    }
  });
});
