/**
 * The scoring transaction's statements for one page: one per target, set-based. Each carries the
 * model-order guard (a row stored by a newer model, or by a later run of the same model, is
 * never overwritten) and writes the page's history rows and outbox events only for the customers
 * whose row it actually wrote (data-modifying CTEs joined on RETURNING), so a run that lost a
 * race publishes nothing for the customers it lost.
 *
 * Rows travel as one text parameter per column (store/columns.ts); event payloads go into the
 * outbox as the exact text built in scoring/events.ts.
 */
import type pg from "pg";
import { column, splitColumn } from "../store/columns.js";
import { erasedSinceSql } from "../store/erasure-barrier.js";
import type { OutboxEvent } from "../publish/event-outbox.js";
import type { Reason } from "./reasons.js";
import type { ScoreWrite, UnscoredWrite } from "./plan.js";

export interface WriteContext {
  asOf: Date;
  seq: number;
  modelVersion: string;
  /**
   * Set when a customer was erased since the page was read (store/erasure-barrier.ts): write only
   * customers whose state still exists and who were not erased since this time (a new event may
   * have started a new state row after the erasure), so an erased one is not written back. Unset,
   * the statements carry no extra lookup (the planner drops the test: unnamed statements are
   * planned with their parameters).
   */
  erasedSince?: Date | null;
}

export interface ScoreRow {
  w: ScoreWrite;
  /** Computed reasons; null keeps the stored ones (a score nobody reads reasons for this time). */
  reasons: readonly Reason[] | null;
  /** This customer's events, in the order CRMs should apply them. */
  events: readonly OutboxEvent[];
}

export interface UnscoredRow {
  w: UnscoredWrite;
  events: readonly OutboxEvent[];
}

const str = JSON.stringify;

/** The events of these rows, in order, as columns (ordinal, event id, kind, customer, payload). */
function eventColumns(rows: readonly { events: readonly OutboxEvent[] }[]): string[] {
  const events = rows.flatMap((r) => r.events);
  return [
    column(events.map((_, i) => i)), column(events.map((e) => e.eventId)), column(events.map((e) => e.kind)),
    column(events.map((e) => e.customerId)), column(events.map((e) => e.payload)),
  ];
}

const EVENTS_FROM = (first: number) =>
  `unnest(${splitColumn(first)}, ${splitColumn(first + 1)}, ${splitColumn(first + 2)}, ${splitColumn(first + 3)}, ${splitColumn(first + 4)}) as e(o, e, k, i, p)`;

const SCORES_SQL = `
with x as (
  select x.i, x.s::float8 as s, x.l, x.r::json as r, x.v::float8 as v, x.p::float8 as p, coalesce(string_to_array(x.g, ','), '{}') as g,
         x.lc, x.b::boolean as b, x.h::boolean as h
    from unnest(${splitColumn(1)}, ${splitColumn(2)}, ${splitColumn(3)}, ${splitColumn(4)}, ${splitColumn(5)}, ${splitColumn(6)},
                ${splitColumn(7)}, ${splitColumn(8)}, ${splitColumn(9)}, ${splitColumn(10)}) as x(i, s, l, r, v, p, g, lc, b, h)
   where not $19::boolean or (exists (select 1 from customer_state st where st.customer_id = x.i) and not ${erasedSinceSql("x.i", "$20::timestamptz")})
),
newer_unscored as (
  select u.customer_id from unscored_customer u join x on u.customer_id = x.i
   where (u.model_seq, u.observed_at) > ($12::int, $11::timestamptz)
),
up as (
  insert into customer_score as c (customer_id, score, risk_level, reasons, reasons_at, value, value_at_risk, segments,
                                   model_version, model_seq, scored_at, lifecycle, published_score, published_risk_level, published_at)
  select x.i, x.s, x.l, coalesce(x.r, '[]'::json), case when x.r is not null then $11::timestamptz end, x.v, x.p, x.g,
         $13, $12, $11, x.lc, case when x.b then x.s end, case when x.b then x.l end, case when x.b then $11::timestamptz end
    from x where not exists (select 1 from newer_unscored n where n.customer_id = x.i)
  on conflict (customer_id) do update set
    score = excluded.score, risk_level = excluded.risk_level,
    reasons = case when excluded.reasons_at is null then c.reasons else excluded.reasons end,
    reasons_at = coalesce(excluded.reasons_at, c.reasons_at),
    value = excluded.value, value_at_risk = excluded.value_at_risk, segments = excluded.segments,
    model_version = excluded.model_version, model_seq = excluded.model_seq, scored_at = excluded.scored_at,
    lifecycle = excluded.lifecycle,
    published_score = coalesce(excluded.published_score, c.published_score),
    published_risk_level = coalesce(excluded.published_risk_level, c.published_risk_level),
    published_at = coalesce(excluded.published_at, c.published_at)
  where (c.model_seq, c.scored_at) <= (excluded.model_seq, excluded.scored_at)
  returning c.customer_id
),
returned as (
  delete from unscored_customer u using up where u.customer_id = up.customer_id
),
history as (
  insert into score_history (customer_id, score, risk_level, model_version, scored_at)
  select x.i, x.s, x.l, $13, $11 from x join up on up.customer_id = x.i where x.h
),
events as (
  insert into event_outbox (event_id, kind, customer_id, payload)
  select e.e, e.k, e.i, e.p from ${EVENTS_FROM(14)}
    join up on up.customer_id = e.i order by e.o::int
)
select customer_id from up`;

