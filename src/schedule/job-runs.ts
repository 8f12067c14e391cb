/**
 * The job_run and job_status bookkeeping of scheduled jobs: claiming a slot as a lease, renewing
 * it, closing it (success, retry, failed for good) and finding slots that are due again. Every
 * comparison with "now" is made with the database's clock, so workers with skewed clocks agree on
 * when a lease has expired. Which backoff applies is decided by policy.ts and passed in here.
 */
import type { Queryable } from "../store/queryable.js";

export interface SlotRef {
  job: string;
  slot: string;
}

export interface Claim extends SlotRef {
  /** This attempt's number, 1 for a fresh slot. */
  attempt: number;
  /** The time the job runs for: the slot's original schedule, also on retries. */
  scheduledAt: Date;
}

const ms = (n: number | null) => (n === null ? null : Math.round(n));

/**
 * Claims a fresh slot, or takes over one that is due again (its last attempt failed, or its lease
 * expired, and the backoff has passed). Null when the slot is done, failed for good, not due yet,
 * or still leased by a live worker. The caller holds the job's advisory lock, so two workers never
 * race for one slot's takeover; the conditions are re-checked here all the same.
 */
export async function claimSlot(
  db: Queryable,
  ref: SlotRef & { at: Date; workerId: string; leaseMs: number; maxAttempts: number; provisionalTakeoverMs: number },
): Promise<Claim | null> {
  // next_attempt_at gets a provisional value (the shortest backoff) because the attempt number is
  // known only once the row is claimed; the caller's first lease renewal sets the real one. A
  // worker that dies in between still leaves a slot that is retried, never one that is stuck.
  const { rows } = await db.query<{ attempts: number; scheduled_at: Date }>(
    `insert into job_run as r (job, slot, claimed_by, status, attempts, claimed_until, next_attempt_at, scheduled_at)
     values ($1, $2, $3, 'running', 1, now() + $4::float8 * interval '1 millisecond', now() + $7::float8 * interval '1 millisecond', $5)
     on conflict (job, slot) do update
        set claimed_by = excluded.claimed_by, status = 'running', attempts = r.attempts + 1,
            claimed_until = excluded.claimed_until, next_attempt_at = excluded.next_attempt_at,
            started_at = now(), finished_at = null
      where r.status in ('running', 'retry') and r.next_attempt_at <= now()
        and (r.claimed_until is null or r.claimed_until < now()) and r.attempts < $6
     returning attempts, coalesce(scheduled_at, started_at) as scheduled_at`,
    [ref.job, ref.slot, ref.workerId, ms(ref.leaseMs), ref.at, ref.maxAttempts, ms(ref.provisionalTakeoverMs)],
  );
  const row = rows[0];
  return row ? { job: ref.job, slot: ref.slot, attempt: row.attempts, scheduledAt: row.scheduled_at } : null;
}

/**
 * Records a slot that could not start because the job is running elsewhere, as due now: the
 * sweeps start it once the job's lock is free. Nothing happens if the slot already exists.
 */
export async function queueSlot(db: Queryable, ref: SlotRef & { at: Date; workerId: string }): Promise<boolean> {
  const res = await db.query(
    `insert into job_run (job, slot, claimed_by, status, attempts, next_attempt_at, scheduled_at)
     values ($1, $2, $3, 'retry', 0, now(), $4) on conflict (job, slot) do nothing`,
    [ref.job, ref.slot, ref.workerId, ref.at],
  );
  return res.rowCount === 1;
}

/**
 * Extends the lease of the running attempt and sets when another worker may take over should this
 * one die (null on the last attempt: then it is failed for good instead). False when the lease is
 * no longer ours: another worker took the slot over after it expired.
 */
export async function renewLease(
  db: Queryable,
  claim: Claim & { workerId: string; leaseMs: number; takeoverMs: number | null },
): Promise<boolean> {
  const res = await db.query(
    `update job_run set claimed_until = now() + $5::float8 * interval '1 millisecond',
                        next_attempt_at = now() + $6::float8 * interval '1 millisecond'
      where job = $1 and slot = $2 and claimed_by = $3 and attempts = $4 and status = 'running'`,
    [claim.job, claim.slot, claim.workerId, claim.attempt, ms(claim.leaseMs), ms(claim.takeoverMs)],
  );
  return res.rowCount === 1;
}

/** The closing of one attempt, and the database time it was recorded at (null: the lease was lost). */
export interface Closed {
  at: Date;
}

