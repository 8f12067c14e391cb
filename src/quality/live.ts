/**
 * Live model quality: the model graded on what happened.
 *
 * Which predictions: the score each customer had at T = (evaluation time - horizon), i.e. the
 * latest score_history row at or before T. That is exactly what the worker had published at T:
 * rescoring writes a history row whenever a score moves by 0.005 or more, changes level or comes
 * from another model (scoring/rescore.ts), so the row in force at T differs from the stored score
 * by less than 0.005 and never in level or model. score_history already exists, costs nothing more
 * to write, and unlike a daily snapshot of customer_score it is not sampled: any T can be graded
 * (also after the fact, by `churnwatch evaluate --live --as-of`). Its retention window
 * (RETENTION_SCORE_HISTORY_DAYS, 400 by default) must exceed the horizon.
 *
 * Who counts: customers the model's population rule scores at T (lifecycle.ts: new or active,
 * not cancelled), from raw_event up to T: a score left in history for someone who had lapsed or
 * cancelled by T was no longer a prediction anybody acted on.
 *
 * What happened: the model's own label (training/dataset.ts): churned = no purchase in
 * (T, T + horizon] or a cancellation in it, from raw_event.
 *
 * Treatment: customers a team reached in (T, T + horizon] are counted and also left out in a second
 * set of metrics ("untreated"): their outcome may be the team's doing, which makes a good model
 * look wrong (it predicted churn, the team prevented it).
 */
import type pg from "pg";
import { REACHED_OUTCOMES } from "../events/schema.js";
import { emptyState, type CustomerState } from "../features/index.js";
import { isScored, lifecycleAt, type LifecycleRule } from "../features/lifecycle.js";
import type { Queryable } from "../store/queryable.js";
import { DAY_MS } from "../lib/time.js";
import { bandRanges, RISK_LEVELS, type RiskBands } from "../model/risk-levels.js";
import { bandChurn, liveMetrics, type LiveBand, type LiveMetricValues } from "./metrics.js";

/** A score as it stood at T. */
export interface ScoreAt {
  customerId: string;
  score: number;
  riskLevel: string;
  modelVersion: string;
  scoredAt: Date;
}

/** What raw_event says about a customer up to T and in (T, T + horizon]. */
export interface WindowFacts {
  firstPurchaseAt: number | null;
  lastPurchaseAt: number | null;
  lastCancelAt: number | null;
  boughtAfter: boolean;
  cancelledAfter: boolean;
  reachedAfter: boolean;
}

/**
 * The score in force at T for the next `limit` customers after `after` (by id) who were scored at or
 * before T (all model versions). DISTINCT ON walks score_history_customer_id_scored_at_idx in
 * customer order: the newest row <= T per customer, one page per statement.
 */
export async function scoresInForce(db: Queryable, at: Date, after = "", limit = 1_000_000_000): Promise<ScoreAt[]> {
  const { rows } = await db.query<{ customer_id: string; score: number; risk_level: string; model_version: string; scored_at: Date }>(
    `select distinct on (customer_id) customer_id, score, risk_level, model_version, scored_at
       from score_history where scored_at <= $1 and customer_id > $2
      order by customer_id, scored_at desc
      limit $3`,
    [at, after, limit],
  );
  return rows.map((r) => ({ customerId: r.customer_id, score: r.score, riskLevel: r.risk_level, modelVersion: r.model_version, scoredAt: r.scored_at }));
}

const OUTCOMES_SQL = `
select c.id as customer_id,
       min(r.occurred_at) filter (where r.type = 'purchase' and r.occurred_at <= $2) as first_purchase,
       max(r.occurred_at) filter (where r.type = 'purchase' and r.occurred_at <= $2) as last_purchase,
       max(r.occurred_at) filter (where r.type = 'cancellation' and r.occurred_at <= $2) as last_cancel,
       coalesce(bool_or(r.type = 'purchase' and r.occurred_at > $2), false) as bought_after,
       coalesce(bool_or(r.type = 'cancellation' and r.occurred_at > $2), false) as cancelled_after,
       coalesce(bool_or(r.type = 'retention_outcome' and r.occurred_at > $2 and r.payload->>'outcome' = any($4::text[])), false) as reached_after
  from unnest($1::text[]) as c(id)
  left join raw_event r
    on r.customer_id = c.id and r.occurred_at <= $3 and r.type in ('purchase', 'cancellation', 'retention_outcome')
 group by c.id`;