/** One statement's columns (rows, then events) as text: built off the main thread when scoring runs on threads. */
export interface StatementParams {
  columns: string[];
  events: string[];
  count: number;
}

export function scoreParams(rows: readonly ScoreRow[]): StatementParams {
  const w = rows.map((r) => r.w);
  return {
    columns: [
      column(w.map((x) => x.a.customerId)), column(w.map((x) => x.a.score)), column(w.map((x) => x.a.riskLevel)),
      column(rows.map((r) => (r.reasons === null ? null : str(r.reasons)))), column(w.map((x) => x.a.value)),
      column(w.map((x) => x.a.valueAtRisk)), column(w.map((x) => x.segments.join(","))), column(w.map((x) => x.a.stage)),
      column(w.map((x) => x.publish)), column(w.map((x) => x.history)),
    ],
    events: eventColumns(rows),
    count: rows.length,
  };
}

/** Upserts scores (and their history and events); returns the customers actually written. */
export async function writeScores(client: pg.ClientBase, params: StatementParams, ctx: WriteContext): Promise<Set<string>> {
  if (params.count === 0) return new Set();
  const { rows: written } = await client.query<{ customer_id: string }>(SCORES_SQL, [...params.columns, ctx.asOf, ctx.seq, ctx.modelVersion, ...params.events, ctx.erasedSince != null, ctx.erasedSince ?? null]);
  return new Set(written.map((r) => r.customer_id));
}

const UNSCORED_SQL = `
with x as (
  select x.i, x.st, x.si::timestamptz as si, x.v::float8 as v, x.n::int as n, x.ua::timestamptz as ua
    from unnest(${splitColumn(1)}, ${splitColumn(2)}, ${splitColumn(3)}, ${splitColumn(4)}, ${splitColumn(5)}, ${splitColumn(6)}) as x(i, st, si, v, n, ua)
   where not $14::boolean or (exists (select 1 from customer_state s where s.customer_id = x.i) and not ${erasedSinceSql("x.i", "$15::timestamptz")})
),
newer_score as (
  select c.customer_id from customer_score c join x on c.customer_id = x.i
   where (c.model_seq, c.scored_at) > ($8::int, $7::timestamptz)
),
up as (
  insert into unscored_customer as u (customer_id, stage, since, value, model_seq, observed_at, state_event_count, state_updated_at)
  select x.i, x.st, x.si, x.v, $8, $7, x.n, x.ua from x where not exists (select 1 from newer_score n where n.customer_id = x.i)
  on conflict (customer_id) do update set
    stage = excluded.stage, since = excluded.since, value = excluded.value, model_seq = excluded.model_seq, observed_at = excluded.observed_at,
    state_event_count = excluded.state_event_count, state_updated_at = excluded.state_updated_at
  where (u.model_seq, u.observed_at) <= (excluded.model_seq, excluded.observed_at)
  returning u.customer_id
),
left_population as (
  delete from customer_score c using up where c.customer_id = up.customer_id
),
events as (
  insert into event_outbox (event_id, kind, customer_id, payload)
  select e.e, e.k, e.i, e.p from ${EVENTS_FROM(9)}
    join up on up.customer_id = e.i order by e.o::int
)
select customer_id from up`;

export function unscoredParams(rows: readonly UnscoredRow[]): StatementParams {
  const w = rows.map((r) => r.w);
  return {
    columns: [
      column(w.map((x) => x.a.customerId)), column(w.map((x) => x.a.stage)),
      column(w.map((x) => (x.a.since === null ? null : new Date(x.a.since).toISOString()))), column(w.map((x) => x.a.value)),
      column(w.map((x) => x.eventCount)), column(w.map((x) => x.updatedAt.toISOString())),
    ],
    events: eventColumns(rows),
    count: rows.length,
  };
}

/** Records stage changes outside the population (and drops their scores); returns the customers written. */
export async function writeUnscored(client: pg.ClientBase, params: StatementParams, ctx: WriteContext): Promise<Set<string>> {
  if (params.count === 0) return new Set();
  const { rows: written } = await client.query<{ customer_id: string }>(UNSCORED_SQL, [...params.columns, ctx.asOf, ctx.seq, ...params.events, ctx.erasedSince != null, ctx.erasedSince ?? null]);
  return new Set(written.map((r) => r.customer_id));
}
