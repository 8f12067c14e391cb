/**
 * Pure: the CRM events a planned page sends, as outbox rows (payload text built once here, so a
 * retried send repeats the same bytes). A customer's events are listed in the order CRMs should
 * apply them: a lifecycle change before the score that follows it.
 */
import type { CustomerState, Lifecycle } from "../features/index.js";
import type { ServingModel } from "../model/load.js";
import type { OutboxEvent } from "../publish/event-outbox.js";
import { LIFECYCLE_EVENT_SCHEMA_VERSION, lifecycleEventId, type LifecycleEvent } from "../publish/lifecycle-event.js";
import { RISK_EVENT_SCHEMA_VERSION, type RiskScoreEvent } from "../publish/risk-event.js";
import type { ScoreWrite, UnscoredWrite } from "./plan.js";
import type { Reason } from "./reasons.js";

export interface EventContext {
  model: ServingModel;
  seq: number;
  asOf: number;
  includePii: boolean;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function riskEventId(customerId: string, asOf: number, seq: number): string {
  return `risk-score:${customerId}:${asOf}:${seq}`;
}

export function riskEvent(w: ScoreWrite, reasons: readonly Reason[], state: CustomerState, ctx: EventContext): OutboxEvent {
  const a = w.a;
  const e: RiskScoreEvent = {
    schemaVersion: RISK_EVENT_SCHEMA_VERSION,
    customerId: a.customerId,
    score: a.score,
    riskLevel: a.riskLevel,
    segment: w.segments[0] ?? null,
    segments: w.segments,
    previousScore: w.previousPublishedScore,
    previousRiskLevel: (w.previousPublishedLevel as RiskScoreEvent["previousRiskLevel"]) ?? null,
    reasons: reasons.map((r) => ({ code: r.code, text: r.text, weight: r.weight })),
    value: a.value,
    valueAtRisk: a.valueAtRisk,
    horizonDays: ctx.model.artifact.churnDefinition.horizonDays,
    modelVersion: ctx.model.artifact.modelVersion,
    scoredAt: new Date(ctx.asOf).toISOString(),
  };
  if (ctx.includePii) {
    if (state.profile.email) e.email = state.profile.email;
    if (state.profile.name) e.name = state.profile.name;
  }
  return { eventId: riskEventId(a.customerId, ctx.asOf, ctx.seq), kind: "risk-score", customerId: a.customerId, payload: JSON.stringify(e) };
}

export function lifecycleEvent(
  customerId: string,
  change: { from: Lifecycle | null; to: Lifecycle; since: number | null; value: number },
  state: CustomerState,
  ctx: EventContext,
): OutboxEvent {
  const eventId = lifecycleEventId(customerId, change.to, change.since, ctx.asOf);
  const e: LifecycleEvent = {
    schemaVersion: LIFECYCLE_EVENT_SCHEMA_VERSION,
    type: "customer_lifecycle",
    eventId,
    customerId,
    stage: change.to,
    previousStage: change.from,
    scored: ctx.model.population.stages.includes(change.to),
    since: iso(change.since),
    lastPurchaseAt: iso(state.purchases.lastAt),
    value: change.value,
    activeDays: ctx.model.population.activeDays,
    modelVersion: ctx.model.artifact.modelVersion,
    observedAt: new Date(ctx.asOf).toISOString(),
  };
  return { eventId, kind: "lifecycle", customerId, payload: JSON.stringify(e) };
}

export function unscoredEvent(w: UnscoredWrite, state: CustomerState, ctx: EventContext): OutboxEvent {
  return lifecycleEvent(w.a.customerId, { from: w.previousStage, to: w.a.stage, since: w.a.since, value: w.a.value }, state, ctx);
}
