/**
 * Fault: the dead-letter topic cannot be written (the broker refuses it: authorization failed).
 * Ingest must not wait for it: valid events are applied, rejects are kept in the dead_letter
 * table, and once the topic accepts writes again the relay publishes each of them exactly once.
 */
import { describe, expect, it } from "vitest";
import { simulate } from "../../src/simulate/index.js";
import { count, expectExactlyOnce } from "../support/exactly-once.js";
import { produce, readTopic, waitFor } from "../support/kafka.js";
import { report, since, waitForEvents, useFaultBed } from "../support/fault-bed.js";

const bed = useFaultBed();

describe("fault: dead-letter topic unwritable", () => {
  it("applies valid events meanwhile and publishes the dead letters once the topic is back", async () => {
    const s = await bed.scenario({ partitions: 2 });
    await bed.broker.setTopicError(s.topics.dlq, 29);
    const { events } = simulate({ seed: 59, customers: 60, now: "2026-10-01T00:00:00Z", days: 200 });
    const poison = Array.from({ length: 5 }, (_, i) => ({ topic: s.topics.purchases, key: `bad-${i}`, value: `{"eventId": "broken-${i}"` }));
    await produce(bed.kafka, poison);
    await s.produce(events);
    const worker = await s.startWorker();
    try {
      const applyMs = await waitForEvents(s.db, events.length, 60_000);
      await waitFor("every message handled", async () => worker.ingest.stats.messages === events.length + poison.length, 30_000);
      await expectExactlyOnce(s.db, events);
      expect(await count(s.db, "select count(*) from dead_letter where sent_at is null")).toBe(poison.length);
      expect(worker.ingest.health().stalled).toEqual([]);

      await bed.broker.setTopicError(s.topics.dlq, 0);
      const topicAt = Date.now();
      await waitFor("dead letters published", async () => (await count(s.db, "select count(*) from dead_letter where sent_at is null")) === 0, 30_000);
      const publishedMs = since(topicAt);
      await new Promise((r) => setTimeout(r, 2_000));
      const dlq = await readTopic(bed.kafka, s.topics.dlq, poison.length, 20_000);
      expect(dlq).toHaveLength(poison.length);
      expect(new Set(dlq.map((m) => m.key))).toEqual(new Set(poison.map((p) => p.key)));
      report("dead-letter topic unwritable", { events: events.length, applyMs, deadLetters: poison.length, publishedAfterTopicMs: publishedMs, lost: 0, doubled: 0 });
    } finally {
      await worker.stop();
    }
  });
});
