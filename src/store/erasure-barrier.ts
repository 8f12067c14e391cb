/**
 * The erasure barrier: what keeps a writer that read a customer before an erasure from writing the
 * customer back after it. Rescoring reads a page of states, computes for seconds (on threads), then
 * writes scores, history, CRM events and alerts; a digest reads its segment, then renders and
 * enqueues. An erasure that commits in between would otherwise be undone by those writes (a score
 * row, a risk-score event after the tombstone, the customer in a digest).
 *
 * One cluster-wide advisory lock: the erasure holds it exclusively for its transaction; such a
 * writer takes it shared as the first statement of its write transaction and then leaves out the
 * customers that are gone. So an erasure waits for the writes in flight (short transactions) and
 * they wait for it, and a write that starts after an erasure sees its result (under READ COMMITTED
 * each later statement takes a new snapshot). Ingest needs none of this: it locks the customer's
 * state row, which the erasure locks first.
 */
import type { Queryable } from "./queryable.js";

const KEY = "hashtextextended('churnwatch:erasure', 0)";

/** The erasure's side: exclusive until its transaction ends. */
export const ERASURE_BARRIER_EXCLUSIVE_SQL = `select pg_advisory_xact_lock(${KEY})`;

/** A writer's side: shared until its transaction ends. */
export const ERASURE_BARRIER_SHARED_SQL = `select pg_advisory_xact_lock_shared(${KEY})`;

/**
 * customer_erasure.erased_at is the database's clock and `readAt` the worker's: an erasure is
 * looked for this far before the read, so a worker clock running ahead cannot hide one (a false
 * alarm only costs the page an existence check).
 */
const CLOCK_MARGIN_MS = 10 * 60_000;

/**
 * The audit's key for a customer id (SQL over the id expression `idExpr`): a salted SHA-256, so
 * customer_erasure names nobody in clear. The one definition, for the erasure and its checks.
 */
export function customerHashSql(idExpr: string): string {
  return `(select encode(sha256(convert_to(s.salt || ':' || ${idExpr}, 'UTF8')), 'hex') from erasure_salt s)`;
}

/** SQL: the customer `idExpr` was erased at or after the timestamptz `sinceExpr`. */
export function erasedSinceSql(idExpr: string, sinceExpr: string): string {
  return `exists (select 1 from customer_erasure e where e.erased_at >= ${sinceExpr} and e.customer_hash = ${customerHashSql(idExpr)})`;
}

/**
 * Takes the barrier (shared) in the caller's transaction and says whether any customer was
 * erased since `readAt`, when the caller read what it is about to write: if so it returns the time
 * to check erasures from (null: none), and the caller must leave out customers whose state is gone
 * or who were erased since (a new event may have started a new state row after the erasure, which
 * the old read must not overwrite). Two statements on purpose: a statement's snapshot is taken
 * before it waits for the lock, so the check must come after it.
 */
export async function passErasureBarrier(tx: Queryable, readAt: Date): Promise<Date | null> {
  await tx.query(ERASURE_BARRIER_SHARED_SQL);
  const since = new Date(readAt.getTime() - CLOCK_MARGIN_MS);
  const { rows } = await tx.query<{ erased: boolean }>(
    "select exists(select 1 from customer_erasure where erased_at >= $1) as erased",
    [since],
  );
  return (rows[0]?.erased ?? true) ? since : null;
}