/** Outcome facts for customers, in pages (one index range scan of raw_event per customer). */
export async function outcomeFacts(db: Queryable, customerIds: readonly string[], at: Date, horizonDays: number, pageSize = 5000): Promise<Map<string, WindowFacts>> {
  const end = new Date(at.getTime() + horizonDays * DAY_MS);
  const out = new Map<string, WindowFacts>();
  for (let i = 0; i < customerIds.length; i += pageSize) {
    const { rows } = await db.query<{
      customer_id: string; first_purchase: Date | null; last_purchase: Date | null; last_cancel: Date | null;
      bought_after: boolean; cancelled_after: boolean; reached_after: boolean;
    }>(OUTCOMES_SQL, [customerIds.slice(i, i + pageSize), at, end, [...REACHED_OUTCOMES]]);
    for (const r of rows) {
      out.set(r.customer_id, {
        firstPurchaseAt: r.first_purchase?.getTime() ?? null,
        lastPurchaseAt: r.last_purchase?.getTime() ?? null,
        lastCancelAt: r.last_cancel?.getTime() ?? null,
        boughtAfter: r.bought_after,
        cancelledAfter: r.cancelled_after,
        reachedAfter: r.reached_after,
      });
    }
  }
  return out;
}

/** The lifecycle stage at T from the facts alone, through the one definition (lifecycle.ts). */
export function stageAt(customerId: string, f: WindowFacts, at: number, rule: LifecycleRule): ReturnType<typeof lifecycleAt> {
  const base = emptyState(customerId);
  const state: CustomerState = {
    ...base,
    cancelledAt: f.lastCancelAt,
    purchases: { ...base.purchases, firstAt: f.firstPurchaseAt, lastAt: f.lastPurchaseAt },
  };
  return lifecycleAt(state, at, rule);
}

/** The model's label: churned = no purchase in (T, T + horizon] or a cancellation in it. */
export function churned(f: WindowFacts): 0 | 1 {
  return !f.boughtAfter || f.cancelledAfter ? 1 : 0;
}

export interface GradedScore extends ScoreAt {
  label: 0 | 1;
  treated: boolean;
}

export interface Cohort {
  graded: GradedScore[];
  /** Scores in force at T whose customer the population rule did not score at T. */
  outsidePopulation: number;
}

/** Pure: keeps the scores of customers in the population at T and attaches what happened. */
export function gradeScores(scores: readonly ScoreAt[], facts: ReadonlyMap<string, WindowFacts>, at: Date, rule: LifecycleRule): Cohort {
  const graded: GradedScore[] = [];
  let outsidePopulation = 0;
  for (const s of scores) {
    const f = facts.get(s.customerId);
    if (!f || !isScored(stageAt(s.customerId, f, at.getTime(), rule))) {
      outsidePopulation++;
      continue;
    }
    graded.push({ ...s, label: churned(f), treated: f.reachedAfter });
  }
  return { graded, outsidePopulation };
}

/** What the model claimed when it was trained, for comparison (from its artifact). */
export interface Expected {
  rocAuc: number | null;
  /** 95% interval of ROC AUC on the model's untouched test period; live AUC is held to its lower end. */
  rocAucInterval: [number, number] | null;
  ece: number | null;
  precisionTop10: number | null;
  /** Realised churn per band on the test period. */
  bands: { level: string; churnRate: number | null }[];
}

