/**
 * Scheduled jobs (node-cron) that run once per cluster, not once per worker: every worker's
 * timer fires, and the first to claim the (job, slot) row in job_run runs it; the others skip.
 * A session advisory lock per job also keeps a long run from overlapping the next slot.
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import cron, { type ScheduledTask } from "node-cron";
import type pg from "pg";
import type { Logger } from "../log.js";
import { withClient } from "../store/tx.js";
import { fnv1a32 } from "../lib/hash.js";

export interface JobSpec {
  name: string;
  cron: string;
  timeZone: string;
  /** `at` is the scheduled time (or the trigger time for an on-demand slot). */
  run(at: Date): Promise<unknown>;
}

export interface Scheduler {
  /**
   * Runs a job now under an explicit slot key (same once-per-cluster rule), e.g. "model:v7" so that
   * every worker seeing a new model triggers one cluster-wide rescoring. Null if skipped.
   */
  runNow(name: string, slotKey: string, at?: Date): Promise<unknown | null>;
  stop(): void;
}

const workerId = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/** Stable 32-bit key per job name for pg_try_advisory_lock. */
function lockKey(name: string): number {
  return fnv1a32(name) | 0;
}

/** Claims and runs one slot of a job; null when another worker has it (or is still running it). */
export async function runOncePerCluster(pool: pg.Pool, job: JobSpec, slotKey: string, at: Date, logger: Logger): Promise<unknown | null> {
  // The client is held for the whole job; withClient discards it if the connection breaks
  // meanwhile, and destroying a client whose unlock failed ends its session, releasing the lock.
  return withClient(pool, async (client, fail) => {
    const { rows: locked } = await client.query<{ ok: boolean }>("select pg_try_advisory_lock($1) as ok", [lockKey(job.name)]);
    if (!locked[0]!.ok) {
      logger.info({ job: job.name, slot: slotKey }, "job still running elsewhere; skipping this slot");
      return null;
    }
    try {
      const claim = await client.query(
        "insert into job_run (job, slot, claimed_by) values ($1, $2, $3) on conflict do nothing",
        [job.name, slotKey, workerId],
      );
      if (claim.rowCount === 0) return null;
      const started = Date.now();
      const finish = (outcome: unknown) => client.query(
        "update job_run set finished_at = now(), outcome = $3 where job = $1 and slot = $2",
        [job.name, slotKey, JSON.stringify(outcome ?? null)],
      );
      try {
        const outcome = await job.run(at);
        await finish(outcome);
        logger.info({ job: job.name, slot: slotKey, ms: Date.now() - started, outcome }, "job finished");
        return outcome ?? true;
      } catch (err) {
        await finish({ error: (err as Error).message });
        logger.error({ job: job.name, slot: slotKey, err }, "job failed");
        return null;
      }
    } finally {
      await client.query("select pg_advisory_unlock($1)", [lockKey(job.name)]).catch(fail);
    }
  });
}

export function startScheduler(pool: pg.Pool, jobs: readonly JobSpec[], logger: Logger): Scheduler {
  const log = logger.child({ component: "scheduler" });
  const tasks: ScheduledTask[] = jobs.map((job) =>
    cron.schedule(job.cron, async (ctx) => {
      // The slot is the scheduled minute, the same on every worker whatever its timer's jitter.
      const slot = new Date(Math.floor(ctx.date.getTime() / 60_000) * 60_000);
      await runOncePerCluster(pool, job, slot.toISOString(), slot, log);
    }, { name: job.name, timezone: job.timeZone, noOverlap: true }),
  );
  return {
    runNow(name, slotKey, at = new Date()) {
      const job = jobs.find((j) => j.name === name);
      if (!job) throw new Error(`no job named ${name}`);
      return runOncePerCluster(pool, job, slotKey, at, log);
    },
    stop() {
      for (const t of tasks) void t.stop();
    },
  };
}

export function isValidCron(expr: string): boolean {
  return cron.validate(expr);
}