/** Records a successful attempt in job_run and job_status. */
export async function closeSucceeded(
  db: Queryable,
  claim: Claim & { workerId: string; outcome: unknown; durationMs: number },
): Promise<Closed | null> {
  const { rows } = await db.query<{ at: Date }>(
    `with done as (
       update job_run set status = 'succeeded', finished_at = now(), claimed_until = null, next_attempt_at = null,
                          outcome = $5, duration_ms = $6
        where job = $1 and slot = $2 and claimed_by = $3 and attempts = $4 and status = 'running'
       returning job, slot, finished_at
     ), st as (
       insert into job_status as s (job, last_success_at, last_duration_ms, last_slot, updated_at)
       select job, finished_at, $6, slot, now() from done
       on conflict (job) do update set last_success_at = excluded.last_success_at, last_duration_ms = excluded.last_duration_ms,
                                       last_slot = excluded.last_slot, updated_at = now()
     )
     select finished_at as at from done`,
    [claim.job, claim.slot, claim.workerId, claim.attempt, JSON.stringify(claim.outcome ?? null), ms(claim.durationMs)],
  );
  return rows[0] ? { at: rows[0].at } : null;
}

/**
 * Records a failed attempt: due again after `retryDelayMs`, or (null) failed for good. The job's
 * last failure is recorded either way.
 */
export async function closeFailed(
  db: Queryable,
  claim: Claim & { workerId: string; error: string; durationMs: number; retryDelayMs: number | null },
): Promise<Closed | null> {
  const retry = claim.retryDelayMs !== null;
  const { rows } = await db.query<{ at: Date }>(
    `with done as (
       update job_run set status = case when $7 then 'retry' else 'failed' end,
                          finished_at = case when $7 then null else now() end,
                          claimed_until = null,
                          next_attempt_at = case when $7 then now() + $8::float8 * interval '1 millisecond' end,
                          outcome = jsonb_build_object('error', $5::text), last_error = $5, duration_ms = $6
        where job = $1 and slot = $2 and claimed_by = $3 and attempts = $4 and status = 'running'
       returning job, slot
     ), st as (
       insert into job_status as s (job, last_failure_at, last_duration_ms, last_slot, last_error, updated_at)
       select job, now(), $6, slot, $5, now() from done
       on conflict (job) do update set last_failure_at = excluded.last_failure_at, last_duration_ms = excluded.last_duration_ms,
                                       last_slot = excluded.last_slot, last_error = excluded.last_error, updated_at = now()
     )
     select now() as at from done`,
    [claim.job, claim.slot, claim.workerId, claim.attempt, claim.error, ms(claim.durationMs), retry, ms(claim.retryDelayMs)],
  );
  return rows[0] ? { at: rows[0].at } : null;
}

export interface GivenUp extends SlotRef {
  attempts: number;
  at: Date;
}

/**
 * Fails for good the slots of `jobs` that can have no further attempt: the last attempt's worker
 * died (lease expired), or the attempt limit was lowered below what a waiting slot has used.
 */
export async function giveUpExhausted(db: Queryable, jobs: readonly string[], maxAttempts: number): Promise<GivenUp[]> {
  const { rows } = await db.query<{ job: string; slot: string; attempts: number; at: Date }>(
    `with gone as (
       update job_run set status = 'failed', finished_at = now(), claimed_until = null, next_attempt_at = null,
                          last_error = case when status = 'running' then 'worker lost (lease expired) on the last attempt' else last_error end,
                          outcome = jsonb_build_object('error', case when status = 'running' then 'worker lost (lease expired) on the last attempt' else last_error end)
        where job = any($1) and attempts >= $2
          and ((status = 'running' and claimed_until < now()) or status = 'retry')
       returning job, slot, attempts, finished_at, last_error
     ), st as (
       insert into job_status as s (job, last_failure_at, last_slot, last_error, updated_at)
       select distinct on (job) job, finished_at, slot, last_error, now() from gone order by job, slot
       on conflict (job) do update set last_failure_at = excluded.last_failure_at, last_slot = excluded.last_slot,
                                       last_error = excluded.last_error, updated_at = now()
     )
     select job, slot, attempts, finished_at as at from gone`,
    [jobs, maxAttempts],
  );
  return rows;
}

/** Slots of `jobs` that are due for another attempt now, oldest first. */
export async function dueSlots(db: Queryable, jobs: readonly string[], maxAttempts: number, limit = 20): Promise<SlotRef[]> {
  const { rows } = await db.query<SlotRef>(
    `select job, slot from job_run
      where status in ('running', 'retry') and next_attempt_at <= now()
        and (claimed_until is null or claimed_until < now()) and attempts < $2 and job = any($1)
      order by next_attempt_at limit $3`,
    [jobs, maxAttempts, limit],
  );
  return rows;
}

export interface JobStatusRow {
  job: string;
  last_success_at: Date | null;
  last_failure_at: Date | null;
}

export async function readJobStatus(db: Queryable, jobs: readonly string[]): Promise<JobStatusRow[]> {
  const { rows } = await db.query<JobStatusRow>(
    "select job, last_success_at, last_failure_at from job_status where job = any($1)",
    [jobs],
  );
  return rows;
}
