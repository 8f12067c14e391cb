/** JSON Schema documents generated from the zod contracts (docs/schemas/, `npm run schemas`). */
import { z } from "zod";
import { churnEvent, DEFAULT_LIMITS, EVENT_SCHEMA_VERSION } from "./schema.js";
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

/**
 * What the worker enforces that no static schema can: stated here so that a producer who validates
 * against the schema alone knows what can still be dead-lettered.
 */
export const EVENTS_SCHEMA_DESCRIPTION = [
  "One event per Kafka message, UTF-8 JSON, key = customerId.",
  "Besides this schema the worker dead-letters, with a reason and a code:",
  "a message larger than MAX_EVENT_BYTES (oversized);",
  "bytes that are not UTF-8, in the value or the key (not_utf8);",
  "a field name that appears twice in one object (duplicate_key; JSON parsers keep one silently);",
  "U+0000 or a lone surrogate in the key or any string, field names included (unsafe_text; the schema's patterns cover the fields it knows);",
  "a key that differs from customerId (key_mismatch);",
  "occurredAt or signedUpAt more than EVENT_MAX_FUTURE_SKEW (default 1 day) after the worker's clock (instant_out_of_range; a schema has no clock);",
  "a currency without a rate in CURRENCY_RATES (unknown_currency).",
  `The limits in this schema are the defaults: MAX_AMOUNT ${DEFAULT_LIMITS.maxAmount} (in the event's currency), MAX_QUANTITY ${DEFAULT_LIMITS.maxQuantity},`,
  `EVENT_MIN_OCCURRED_AT ${DEFAULT_LIMITS.minInstant} (formatMinimum, as in ajv-formats); a deployment may configure others.`,
  "A malformed e-mail address rejects the whole customer_profile event (the dead letter keeps it for a fixed replay).",
  "A null optional field counts as absent, except email and name of customer_profile, where null clears the stored value.",
  "Patterns are ECMA-262 with the u flag (Unicode property escapes, code-point semantics), as ajv applies them.",
].join(" ");

/**
 * The worker reads a top-level null as "absent" (Jackson-style producers write null for unset
 * optional fields), so every optional property of every event type also accepts null. Required
 * ones do not: a null eventId is a missing eventId.
 */
function allowNullForOptional(branch: Record<string, unknown>): Record<string, unknown> {
  const properties = branch.properties as Record<string, Record<string, unknown>> | undefined;
  if (!properties) return branch;
  const required = new Set((branch.required as string[] | undefined) ?? []);
  const out: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(properties)) {
    if (required.has(name)) {
      out[name] = prop;
      continue;
    }
    // Nullable in the contract itself (a profile's email and name: null clears them): already says so.
    if (Array.isArray(prop.anyOf) && (prop.anyOf as { type?: unknown }[]).some((p) => p.type === "null")) {
      out[name] = prop;
      continue;
    }
    const { description, ...rest } = prop;
    out[name] = { ...(description !== undefined ? { description } : {}), anyOf: [rest, { type: "null" }] };
  }
  return { ...branch, properties: out };
}

export function generateSchemas(): Record<string, unknown> {
  const generated = z.toJSONSchema(churnEvent, { io: "input" }) as Record<string, unknown> & { oneOf: Record<string, unknown>[] };
  const events = { ...generated, oneOf: generated.oneOf.map(allowNullForOptional) };
  const risk = z.toJSONSchema(riskScoreEvent) as Record<string, unknown>;
  return {
    [`events.v${EVENT_SCHEMA_VERSION}.json`]: {
      $id: `urn:churnwatch:schema:events:v${EVENT_SCHEMA_VERSION}`,
      title: "churnwatch input event (purchases and support topics); Kafka key = customerId",
      description: EVENTS_SCHEMA_DESCRIPTION,
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
