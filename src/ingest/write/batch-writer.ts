/**
 * Writes one Kafka partition batch in ONE Postgres transaction: raw events (deduped by eventId),
 * the customer states they change, dead-letter records, erasure requests and the partition's next
 * offset.
 * Because the offset commits with the data, a crash anywhere before COMMIT loses nothing and a
 * crash after it double-counts nothing: the redelivered messages sit below the stored offset.
 *
 * One multi-row statement per table (unnest of arrays): per-row statements cap ingest near
 * 500 events/s (docs/architecture.md).
 */
import type pg from "pg";
import type { CustomerState } from "../../features/index.js";
import type { ValidEvent, Reject } from "../prepare.js";
import { inTransactionOr, Rollback } from "../../store/tx.js";
import { safeReason } from "../../events/reason.js";
import type { StateCache } from "./state-cache.js";
import { applyToStates } from "./apply.js";

export interface PartitionRef {
  groupId: string;
  topic: string;
  partition: number;
}

export interface BatchWrite {
  events: readonly ValidEvent[];
  rejects: readonly Reject[];
  nextOffset: number;
}

export interface BatchOutcome {
  applied: number;
  /** Valid events whose eventId was already stored (replays, producer retries). */
  duplicates: number;
  /** Messages another transaction committed first (rebalance overlap); nothing was written for them. */
  skippedByOffset: number;
  customers: string[];
  deadLettered: number;
  /**
   * Customers with an erasure request recorded by this batch (erasure_request rows): the caller
   * runs their erasure after commit (admin/erasure.ts); the sweep does if it never gets to.
   */
  erasures: string[];
}

/**
 * Locks the partition's offset row and returns the stored next offset. Two workers briefly owning
 * the same partition during a rebalance serialise here; the later one sees the new offset.
 */
async function lockOffset(client: pg.PoolClient, ref: PartitionRef): Promise<{ stored: number | null; txAt: Date }> {
  // The no-op update takes the row lock and returns the stored value in one round trip, with the
  // transaction's now() as customer_state.updated_at will hold it (the state cache's stamp).
  const { rows } = await client.query<{ next_offset: number; tx_at: Date }>(
    `insert into consumer_offset (group_id, topic, partition, next_offset) values ($1, $2, $3, -1)
     on conflict (group_id, topic, partition) do update set next_offset = consumer_offset.next_offset
     returning next_offset, now()::timestamptz(3) as tx_at`,
    [ref.groupId, ref.topic, ref.partition],
  );
  const stored = Number(rows[0]!.next_offset);
  return { stored: stored < 0 ? null : stored, txAt: rows[0]!.tx_at };
}

/**
 * Columns travel as one text parameter each, values joined by U+001E and split by Postgres with
 * string_to_array. Measured here: about half the server CPU of one json_to_recordset document
 * (which re-serialises every nested JSON value) and a third less client CPU than pg's array
 * literals (which escape every quote of every payload). No value can contain U+001E: ids refuse
 * control characters at validation, JSON.stringify escapes them, and instants are ISO text.
 */
const SEP = "\u001e";
function column(values: readonly (string | number)[], opts: { jsonText?: boolean } = {}): string {
  // JSON.stringify escapes every control character, so JSON text needs no check (measured: the
  // scan of the payload column alone was 4% of ingest CPU); ids and instants are checked.
  if (!opts.jsonText) {
    for (const v of values) {
      if (typeof v === "string" && v.includes(SEP)) throw new Error("a value holds the column separator U+001E");
    }
  }
  return values.join(SEP);
}
const split = (n: number) => `string_to_array($${n}, E'\\x1e')`;

async function insertRawEvents(client: pg.PoolClient, ref: PartitionRef, events: readonly ValidEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const { rows: inserted } = await client.query<{ event_id: string }>(
    `insert into raw_event (event_id, customer_id, type, occurred_at, payload, source_topic, source_partition, source_offset)
     select e.i, e.c, e.t, e.a::timestamptz, e.p::json, $7, $8, e.o::bigint
       from unnest(${split(1)}, ${split(2)}, ${split(3)}, ${split(4)}, ${split(5)}, ${split(6)}) as e(i, c, t, a, p, o)
     on conflict (event_id) do nothing
     returning event_id`,
    [
      column(events.map((e) => e.event.eventId)),
      column(events.map((e) => e.event.customerId)),
      column(events.map((e) => e.event.type)),
      column(events.map((e) => e.event.occurredAt)),
      column(events.map((e) => JSON.stringify(e.event)), { jsonText: true }),
      column(events.map((e) => e.offset)),
      ref.topic,
      ref.partition,
    ],
  );
  return new Set(inserted.map((r) => r.event_id));
}

type StateRow = { customer_id: string; state: CustomerState | null; event_count: number; updated_at: Date };

/**
 * Locks the customers' rows and returns their current states. The state column (the bulk of the
 * row, and a JSON parse per customer) is only read for customers the cache does not hold at the
 * row's current event_count and updated_at.
 */
