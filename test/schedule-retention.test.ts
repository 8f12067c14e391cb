/**
 * The retention job against a real PostgreSQL: rows older than their window go, in bounded
 * batches; newer rows, pending mail, open job slots, unsent dead letters and (by default) raw
 * events stay; each batch's selection is an index range scan.
 */
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/config.js";
import { DAY_MS } from "../src/lib/time.js";
import { RETENTION_TARGETS, batchDeleteSql, batchSelectSql, runRetention, type RetentionOptions } from "../src/schedule/retention.js";
import { startMigratedPostgres, stopMigratedPostgres, type TestPostgres } from "./support/servers.js";

let server: TestPostgres;
let pool: pg.Pool;

beforeAll(async () => ({ server, pool } = await startMigratedPostgres(4)), 120_000);
afterAll(() => stopMigratedPostgres({ server, pool }));

const NOW = new Date("2026-12-01T03:30:00Z");
const ago = (days: number) => new Date(NOW.getTime() - days * DAY_MS);
const WINDOWS: RetentionOptions = { scoreHistoryDays: 400, outboxDays: 30, jobRunDays: 90, deadLetterDays: 30, rawEventDays: null, batchRows: 7 };

const count = async (sql: string) => Number((await pool.query<{ n: string }>(sql)).rows[0]!.n);

async function seed(): Promise<void> {
  // score_history: 25 rows past the window (several batches of 7), 3 inside it.
  for (let i = 0; i < 25; i++) {
    await pool.query("insert into score_history (customer_id, score, risk_level, model_version, scored_at) values ($1, 0.5, 'medium', 'm1', $2)", [`c${i}`, ago(401 + i)]);
  }
  for (const d of [399, 10, 0]) {
    await pool.query("insert into score_history (customer_id, score, risk_level, model_version, scored_at) values ('keep', 0.5, 'medium', 'm1', $1)", [ago(d)]);
  }
  // outbox_message: done and old goes; pending (whatever its age) and recent stay.
  const mail = (id: string, status: string, createdDaysAgo: number) => pool.query(
    `insert into outbox_message (id, kind, dedupe_key, recipients, subject, raw, status, created_at, sent_at)
     values ($1, 'digest', $1, '{a@example.com}', 's', 'raw', $2, $3, case when $2 = 'sent' then $3::timestamptz end)`,
    [id, status, ago(createdDaysAgo)],
  );
  await mail("old-sent", "sent", 31);
  await mail("old-failed", "failed", 45);
  await mail("old-pending", "pending", 60);
  await mail("new-sent", "sent", 29);
  // job_run: finished and old goes; open slots (running, waiting for a retry) stay whatever their age.
  const slot = (sl: string, status: string, finishedDaysAgo: number | null, startedDaysAgo: number) => pool.query(
    `insert into job_run (job, slot, claimed_by, status, started_at, finished_at, next_attempt_at)
     values ('digest', $1, 'w', $2, $3, $4, case when $2 in ('running', 'retry') then $3::timestamptz end)`,
    [sl, status, ago(startedDaysAgo), finishedDaysAgo === null ? null : ago(finishedDaysAgo)],
  );
  await slot("old-ok", "succeeded", 91, 91);
  await slot("old-failed", "failed", 120, 121);
  await slot("old-running", "running", null, 100);
  await slot("old-retry", "retry", null, 100);
  await slot("new-ok", "succeeded", 89, 89);
  // dead_letter: sent and old goes; unsent never does.
  const dead = (offset: number, sentDaysAgo: number | null, createdDaysAgo: number) => pool.query(
    `insert into dead_letter (source_topic, source_partition, source_offset, code, reason, created_at, sent_at)
     values ('purchases', 0, $1, 'invalid', 'r', $2, $3)`,
    [offset, ago(createdDaysAgo), sentDaysAgo === null ? null : ago(sentDaysAgo)],
  );
  await dead(1, 31, 31);
  await dead(2, null, 300);
  await dead(3, 29, 29);
  // raw_event: one old, one recent.
  const ev = (id: string, daysAgo: number) => pool.query(
    `insert into raw_event (event_id, customer_id, type, occurred_at, payload, source_topic, source_partition, source_offset)
     values ($1, 'c1', 'purchase', $2, '{}', 'purchases', 0, 0)`,
    [id, ago(daysAgo)],
  );
  await ev("ev-old", 800);
  await ev("ev-new", 100);
}