export interface LiveEvaluation extends LiveMetricValues {
  /** T: the scores graded are those in force at this instant. */
  asOf: string;
  /** When the outcomes were read (T + horizon, or later for an evaluation after the fact). */
  evaluatedAt: string;
  horizonDays: number;
  modelVersion: string;
  bands: LiveBand[];
  /** Customers a team reached in (T, T + horizon]. */
  treated: number;
  /** The same metrics without them. */
  untreated: LiveMetricValues;
  outsidePopulation: number;
  /** "score_history" (what the worker published) or "backtest" (re-scored from raw_event). */
  source: "score_history" | "backtest";
  expected: Expected | null;
}

export interface EvaluateOptions {
  horizonDays: number;
  rule: LifecycleRule;
  /** The model's bands, for the ranges shown next to each level. */
  bands?: RiskBands;
  evaluatedAt: Date;
  source?: LiveEvaluation["source"];
  expected?: (modelVersion: string) => Expected | null;
}

/**
 * Graded scores kept as columns per model version: a few numbers per customer instead of an object,
 * so a base of millions is graded page by page in little memory.
 */
export class CohortColumns {
  readonly byVersion = new Map<string, { labels: number[]; scores: number[]; levels: string[]; treated: boolean[] }>();
  outsidePopulation = 0;

  add(cohort: Cohort): this {
    this.outsidePopulation += cohort.outsidePopulation;
    for (const g of cohort.graded) {
      let c = this.byVersion.get(g.modelVersion);
      if (!c) {
        c = { labels: [], scores: [], levels: [], treated: [] };
        this.byVersion.set(g.modelVersion, c);
      }
      c.labels.push(g.label);
      c.scores.push(g.score);
      c.levels.push(g.riskLevel);
      c.treated.push(g.treated);
    }
    return this;
  }
}

/** One evaluation per model version among the graded scores, the version with most rows first. */
export function evaluateCohort(cohort: Cohort | CohortColumns, at: Date, opts: EvaluateOptions): LiveEvaluation[] {
  const columns = cohort instanceof CohortColumns ? cohort : new CohortColumns().add(cohort);
  const ranges = new Map(opts.bands ? bandRanges(opts.bands).map((r) => [r.level as string, { from: r.from, to: r.to }]) : []);
  return [...columns.byVersion]
    .sort((a, b) => b[1].labels.length - a[1].labels.length || (a[0] < b[0] ? -1 : 1))
    .map(([modelVersion, c]) => {
      const untreated = c.treated.flatMap((t, i) => (t ? [] : [i]));
      return {
        asOf: at.toISOString(),
        evaluatedAt: opts.evaluatedAt.toISOString(),
        horizonDays: opts.horizonDays,
        modelVersion,
        ...liveMetrics(c.labels, c.scores),
        bands: bandChurn(c.levels, c.labels, c.scores, RISK_LEVELS, ranges),
        treated: c.labels.length - untreated.length,
        untreated: liveMetrics(untreated.map((i) => c.labels[i]!), untreated.map((i) => c.scores[i]!)),
        outsidePopulation: columns.outsidePopulation,
        source: opts.source ?? "score_history",
        expected: opts.expected?.(modelVersion) ?? null,
      };
    });
}

/**
 * The whole path for the worker's scores: the scores in force at T, what happened, one evaluation
 * per model version. Pages of `pageSize` customers, each one statement on score_history and one
 * on raw_event, so no statement reads the whole history and memory holds columns, not rows.
 */
export async function evaluateLive(pool: pg.Pool | Queryable, at: Date, opts: EvaluateOptions, pageSize = 5000): Promise<LiveEvaluation[]> {
  const columns = new CohortColumns();
  let after = "";
  for (;;) {
    const page = await scoresInForce(pool, at, after, pageSize);
    if (page.length === 0) break;
    const facts = await outcomeFacts(pool, page.map((s) => s.customerId), at, opts.horizonDays, pageSize);
    columns.add(gradeScores(page, facts, at, opts.rule));
    if (page.length < pageSize) break;
    after = page[page.length - 1]!.customerId;
  }
  return evaluateCohort(columns, at, opts);
}
