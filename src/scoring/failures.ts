/**
 * Customers set aside (table scoring_failure): one whose scoring throws must not stop everyone
 * else, so it is recorded with the error and retried later with a doubling delay, while the rest
 * of its page is scored. Its row goes away when it scores again.
 */
import type { Queryable } from "../store/queryable.js";

export interface FailureBackoff {
  /** Delay before the first retry. */
  baseMs: number;
  /** Ceiling for the doubling. */
  maxMs: number;
}

export const DEFAULT_FAILURE_BACKOFF: FailureBackoff = { baseMs: 60_000, maxMs: 6 * 3600_000 };

/** Longest error text kept: enough for a stack's first lines, never a whole state. */
const MAX_ERROR = 2000;

export async function recordFailures(
  db: Queryable,
  failures: readonly { customerId: string; error: string }[],
  opts: { now: Date; modelVersion: string; backoff?: FailureBackoff },
): Promise<void> {
  if (failures.length === 0) return;
  const b = opts.backoff ?? DEFAULT_FAILURE_BACKOFF;
  await db.query(
    `insert into scoring_failure as f (customer_id, error, attempts, model_version, first_failed_at, last_failed_at, next_attempt_at)
     select x.i, x.e, 1, $2, $3, $3, $3::timestamptz + ($4::bigint * interval '1 millisecond')
       from json_to_recordset($1::json) as x(i text, e text)
      -- A customer erased meanwhile is not written back (failures are rare: the lookup costs nothing).
      where exists (select 1 from customer_state s where s.customer_id = x.i)
     on conflict (customer_id) do update set
       error = excluded.error, attempts = f.attempts + 1, model_version = excluded.model_version, last_failed_at = excluded.last_failed_at,
       next_attempt_at = excluded.last_failed_at + (least($5::float8, $4::float8 * power(2, f.attempts)) * interval '1 millisecond')`,
    [JSON.stringify(failures.map((f) => ({ i: f.customerId, e: f.error.slice(0, MAX_ERROR) }))), opts.modelVersion, opts.now, b.baseMs, b.maxMs],
  );
}

/** Of these customers, the ones with a failure row (so a success can clear it). */
export async function failingAmong(db: Queryable, customerIds: readonly string[]): Promise<Set<string>> {
  if (customerIds.length === 0) return new Set();
  const { rows } = await db.query<{ customer_id: string }>("select customer_id from scoring_failure where customer_id = any($1::text[])", [customerIds]);
  return new Set(rows.map((r) => r.customer_id));
}

/** Every customer with a failure row (for a full rescoring: the table holds at most one row per customer). */
export async function allFailing(db: Queryable): Promise<Set<string>> {
  const { rows } = await db.query<{ customer_id: string }>("select customer_id from scoring_failure");
  return new Set(rows.map((r) => r.customer_id));
}

export async function clearFailures(db: Queryable, customerIds: readonly string[]): Promise<void> {
  if (customerIds.length === 0) return;
  await db.query("delete from scoring_failure where customer_id = any($1::text[])", [customerIds]);
}

/**
 * Claims up to `limit` failures that are due for a retry, pushing their next attempt out by
 * `leaseMs` so another worker's retry loop does not take the same customers at the same time.
 */
export async function claimDueFailures(db: Queryable, now: Date, limit: number, leaseMs: number): Promise<string[]> {
  const { rows } = await db.query<{ customer_id: string }>(
    `update scoring_failure set next_attempt_at = $1::timestamptz + ($3::bigint * interval '1 millisecond')
      where customer_id in (select customer_id from scoring_failure where next_attempt_at <= $1
                             order by next_attempt_at limit $2 for update skip locked)
     returning customer_id`,
    [now, limit, leaseMs],
  );
  return rows.map((r) => r.customer_id);
}
