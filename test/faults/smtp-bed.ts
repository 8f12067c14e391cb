/**
 * Shared ground for the SMTP fault tests (test/faults/smtp-*.test.ts): mails put straight into the
 * outbox, and an ingest run measured while the worker's health is sampled (readiness latency, pool
 * use, long-idle transactions), so a misbehaving relay can be compared with a healthy one.
 */
import type pg from "pg";
import type { ChurnEvent } from "../../src/events/schema.js";
import { enqueueMessage, type OutgoingMail } from "../../src/outreach/index.js";
import { migrate } from "../../src/store/migrate.js";
import type { Worker } from "../../src/worker.js";
import { waitFor } from "../support/kafka.js";
import type { FaultBed, Scenario } from "../support/fault-bed.js";
import { expectExactlyOnce } from "../support/exactly-once.js";
import { afterAll, beforeAll } from "vitest";
import { freePort } from "../support/servers.js";
import { TestSmtp } from "../support/smtp.js";

/** Outbox settings that make the fault visible within seconds instead of minutes. */
export const FAST_OUTBOX = {
  OUTBOX_DRAIN_SECONDS: "1",
  OUTBOX_RETRY_BASE_SECONDS: "1",
  MAIL_FROM: "Churnwatch <churnwatch@example.com>",
};

/**
 * Enqueues `n` digest-sized mails (a CSV of about 50 KB each), due a minute ago; returns their ids.
 * Migrates first (as the worker would), so mail can be waiting before the worker starts.
 */
export async function enqueueMails(db: pg.Pool, n: number, tag: string): Promise<string[]> {
  await migrate(db);
  const csv = `customer_id,score\r\n${Array.from({ length: 2_500 }, (_, i) => `c-${i},0.${String(i % 100).padStart(2, "0")}`).join("\r\n")}\r\n`;
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const date = new Date(Date.now() - 60_000 + i);
    const mail: OutgoingMail = {
      kind: i % 3 === 2 ? "alert" : "digest", dedupeKey: `fault:${tag}:${i}`, from: FAST_OUTBOX.MAIL_FROM, to: [`team${i}@example.com`],
      subject: `Fault test ${tag} ${i}`, text: `digest ${i}`, html: `<p>digest ${i}</p>`, date,
      attachments: [{ filename: "segment.csv", content: csv, contentType: "text/csv; charset=utf-8" }],
    };
    ids.push((await enqueueMessage(db, mail)).id);
  }
  return ids;
}

export interface OutboxRow {
  id: string;
  status: string;
  attempts: number;
  last_error: string | null;
  raw: string;
}

export async function outboxRows(db: pg.Pool): Promise<OutboxRow[]> {
  return (await db.query<OutboxRow>("select id, status, attempts, last_error, raw from outbox_message order by id")).rows;
}

/** Waits until every outbox row is sent; returns how long that took. */
export async function waitAllSent(db: pg.Pool, timeoutMs: number): Promise<number> {
  const start = Date.now();
  await waitFor("every outbox message sent", async () => (await outboxRows(db)).every((r) => r.status === "sent"), timeoutMs)
    .catch(async (err) => {
      throw new Error(`${err}: ${JSON.stringify((await outboxRows(db)).map((r) => ({ ...r, raw: undefined })))}`);
    });
  return Date.now() - start;
}

export interface IngestProbe {
  /** Produce-to-stored time for all events. */
  ms: number;
  eventsPerSecond: number;
  samples: number;
  maxReadyzMs: number;
  readyzNotOk: number;
  maxPoolInUse: number;
  maxPoolWaiting: number;
  /** Most sessions of the worker seen idle in a transaction for over a second at once. */
  maxLongIdleInTransaction: number;
}

/**
 * Produces `events`, then samples every 250 ms until all are stored: /readyz (time and status),
 * the worker's pool and pg_stat_activity. `during` runs once ingest is under way (e.g. asserting
 * that the relay is being tried at that moment).
 */
