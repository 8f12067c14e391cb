/**
 * Scheduled jobs against a real PostgreSQL: a claim is a lease kept alive by a heartbeat; a failed
 * run or an abandoned lease is run again after the backoff, with the slot's own scheduled time;
 * the attempt limit ends a slot for good (logged at error); outcomes, job status and metrics are
 * recorded. Workers are simulated by schedulers in this process (the fault test kills a real one).
 */
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetrics } from "../src/metrics/metrics.js";
import { startScheduler, type JobSpec, type Scheduler } from "../src/schedule/scheduler.js";
import type { JobPolicy } from "../src/schedule/policy.js";
import { MIGRATIONS_DIR, migrate } from "../src/store/migrate.js";
import { waitFor } from "./support/kafka.js";
import { startMigratedPostgres, stopMigratedPostgres, type TestPostgres } from "./support/servers.js";

let server: TestPostgres;
let pool: pg.Pool;
const schedulers: Scheduler[] = [];

beforeAll(async () => {
  ({ server, pool } = await startMigratedPostgres(8));
}, 120_000);

afterAll(async () => {
  for (const s of schedulers) s.stop();
  await stopMigratedPostgres({ server, pool });
});

/** Manual sweeps only (sweepMs is an hour), short leases and backoffs. */
const POLICY: Partial<JobPolicy> = { leaseMs: 1_000, heartbeatMs: 200, maxAttempts: 3, retryBaseMs: 300, retryMaxMs: 1_000, sweepMs: 3_600_000 };

