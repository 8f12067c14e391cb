/**
 * Fault: a second worker joins the group mid-stream (a rebalance moves partitions while batches
 * are queued and in flight), then the first is SIGKILLed (its partitions move again after its
 * session times out). Totals must be exact.
 */
import { describe, expect, it } from "vitest";
import { simulate } from "../../src/simulate/index.js";
import { expectExactlyOnce } from "../support/exactly-once.js";
import { waitFor } from "../support/kafka.js";
import { report, since, waitForEvents, useFaultBed } from "../support/fault-bed.js";

const bed = useFaultBed();

describe("fault: a worker joins mid-stream, another is killed", () => {
  it("applies every event exactly once across two rebalances", { timeout: 240_000 }, async () => {
    const s = await bed.scenario({ partitions: 4 });
    const { events } = simulate({ seed: 67, customers: 500, now: "2026-10-01T00:00:00Z", days: 400 });
    const third = Math.floor(events.length / 3);
    await s.produce(events.slice(0, third));
    const first = s.spawnWorker({ LOG_LEVEL: "info" });
    const second = await s.startWorker();
    try {
      await first.waitForOutput("joined consumer group", 60_000);
      await s.produce(events.slice(third, 2 * third));
      // The in-process worker joined too: both hold partitions now.
      await waitFor("second worker assigned", async () => second.ingest.health().assigned, 60_000);
      await s.produce(events.slice(2 * third));
      first.kill("SIGKILL");
      const killedAt = Date.now();
      expect(await first.exited).toBe("SIGKILL");
      const drainMs = await waitForEvents(s.db, events.length, 120_000);
      await expectExactlyOnce(s.db, events);
      report("join + SIGKILL", { events: events.length, recoveryAfterKillMs: since(killedAt), drainMs, lost: 0, doubled: 0 });
    } finally {
      await second.stop();
    }
  });
});
