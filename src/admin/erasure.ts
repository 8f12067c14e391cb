/**
 * Erasure of one customer (GDPR Art. 17): everything stored about them goes in ONE transaction,
 * a tombstone for the CRM topic is queued in the same transaction (the event-outbox relay sends
 * it after commit, behind any of the customer's events still in flight), and an audit row is kept
 * without personal data: the id only as a salted SHA-256, counts per table, when, who and why.
 *
 * Nothing waits on the network inside the transaction. After commit, the file transport's .eml
 * copies that mention the customer are deleted (OUTBOX_DIR), and the audit row gets their count.
 *
 * Idempotent: a second erasure finds nothing, and writes one more tombstone and audit row (both
 * harmless: a compacted topic keeps one tombstone per key; the audit shows the repeat).
 *
 * Events of the customer that arrive after the erasure are new data and start a new history (the
 * contract says so, events/schema.ts erasure_request; the state cache checks updated_at for that
 * reason, ingest/write/state-cache.ts). Redelivered old messages cannot come back through ingest:
 * Kafka offsets are stored with the data, so a consumer never reads below them again; a deliberate
 * replay of the source topics from before the erasure would (README: "Erasure and access").
 *
 * Concurrency: the exclusive erasure barrier (store/erasure-barrier.ts) waits for rescoring pages
 * and digests in flight and makes later ones leave the customer out; the state row lock orders
 * the erasure against ingest batches of the customer.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { deleteFileMessages } from "../outreach/transport.js";
import { ERASURE_BARRIER_EXCLUSIVE_SQL, customerHashSql } from "../store/erasure-barrier.js";
import { inTransaction } from "../store/tx.js";
import { CUSTOMER_TABLES, customerIdentity, findDeadLetters, findMails, mailMatcher } from "./customer-data.js";

export interface EraseOptions {
  /** "cli" or "event". */
  source: string;
  /** Who or what asked: an operator's name, or the request event's topic[partition]@offset. No customer data. */
  requestedBy: string;
  /** Why: a ticket reference, not the customer's name (it is kept in the audit). */
  reason?: string | null;
  /** When the customer asked (an event's occurredAt); default now. */
  requestedAt?: Date;
  /** The file transport's folder (OUTBOX_DIR): .eml copies mentioning the customer are deleted after commit. */
  outboxDir?: string | null;
}

export interface ErasureResult {
  /** customer_erasure.id of the audit row. */
  auditId: number;
  /** The salted hash the audit keeps (find an erasure again from the id, never the other way). */
  customerHash: string;
  /** Rows (or files) removed, by what they were. */
  removed: Record<string, number>;
  /** The tombstone's event id in event_outbox. */
  tombstoneEventId: string;
}

async function deleteCount(tx: pg.PoolClient, sql: string, params: unknown[]): Promise<number> {
  return (await tx.query(sql, params)).rowCount ?? 0;
}