const selectForUpdateSql = (wait: "" | " nowait") => `select s.customer_id, s.event_count, s.updated_at,
       case when c.n is distinct from s.event_count or c.u is distinct from s.updated_at then s.state end as state
  from customer_state s left join unnest($1::text[], $2::int[], $3::timestamptz[]) as c(id, n, u) on c.id = s.customer_id
 where s.customer_id = any($1::text[]) order by s.customer_id for update of s${wait}`;

async function selectForUpdate(
  client: pg.PoolClient,
  ids: string[],
  cache: StateCache | null,
  into: Map<string, CustomerState>,
  wait: "" | " nowait" = "",
): Promise<Set<string>> {
  // The entries are taken before the query: a concurrent commit may evict them from the cache
  // meanwhile, and a state must never silently fall back to empty.
  const entries = ids.map((id) => cache?.peek(id));
  const { rows } = await client.query<StateRow>(selectForUpdateSql(wait), [ids, entries.map((e) => e?.state.eventCount ?? null), entries.map((e) => e?.writtenAt ?? null)]);
  const byId = new Map(ids.map((id, i) => [id, entries[i]]));
  for (const r of rows) {
    if (r.event_count === 0) continue; // a placeholder: no events committed yet
    if (r.state !== null) {
      into.set(r.customer_id, r.state);
      if (cache) cache.misses++;
      continue;
    }
    const cached = byId.get(r.customer_id);
    if (!cached || cached.state.eventCount !== r.event_count || cached.writtenAt.getTime() !== r.updated_at.getTime()) {
      throw new Error(`state of ${r.customer_id} was not read although no matching cached state exists`);
    }
    into.set(r.customer_id, cached.state);
    cache!.hits++;
  }
  return new Set(rows.map((r) => r.customer_id));
}

/**
 * Locks the customers' rows (creating placeholders for new customers) and returns their states.
 *
 * Locks are taken in customer-id order: first the rows that exist, then placeholders for the
 * missing ones, inserted in order. A placeholder insert that meets a row another transaction
 * committed since our snapshot would have to wait for that row out of order (a deadlock with a
 * transaction holding it while waiting for ours, seen as 40P01), so it is locked with NOWAIT: if
 * it is busy the transaction fails with 55P03 and the caller simply runs it again, when the row
 * is visible and taken in order.
 */
async function lockStates(client: pg.PoolClient, customerIds: string[], cache: StateCache | null): Promise<Map<string, CustomerState>> {
  const out = new Map<string, CustomerState>();
  if (customerIds.length === 0) return out;
  const ids = [...customerIds].sort();
  const found = await selectForUpdate(client, ids, cache, out);
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length === 0) return out;
  // A customer's purchase and support events arrive on different topics, so two transactions can
  // both meet a customer no row exists for yet. Claiming a placeholder row makes the second one
  // wait for the first and then read its result, instead of both starting from an empty state
  // and the later upsert overwriting the earlier one's events.
  const { rows: claimed } = await client.query<{ customer_id: string }>(
    `insert into customer_state (customer_id, state, last_event_at, event_count)
     select id, 'null'::json, now(), 0 from unnest($1::text[]) with ordinality as u(id, ord) order by ord
     on conflict do nothing returning customer_id`,
    [missing],
  );
  if (claimed.length < missing.length) {
    const claimedIds = new Set(claimed.map((r) => r.customer_id));
    await selectForUpdate(client, missing.filter((id) => !claimedIds.has(id)), cache, out, " nowait");
  }
  return out;
}

/**
 * An erasure request is no event of the customer: it is not stored in raw_event (which it would
 * then have to erase) nor folded into the state. The durable row lets the erasure run after commit
 * and, should this worker die first, from the sweep (next_attempt_at: a minute from now, so the
 * sweep leaves the request to the worker that stored it unless that worker is gone). A repeated
 * eventId (a producer retry) records nothing new.
 */
async function insertErasureRequests(client: pg.PoolClient, ref: PartitionRef, requests: readonly ValidEvent[]): Promise<{ recorded: number; customers: string[] }> {
  if (requests.length === 0) return { recorded: 0, customers: [] };
  const { rows } = await client.query<{ customer_id: string }>(
    `insert into erasure_request (event_id, customer_id, requested_at, source_topic, source_partition, source_offset, next_attempt_at)
     select r.e, r.c, r.a, $4, $5, r.o, now() + interval '1 minute'
       from unnest($1::text[], $2::text[], $3::timestamptz[], $6::bigint[]) as r(e, c, a, o)
     on conflict (event_id) do nothing
     returning customer_id`,
    [requests.map((r) => r.event.eventId), requests.map((r) => r.event.customerId), requests.map((r) => r.event.occurredAt), ref.topic, ref.partition, requests.map((r) => r.offset)],
  );
  return { recorded: rows.length, customers: [...new Set(rows.map((r) => r.customer_id))] };
}