function captureLogger() {
  const lines: { level: number; msg: string; job?: string; slot?: string }[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

function worker(jobs: JobSpec[], policy: Partial<JobPolicy> = POLICY) {
  const metrics = createMetrics(false);
  const { logger, lines } = captureLogger();
  const scheduler = startScheduler(pool, jobs, logger, { metrics, policy });
  schedulers.push(scheduler);
  return { scheduler, metrics, lines };
}

const job = (name: string, run: JobSpec["run"]): JobSpec => ({ name, cron: "0 0 1 1 *", timeZone: "UTC", run });

async function row(name: string, slot: string) {
  const { rows } = await pool.query(
    "select status, attempts, claimed_by, claimed_until, next_attempt_at, scheduled_at, finished_at, outcome, last_error, duration_ms from job_run where job = $1 and slot = $2",
    [name, slot],
  );
  return rows[0] as {
    status: string; attempts: number; claimed_by: string; claimed_until: Date | null; next_attempt_at: Date | null; scheduled_at: Date;
    finished_at: Date | null; outcome: unknown; last_error: string | null; duration_ms: number | null;
  } | undefined;
}

async function gauge(metrics: ReturnType<typeof createMetrics>, which: "jobLastSuccess" | "jobLastFailure", name: string): Promise<number | undefined> {
  const m = await metrics[which].get();
  return m.values.find((v) => v.labels.job_name === name)?.value;
}

describe("job leases and retries", () => {
  it("a failed run is retried after the backoff with the slot's own time, then succeeds; status and metrics are recorded", async () => {
    const seen: Date[] = [];
    let calls = 0;
    const w = worker([job("flaky", async (at) => {
      seen.push(at);
      if (++calls < 3) throw new Error(`boom ${calls}`);
      return { done: true };
    })]);
    const at = new Date("2026-11-01T07:00:00Z");
    expect(await w.scheduler.runNow("flaky", "s1", at)).toBeNull();
    let r = (await row("flaky", "s1"))!;
    expect(r).toMatchObject({ status: "retry", attempts: 1, last_error: "boom 1", claimed_until: null, finished_at: null });
    expect(w.lines.some((l) => l.level === 40 && l.msg === "job failed; it will be retried")).toBe(true);

    // Not due before the backoff: neither a sweep nor another runNow of the slot starts it.
    await w.scheduler.sweep();
    expect(await w.scheduler.runNow("flaky", "s1", new Date())).toBeNull();
    expect(calls).toBe(1);

    await waitFor("second attempt", async () => {
      await w.scheduler.sweep();
      return (await row("flaky", "s1"))!.attempts === 2 && (await row("flaky", "s1"))!.status === "retry";
    }, 10_000);
    // The backoff doubled: attempt 2 waits 600 ms.
    r = (await row("flaky", "s1"))!;
    const { rows: waits } = await pool.query<{ wait: number }>(
      "select extract(epoch from next_attempt_at - now()) * 1000 as wait from job_run where job = 'flaky' and slot = 's1'");
    expect(Number(waits[0]!.wait)).toBeGreaterThan(300);
    expect(Number(waits[0]!.wait)).toBeLessThanOrEqual(600);

    await waitFor("third attempt succeeded", async () => {
      await w.scheduler.sweep();
      return (await row("flaky", "s1"))!.status === "succeeded";
    }, 10_000);
    r = (await row("flaky", "s1"))!;
    expect(r).toMatchObject({ attempts: 3, outcome: { done: true }, claimed_until: null, next_attempt_at: null });
    expect(r.finished_at).not.toBeNull();
    expect(r.duration_ms).toBeGreaterThanOrEqual(0);
    expect(calls).toBe(3);
    expect(seen.map((d) => d.toISOString())).toEqual([at, at, at].map((d) => d.toISOString()));

    const { rows: statuses } = await pool.query<{ last_success_at: Date; last_failure_at: Date; last_slot: string }>("select last_success_at, last_failure_at, last_slot, last_error from job_status where job = 'flaky'");
    const st = statuses[0]!;
    expect(st.last_success_at).not.toBeNull();
    expect(st.last_failure_at.getTime()).toBeLessThan(st.last_success_at.getTime());
    expect(st.last_slot).toBe("s1");
    expect(await gauge(w.metrics, "jobLastSuccess", "flaky")).toBeCloseTo(st.last_success_at.getTime() / 1000, 3);
    expect(await gauge(w.metrics, "jobLastFailure", "flaky")).toBeCloseTo(st.last_failure_at.getTime() / 1000, 3);
    const duration = await w.metrics.jobDuration.get();
    expect(duration.values.find((v) => v.metricName === "churnwatch_job_duration_seconds_count" && v.labels.job_name === "flaky")?.value).toBe(3);
    // Done is done: the slot does not run again.
    expect(await w.scheduler.runNow("flaky", "s1", at)).toBeNull();
    expect(calls).toBe(3);
  });

  it("after the last attempt the slot is failed for good and logged at error", async () => {
    let calls = 0;
    const w = worker([job("doomed", async () => {
      calls++;
      throw new Error("always");
    })], { ...POLICY, maxAttempts: 2 });
    expect(await w.scheduler.runNow("doomed", "s1", new Date())).toBeNull();
    await waitFor("failed for good", async () => {
      await w.scheduler.sweep();
      return (await row("doomed", "s1"))!.status === "failed";
    }, 10_000);
    expect(calls).toBe(2);
    expect((await row("doomed", "s1"))!).toMatchObject({ attempts: 2, outcome: { error: "always" }, next_attempt_at: null });
    expect(w.lines.filter((l) => l.level === 50 && l.msg === "job failed for good after its last attempt")).toHaveLength(1);
    await w.scheduler.sweep();
    expect(calls).toBe(2);
  });

  it("a slot abandoned by a dead worker (lease expired) runs again for its original time", async () => {
    const original = new Date("2026-10-31T07:00:00Z");
    // What a worker leaves when it dies mid-run: status running, lease and takeover time in the past.
    await pool.query(
      `insert into job_run (job, slot, claimed_by, status, attempts, claimed_until, next_attempt_at, scheduled_at)
       values ('orphan', 's1', 'dead-worker', 'running', 1, now() - interval '5 seconds', now() - interval '1 second', $1)`,
      [original],
    );
    const seen: Date[] = [];
    const w = worker([job("orphan", async (at) => {
      seen.push(at);
      return "ok";
    })]);
    await waitFor("orphan taken over", async () => {
      await w.scheduler.sweep();
      return (await row("orphan", "s1"))!.status === "succeeded";
    }, 10_000);
    expect(seen.map((d) => d.toISOString())).toEqual([original.toISOString()]);
    const r = (await row("orphan", "s1"))!;
    expect(r.attempts).toBe(2);
    expect(r.claimed_by).not.toBe("dead-worker");
    expect(w.lines.some((l) => l.msg === "retrying job" && l.job === "orphan")).toBe(true);
  });

  it("a live lease is never taken over", async () => {
    await pool.query(
      `insert into job_run (job, slot, claimed_by, status, attempts, claimed_until, next_attempt_at, scheduled_at)
       values ('leased', 's1', 'live-worker', 'running', 1, now() + interval '1 hour', now() + interval '1 hour', now())`,
    );
    let calls = 0;
    const w = worker([job("leased", async () => ++calls)]);
    await w.scheduler.sweep();
    expect(await w.scheduler.runNow("leased", "s1", new Date())).toBeNull();
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toBe(0);
    expect((await row("leased", "s1"))!.claimed_by).toBe("live-worker");
  });

  it("a dead worker's last attempt fails the slot for good, with the failure metric", async () => {
    await pool.query(
      `insert into job_run (job, slot, claimed_by, status, attempts, claimed_until, next_attempt_at, scheduled_at)
       values ('lastgasp', 's1', 'dead-worker', 'running', 3, now() - interval '5 seconds', null, now())`,
    );
    let calls = 0;
    const w = worker([job("lastgasp", async () => ++calls)]);
    await w.scheduler.sweep();
    const r = (await row("lastgasp", "s1"))!;
    expect(r).toMatchObject({ status: "failed", attempts: 3, last_error: "worker lost (lease expired) on the last attempt" });
    expect(calls).toBe(0);
    expect(await gauge(w.metrics, "jobLastFailure", "lastgasp")).toBeGreaterThan(0);
    expect(w.lines.some((l) => l.level === 50 && l.msg === "job failed for good: its last attempt's worker was lost")).toBe(true);
  });

  it("the heartbeat keeps a long run's lease alive, and nobody else runs it meanwhile", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const spec = job("long", async () => {
      calls++;
      await gate;
      return "finished";
    });
    const a = worker([spec]);
    const b = worker([spec]);
    const running = a.scheduler.runNow("long", "s1", new Date());
    await waitFor("claimed", async () => (await row("long", "s1"))?.status === "running");
    const first = (await row("long", "s1"))!.claimed_until!.getTime();
    // Three lease lengths later the lease still holds, renewed, and the other worker stays out.
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 500));
      await b.scheduler.sweep();
      expect(await b.scheduler.runNow("long", "s1", new Date())).toBeNull();
    }
    const later = (await row("long", "s1"))!;
    expect(later.claimed_until!.getTime()).toBeGreaterThan(first + 2_000);
    expect(later.attempts).toBe(1);
    release();
    expect(await running).toBe("finished");
    expect(calls).toBe(1);
    expect((await row("long", "s1"))!.status).toBe("succeeded");
  });

  it("a slot that fires while the job runs is queued (whenBusy: queue) or skipped (default)", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ran: string[] = [];
    const queued: JobSpec = { ...job("queued", async (at) => {
      ran.push(at.toISOString());
      if (ran.length === 1) await gate;
      return "ok";
    }), whenBusy: "queue" };
    const a = worker([queued]);
    const b = worker([queued]);
    const first = a.scheduler.runNow("queued", "day-1", new Date("2026-11-01T07:00:00Z"));
    await waitFor("day 1 running", async () => (await row("queued", "day-1"))?.status === "running");
    expect(await b.scheduler.runNow("queued", "day-2", new Date("2026-11-02T07:00:00Z"))).toBeNull();
    expect(await row("queued", "day-2")).toMatchObject({ status: "retry", attempts: 0 });
    release();
    await first;
    await waitFor("day 2 ran after day 1", async () => {
      await b.scheduler.sweep();
      return (await row("queued", "day-2"))?.status === "succeeded";
    }, 10_000);
    expect(ran).toEqual(["2026-11-01T07:00:00.000Z", "2026-11-02T07:00:00.000Z"]);
    expect((await row("queued", "day-2"))!.attempts).toBe(1);

    let releaseSkip!: () => void;
    const skipGate = new Promise<void>((r) => (releaseSkip = r));
    const skipped = job("skipped", async () => skipGate);
    const c = worker([skipped]);
    const d = worker([skipped]);
    const running = c.scheduler.runNow("skipped", "h1", new Date());
    await waitFor("h1 running", async () => (await row("skipped", "h1"))?.status === "running");
    expect(await d.scheduler.runNow("skipped", "h2", new Date())).toBeNull();
    expect(await row("skipped", "h2")).toBeUndefined();
    releaseSkip();
    await running;
  });

  it("two workers firing the same slot run it once", async () => {
    let calls = 0;
    const spec = job("race", async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 100));
      return calls;
    });
    const [a, b] = [worker([spec]), worker([spec])];
    const results = await Promise.all([a.scheduler.runNow("race", "s1", new Date()), b.scheduler.runNow("race", "s1", new Date())]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(calls).toBe(1);
  });

  it("every worker exports the cluster's last success, also one that did not run the job", async () => {
    const spec = job("shared", async () => "ok");
    const a = worker([spec]);
    await a.scheduler.runNow("shared", "s1", new Date());
    const b = worker([spec]);
    await b.scheduler.sweep();
    const va = await gauge(a.metrics, "jobLastSuccess", "shared");
    expect(va).toBeGreaterThan(0);
    expect(await gauge(b.metrics, "jobLastSuccess", "shared")).toBe(va);
  });
});