/** The database part: one transaction. Returns the result and the after-commit file matcher. */
async function eraseInDatabase(pool: pg.Pool, customerId: string, opts: EraseOptions) {
  return inTransaction(pool, async (tx) => {
    // Rescoring pages and digests in flight finish first; later ones see the customer gone.
    await tx.query(ERASURE_BARRIER_EXCLUSIVE_SQL);
    // An ingest batch of the customer either committed before this (and is erased) or waits here
    // and then starts a new history (the row is gone when its lock is granted).
    await tx.query("select 1 from customer_state where customer_id = $1 for update", [customerId]);
    // Addresses and names are read before the rows that hold them go: they find the mail and dead letters.
    const who = await customerIdentity(tx, customerId);
    const removed: Record<string, number> = {};
    for (const table of CUSTOMER_TABLES) {
      removed[table] = await deleteCount(tx, `delete from ${table} where customer_id = $1`, [customerId]);
    }
    // Week member lists (settled weeks keep their counts, which are not about anyone).
    removed.segment_snapshot_members = await deleteCount(
      tx, "update segment_snapshot set members = array_remove(members, $1) where $1 = any(members)", [customerId]);
    removed.erasure_request = await deleteCount(tx, "delete from erasure_request where customer_id = $1", [customerId]);
    const deadLetters = await findDeadLetters(tx, who);
    removed.dead_letter = await deleteCount(tx, "delete from dead_letter where id = any($1::bigint[])", [deadLetters.map((d) => d.id)]);
    // Mail of any status: unsent mail must not go out, and sent mail's stored copy names the
    // customer as much as a pending one. A digest naming others too is withdrawn whole (README).
    const mails = await findMails(tx, who);
    removed.outbox_message = await deleteCount(tx, "delete from outbox_message where id = any($1::text[])", [mails.map((m) => m.id)]);
    // Serialised with the relay's claims, so the set of rows in flight cannot change meanwhile (taken
    // last: the relay waits only for the rest of this transaction, not for the scans above). Rows
    // claimed right now are being sent: they stay until acknowledged (then deleted) and go out
    // before the tombstone, which the relay sends after every earlier event of the customer.
    await tx.query("select pg_advisory_xact_lock(hashtextextended('churnwatch:event-outbox-claim', 0))");
    removed.event_outbox = await deleteCount(
      tx, "delete from event_outbox where customer_id = $1 and (claimed_until is null or claimed_until < now())", [customerId]);
    const tombstoneEventId = randomUUID();
    await tx.query("insert into event_outbox (event_id, kind, customer_id, payload) values ($1, 'tombstone', $2, null)", [tombstoneEventId, customerId]);
    const { rows } = await tx.query<{ id: string; customer_hash: string }>(
      // erased_at is the commit's neighbourhood, not the transaction's start (now()): rescoring pages
      // compare it with when they read, and this transaction may have waited for the barrier and scanned long.
      `insert into customer_erasure (customer_hash, source, requested_by, reason, requested_at, removed, erased_at)
       select ${customerHashSql("$1::text")}, $2, $3, $4, coalesce($5, now()), $6::jsonb, clock_timestamp()
       returning id, customer_hash`,
      [customerId, opts.source, opts.requestedBy, opts.reason ?? null, opts.requestedAt ?? null, JSON.stringify(removed)],
    );
    const audit = rows[0];
    if (!audit) throw new Error("erasure_salt has no row: the erasure migration did not run completely");
    return { result: { auditId: Number(audit.id), customerHash: audit.customer_hash, removed, tombstoneEventId }, matcher: mailMatcher(who) };
  });
}

/** The database part committed, the file transport's copies were not all deleted: erase again to retry them. */
export class ErasureFilesError extends Error {
  constructor(readonly auditId: number, message: string, cause: unknown) {
    super(message, { cause });
    this.name = "ErasureFilesError";
  }
}

/**
 * Erases `customerId`: the database in one transaction, then the file transport's copies. The
 * tombstone is in event_outbox when this returns; wake the relay to send it at once.
 */
export async function eraseCustomer(pool: pg.Pool, customerId: string, opts: EraseOptions): Promise<ErasureResult> {
  if (customerId.trim() === "") throw new Error("an erasure needs a customer id");
  const { result, matcher } = await eraseInDatabase(pool, customerId, opts);
  if (opts.outboxDir) {
    try {
      result.removed.eml_files = await deleteFileMessages(opts.outboxDir, matcher);
    } catch (err) {
      // The database part is done and cannot be repeated with the addresses (they are gone); a
      // second erasure still finds the files by the id, which digests and alerts always show.
      throw new ErasureFilesError(result.auditId, `erased in the database (audit ${result.auditId}), but deleting the .eml copies in ${opts.outboxDir} failed: ` +
        `${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; erase again to retry the files`, err);
    }
    await pool.query("update customer_erasure set removed = removed || jsonb_build_object('eml_files', $2::int) where id = $1", [result.auditId, result.removed.eml_files]);
  }
  return result;
}