async function upsertStatesAndOffset(client: pg.PoolClient, ref: PartitionRef, states: Map<string, CustomerState>, nextOffset: number): Promise<void> {
  // event_count and last_event_at repeat the state's own fields as columns: the cache check and
  // retention queries read them without parsing the state.
  const list = [...states];
  // Both writes in one statement (a data-modifying CTE) to save a round trip per batch.
  await client.query(
    `with upserted as (
       insert into customer_state (customer_id, state, last_event_at, event_count, updated_at)
       select s.i, s.s::json, s.l::timestamptz, s.n::int, now()
         from unnest(${split(1)}, ${split(2)}, ${split(3)}, ${split(4)}) as s(i, s, l, n)
       on conflict (customer_id) do update
         set state = excluded.state, last_event_at = excluded.last_event_at,
             event_count = excluded.event_count, updated_at = now()
       returning 1)
     update consumer_offset set next_offset = $8, updated_at = now()
      where group_id = $5 and topic = $6 and partition = $7`,
    [
      column(list.map(([id]) => id)),
      column(list.map(([, st]) => JSON.stringify(st)), { jsonText: true }),
      column(list.map(([, st]) => new Date(st.lastEventAt ?? 0).toISOString())),
      column(list.map(([, st]) => st.eventCount)),
      ref.groupId, ref.topic, ref.partition, nextOffset,
    ],
  );
}

/** Original headers as { name: [base64 values] } (header values are bytes; JSON holds text). */
export function encodeHeaders(headers: Reject["message"]["headers"]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    out[name] = (Array.isArray(v) ? v : [v]).map((x) => Buffer.from(x).toString("base64"));
  }
  return out;
}

/**
 * Dead letters are written in the batch transaction with the original bytes; the relay publishes
 * them after commit (ingest/dead-letter-relay.ts), so a retried batch never sends them twice.
 */
async function insertDeadLetters(client: pg.PoolClient, ref: PartitionRef, rejects: readonly Reject[]): Promise<void> {
  if (rejects.length === 0) return;
  await client.query(
    `insert into dead_letter (source_topic, source_partition, source_offset, code, reason, message_key, message_value, message_headers)
     select $7, $8, r.off, r.code, r.reason, r.k, r.v, r.h
       from unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[], $5::bytea[], $6::jsonb[]) as r(off, code, reason, k, v, h)
     on conflict do nothing`,
    [
      rejects.map((r) => r.message.offset),
      rejects.map((r) => r.code),
      rejects.map((r) => safeReason(r.reason)),
      rejects.map((r) => r.message.key),
      rejects.map((r) => r.message.value),
      rejects.map((r) => JSON.stringify(encodeHeaders(r.message.headers))),
      ref.topic,
      ref.partition,
    ],
  );
}

/**
 * Writes the batch in one transaction. With `dryRun` the transaction is rolled back at the end:
 * ingest uses it to find which message of a failing batch the database refuses.
 */
export async function writeBatch(
  pool: pg.Pool,
  ref: PartitionRef,
  batch: BatchWrite,
  cache: StateCache | null = null,
  opts: { dryRun?: boolean } = {},
): Promise<BatchOutcome> {
  let written: Map<string, CustomerState> | null = null;
  let writtenAt = new Date(0);
  const outcome = await inTransactionOr(pool, async (client) => {
    // The batch's offsets commit with its data, so a commit that a database crash loses is lost
    // together with its offsets and simply consumed again from Kafka: waiting for the WAL flush
    // buys this transaction nothing (lag tools may briefly see Kafka offsets ahead of Postgres).
    await client.query("set local synchronous_commit = off");
    const { stored, txAt } = await lockOffset(client, ref);
    writtenAt = txAt;
    const fresh = stored === null ? batch.events : batch.events.filter((e) => e.offset >= stored);
    const rejects = stored === null ? batch.rejects : batch.rejects.filter((r) => r.message.offset >= stored);
    const skippedByOffset = batch.events.length - fresh.length + batch.rejects.length - rejects.length;
    const requests = fresh.filter((e) => e.event.type === "erasure_request");
    const data = requests.length === 0 ? fresh : fresh.filter((e) => e.event.type !== "erasure_request");
    const erasure = await insertErasureRequests(client, ref, requests);
    const inserted = await insertRawEvents(client, ref, data);
    const newEvents = data.filter((e) => inserted.has(e.event.eventId)).map((e) => e.event);
    const customers = [...new Set(newEvents.map((e) => e.customerId))];
    const states = await lockStates(client, customers, cache);
    applyToStates(states, newEvents);
    written = states;
    await insertDeadLetters(client, ref, rejects);
    await upsertStatesAndOffset(client, ref, states, Math.max(batch.nextOffset, stored ?? 0));
    const result: BatchOutcome = {
      applied: newEvents.length,
      duplicates: data.length - newEvents.length + requests.length - erasure.recorded,
      skippedByOffset,
      customers,
      deadLettered: rejects.length,
      erasures: erasure.customers,
    };
    if (opts.dryRun) {
      written = null;
      throw new Rollback(result);
    }
    return result;
  });
  // Only committed states may enter the cache.
  if (cache && written) cache.putAll(written, writtenAt);
  return outcome;
}
