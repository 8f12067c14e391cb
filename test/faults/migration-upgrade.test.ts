/**
 * Upgrade: a database written by the previous release (its two migrations, real data: events,
 * states, offsets, a score, a dead letter) is migrated by the current worker at start, keeps every
 * row's meaning, and ingest continues exactly where the old worker stopped.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChurnEvent } from "../../src/events/schema.js";
import { topicFor } from "../../src/events/topics.js";
import { simulate } from "../../src/simulate/index.js";
import { MIGRATIONS_DIR, migrate } from "../../src/store/migrate.js";
import { writeBatch } from "../../src/ingest/write/batch-writer.js";
import { count, expectExactlyOnce } from "../support/exactly-once.js";
import { report, since, startFaultBed, waitForEvents, type FaultBed } from "../support/fault-bed.js";

const PREVIOUS_RELEASE = ["20261123000000_spine", "20261123010000_scoring_outreach"];

let bed: FaultBed;
let oldMigrations: string;
beforeAll(async () => {
  bed = await startFaultBed();
  oldMigrations = await mkdtemp(path.join(os.tmpdir(), "churnwatch-old-migrations-"));
  for (const m of PREVIOUS_RELEASE) await cp(path.join(MIGRATIONS_DIR, m), path.join(oldMigrations, m), { recursive: true });
});
afterAll(async () => {
  await bed?.stop();
  await rm(oldMigrations, { recursive: true, force: true });
});

describe("upgrade from the previous schema with data in it", () => {
  it("migrates at start and continues ingest at the stored offsets", async () => {
    const s = await bed.scenario({ partitions: 1 });
    const { events } = simulate({ seed: 71, customers: 80, now: "2026-10-01T00:00:00Z", days: 300 });
    const byTopic = new Map<string, ChurnEvent[]>();
    for (const e of events) {
      const t = topicFor(e, s.topics);
      byTopic.set(t, [...(byTopic.get(t) ?? []), e]);
    }
    await s.produce(events);

    // The previous release's schema, and what its worker had written: the first 60% of each topic.
    expect((await migrate(s.db, oldMigrations)).applied).toEqual(PREVIOUS_RELEASE);
    let appliedBefore = 0;
    for (const [topic, list] of byTopic) {
      const n = Math.floor(list.length * 0.6);
      appliedBefore += n;
      await writeBatch(s.db, { groupId: s.opts.groupId, topic, partition: 0 }, {
        events: list.slice(0, n).map((event, offset) => ({ offset, event })), rejects: [], nextOffset: n,
      });
    }
    await s.db.query(`insert into customer_score (customer_id, score, risk_level, reasons, value, priority, segments, model_version, scored_at)
                      values ('c-000001', 0.5, 'medium', '[]', 200, 100, '{}', 'old-model', now())`);
    await s.db.query(`insert into dead_letter (source_topic, source_partition, source_offset, code, reason, created_at)
                      values ('purchases', 0, 99999, 'not_json', 'not valid JSON', now() - interval '1 day')`);

    const start = Date.now();
    const worker = await s.startWorker();
    try {
      const drainMs = await waitForEvents(s.db, events.length, 90_000);
      await expectExactlyOnce(s.db, events);
      // The renamed column kept its values; old dead letters count as sent (they were, before commit).
      expect(await count(s.db, "select value_at_risk from customer_score where customer_id = 'c-000001'")).toBe(100);
      expect(await count(s.db, "select count(*) from dead_letter where sent_at = created_at")).toBe(1);
      expect(await count(s.db, `select count(*) from "_prisma_migrations" where finished_at is not null`)).toBeGreaterThan(PREVIOUS_RELEASE.length);
      // Only the remaining 40% came through Kafka: nothing was applied twice.
      expect(worker.ingest.stats.applied).toBe(events.length - appliedBefore);
      report("upgrade from previous schema", { rowsBefore: appliedBefore, eventsAfter: events.length - appliedBefore, drainMs, totalMs: since(start), lost: 0, doubled: 0 });
    } finally {
      await worker.stop();
    }
  });
});
