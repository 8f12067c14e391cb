/**
 * The event outbox (table event_outbox): CRM events are rows written in the transaction that
 * decides them (scoring/write-page.ts), and relayed to Kafka after commit (relay.ts). These are the
 * relay's statements. None of them runs inside a transaction that also waits on Kafka: a claim is
 * a lease written into the row (claimed_by, claimed_until), not a lock held while sending, so a
 * broker outage holds no database lock and another worker takes over rows whose lease ran out.
 * A customer's events are claimed by one relay at a time, oldest first, so they reach Kafka in
 * the order written even with several relays.
 */
import type pg from "pg";
import type { Queryable } from "../store/queryable.js";
import { inTransaction } from "../store/tx.js";

export const EVENT_KINDS = ["risk-score", "lifecycle"] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** What the scoring transaction writes per event. */
export interface OutboxEvent {
  eventId: string;
  kind: EventKind;
  customerId: string;
  /** The event's JSON text, sent as is (every retry sends the same bytes). */
  payload: string;
}

/**
 * What an erasure writes (admin/erasure.ts): the customer's key with a null value, which a
 * compacted CRM topic keeps in place of every earlier event of the customer and finally drops too.
 * It is a plain null value in every envelope format (a CloudEvent cannot be a tombstone).
 */
export interface OutboxTombstone {
  eventId: string;
  kind: "tombstone";
  customerId: string;
  payload: null;
}

/** Anything the relay sends. */
export type RelayedEvent = OutboxEvent | OutboxTombstone;

export type ClaimedEvent = RelayedEvent & {
  id: number;
  attempts: number;
};

/**
 * Claims up to `limit` of the oldest unclaimed (or lease-expired) rows for `claimant` for
 * `leaseMs`, in insertion order, leaving out every customer that has rows under another relay's
 * live claim: those rows must reach Kafka first, or a CRM would apply the customer's events out
 * of order. Claims run one at a time (a transaction-scoped advisory lock held for the statement
 * only, never while sending), so a claim always sees the claims made before it.
 */
export async function claimEvents(pool: pg.Pool, claimant: string, limit: number, leaseMs: number): Promise<ClaimedEvent[]> {
  const rows = await inTransaction(pool, async (client) => {
    await client.query("select pg_advisory_xact_lock(hashtextextended('churnwatch:event-outbox-claim', 0))");
    const res = await client.query<{ id: number; event_id: string; kind: EventKind | "tombstone"; customer_id: string; payload: string | null; attempts: number }>(
      `update event_outbox o
          set claimed_by = $1, claimed_until = now() + ($3::int * interval '1 millisecond'), attempts = o.attempts + 1
        where o.id in (select c.id from event_outbox c
                        where (c.claimed_until is null or c.claimed_until < now())
                          and not exists (select 1 from event_outbox h
                                           where h.claimed_until is not null and h.claimed_until >= now() and h.customer_id = c.customer_id)
                        order by c.id limit $2)
       returning o.id, o.event_id, o.kind, o.customer_id, o.payload, o.attempts`,
      [claimant, limit, leaseMs],
    );
    return res.rows;
  });
  // RETURNING follows no order: the Kafka send must keep each customer's events in the order written.
  return rows
    .map((r): ClaimedEvent => {
      const base = { id: r.id, eventId: r.event_id, customerId: r.customer_id, attempts: r.attempts };
      return r.kind === "tombstone" ? { ...base, kind: "tombstone", payload: null } : { ...base, kind: r.kind, payload: r.payload ?? "null" };
    })
    .sort((a, b) => a.id - b.id);
}

/** The broker acknowledged these: they are done. Only the claimant's own rows (a lease may have passed on). */
export async function ackEvents(db: Queryable, claimant: string, ids: readonly number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const res = await db.query("delete from event_outbox where id = any($1::bigint[]) and claimed_by = $2", [ids, claimant]);
  return res.rowCount ?? 0;
}

/** Sending failed: give the rows back at once (another relay, or this one after its backoff, retries them). */
export async function releaseEvents(db: Queryable, claimant: string, ids: readonly number[], error: string): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    "update event_outbox set claimed_by = null, claimed_until = null, last_error = $3 where id = any($1::bigint[]) and claimed_by = $2",
    [ids, claimant, error.slice(0, 1000)],
  );
}

/**
 * The retention rule: rows older than `maxAgeMs` are dropped unsent, so a broker that stays away
 * (or a topic nobody can write to) cannot grow the table without bound. Returns what was dropped,
 * by kind, for the log and the failed-outbox metric. Batched so one call never holds many locks.
 * Tombstones are never dropped: without one the CRM topic would keep an erased customer's last
 * events for good (there is one row per erasure, so they cannot grow the table much).
 */
export async function pruneEvents(db: Queryable, maxAgeMs: number, batch = 10_000): Promise<Record<string, number>> {
  const { rows } = await db.query<{ kind: string; n: number }>(
    `with gone as (
       delete from event_outbox where id in (
         select id from event_outbox where created_at < now() - ($1::bigint * interval '1 millisecond')
          and kind <> 'tombstone' and (claimed_until is null or claimed_until < now())
          order by id limit $2)
       returning kind)
     select kind, count(*)::int as n from gone group by kind`,
    [maxAgeMs, batch],
  );
  return Object.fromEntries(rows.map((r) => [r.kind, r.n]));
}

export interface OutboxBacklog {
  pending: Record<string, number>;
  /** Age of the oldest row, seconds (0 when empty). */
  oldestAgeSeconds: number;
}

export async function outboxBacklog(db: Queryable): Promise<OutboxBacklog> {
  const { rows } = await db.query<{ kind: string; n: number; oldest: number | null }>(
    "select kind, count(*)::int as n, extract(epoch from now() - min(created_at))::float8 as oldest from event_outbox group by kind",
  );
  return {
    pending: Object.fromEntries(rows.map((r) => [r.kind, r.n])),
    oldestAgeSeconds: Math.max(0, ...rows.map((r) => r.oldest ?? 0)),
  };
}
