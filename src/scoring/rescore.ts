/**
 * Rescoring: read states, score them with the current model, store latest scores (and history
 * when a score really moved), publish risk-score events for CRMs where the change is news, then
 * record what was published. Events are sent inside the scoring transaction, before it commits,
 * so a crash in between re-publishes (at least once) rather than losing an event.
 */
import type pg from "pg";
import type { CustomerState } from "../features/index.js";
import type { Logger } from "../log.js";
import { segmentsFor, type Segment } from "../outreach/segments.js";
import { crossedIntoHigh, enqueueAlerts } from "../outreach/alerts.js";
import type { RiskPublisher } from "../publish/publisher.js";
import { RISK_EVENT_SCHEMA_VERSION, shouldPublish, type PublishRule, type RiskScoreEvent } from "../publish/risk-event.js";
import { inTransaction } from "../store/tx.js";
import type { ServingModel } from "../model/load.js";
import { scoreState, type CustomerScore } from "./scorer.js";

export interface AlertSettings {
  from: string;
  baseCurrency: string;
  ratePerHour: number;
  crmLinkTemplate: string | null;
}

export interface RescoreDeps {
  pool: pg.Pool;
  model: () => ServingModel;
  segments: readonly Segment[];
  publisher: RiskPublisher | null;
  publishRule: PublishRule;
  includePii: boolean;
  /** Immediate alerts for alert segments' customers crossing into high risk; null to disable. */
  alerts: AlertSettings | null;
  logger: Logger;
}

export interface RescoreStats {
  scored: number;
  published: number;
  /** Explicitly cancelled customers are not scored: they have already left. */
  skippedCancelled: number;
  historyRows: number;
}

/** A stored score moves into history only when it changed this much (or level/model changed). */
const HISTORY_MIN_MOVE = 0.005;

interface Row {
  customer_id: string;
  state: CustomerState;
}

/** The stored score of a customer, read under a row lock in the scoring transaction. */
interface StoredScore {
  score: number | null;
  risk_level: string | null;
  model_version: string | null;
  published_score: number | null;
  published_risk_level: string | null;
  scored_at: Date | null;
}

const NO_STORED_SCORE: StoredScore = { score: null, risk_level: null, model_version: null, published_score: null, published_risk_level: null, scored_at: null };

// event_count > 0 leaves out placeholder rows, and unlike a test on the json column it lets the
// planner walk the primary key for each page.
const SELECT = `select s.customer_id, s.state from customer_state s where s.event_count > 0`;

export interface ScoredRow {
  score: CustomerScore;
  segments: string[];
  stored: StoredScore;
}

/** Pure: scores a page of rows and decides what goes to history and to CRMs. */
export function scorePage(rows: readonly Row[], model: ServingModel, segments: readonly Segment[], asOf: number) {
  const scored: ScoredRow[] = [];
  const cancelled: string[] = [];
  for (const row of rows) {
    if (row.state.cancelledAt !== null && row.state.cancelledAt <= asOf) {
      cancelled.push(row.customer_id);
      continue;
    }
    const score = scoreState(model, row.state, asOf);
    scored.push({ score, segments: segmentsFor(score, segments), stored: NO_STORED_SCORE });
  }
  return { scored, cancelled };
}

function toEvent(r: ScoredRow, scoredAt: string, horizonDays: number, state: CustomerState, includePii: boolean): RiskScoreEvent {
  const e: RiskScoreEvent = {
    schemaVersion: RISK_EVENT_SCHEMA_VERSION,
    customerId: r.score.customerId,
    score: r.score.score,
    riskLevel: r.score.riskLevel,
    segment: r.segments[0] ?? null,
    segments: r.segments,
    previousScore: r.stored.published_score,
    previousRiskLevel: (r.stored.published_risk_level as RiskScoreEvent["previousRiskLevel"]) ?? null,
    reasons: r.score.reasons,
    value: r.score.value,
    valueAtRisk: r.score.valueAtRisk,
    horizonDays,
    modelVersion: r.score.modelVersion,
    scoredAt,
  };
  if (includePii) {
    if (state.profile.email) e.email = state.profile.email;
    if (state.profile.name) e.name = state.profile.name;
  }
  return e;
}

async function storeScores(client: pg.PoolClient, page: readonly ScoredRow[], published: ReadonlySet<string>, scoredAt: string): Promise<number> {
  const rows = page.map((r) => ({
    i: r.score.customerId, s: r.score.score, l: r.score.riskLevel, r: r.score.reasons, v: r.score.value,
    p: r.score.valueAtRisk, g: r.segments, m: r.score.modelVersion, b: published.has(r.score.customerId),
  }));
  // What CRMs were last told (published_*) is written in the same statement as the score; the
  // events themselves go out before this transaction commits (see processPage).
  await client.query(
    `insert into customer_score (customer_id, score, risk_level, reasons, value, value_at_risk, segments, model_version, scored_at,
                                 published_score, published_risk_level, published_at)
     select x.i, x.s, x.l, x.r, x.v, x.p, x.g, x.m, $2,
            case when x.b then x.s end, case when x.b then x.l end, case when x.b then $2::timestamptz end
       from json_to_recordset($1::json)
         as x(i text, s float8, l text, r jsonb, v float8, p float8, g text[], m text, b boolean)
     on conflict (customer_id) do update set score = excluded.score, risk_level = excluded.risk_level,
       reasons = excluded.reasons, value = excluded.value, value_at_risk = excluded.value_at_risk,
       segments = excluded.segments, model_version = excluded.model_version, scored_at = excluded.scored_at,
       published_score = coalesce(excluded.published_score, customer_score.published_score),
       published_risk_level = coalesce(excluded.published_risk_level, customer_score.published_risk_level),
       published_at = coalesce(excluded.published_at, customer_score.published_at)`,
    [JSON.stringify(rows), scoredAt],
  );
  const moved = page.filter((r) => r.stored.score === null || r.stored.risk_level !== r.score.riskLevel ||
    r.stored.model_version !== r.score.modelVersion || Math.abs(r.stored.score - r.score.score) >= HISTORY_MIN_MOVE);
  if (moved.length > 0) {
    await client.query(
      `insert into score_history (customer_id, score, risk_level, model_version, scored_at)
       select x.i, x.s, x.l, x.m, $2 from json_to_recordset($1::json) as x(i text, s float8, l text, m text)`,
      [JSON.stringify(moved.map((r) => ({ i: r.score.customerId, s: r.score.score, l: r.score.riskLevel, m: r.score.modelVersion }))), scoredAt],
    );
  }
  return moved.length;
}

