/**
 * Scheduled jobs (node-cron) that run once per cluster, not once per worker: every worker's
 * timer fires, and the first to claim the (job, slot) row in job_run runs it; the others skip.
 * A session advisory lock per job also keeps a long run from overlapping the next slot, and keeps
 * two workers from ever running one job at once.
 *
 * A claim is a lease (policy.ts): renewed by a heartbeat while the job runs, so a worker that dies
 * mid-run (its lease expires) or a run that fails leaves a slot that any worker's sweep runs again
 * after an exponential backoff, until the attempt limit, when the slot is failed for good and
 * logged at error. Each job's last success, last failure and duration go to job_status and the
 * job metrics.
 *
 * Why not pg-boss (evaluated at 12.38, the current release): it would replace the lease, retry
 * and backoff SQL here (about 150 lines), but
 * - it needs Node >= 22.12 (11.x: >= 22); the worker supports Node 20. The last release for Node 20
 *   (10.x) has no job heartbeat: a dead worker's job would be retried only after its expiry, which
 *   must exceed the longest rescoring (hours), instead of about a minute after its last heartbeat;
 * - it creates and migrates its own `pgboss` schema (schema version 46, ~2,300 lines of migration
 *   plans) at start, outside prisma/migrations and _prisma_migrations, where the project keeps the
 *   single source of truth for its schema and runs migrations under its own lock;
 * - it brings a second scheduler (its own cron and maintenance/monitoring loops polling the
 *   database) next to node-cron, which stays the schedule.
 * The hand-written part is small: one upsert to claim, one update per heartbeat and per outcome.
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import { performance } from "node:perf_hooks";
import cron, { type ScheduledTask } from "node-cron";
import type pg from "pg";
import type { Logger } from "../log.js";
import { withClient } from "../store/tx.js";
import { fnv1a32 } from "../lib/hash.js";
import { startHeartbeat } from "./heartbeat.js";
import { exportJobStatus, recordAttempt, recordGivenUp, type JobMetrics } from "./job-metrics.js";
import { claimSlot, closeFailed, closeSucceeded, dueSlots, giveUpExhausted, queueSlot, readJobStatus, renewLease } from "./job-runs.js";
import { afterFailure, leaseTerms, resolvePolicy, retryDelayMs, type JobPolicy } from "./policy.js";

export interface JobSpec {
  name: string;
  cron: string;
  timeZone: string;
  /** `at` is the scheduled time (or the trigger time for an on-demand slot); retries get the same `at`. */
  run(at: Date): Promise<unknown>;
  /**
   * A slot that fires while the job still runs (another slot, on any worker): "skip" it (default;
   * right for jobs whose next run covers the missed one, such as rescoring everyone) or "queue" it
   * to run once the job is free (a day's digest is not covered by the next day's).
   */
  whenBusy?: "skip" | "queue";
}

export interface Scheduler {
  /**
   * Runs a job now under an explicit slot key (same once-per-cluster rule), e.g. "model:v7" so that
   * every worker seeing a new model triggers one cluster-wide rescoring. Null if skipped (the slot
   * is done, leased by another worker, or not due again yet) or if the attempt failed (it is then
   * retried with backoff by the workers' sweeps).
   */
  runNow(name: string, slotKey: string, at?: Date): Promise<unknown | null>;
  /** Looks once for slots that are due again and starts them (the timer does this every sweepMs; after stop() it only exports metrics). */
  sweep(): Promise<void>;
  /** Stops the cron timers and the sweep; runs in progress finish, and runNow still works. */
  stop(): void;
}

export interface SchedulerOptions {
  /** Job metrics (last success, last failure, duration); src/metrics/metrics.ts. */
  metrics?: JobMetrics;
  policy?: Partial<JobPolicy>;
}

const workerId = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/** Stable 32-bit key per job name for pg_try_advisory_lock. */
function lockKey(name: string): number {
  return fnv1a32(name) | 0;
}

