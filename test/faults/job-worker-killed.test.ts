/**
 * Fault: the worker running a scheduled job is SIGKILLed mid-run (a child process whose job blocks).
 * While it lived, its heartbeat kept another worker out; once its lease expired, the other worker
 * ran the slot again, for the slot's own time, within lease + backoff + sweep. In the end the job
 * ran to completion exactly once, with its outcome, job status and last-success metric recorded.
 */
import { spawn } from "node:child_process";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { resolvePolicy, retryDelayMs, type JobPolicy } from "../../src/schedule/policy.js";
import { startScheduler, type Scheduler } from "../../src/schedule/scheduler.js";
import { migrate } from "../../src/store/migrate.js";
import { waitFor } from "../support/kafka.js";
import { report, since } from "../support/fault-bed.js";
import { startTestPostgres, type TestPostgres } from "../support/servers.js";

let server: TestPostgres;
let pool: pg.Pool;
let survivor: Scheduler | undefined;

beforeAll(async () => {
  server = await startTestPostgres();
  pool = new pg.Pool({ connectionString: server.url, max: 6 });
  pool.on("error", () => undefined);
  await migrate(pool);
  await pool.query("create table fault_job_effect (job text, slot text, phase text, worker text, at timestamptz, recorded_at timestamptz default now())");
}, 120_000);

afterAll(async () => {
  survivor?.stop();
  await pool?.end();
  await server?.stop();
});

/** Short lease and backoff so the test runs in seconds; the rules are the production ones. */
const POLICY: Partial<JobPolicy> = { leaseMs: 2_000, heartbeatMs: 500, maxAttempts: 3, retryBaseMs: 1_000, retryMaxMs: 4_000, sweepMs: 250 };

const count = async (sql: string, params: unknown[] = []) => Number((await pool.query<{ n: string }>(sql, params)).rows[0]!.n);

describe("fault: a job's worker is killed mid-run", () => {
  it("another worker completes the job once after the lease expires", { timeout: 120_000 }, async () => {
    const p = resolvePolicy(POLICY);
    const job = "nightly-report";
    const slot = "2026-12-01T07:00:00.000Z";
    const at = new Date(slot);

    // The other worker is up the whole time, sweeping every 250 ms.
    const metrics = createMetrics(false);
    survivor = startScheduler(pool, [{
      name: job,
      cron: "0 0 1 1 *",
      timeZone: "UTC",
      async run(runAt) {
        await pool.query("insert into fault_job_effect (job, slot, phase, worker, at) values ($1, $2, 'started', 'survivor', $3)", [job, slot, runAt]);
        await new Promise((r) => setTimeout(r, 300));
        await pool.query("insert into fault_job_effect (job, slot, phase, worker, at) values ($1, $2, 'completed', 'survivor', $3)", [job, slot, runAt]);
        return { completedBy: "survivor" };
      },
    }], createLogger("silent"), { metrics, policy: POLICY });

    const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/blocking-job-worker.ts"], {
      env: { ...process.env, DATABASE_URL: server.url, JOB_NAME: job, JOB_SLOT: slot, JOB_AT: slot, JOB_POLICY: JSON.stringify(POLICY) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
    try {
      await waitFor("the child's job started", async () => out.includes("JOB STARTED"), 60_000).catch((err) => {
        throw new Error(`${err}\n${out}`);
      });

      // Three lease lengths with the owner alive: the heartbeat renews the lease and the other
      // worker, sweeping all along, never takes the slot.
      const firstLease = (await pool.query<{ t: Date }>("select claimed_until as t from job_run where job = $1", [job])).rows[0]!.t;
      await new Promise((r) => setTimeout(r, 3 * p.leaseMs));
      const alive = (await pool.query<{ claimed_by: string; attempts: number; claimed_until: Date; status: string }>(
        "select claimed_by, attempts, claimed_until, status from job_run where job = $1 and slot = $2", [job, slot])).rows[0]!;
      expect(alive.status).toBe("running");
      expect(alive.attempts).toBe(1);
      expect(alive.claimed_by).toContain(`:${child.pid}:`);
      expect(alive.claimed_until.getTime()).toBeGreaterThan(firstLease.getTime() + 2 * p.leaseMs);
      expect(await count("select count(*) as n from fault_job_effect where worker = 'survivor'")).toBe(0);

      // Mid-run: no cleanup, no unlock, no bookkeeping.
      const leaseEnd = (await pool.query<{ t: Date }>("select claimed_until as t from job_run where job = $1", [job])).rows[0]!.t;
      const killedAt = Date.now();
      child.kill("SIGKILL");
      expect(await exited).toBe("SIGKILL");

      await waitFor("the slot completed by the other worker", async () =>
        (await pool.query("select 1 from job_run where job = $1 and slot = $2 and status = 'succeeded'", [job, slot])).rowCount === 1, 30_000);
      const recoveryMs = since(killedAt);
      const done = (await pool.query<{ attempts: number; claimed_by: string; outcome: unknown; finished_at: Date; scheduled_at: Date }>(
        "select attempts, claimed_by, outcome, finished_at, scheduled_at from job_run where job = $1 and slot = $2", [job, slot])).rows[0]!;
      // Database clock on both sides: from the dead worker's lease end to the slot's completion.
      const afterLeaseMs = done.finished_at.getTime() - leaseEnd.getTime();

      // Recovery is bounded by the lease, the first backoff and one sweep (plus the run and slack).
      expect(recoveryMs).toBeLessThan(p.leaseMs + retryDelayMs(1, p) + p.sweepMs + 5_000);
      expect(afterLeaseMs).toBeGreaterThanOrEqual(retryDelayMs(1, p));
      expect(afterLeaseMs).toBeLessThan(retryDelayMs(1, p) + p.sweepMs + 3_000);

      // Another lease and backoff later nothing more has run: exactly one completion, two starts.
      await new Promise((r) => setTimeout(r, p.leaseMs + retryDelayMs(2, p)));
      expect(done).toMatchObject({ attempts: 2, outcome: { completedBy: "survivor" } });
      expect(done.claimed_by).not.toContain(`:${child.pid}:`);
      expect(done.scheduled_at.toISOString()).toBe(slot);
      const effects = (await pool.query<{ worker: string; phase: string; at: Date }>(
        "select worker, phase, at from fault_job_effect order by recorded_at")).rows;
      expect(effects.map((e) => `${e.worker}:${e.phase}`)).toEqual(["doomed:started", "survivor:started", "survivor:completed"]);
      expect(effects.every((e) => e.at.toISOString() === slot)).toBe(true);
      expect((await pool.query("select attempts, status from job_run where job = $1", [job])).rows).toEqual([{ attempts: 2, status: "succeeded" }]);

      const status = (await pool.query<{ last_success_at: Date }>("select last_success_at from job_status where job = $1", [job])).rows[0]!;
      const gauge = (await metrics.jobLastSuccess.get()).values.find((v) => v.labels.job_name === job)?.value;
      expect(gauge).toBeCloseTo(status.last_success_at.getTime() / 1000, 3);

      report("job worker SIGKILLed mid-run", {
        leaseMs: p.leaseMs, backoffMs: retryDelayMs(1, p), recoveryMs, afterLeaseExpiryMs: afterLeaseMs, attempts: done.attempts, completions: 1, lost: 0, doubled: 0,
      });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    }
  });
});
