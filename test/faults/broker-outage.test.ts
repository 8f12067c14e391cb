/**
 * Fault: the Kafka broker goes away for 20 s in the middle of ingest and comes back. The worker
 * keeps its state, reconnects by itself and applies every event exactly once.
 */
import { describe, expect, it } from "vitest";
import { simulate } from "../../src/simulate/index.js";
import { expectExactlyOnce } from "../support/exactly-once.js";
import { waitFor } from "../support/kafka.js";
import { report, since, waitForEvents, useFaultBed } from "../support/fault-bed.js";

const bed = useFaultBed();

describe("fault: broker outage mid-ingest", () => {
  it("recovers after 20 s without the broker, nothing lost or doubled", async () => {
    const s = await bed.scenario({ partitions: 3 });
    const { events } = simulate({ seed: 43, customers: 150, now: "2026-10-01T00:00:00Z", days: 300 });
    const half = Math.floor(events.length / 2);
    await s.produce(events.slice(0, half));
    const worker = await s.startWorker();
    try {
      await waitFor("ingest under way", async () => worker.ingest.stats.applied > 0, 30_000);
      await bed.broker.down(1);
      const downAt = Date.now();
      // Readiness must not claim progress while the worker cannot reach the broker.
      await waitFor("not ready without the broker", async () => !worker.ingest.isReady(), 19_000);
      const notReadyAfterMs = since(downAt);
      await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - since(downAt))));
      await bed.broker.up(1);
      const upAt = Date.now();
      await s.produce(events.slice(half));
      const recoveryMs = await waitForEvents(s.db, events.length, 120_000);
      await expectExactlyOnce(s.db, events);
      await waitFor("ready again", async () => worker.ingest.isReady(), 30_000);
      report("broker down 20 s", { downMs: upAt - downAt, notReadyAfterMs, recoveryAfterUpMs: since(upAt), drainMs: recoveryMs, lost: 0, doubled: 0 });
    } finally {
      await worker.stop();
    }
  });
});