interface RunContext {
  pool: pg.Pool;
  policy: JobPolicy;
  logger: Logger;
  metrics: JobMetrics | undefined;
  /** Jobs this process is running: its sweep does not queue up behind its own lock. */
  running: Set<string>;
  /** Set by stop(): a sweep already under way starts nothing more. */
  stopped: boolean;
}

/**
 * Retries the bookkeeping after a run for up to half a lease (the lease still holds meanwhile): a
 * "succeeded" lost to a brief database error would make another worker run the job again.
 */
async function persist<T>(write: () => Promise<T>, budgetMs: number): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let delay = 100; ; delay *= 2) {
    try {
      return await write();
    } catch (err) {
      if (Date.now() + delay > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * Claims (or takes over) one slot of a job and runs it; null when another worker has it, it is
 * not due, or the attempt failed. `at` is used for a fresh slot; a retried slot keeps its own.
 */
async function runSlot(ctx: RunContext, job: JobSpec, slotKey: string, at: Date, fromSweep = false): Promise<unknown | null> {
  const { pool, policy, logger: log } = ctx;
  // The client is held for the whole job (the advisory lock is its session's); withClient discards
  // it if the connection breaks meanwhile, and destroying a client whose unlock failed ends its
  // session, releasing the lock. A worker that dies releases it the same way.
  return withClient(pool, async (client, fail) => {
    const { rows: locked } = await client.query<{ ok: boolean }>("select pg_try_advisory_lock($1) as ok", [lockKey(job.name)]);
    if (!locked[0]!.ok) {
      if (fromSweep) {
        // The slot is recorded already; the next sweep tries again.
        log.debug({ job: job.name, slot: slotKey }, "job still running elsewhere; slot waits");
      } else if (job.whenBusy === "queue" && await queueSlot(client, { job: job.name, slot: slotKey, at, workerId })) {
        log.info({ job: job.name, slot: slotKey }, "job still running elsewhere; slot queued until it is free");
      } else {
        log.info({ job: job.name, slot: slotKey }, "job still running elsewhere; skipping this slot");
      }
      return null;
    }
    ctx.running.add(job.name);
    try {
      const claim = await claimSlot(client, {
        job: job.name, slot: slotKey, at, workerId, leaseMs: policy.leaseMs, maxAttempts: policy.maxAttempts,
        provisionalTakeoverMs: policy.leaseMs + retryDelayMs(1, policy),
      });
      if (!claim) return null;
      // The real takeover time for this attempt's number, before any work is done.
      await renewLease(client, { ...claim, workerId, ...leaseTerms(claim.attempt, policy) });
      if (claim.attempt > 1) log.warn({ job: job.name, slot: slotKey, attempt: claim.attempt }, "retrying job");
      const heartbeat = startHeartbeat(pool, claim, workerId, policy, log);
      const started = performance.now();
      try {
        let outcome: unknown;
        try {
          outcome = await job.run(claim.scheduledAt);
        } catch (err) {
          const durationMs = performance.now() - started;
          await heartbeat.stop();
          const next = afterFailure(claim.attempt, policy);
          const message = err instanceof Error ? err.message : String(err);
          const closed = await persist(() => closeFailed(pool, {
            ...claim, workerId, error: message, durationMs, retryDelayMs: next.kind === "retry" ? next.delayMs : null,
          }), policy.leaseMs / 2);
          if (closed) recordAttempt(ctx.metrics, job.name, false, closed.at, durationMs);
          const fields = { job: job.name, slot: slotKey, attempt: claim.attempt, maxAttempts: policy.maxAttempts, ms: Math.round(durationMs), err };
          if (next.kind === "retry") log.warn({ ...fields, retryInMs: next.delayMs }, "job failed; it will be retried");
          else log.error(fields, "job failed for good after its last attempt");
          return null;
        }
        const durationMs = performance.now() - started;
        await heartbeat.stop();
        const closed = await persist(() => closeSucceeded(pool, { ...claim, workerId, outcome, durationMs }), policy.leaseMs / 2);
        if (closed) {
          recordAttempt(ctx.metrics, job.name, true, closed.at, durationMs);
          log.info({ job: job.name, slot: slotKey, attempt: claim.attempt, ms: Math.round(durationMs), outcome }, "job finished");
        } else {
          log.error({ job: job.name, slot: slotKey, attempt: claim.attempt, outcome }, "job finished after its lease was lost; outcome not recorded");
        }
        return outcome ?? true;
      } finally {
        await heartbeat.stop();
      }
    } finally {
      ctx.running.delete(job.name);
      await client.query("select pg_advisory_unlock($1)", [lockKey(job.name)]).catch(fail);
    }
  });
}

/**
 * One sweep: fail for good the slots with no attempt left, start the slots that are due again
 * (without waiting for them), and export the cluster's job status as metrics.
 */
async function sweepOnce(ctx: RunContext, jobs: readonly JobSpec[]): Promise<void> {
  const names = jobs.map((j) => j.name);
  for (const g of await giveUpExhausted(ctx.pool, names, ctx.policy.maxAttempts)) {
    recordGivenUp(ctx.metrics, g.job, g.at);
    ctx.logger.error({ job: g.job, slot: g.slot, attempts: g.attempts }, "job failed for good: its last attempt's worker was lost");
  }
  for (const due of await dueSlots(ctx.pool, names, ctx.policy.maxAttempts)) {
    const job = jobs.find((j) => j.name === due.job);
    if (!job || ctx.running.has(job.name) || ctx.stopped) continue;
    // `at` is ignored for an existing slot: the retry runs for the slot's own scheduled time.
    void runSlot(ctx, job, due.slot, new Date(), true)
      .catch((err: unknown) => ctx.logger.warn({ err, job: due.job, slot: due.slot }, "could not retry job; the next sweep tries again"));
  }
  exportJobStatus(ctx.metrics, await readJobStatus(ctx.pool, names));
}

export function startScheduler(pool: pg.Pool, jobs: readonly JobSpec[], logger: Logger, options: SchedulerOptions = {}): Scheduler {
  const ctx: RunContext = {
    pool,
    policy: resolvePolicy(options.policy),
    logger: logger.child({ component: "scheduler" }),
    metrics: options.metrics,
    running: new Set(),
    stopped: false,
  };
  const tasks: ScheduledTask[] = jobs.map((job) =>
    cron.schedule(job.cron, async (ctxCron) => {
      // The slot is the scheduled minute, the same on every worker whatever its timer's jitter.
      const slot = new Date(Math.floor(ctxCron.date.getTime() / 60_000) * 60_000);
      await runSlot(ctx, job, slot.toISOString(), slot)
        .catch((err: unknown) => ctx.logger.error({ err, job: job.name, slot: slot.toISOString() }, "could not claim job slot"));
    }, { name: job.name, timezone: job.timeZone, noOverlap: true }),
  );

  // One sweep at a time per worker: the timer skips a tick while one runs; an explicit sweep()
  // waits for it and then looks again, so its caller sees the database as it is now.
  let current: Promise<void> | null = null;
  const sweep = async (): Promise<void> => {
    while (current) await current.catch(() => undefined);
    current = sweepOnce(ctx, jobs).finally(() => (current = null));
    return current;
  };
  const safeSweep = () => {
    if (current) return;
    sweep().catch((err: unknown) => ctx.logger.warn({ err }, "job sweep failed; trying again at the next one"));
  };
  const timer = setInterval(safeSweep, ctx.policy.sweepMs);
  timer.unref();
  // At start: slots abandoned while no worker was up run again, and the metrics show the cluster's status at once.
  safeSweep();

  return {
    runNow(name, slotKey, at = new Date()) {
      const job = jobs.find((j) => j.name === name);
      if (!job) throw new Error(`no job named ${name}`);
      return runSlot(ctx, job, slotKey, at);
    },
    sweep,
    stop() {
      ctx.stopped = true;
      clearInterval(timer);
      for (const t of tasks) void t.stop();
    },
  };
}

export function isValidCron(expr: string): boolean {
  return cron.validate(expr);
}
