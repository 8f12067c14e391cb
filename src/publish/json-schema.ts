/**
 * JSON Schema of the lifecycle event (docs/schemas/lifecycle.v1.json, `npm run schemas`),
 * generated from the zod schema the worker builds events with. The risk-score schema is generated
 * with the input events' in src/events/json-schema.ts.
 */
import { z } from "zod";
import { lifecycleEvent, LIFECYCLE_EVENT_SCHEMA_VERSION, type LifecycleEvent } from "./lifecycle-event.js";

const LIFECYCLE_EXAMPLE: LifecycleEvent = {
  schemaVersion: LIFECYCLE_EVENT_SCHEMA_VERSION,
  type: "customer_lifecycle",
  eventId: "lifecycle:c-42:lapsed:1795996800000",
  customerId: "c-42",
  stage: "lapsed",
  previousStage: "active",
  scored: false,
  since: "2026-11-30T00:00:00.000Z",
  lastPurchaseAt: "2026-06-03T00:00:00.000Z",
  value: 1840.5,
  activeDays: 180,
  modelVersion: "churn-20261123-0800",
  observedAt: "2026-12-01T08:00:00.000Z",
};

export function generatePublishSchemas(): Record<string, unknown> {
  const { additionalProperties: _strictInCode, ...schema } = z.toJSONSchema(lifecycleEvent) as Record<string, unknown>;
  return {
    [`lifecycle.v${LIFECYCLE_EVENT_SCHEMA_VERSION}.json`]: {
      $id: `urn:churnwatch:schema:lifecycle:v${LIFECYCLE_EVENT_SCHEMA_VERSION}`,
      title: "churnwatch lifecycle event (topic churn.risk-scores, header x-churnwatch-schema: lifecycle/v1); Kafka key = customerId",
      description:
        "Sent when a customer's lifecycle stage changes. Additive versioning: v1 only ever gains optional fields, so consumers " +
        "must ignore properties they do not know (this schema allows them). Delivery is at least once: dedupe by eventId.",
      ...schema,
      examples: [lifecycleEvent.parse(LIFECYCLE_EXAMPLE)],
    },
  };
}