/**
 * Attaches each customer's stored score, locked for this transaction, so that two rescorers (the
 * per-batch one and the hourly job) decide what to publish one after the other. Customers whose
 * stored score is newer than this run's are dropped: a stale run must not move a score backwards.
 */
async function lockStoredScores(client: pg.PoolClient, scored: ScoredRow[], asOf: Date): Promise<ScoredRow[]> {
  const { rows } = await client.query<StoredScore & { customer_id: string }>(
    `select customer_id, score, risk_level, model_version, published_score, published_risk_level, scored_at
       from customer_score where customer_id = any($1::text[]) order by customer_id for update`,
    [scored.map((r) => r.score.customerId).sort()],
  );
  const storedById = new Map(rows.map((r) => [r.customer_id, r]));
  return scored
    .map((r) => ({ ...r, stored: storedById.get(r.score.customerId) ?? NO_STORED_SCORE }))
    .filter((r) => r.stored.scored_at === null || r.stored.scored_at.getTime() <= asOf.getTime());
}

async function processPage(deps: RescoreDeps, rows: Row[], asOf: Date, stats: RescoreStats): Promise<void> {
  const model = deps.model();
  const page = scorePage(rows, model, deps.segments, asOf.getTime());
  stats.skippedCancelled += page.cancelled.length;
  const scoredAt = asOf.toISOString();
  const outcome = await inTransaction(deps.pool, async (client) => {
    // A cancelled customer has left: drop the score so digests stop listing them.
    if (page.cancelled.length > 0) await client.query("delete from customer_score where customer_id = any($1::text[])", [page.cancelled]);
    if (page.scored.length === 0) return { scored: 0, published: 0, moved: 0 };
    const scored = await lockStoredScores(client, page.scored, asOf);
    const news = deps.publisher
      ? scored.filter((r) => shouldPublish(
          r.stored.published_score === null ? null : { score: r.stored.published_score, riskLevel: r.stored.published_risk_level ?? "" },
          r.score, deps.publishRule))
      : [];
    const moved = await storeScores(client, scored, new Set(news.map((r) => r.score.customerId)), scoredAt);
    if (deps.alerts) {
      // In the scoring transaction, so a crash cannot lose a crossing into high risk.
      const changes = scored
        .filter((r) => crossedIntoHigh(r.stored.risk_level, r.score.riskLevel))
        .map((r) => ({ customerId: r.score.customerId, levelBefore: r.stored.risk_level, scoreBefore: r.stored.score }));
      if (changes.length > 0) {
        await enqueueAlerts(client, { segments: deps.segments, changes, now: asOf, logger: deps.logger, ...deps.alerts });
      }
    }
    // Published before the commit that records it: a crash or failed commit in between means the
    // event goes out again on the next rescoring (at least once), never that it is lost.
    if (news.length > 0) {
      const states = new Map(rows.map((r) => [r.customer_id, r.state]));
      await deps.publisher!.publish(news.map((r) => toEvent(r, scoredAt, model.artifact.churnDefinition.horizonDays, states.get(r.score.customerId)!, deps.includePii)));
    }
    return { scored: scored.length, published: news.length, moved };
  });
  stats.scored += outcome.scored;
  stats.published += outcome.published;
  stats.historyRows += outcome.moved;
}

/** Rescores the given customers, or every known customer (in pages) when none are given. */
export async function rescore(deps: RescoreDeps, opts: { asOf: Date; customerIds?: readonly string[]; pageSize?: number }): Promise<RescoreStats> {
  const stats: RescoreStats = { scored: 0, published: 0, skippedCancelled: 0, historyRows: 0 };
  const pageSize = opts.pageSize ?? 2000;
  if (opts.customerIds) {
    for (let i = 0; i < opts.customerIds.length; i += pageSize) {
      const ids = opts.customerIds.slice(i, i + pageSize);
      const { rows } = await deps.pool.query<Row>(`${SELECT} and s.customer_id = any($1::text[])`, [ids]);
      await processPage(deps, rows, opts.asOf, stats);
    }
    return stats;
  }
  // The next page is read while this one is scored and written: Postgres and Node work in parallel.
  const fetchPage = (after: string) =>
    deps.pool.query<Row>(`${SELECT} and s.customer_id > $1 order by s.customer_id limit $2`, [after, pageSize]).then((r) => r.rows);
  let next: Promise<Row[]> = fetchPage("");
  for (;;) {
    const rows = await next;
    if (rows.length === 0) break;
    next = rows.length < pageSize ? Promise.resolve([]) : fetchPage(rows[rows.length - 1]!.customer_id);
    // If this page fails, the prefetch's own failure must not surface as an unhandled rejection.
    next.catch(() => undefined);
    await processPage(deps, rows, opts.asOf, stats);
  }
  return stats;
}
