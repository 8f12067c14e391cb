/**
 * Pure: what one page of customers needs written. Every customer is assessed (lifecycle stage,
 * and inside the model's population a score), compared with what is stored, and sorted into:
 *
 * - score writes (customer_score): with history when the score really moved, a risk-score event
 *   when the change is news for CRMs, a lifecycle event when the stage changed (back to active, or
 *   new -> active), and a flag for the customers whose reasons someone will read;
 * - unscored writes (unscored_customer): prospects, lapsed and cancelled customers, written only
 *   when their stage changed, each change with a lifecycle event;
 * - failures: customers whose assessment threw, set aside with the error;
 * - stale: customers whose stored score comes from a newer model or a later run: never overwritten.
 *
 * The stale test is repeated by the write statements themselves (a concurrent run may commit
 * in between); here it saves the work of explaining rows that would not be written.
 */
import type { CustomerState, Lifecycle } from "../features/index.js";
import { crossedIntoHigh, type RiskChange } from "../outreach/alerts.js";
import { segmentsFor, type Segment } from "../outreach/segments.js";
import { shouldPublish, type PublishRule } from "../publish/risk-event.js";
import { assess, type ScoredAssessment, type ScoringContext, type UnscoredAssessment } from "./scorer.js";

/** A page row: the state and whatever is stored for the customer (one of the two, or neither). */
export interface PageRow {
  customer_id: string;
  state: CustomerState;
  /** customer_state.event_count and updated_at: which version of the state this is. */
  event_count: number;
  updated_at: Date;
  score: number | null;
  risk_level: string | null;
  model_seq: number | null;
  scored_at: Date | null;
  published_score: number | null;
  published_risk_level: string | null;
  lifecycle: string | null;
  u_stage: string | null;
  u_model_seq: number | null;
  u_observed_at: Date | null;
  u_event_count: number | null;
  u_updated_at: Date | null;
}

export interface PlanContext extends ScoringContext {
  /** served_model.seq of ctx.model. */
  seq: number;
  asOf: number;
  segments: readonly Segment[];
  /** False when no CRM events are wanted at all (no topic). */
  publish: boolean;
  publishRule: PublishRule;
}

export interface ScoreWrite {
  a: ScoredAssessment;
  segments: string[];
  /** A risk-score event goes out (and published_* is updated). */
  publish: boolean;
  /** The score moved enough (or the level or model changed) to keep a history row. */
  history: boolean;
  /** Reasons are computed: a published medium/high score. Low scores store "no reasons" without computing. */
  explain: boolean;
  previousScore: number | null;
  previousPublishedScore: number | null;
  previousPublishedLevel: string | null;
  /** Stage change to announce with a lifecycle event (a customer coming back, or new -> active). */
  stageChange: { from: Lifecycle; to: Lifecycle } | null;
}

export interface UnscoredWrite {
  a: UnscoredAssessment;
  /** Null when CRMs have never heard of the customer. */
  previousStage: Lifecycle | null;
  /** The stage changed; false when only the record of what was assessed is refreshed. */
  changed: boolean;
  /** A lifecycle event goes out: every change except the first sight of a prospect (no score to clear, nothing to say yet). */
  announce: boolean;
  /** The state version assessed (see PageRow). */
  eventCount: number;
  updatedAt: Date;
}

export interface PagePlan {
  scores: ScoreWrite[];
  unscored: UnscoredWrite[];
  failed: { customerId: string; error: string }[];
  /** Stored under a newer model: this worker's model is behind (it will reload; retry later). */
  staleModel: string[];
  /** Stored by a later run of the same model: nothing to do. */
  staleRun: string[];
  /** Outside the population and unchanged: nothing to write. */
  unchanged: number;
  /** Crossings into high risk, for immediate alerts. */
  alerts: RiskChange[];
}

/** A stored score moves into history only when it changed this much (or level/model changed). */
export const HISTORY_MIN_MOVE = 0.005;

const AT_RISK = new Set(["medium", "high"]);

function storedOrder(r: PageRow): { seq: number; at: number } | null {
  if (r.scored_at !== null) return { seq: r.model_seq ?? 0, at: r.scored_at.getTime() };
  if (r.u_observed_at !== null) return { seq: r.u_model_seq ?? 0, at: r.u_observed_at.getTime() };
  return null;
}

export function planPage(rows: readonly PageRow[], ctx: PlanContext): PagePlan {
  const plan: PagePlan = { scores: [], unscored: [], failed: [], staleModel: [], staleRun: [], unchanged: 0, alerts: [] };
  for (const row of rows) {
    const stored = storedOrder(row);
    if (stored !== null) {
      if (stored.seq > ctx.seq) {
        plan.staleModel.push(row.customer_id);
        continue;
      }
      if (stored.seq === ctx.seq && stored.at > ctx.asOf) {
        plan.staleRun.push(row.customer_id);
        continue;
      }
    }
    let a;
    try {
      a = assess(row.state, ctx.asOf, ctx);
    } catch (err) {
      plan.failed.push({ customerId: row.customer_id, error: err instanceof Error ? err.message : String(err) });
      continue;
    }
    const hasScore = row.scored_at !== null;
    // Rows written before lifecycles existed were scored, so they were new or active: no news.
    const previousStage = (hasScore ? row.lifecycle ?? (a.kind === "scored" ? a.stage : "active") : row.u_stage) as Lifecycle | null;
    if (a.kind === "unscored") {
      const changed = hasScore || previousStage !== a.stage;
      // Same stage: nothing for CRMs. The record of which state and model were assessed is
      // refreshed when it differs, so the next full run can skip the customer.
      const assessed = row.u_event_count === row.event_count && row.u_updated_at?.getTime() === row.updated_at.getTime() && row.u_model_seq === ctx.seq;
      if (!changed && assessed) {
        plan.unchanged++;
        continue;
      }
      const announce = changed && ctx.publish && !(previousStage === null && a.stage === "prospect");
      plan.unscored.push({ a, previousStage, changed, announce, eventCount: row.event_count, updatedAt: row.updated_at });
      continue;
    }
    const publishedBefore = row.published_score === null ? null : { score: row.published_score, riskLevel: row.published_risk_level ?? "" };
    const publish = ctx.publish && shouldPublish(publishedBefore, a, ctx.publishRule);
    const history = row.score === null || row.risk_level !== a.riskLevel || (row.model_seq ?? 0) !== ctx.seq ||
      Math.abs(row.score - a.score) >= HISTORY_MIN_MOVE;
    plan.scores.push({
      a,
      segments: segmentsFor(a, ctx.segments),
      publish,
      history,
      explain: publish && AT_RISK.has(a.riskLevel),
      previousScore: row.score,
      previousPublishedScore: row.published_score,
      previousPublishedLevel: row.published_risk_level,
      stageChange: ctx.publish && previousStage !== null && previousStage !== a.stage ? { from: previousStage, to: a.stage } : null,
    });
    if (crossedIntoHigh(row.risk_level, a.riskLevel)) {
      plan.alerts.push({ customerId: a.customerId, levelBefore: row.risk_level, scoreBefore: row.score });
    }
  }
  return plan;
}
