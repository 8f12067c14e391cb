/**
 * Fault: a message valid by the contract that the database refuses anyway (stands in for whatever
 * validation does not foresee: here a trigger raising a data exception for one event id). The
 * batch is narrowed down to that message, which is dead-lettered as "unstorable" with the
 * database's SQLSTATE (not its message, which can quote the event), and everything else is applied exactly once, without a stall.
 */
import { describe, expect, it } from "vitest";
import { simulate } from "../../src/simulate/index.js";
import { migrate } from "../../src/store/migrate.js";
import { count, expectExactlyOnce } from "../support/exactly-once.js";
import { waitFor } from "../support/kafka.js";
import { report, since, useFaultBed } from "../support/fault-bed.js";

const bed = useFaultBed();

describe("fault: a message the database refuses", () => {
  it("dead-letters that one message and applies the rest of its batch once", async () => {
    const s = await bed.scenario({ partitions: 1 });
    const { events } = simulate({ seed: 41, customers: 30, now: "2026-10-01T00:00:00Z", days: 200 });
    const poison = events[Math.floor(events.length / 2)]!;
    await migrate(s.db);
    await s.db.query(`create function refuse_one() returns trigger language plpgsql as $$
      begin
        if new.event_id = '${poison.eventId}' then raise exception 'value refused by a check: %', new.payload->>'customerId' using errcode = '22023'; end if;
        return new;
      end $$`);
    await s.db.query("create trigger refuse_one before insert on raw_event for each row execute function refuse_one()");
    await s.produce(events);
    const start = Date.now();
    const worker = await s.startWorker();
    try {
      await waitFor("every message handled", async () => worker.ingest.stats.messages === events.length, 60_000);
      const { rows } = await s.db.query<{ code: string; reason: string; source_offset: string }>("select code, reason, source_offset from dead_letter");
      expect(rows).toHaveLength(1);
      expect(rows[0]!.code).toBe("unstorable");
      // The SQLSTATE and its class, never the database's message, which here quotes the customer id.
      expect(rows[0]!.reason).toBe("the database refused it: SQLSTATE 22023 (data exception)");
      expect(rows[0]!.reason).not.toContain(poison.customerId);
      expect(await count(s.db, "select count(*) from raw_event where event_id = $1", [poison.eventId])).toBe(0);
      // Nothing was rewound: the refused message was found inside the batch, not by retrying.
      expect(worker.ingest.health().stalled).toEqual([]);
      report("unstorable message", { events: events.length, deadLettered: 1, lost: 0, doubled: 0, handledMs: since(start) });
      await expectExactlyOnce(s.db, events.filter((e) => e !== poison));
    } finally {
      await worker.stop();
    }
  });
});
