/**
 * Customer lifecycle, the one definition that training rows, scoring, segments, KPIs and CRM
 * events all use:
 *
 *   prospect   no purchase yet (a profile, a ticket or a survey only)
 *   new        first purchase within `newDays`
 *   active     bought within `activeDays`
 *   lapsed     last purchase more than `activeDays` ago: already churned by the model's own
 *              definition, so no churn probability is given (win-back, not retention)
 *   cancelled  an explicit cancellation after the last purchase
 *
 * Any purchase after a cancellation brings a customer back (new or active). A model is trained on,
 * and scores only, the population {new, active}; its artifact records the rule.
 */
import { DAY_MS } from "../lib/time.js";
import type { CustomerState } from "./state.js";

export const LIFECYCLE_STAGES = ["prospect", "new", "active", "lapsed", "cancelled"] as const;
export type Lifecycle = (typeof LIFECYCLE_STAGES)[number];

export interface LifecycleRule {
  /** A customer who bought within this many days is still a customer (new or active). */
  activeDays: number;
  /** A customer whose first purchase is this recent is "new". */
  newDays: number;
}

export const DEFAULT_LIFECYCLE_RULE: Readonly<LifecycleRule> = { activeDays: 180, newDays: 90 };

/** The stages a churn model scores: customers who are still customers. */
export const SCORED_STAGES: ReadonlySet<Lifecycle> = new Set<Lifecycle>(["new", "active"]);

/**
 * The stage at `asOf`. The state must hold only events up to `asOf` (training folds events up to
 * each cutoff; live scoring uses the current state and the current time).
 */
export function lifecycleAt(state: CustomerState, asOf: number, rule: Readonly<LifecycleRule> = DEFAULT_LIFECYCLE_RULE): Lifecycle {
  const last = state.purchases.lastAt;
  const cancelled = state.cancelledAt;
  if (cancelled !== null && cancelled <= asOf && (last === null || last <= cancelled)) return "cancelled";
  if (last === null || state.purchases.firstAt === null) return "prospect";
  if (last < asOf - rule.activeDays * DAY_MS) return "lapsed";
  return state.purchases.firstAt >= asOf - rule.newDays * DAY_MS ? "new" : "active";
}

export function isScored(stage: Lifecycle): boolean {
  return SCORED_STAGES.has(stage);
}
