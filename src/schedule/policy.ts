/**
 * The lease and retry rules of scheduled jobs, as pure functions: the scheduler's SQL only stores
 * what these decide, so the rules are unit-tested without a database.
 *
 * A running attempt holds a lease (job_run.claimed_until) that its worker renews every
 * `heartbeatMs`. If the worker dies, the lease runs out and, after the backoff for the attempt
 * that died, any worker may start the next attempt. A failed attempt waits the same backoff.
 * After `maxAttempts` attempts the slot is failed for good.
 */

export interface JobPolicy {
  /** How long a claim holds without a heartbeat; a dead worker's slot is free this long after its last one. */
  leaseMs: number;
  /** How often a running attempt renews its lease; at most half the lease, so one late renewal loses nothing. */
  heartbeatMs: number;
  /** Attempts per slot, the first included; then the slot is failed for good (logged at error). */
  maxAttempts: number;
  /** Backoff after the first failed or abandoned attempt; it doubles with each attempt. */
  retryBaseMs: number;
  /** Backoff cap. */
  retryMaxMs: number;
  /** How often each worker looks for slots that are due again (abandoned or failed). */
  sweepMs: number;
}

/**
 * A dead worker's job runs again leaseMs + retryBaseMs (+ up to sweepMs) after its last
 * heartbeat: 90-100 s. The lease outlasts two missed renewals (a pool busy with ingest). Six
 * attempts spread over 31 minutes of backoff, so a database restart or a short outage does not
 * cost a day's digest.
 */
export const DEFAULT_JOB_POLICY: Readonly<JobPolicy> = Object.freeze({
  leaseMs: 30_000,
  heartbeatMs: 10_000,
  maxAttempts: 6,
  retryBaseMs: 60_000,
  retryMaxMs: 30 * 60_000,
  sweepMs: 10_000,
});

/** Fills in the defaults and refuses rules that would lose leases or never retry. */
export function resolvePolicy(partial: Partial<JobPolicy> = {}): JobPolicy {
  const p: JobPolicy = { ...DEFAULT_JOB_POLICY, ...partial };
  for (const [key, value] of Object.entries(p)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`job policy ${key} must be a whole number >= 1, got ${value}`);
  }
  if (p.heartbeatMs * 2 > p.leaseMs) {
    throw new RangeError(`job policy heartbeatMs (${p.heartbeatMs}) must be at most half of leaseMs (${p.leaseMs})`);
  }
  if (p.retryMaxMs < p.retryBaseMs) throw new RangeError(`job policy retryMaxMs (${p.retryMaxMs}) is below retryBaseMs (${p.retryBaseMs})`);
  return p;
}

/** The wait after attempt `attempt` (1-based) failed or was abandoned: base x 2^(attempt-1), capped. */
export function retryDelayMs(attempt: number, p: JobPolicy): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be a whole number >= 1, got ${attempt}`);
  // Capped before the power grows: 2^1100 is Infinity, and the cap is reached long before.
  const doublings = Math.min(attempt - 1, 40);
  return Math.min(p.retryMaxMs, p.retryBaseMs * 2 ** doublings);
}

export type FailureDecision = { kind: "retry"; delayMs: number } | { kind: "give-up" };

/** What follows a failed attempt: another one after the backoff, or the end of the slot. */
export function afterFailure(attempt: number, p: JobPolicy): FailureDecision {
  return attempt >= p.maxAttempts ? { kind: "give-up" } : { kind: "retry", delayMs: retryDelayMs(attempt, p) };
}

/**
 * Lease terms written at each claim and heartbeat: the lease end, and when another worker may
 * start the next attempt if this one dies now (the lease end plus the backoff for this attempt).
 * Null `takeoverMs` on the last attempt: when it dies, the slot is failed for good instead.
 */
export function leaseTerms(attempt: number, p: JobPolicy): { leaseMs: number; takeoverMs: number | null } {
  const next = afterFailure(attempt, p);
  return { leaseMs: p.leaseMs, takeoverMs: next.kind === "retry" ? p.leaseMs + next.delayMs : null };
}
