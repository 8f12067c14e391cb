/**
 * Risk-score event contract v1, published for CRM systems (key = customerId, header
 * x-churnwatch-schema: risk-score/v1). The zod schema is the source of the generated JSON Schema
 * in docs/schemas/. Only customers inside the model's population (lifecycle new or active) get
 * them; a customer who lapses or cancels gets a lifecycle event instead (lifecycle-event.ts).
 * Delivery is at least once, through the event outbox: consumers dedupe by (customerId, scoredAt),
 * or by the x-churnwatch-event-id header.
 */
import { z } from "zod";
import { RISK_LEVELS } from "../model/risk-levels.js";

export const RISK_EVENT_SCHEMA_VERSION = 1;

export const riskScoreEvent = z
  .object({
    schemaVersion: z.literal(RISK_EVENT_SCHEMA_VERSION),
    customerId: z.string().describe("Customer id; also the Kafka message key"),
    score: z.number().min(0).max(1).describe("Calibrated probability of churn within the model's horizon"),
    riskLevel: z.enum(RISK_LEVELS).describe("From the model's thresholds"),
    segment: z.string().nullable().describe("First matching outreach segment (file order), null if none"),
    segments: z.array(z.string()).describe("Every matching outreach segment"),
    previousScore: z.number().min(0).max(1).nullable().describe("Score in the previous event for this customer, null for the first"),
    previousRiskLevel: z.enum(RISK_LEVELS).nullable(),
    reasons: z.array(z.object({
      code: z.string().describe("Theme: recency, engagement, frequency, support, support_quality, satisfaction, refunds, new_customer (new codes may be added)"),
      text: z.string().describe("Plain sentence for people: one fact, with its time window"),
      weight: z.number().describe("The theme's TreeSHAP contribution to the model's churn probability"),
    })).max(4).describe("At most four factors that raise the risk, strongest first; only for medium and high risk (empty for low)"),
    value: z.number().describe("Estimated 12-month value in the base currency"),
    valueAtRisk: z.number().describe("value x score: outreach priority"),
    horizonDays: z.number().int().describe("Churn horizon of the model"),
    modelVersion: z.string(),
    scoredAt: z.iso.datetime().describe("When the score was computed; (customerId, scoredAt) identifies the event"),
    email: z.string().optional().describe("Only when RISK_EVENTS_INCLUDE_PII=true"),
    name: z.string().optional().describe("Only when RISK_EVENTS_INCLUDE_PII=true"),
  })
  .strict();

export type RiskScoreEvent = z.infer<typeof riskScoreEvent>;

export interface PublishRule {
  /** Publish when the score moved at least this much since the last published event. */
  minDelta: number;
}

/**
 * Whether a new score is news for CRMs: the first score, a change of risk level, or a move of at
 * least minDelta. Everything else would flood CRMs with noise from hourly rescoring.
 */
export function shouldPublish(
  previous: { score: number; riskLevel: string } | null,
  next: { score: number; riskLevel: string },
  rule: PublishRule,
): boolean {
  if (!previous) return true;
  if (previous.riskLevel !== next.riskLevel) return true;
  return Math.abs(next.score - previous.score) >= rule.minDelta - 1e-12;
}
