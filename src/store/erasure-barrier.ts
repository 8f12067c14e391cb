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
 * Takes the barrier (shared) in the caller's transaction and says whether any customer was
 * erased since `readAt`, when the caller read what it is about to write: if so, it must leave out
 * customers whose state is gone. Two statements on purpose: a statement's snapshot is taken before
 * it waits for the lock, so the check must come after it.
 */
export async function passErasureBarrier(tx: Queryable, readAt: Date): Promise<boolean> {
  await tx.query(ERASURE_BARRIER_SHARED_SQL);
  const { rows } = await tx.query<{ erased: boolean }>(
    "select exists(select 1 from customer_erasure where erased_at >= $1) as erased",
    [new Date(readAt.getTime() - CLOCK_MARGIN_MS)],
  );
  return rows[0]?.erased ?? true;
}
