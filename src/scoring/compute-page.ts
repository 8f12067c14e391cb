/**
 * Everything one page needs before its transaction, as data: parse the states, plan (lifecycle,
 * scores, what is news), explain the published at-risk scores, build the CRM events and the
 * statements' JSON. No I/O, so it runs on the calling thread or on a scoring thread
 * (scoring/threads.ts) alike; the result is plain strings and small arrays, cheap to pass back.
 */
import type { CustomerState } from "../features/index.js";
import type { ServingModel } from "../model/load.js";
import type { RiskLevel, RiskThresholds } from "../model/risk-levels.js";
import type { RiskChange } from "../outreach/alerts.js";
import type { Segment } from "../outreach/segments.js";
import type { OutboxEvent } from "../publish/event-outbox.js";
import type { PublishRule } from "../publish/risk-event.js";
import { bandsFor } from "./bands.js";
import { lifecycleEvent, riskEvent, unscoredEvent, type EventContext } from "./events.js";
import type { Explainer } from "./explain.js";
import { planPage, type PageRow } from "./plan.js";
import type { Reason } from "./reasons.js";
import { stageSince } from "./stage-since.js";
import { scoreParams, unscoredParams, type ScoreRow, type StatementParams, type UnscoredRow } from "./write-page.js";

/** A page row as read: the state still as JSON text (parsing it is most of a page's CPU). */
export interface RawPageRow extends Omit<PageRow, "state"> {
  state: string;
}

export interface ComputeContext {
  /** served_model.seq of the model. */
  seq: number;
  asOf: number;
  segments: readonly Segment[];
  publish: boolean;
  publishRule: PublishRule;
  includePii: boolean;
  /** Configured risk bands (RISK_BANDS); undefined: DEFAULT_RISK_BANDS. */
  bands: RiskThresholds | undefined;
}

export interface ScoredMeta {
  id: string;
  level: RiskLevel;
  history: boolean;
  published: boolean;
  stageChange: boolean;
  explained: boolean;
}

export interface UnscoredMeta {
  id: string;
  changed: boolean;
  events: number;
}

export interface ComputedPage {
  scores: StatementParams;
  scoresMeta: ScoredMeta[];
  unscored: StatementParams;
  unscoredMeta: UnscoredMeta[];
  failed: { customerId: string; error: string }[];
  /** Stored under a newer model: retry once this worker has it. */
  staleModel: string[];
  staleRun: number;
  /** Crossings into high risk (alerts), for the customers whose score gets written. */
  alerts: RiskChange[];
}

export async function computePage(model: ServingModel, raw: readonly RawPageRow[], ctx: ComputeContext, explainer: Explainer): Promise<ComputedPage> {
  const rows: PageRow[] = [];
  const failed: { customerId: string; error: string }[] = [];
  for (const r of raw) {
    try {
      rows.push({ ...r, state: JSON.parse(r.state) as CustomerState });
    } catch (err) {
      failed.push({ customerId: r.customer_id, error: `state is not valid JSON: ${(err as Error).message}` });
    }
  }
  const plan = planPage(rows, {
    model, bands: bandsFor(ctx.bands), seq: ctx.seq, asOf: ctx.asOf, segments: ctx.segments, publish: ctx.publish, publishRule: ctx.publishRule,
  });
  const states = new Map(rows.map((r) => [r.customer_id, r.state]));
  const toExplain = plan.scores.filter((s) => s.explain);
  const explained = toExplain.length > 0 ? await explainer.reasons(model, toExplain.map((s) => s.a)) : [];
  const reasonsOf = new Map<string, Reason[]>(toExplain.map((s, i) => [s.a.customerId, explained[i]!]));
  const ev: EventContext = { model, seq: ctx.seq, asOf: ctx.asOf, includePii: ctx.includePii };

  const scoreRows: ScoreRow[] = plan.scores.map((w) => {
    const state = states.get(w.a.customerId)!;
    const computed = reasonsOf.get(w.a.customerId);
    // Low risk has no reasons by definition: storing [] for it is current without computing anything.
    const reasons = computed ?? (w.a.riskLevel === "low" ? [] : null);
    const events: OutboxEvent[] = [];
    if (w.stageChange) {
      const change = { from: w.stageChange.from, to: w.stageChange.to, since: stageSince(state, w.a.stage, model.population), value: w.a.value };
      events.push(lifecycleEvent(w.a.customerId, change, state, ev));
    }
    if (w.publish) events.push(riskEvent(w, reasons ?? [], state, ev));
    return { w, reasons, events };
  });
  const unscoredRows: UnscoredRow[] = plan.unscored.map((w) => ({
    w, events: w.announce ? [unscoredEvent(w, states.get(w.a.customerId)!, ev)] : [],
  }));
  return {
    scores: scoreParams(scoreRows),
    scoresMeta: scoreRows.map(({ w }) => ({
      id: w.a.customerId, level: w.a.riskLevel, history: w.history, published: w.publish, stageChange: w.stageChange !== null,
      explained: reasonsOf.has(w.a.customerId),
    })),
    unscored: unscoredParams(unscoredRows),
    unscoredMeta: unscoredRows.map((r) => ({ id: r.w.a.customerId, changed: r.w.changed, events: r.events.length })),
    failed: [...failed, ...plan.failed],
    staleModel: plan.staleModel,
    staleRun: plan.staleRun.length,
    alerts: plan.alerts,
  };
}
