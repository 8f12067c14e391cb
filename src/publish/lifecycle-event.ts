/**
 * Lifecycle event contract v1, published for CRM systems on the risk-score topic (key =
 * customerId, header x-churnwatch-schema: lifecycle/v1): a customer's lifecycle stage changed
 * (src/features/lifecycle.ts). It is how a CRM learns that a customer has lapsed or cancelled, and
 * so has no churn score any more (`scored: false`: drop the level you hold), and that one who
 * bought again is back (`scored: true`: a risk-score event follows).
 *
 * Versioning is additive: fields are only ever added (optional ones, within v1); a field is never
 * removed, renamed or given another meaning without a new schemaVersion. Consumers must ignore
 * fields they do not know, which is why the published JSON Schema allows additional properties.
 * Delivery is at least once: dedupe by `eventId`.
 */
import { z } from "zod";
import { LIFECYCLE_STAGES } from "../features/lifecycle.js";

export const LIFECYCLE_EVENT_SCHEMA_VERSION = 1;

export const lifecycleEvent = z
  .object({
    schemaVersion: z.literal(LIFECYCLE_EVENT_SCHEMA_VERSION),
    type: z.literal("customer_lifecycle").describe("Tells this event from a risk-score event on the same topic"),
    eventId: z.string().describe("Stable id of this change (customer, stage, since): dedupe by it"),
    customerId: z.string().describe("Customer id; also the Kafka message key"),
    stage: z.enum(LIFECYCLE_STAGES).describe(
      "prospect: no purchase yet; new: first purchase recently; active: bought within the model's active window; " +
        "lapsed: no purchase for longer than that window (already churned by the model's definition); cancelled: cancelled after their last purchase",
    ),
    previousStage: z.enum(LIFECYCLE_STAGES).nullable().describe("Stage CRMs were last told, null when this is the first they hear of the customer"),
    scored: z.boolean().describe("True when the model scores the customer's stage (new and active by default): risk-score events follow; false means no churn probability: clear any level you hold"),
    since: z.iso.datetime().nullable().describe("When the stage began as far as the event history tells (cancellation, last purchase + active window, returning purchase); null if unknown"),
    lastPurchaseAt: z.iso.datetime().nullable(),
    value: z.number().describe("Estimated 12-month value in the base currency at the change (win-back priority for lapsed customers)"),
    activeDays: z.number().int().positive().describe("The model's active window in days (a customer without a purchase for longer is lapsed)"),
    modelVersion: z.string().describe("The model whose population rule decided the stage"),
    observedAt: z.iso.datetime().describe("When the worker noticed the change"),
  })
  .strict();

export type LifecycleEvent = z.infer<typeof lifecycleEvent>;

/** Stable per change: the same change noticed twice (two rescorings, two workers) has one id. */
export function lifecycleEventId(customerId: string, stage: string, since: number | null, observedAt: number): string {
  return `lifecycle:${customerId}:${stage}:${since ?? observedAt}`;
}