describe("job_run rows from before leases", () => {
  it("are closed by the migration: finished ones by their outcome, unfinished ones as failed (not re-run days late)", async () => {
    const url = await server.createDatabase("before_leases");
    const db = new pg.Pool({ connectionString: url, max: 2 });
    db.on("error", () => undefined);
    const dir = await mkdtemp(path.join(os.tmpdir(), "churnwatch-pre-lease-"));
    try {
      const previous = (await readdir(MIGRATIONS_DIR)).filter((m) => /^\d+_/.test(m) && m < "20261205090000").sort();
      for (const m of previous) await cp(path.join(MIGRATIONS_DIR, m), path.join(dir, m), { recursive: true });
      await migrate(db, dir);
      await db.query(`insert into job_run (job, slot, claimed_by, started_at, finished_at, outcome) values
        ('digest', 'ok', 'w', now() - interval '2 days', now() - interval '2 days', '{"sent": 3}'),
        ('digest', 'err', 'w', now() - interval '1 day', now() - interval '1 day', '{"error": "smtp down"}'),
        ('rescore-all', 'stuck', 'w', now() - interval '3 hours', null, null)`);
      await migrate(db);
      const { rows } = await db.query("select slot, status, attempts, last_error, finished_at is not null as finished from job_run order by slot");
      expect(rows).toEqual([
        { slot: "err", status: "failed", attempts: 1, last_error: "smtp down", finished: true },
        { slot: "ok", status: "succeeded", attempts: 1, last_error: null, finished: true },
        { slot: "stuck", status: "failed", attempts: 1, last_error: "claimed before job leases existed; not retried", finished: true },
      ]);
      const status = await db.query("select job, last_success_at is not null as ok, last_failure_at is not null as failed from job_status order by job");
      expect(status.rows).toEqual([{ job: "digest", ok: true, failed: true }, { job: "rescore-all", ok: false, failed: true }]);
    } finally {
      await db.end();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
