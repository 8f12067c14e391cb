/**
 * The feature set: names in model-input order, what each means, and the sentinel used when the
 * value does not exist yet. A random forest cannot take NaN, so "missing" is always a number
 * outside the feature's natural range (-1) or a neutral stand-in, plus an indicator where a linear
 * baseline would otherwise misread the stand-in.
 *
 * Order matters: model artifacts store these names and the loader refuses a mismatch. Append or
 * rename only together with retraining; FEATURE_SET_VERSION changes whenever the names do.
 * Change FEATURE_SET_PREFIX by hand when a feature's meaning changes but its name does not.
 */
import { createHash } from "node:crypto";

export const FEATURE_NAMES = [
  "tenure_days",
  "days_since_last_event",
  "purchase_count",
  "total_spend",
  "avg_order_value",
  "days_since_last_purchase",
  "purchases_per_30d",
  "mean_days_between_purchases",
  "std_days_between_purchases",
  "recency_vs_interval",
  "purchases_30d",
  "spend_30d",
  "purchases_90d",
  "spend_90d",
  "purchase_trend_90d",
  "spend_trend_90d",
  "refund_count",
  "refund_amount",
  "refund_ratio",
  "tickets_total",
  "tickets_open",
  "oldest_open_ticket_days",
  "tickets_14d",
  "tickets_30d",
  "tickets_90d",
  "high_priority_tickets",
  "high_priority_tickets_90d",
  "escalated_tickets",
  "sla_breaches",
  "mean_resolution_hours",
  "days_since_last_support_contact",
  "has_nps",
  "last_nps",
  "nps_category",
  "has_csat",
  "last_csat",
  "has_ces",
  "last_ces",
  "days_since_last_survey",
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];

/** One line per feature for humans (model reports, reason texts, docs). Windows are whole UTC days ending on asOf's day. */
export const FEATURE_DESCRIPTIONS: Readonly<Record<FeatureName, string>> = {
  tenure_days: "Days since the customer was first known: min(signedUpAt, first event). 0 when nothing is known.",
  days_since_last_event: "Days since the latest event of any type. Equals tenure_days when there is none.",
  purchase_count: "Purchases, lifetime.",
  total_spend: "Sum of purchase amounts, lifetime, base currency (gross of refunds).",
  avg_order_value: "total_spend / purchase_count. 0 when no purchase.",
  days_since_last_purchase: "Recency: days since the latest purchase. Sentinel = tenure_days when no purchase.",
  purchases_per_30d: "Lifetime purchase frequency: purchase_count per 30 days of tenure (tenure floored at 30 days).",
  mean_days_between_purchases:
    "Usual interval: mean days between the last up to 32 purchases. -1 when fewer than 2 purchases.",
  std_days_between_purchases:
    "Spread (population std) of those intervals in days. -1 when fewer than 3 purchases (fewer than 2 intervals).",
  recency_vs_interval:
    "days_since_last_purchase / max(mean_days_between_purchases, 1): how many usual intervals overdue. -1 when fewer than 2 purchases.",
  purchases_30d: "Purchases in the last 30 days.",
  spend_30d: "Purchase amount in the last 30 days.",
  purchases_90d: "Purchases in the last 90 days.",
  spend_90d: "Purchase amount in the last 90 days.",
  purchase_trend_90d:
    "(purchases last 90d - purchases in the 90d before) / (their sum), in [-1, 1]; -1 = stopped, 0 when both are 0.",
  spend_trend_90d: "Same as purchase_trend_90d for amounts.",
  refund_count: "Refunds, lifetime.",
  refund_amount: "Sum of refund amounts, lifetime.",
  refund_ratio:
    "refund_amount / total_spend, capped at 1 (refunds of orders from before the history would exceed it). 0 when no refund.",
  tickets_total: "Distinct support tickets seen (opened, or resolved whose opening was never seen).",
  tickets_open: "Tickets opened and not yet resolved.",
  oldest_open_ticket_days: "Age in days of the oldest open ticket. 0 when none is open.",
  tickets_14d: "Tickets opened in the last 14 days.",
  tickets_30d: "Tickets opened in the last 30 days.",
  tickets_90d: "Tickets opened in the last 90 days.",
  high_priority_tickets: "Tickets opened with priority high or urgent, lifetime.",
  high_priority_tickets_90d: "Tickets opened with priority high or urgent in the last 90 days.",
  escalated_tickets: "Tickets escalated (flag on the opened or the resolved event), lifetime.",
  sla_breaches: "Tickets resolved with an SLA breach, lifetime.",
  mean_resolution_hours: "Mean hours from opened to resolved over tickets with both seen. -1 when none.",
  days_since_last_support_contact:
    "Days since the latest ticket opened/resolved. Sentinel = tenure_days when never in contact.",
  has_nps: "1 when an NPS answer exists, else 0.",
  last_nps: "Latest NPS answer 0-10 (by occurredAt). -1 when none.",
  nps_category: "Latest NPS as detractor (0-6) = -1, passive (7-8) = 0, promoter (9-10) = 1. 0 when none (see has_nps).",
  has_csat: "1 when a CSAT answer exists, else 0.",
  last_csat: "Latest CSAT 1-5. -1 when none.",
  has_ces: "1 when a CES answer exists, else 0.",
  last_ces: "Latest customer effort score 1-7 (7 = hardest). -1 when none.",
  days_since_last_survey: "Days since the latest survey answer. Sentinel = tenure_days when none.",
};

/** Bump by hand when a feature's definition or sentinel changes without a rename. */
export const FEATURE_SET_PREFIX = "fs-1";

/** e.g. "fs-1-3fa2c9d1": the hash of the ordered names makes any rename, reorder or addition change it. */
export const FEATURE_SET_VERSION = `${FEATURE_SET_PREFIX}-${createHash("sha256")
  .update(FEATURE_NAMES.join(","))
  .digest("hex")
  .slice(0, 8)}`;
