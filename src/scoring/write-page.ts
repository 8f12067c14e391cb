/**
 * The scoring transaction's statements for one page: one per target, set-based. Each carries the
 * model-order guard (a row stored by a newer model, or by a later run of the same model, is
 * never overwritten) and writes the page's history rows and outbox events only for the customers
 * whose row it actually wrote (data-modifying CTEs joined on RETURNING), so a run that lost a
 * race publishes nothing for the customers it lost.
 *
 * Rows travel as one JSON document per statement. Reasons and event payloads are nested as JSON
 * (not as strings inside JSON), so neither side escapes them twice; `payload::text` gives back the
 * exact bytes built in scoring/events.ts.
 */
import type pg from "pg";
import type { OutboxEvent } from "../publish/event-outbox.js";
import type { Reason } from "./reasons.js";
import type { ScoreWrite, UnscoredWrite } from "./plan.js";

export interface WriteContext {
  asOf: Date;
  seq: number;
  modelVersion: string;
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

function eventsJson(rows: readonly { events: readonly OutboxEvent[] }[]): string {
  const parts: string[] = [];
  let o = 0;
  for (const r of rows) {
    for (const e of r.events) parts.push(`{"o":${o++},"e":${str(e.eventId)},"k":"${e.kind}","i":${str(e.customerId)},"p":${e.payload}}`);
  }
  return `[${parts.join(",")}]`;
}

const SCORES_SQL = `
with x as (
  select * from json_to_recordset($1::json)
    as x(i text, s float8, l text, r json, v float8, p float8, g text[], lc text, b boolean, h boolean)
),
newer_unscored as (
  select u.customer_id from unscored_customer u join x on u.customer_id = x.i
   where (u.model_seq, u.observed_at) > ($3::int, $2::timestamptz)
),
up as (
  insert into customer_score as c (customer_id, score, risk_level, reasons, reasons_at, value, value_at_risk, segments,
                                   model_version, model_seq, scored_at, lifecycle, published_score, published_risk_level, published_at)
  select x.i, x.s, x.l, coalesce(x.r, '[]'::json), case when x.r is not null then $2::timestamptz end, x.v, x.p, x.g,
         $4, $3, $2, x.lc, case when x.b then x.s end, case when x.b then x.l end, case when x.b then $2::timestamptz end
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
  select x.i, x.s, x.l, $4, $2 from x join up on up.customer_id = x.i where x.h
),
events as (
  insert into event_outbox (event_id, kind, customer_id, payload)
  select e.e, e.k, e.i, e.p::text from json_to_recordset($5::json) as e(o int, e text, k text, i text, p json)
    join up on up.customer_id = e.i order by e.o
)
select customer_id from up`;

/** One statement's rows and events as JSON text: built off the main thread when scoring runs on threads. */
export interface StatementParams {
  rows: string;
  events: string;
  count: number;
}

export function scoreParams(rows: readonly ScoreRow[]): StatementParams {
  const parts: string[] = [];
  for (const { w, reasons } of rows) {
    const a = w.a;
    parts.push(
      `{"i":${str(a.customerId)},"s":${a.score},"l":"${a.riskLevel}","r":${reasons === null ? "null" : str(reasons)},` +
        `"v":${a.value},"p":${a.valueAtRisk},"g":${str(w.segments)},"lc":"${a.stage}","b":${w.publish},"h":${w.history}}`,
    );
  }
  return { rows: `[${parts.join(",")}]`, events: eventsJson(rows), count: rows.length };
}

/** Upserts scores (and their history and events); returns the customers actually written. */
export async function writeScores(client: pg.ClientBase, params: StatementParams, ctx: WriteContext): Promise<Set<string>> {
  if (params.count === 0) return new Set();
  const { rows: written } = await client.query<{ customer_id: string }>(SCORES_SQL, [params.rows, ctx.asOf, ctx.seq, ctx.modelVersion, params.events]);
  return new Set(written.map((r) => r.customer_id));
}

const UNSCORED_SQL = `
with x as (
  select * from json_to_recordset($1::json) as x(i text, st text, si timestamptz, v float8, n int, ua timestamptz)
),
newer_score as (
  select c.customer_id from customer_score c join x on c.customer_id = x.i
   where (c.model_seq, c.scored_at) > ($3::int, $2::timestamptz)
),
up as (
  insert into unscored_customer as u (customer_id, stage, since, value, model_seq, observed_at, state_event_count, state_updated_at)
  select x.i, x.st, x.si, x.v, $3, $2, x.n, x.ua from x where not exists (select 1 from newer_score n where n.customer_id = x.i)
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
  select e.e, e.k, e.i, e.p::text from json_to_recordset($4::json) as e(o int, e text, k text, i text, p json)
    join up on up.customer_id = e.i order by e.o
)
select customer_id from up`;

export function unscoredParams(rows: readonly UnscoredRow[]): StatementParams {
  const data = rows.map(({ w }) => ({
    i: w.a.customerId, st: w.a.stage, si: w.a.since === null ? null : new Date(w.a.since).toISOString(), v: w.a.value, n: w.eventCount, ua: w.updatedAt.toISOString(),
  }));
  return { rows: str(data), events: eventsJson(rows), count: rows.length };
}

/** Records stage changes outside the population (and drops their scores); returns the customers written. */
export async function writeUnscored(client: pg.ClientBase, params: StatementParams, ctx: WriteContext): Promise<Set<string>> {
  if (params.count === 0) return new Set();
  const { rows: written } = await client.query<{ customer_id: string }>(UNSCORED_SQL, [params.rows, ctx.asOf, ctx.seq, params.events]);
  return new Set(written.map((r) => r.customer_id));
}