describe("retention job", () => {
  it("deletes what is older than each window, in bounded batches, and keeps the rest", async () => {
    await seed();
    const out = await runRetention(pool, NOW, WINDOWS);
    expect(out.deleted).toEqual({ score_history: 25, outbox_message: 2, job_run: 2, dead_letter: 1, raw_event: "kept" });
    expect(out.cutoffs.score_history).toBe(ago(400).toISOString());
    expect(out.cutoffs.raw_event).toBeUndefined();
    // 25 rows in batches of 7: 4 statements for score_history, one each for the others.
    expect(out.batches).toBe(4 + 1 + 1 + 1);

    expect(await count("select count(*) as n from score_history")).toBe(3);
    expect((await pool.query("select id from outbox_message order by id")).rows.map((r) => r.id)).toEqual(["new-sent", "old-pending"]);
    expect((await pool.query("select slot from job_run order by slot")).rows.map((r) => r.slot)).toEqual(["new-ok", "old-retry", "old-running"]);
    expect((await pool.query("select source_offset from dead_letter order by source_offset")).rows.map((r) => Number(r.source_offset))).toEqual([2, 3]);
    expect(await count("select count(*) as n from raw_event")).toBe(2);

    // A second run finds nothing more.
    const again = await runRetention(pool, NOW, WINDOWS);
    expect(again.deleted).toEqual({ score_history: 0, outbox_message: 0, job_run: 0, dead_letter: 0, raw_event: "kept" });
  });

  it("deletes raw events only when their window is set", async () => {
    const out = await runRetention(pool, NOW, { ...WINDOWS, rawEventDays: 365 });
    expect(out.deleted.raw_event).toBe(1);
    expect((await pool.query("select event_id from raw_event")).rows.map((r) => r.event_id)).toEqual(["ev-new"]);
  });

  it("each batch is selected by an index range scan on the table's age column", async () => {
    const expected: Record<string, { index: string; column: string }> = {
      score_history: { index: "score_history_scored_at_idx", column: "scored_at" },
      outbox_message: { index: "outbox_message_done_created_at_idx", column: "created_at" },
      job_run: { index: "job_run_finished_at_idx", column: "finished_at" },
      dead_letter: { index: "dead_letter_sent_at_idx", column: "sent_at" },
      raw_event: { index: "raw_event_occurred_at_idx", column: "occurred_at" },
    };
    const client = await pool.connect();
    try {
      // The test tables are tiny, where a sequential scan is cheapest; with it ruled out, the plan
      // shows which index the selection can use and that the age condition bounds the scan.
      await client.query("set enable_seqscan = off");
      await client.query("set enable_bitmapscan = off");
      for (const t of RETENTION_TARGETS) {
        const want = expected[t.table]!;
        const { rows } = await client.query<{ "QUERY PLAN": unknown }>(`explain (format json) ${batchSelectSql(t)}`.replace("$1", "'2026-01-01'::timestamptz").replace("$2", "10000"));
        const plan = JSON.stringify(rows[0]!["QUERY PLAN"]);
        expect(plan, t.table).toMatch(/"Node Type":"Index (Only )?Scan"/);
        expect(plan, t.table).toContain(`"Index Name":"${want.index}"`);
        expect(plan, t.table).toMatch(new RegExp(`"Index Cond":"\\(${want.column} < `));
        // The delete itself reaches the selected rows by their ctid.
        const del = JSON.stringify((await client.query(`explain (format json) ${batchDeleteSql(t)}`.replace(/\$1/g, "'2026-01-01'::timestamptz").replace("$2", "10000"))).rows[0]);
        expect(del, t.table).toContain('"Node Type":"Tid Scan"');
      }
    } finally {
      client.release();
    }
  });
});

describe("retention configuration", () => {
  it("has the documented defaults, raw events kept", () => {
    const c = loadConfig({});
    expect(c.retention).toEqual({
      cron: "30 3 * * *", scoreHistoryDays: 400, outboxDays: 30, jobRunDays: 90, deadLetterDays: 30, rawEventDays: null, batchRows: 10_000,
    });
  });

  it("reads every window and refuses bad values, naming the variable", () => {
    const c = loadConfig({ RETENTION_SCORE_HISTORY_DAYS: "30", RETENTION_RAW_EVENT_DAYS: "730", RETENTION_BATCH_ROWS: "500", RETENTION_CRON: "0 4 * * 0" });
    expect(c.retention).toMatchObject({ scoreHistoryDays: 30, rawEventDays: 730, batchRows: 500, cron: "0 4 * * 0" });
    expect(() => loadConfig({ RETENTION_OUTBOX_DAYS: "0" })).toThrow(/RETENTION_OUTBOX_DAYS: expected a whole number from 1 to 36500; got "0"/);
    expect(() => loadConfig({ RETENTION_JOB_RUNS_DAYS: "ten" })).toThrow(/RETENTION_JOB_RUNS_DAYS/);
    expect(() => loadConfig({ RETENTION_BATCH_ROWS: "10" })).toThrow(/RETENTION_BATCH_ROWS/);
    expect(() => loadConfig({ RETENTION_CRON: "daily" })).toThrow(/RETENTION_CRON/);
  });

  it("refuses a raw-event window shorter than the KPIs read", () => {
    // Defaults: 2 x 30-day periods + a 90-day active window = 150 days.
    expect(() => loadConfig({ RETENTION_RAW_EVENT_DAYS: "149" })).toThrow(/RETENTION_RAW_EVENT_DAYS: expected at least .*\(150\)/);
    expect(loadConfig({ RETENTION_RAW_EVENT_DAYS: "150" }).retention.rawEventDays).toBe(150);
  });
});
