/** JSON Schema documents generated from the zod contracts (docs/schemas/, `npm run schemas`). */
import { z } from "zod";
import { churnEvent, EVENT_SCHEMA_VERSION } from "./schema.js";
import { EVENT_EXAMPLES } from "./examples.js";
import { riskScoreEvent, RISK_EVENT_SCHEMA_VERSION } from "../publish/risk-event.js";

const RISK_EXAMPLE = {
  schemaVersion: RISK_EVENT_SCHEMA_VERSION,
  customerId: "c-42",
  score: 0.7312,
  riskLevel: "high",
  segment: "high-value-at-risk",
  segments: ["high-value-at-risk", "at-risk"],
  previousScore: 0.4120,
  previousRiskLevel: "medium",
  reasons: [
    { code: "recency", text: "no purchase for 64 days; usually every 12", weight: 0.2114 },
    { code: "support", text: "3 support tickets in the last 14 days, 1 SLA breach", weight: 0.0931 },
    { code: "satisfaction", text: "last NPS 3: detractor", weight: 0.0412 },
  ],
  value: 1840.5,
  valueAtRisk: 1345.77,
  horizonDays: 90,
  modelVersion: "churn-20261123-0800",
  scoredAt: "2026-11-23T08:00:00.000Z",
};

export function generateSchemas(): Record<string, unknown> {
  const events = z.toJSONSchema(churnEvent, { io: "input" }) as Record<string, unknown>;
  const risk = z.toJSONSchema(riskScoreEvent) as Record<string, unknown>;
  return {
    [`events.v${EVENT_SCHEMA_VERSION}.json`]: {
      $id: `urn:churnwatch:schema:events:v${EVENT_SCHEMA_VERSION}`,
      title: "churnwatch input event (purchases and support topics); Kafka key = customerId",
      ...events,
      examples: EVENT_EXAMPLES,
    },
    [`risk-score.v${RISK_EVENT_SCHEMA_VERSION}.json`]: {
      $id: `urn:churnwatch:schema:risk-score:v${RISK_EVENT_SCHEMA_VERSION}`,
      title: "churnwatch risk-score event (topic churn.risk-scores); Kafka key = customerId",
      ...risk,
      examples: [riskScoreEvent.parse(RISK_EXAMPLE)],
    },
  };
}