export async function ingestWhileProbing(s: Scenario, worker: Worker, events: readonly ChurnEvent[], timeoutMs = 120_000): Promise<IngestProbe> {
  const start = Date.now();
  await s.produce(events);
  const probe: IngestProbe = {
    ms: 0, eventsPerSecond: 0, samples: 0, maxReadyzMs: 0, readyzNotOk: 0, maxPoolInUse: 0, maxPoolWaiting: 0, maxLongIdleInTransaction: 0,
  };
  const db = await s.db.query<{ db: string }>("select current_database() as db");
  const dbName = db.rows[0]!.db;
  for (;;) {
    const { rows } = await s.db.query<{ n: number }>("select count(*)::int as n from raw_event");
    if (rows[0]!.n === events.length) break;
    if (Date.now() - start > timeoutMs) throw new Error(`ingest stored ${rows[0]!.n} of ${events.length} events in ${timeoutMs} ms`);
    const pool = worker.db.pool;
    probe.maxPoolInUse = Math.max(probe.maxPoolInUse, pool.totalCount - pool.idleCount);
    probe.maxPoolWaiting = Math.max(probe.maxPoolWaiting, pool.waitingCount);
    const idle = await s.db.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity
        where datname = $1 and application_name = 'churnwatch' and state like 'idle in transaction%'
          and state_change < now() - interval '1 second'`,
      [dbName],
    );
    probe.maxLongIdleInTransaction = Math.max(probe.maxLongIdleInTransaction, idle.rows[0]!.n);
    if (worker.httpPort !== null) {
      const t = Date.now();
      const ok = await fetch(`http://127.0.0.1:${worker.httpPort}/readyz`, { signal: AbortSignal.timeout(5_000) })
        .then((r) => r.status === 200, () => false);
      probe.maxReadyzMs = Math.max(probe.maxReadyzMs, Date.now() - t);
      if (!ok) probe.readyzNotOk++;
    }
    probe.samples++;
    await new Promise((r) => setTimeout(r, 250));
  }
  probe.ms = Date.now() - start;
  probe.eventsPerSecond = Math.round(events.length / (probe.ms / 1000));
  return probe;
}

/**
 * An in-process SMTP server for the test file, started before its tests and stopped after them.
 * The returned object forwards reads and writes (mode, delayMs, ...) to the running server.
 */
/**
 * The healthy reference run the SMTP fault tests compare with: a fresh scenario with `mails`
 * digest-sized mails queued, the same events ingested while probing, every event stored once and
 * every mail sent. Returns the probe and the queued mails' ids.
 */
export async function referenceRun(
  bed: Pick<FaultBed, "scenario">, events: readonly ChurnEvent[], extra: Record<string, string>, mails: number,
): Promise<{ probe: IngestProbe; ids: string[] }> {
  const ref = await bed.scenario({ partitions: 3, extra });
  const ids = await enqueueMails(ref.db, mails, "reference");
  const worker = await ref.startWorker({ http: true });
  try {
    await waitFor("reference worker ready", async () => worker.ingest.isReady(), 30_000);
    const probe = await ingestWhileProbing(ref, worker, events);
    await expectExactlyOnce(ref.db, events);
    await waitAllSent(ref.db, 30_000);
    return { probe, ids };
  } finally {
    await worker.stop();
  }
}

export function useTestSmtp(): TestSmtp {
  let smtp: TestSmtp | undefined;
  beforeAll(async () => {
    smtp = new TestSmtp(await freePort());
    await smtp.start();
  });
  afterAll(async () => smtp?.stop());
  const target = (): TestSmtp => {
    if (!smtp) throw new Error("the SMTP server starts in beforeAll: use it inside hooks and tests");
    return smtp;
  };
  return new Proxy({} as TestSmtp, {
    get: (_, prop) => {
      const value = Reflect.get(target(), prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target()) : value;
    },
    set: (_, prop, value) => Reflect.set(target(), prop, value),
  });
}
