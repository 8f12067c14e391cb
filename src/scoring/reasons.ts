/**
 * Turns per-feature contributions (Saabas, from the forest's decision paths) into the few plain
 * sentences a retention agent can act on. Features are grouped into themes so that, say, five
 * recency-related features pushing up the risk read as one reason, not five.
 */
import type { FeatureName } from "../features/index.js";

export interface Reason {
  /** Stable theme code for CRMs and analytics. */
  code: ReasonCode;
  text: string;
  /** Summed contribution of the theme's features to the churn probability. */
  weight: number;
}

// Spend level (total, average order) is deliberately no reason: it feeds the value estimate and
// the ranking, but "small baskets" is not something a retention agent can act on.
export type ReasonCode = "recency" | "engagement" | "support" | "satisfaction" | "refunds" | "new_customer";

const THEMES: Record<ReasonCode, readonly FeatureName[]> = {
  recency: ["days_since_last_purchase", "recency_vs_interval", "mean_days_between_purchases", "std_days_between_purchases", "days_since_last_event"],
  engagement: ["purchases_30d", "purchases_90d", "spend_30d", "spend_90d", "purchase_trend_90d", "spend_trend_90d", "purchases_per_30d", "purchase_count"],
  support: ["tickets_total", "tickets_open", "oldest_open_ticket_days", "tickets_14d", "tickets_30d", "tickets_90d", "high_priority_tickets", "high_priority_tickets_90d", "escalated_tickets", "sla_breaches", "mean_resolution_hours", "days_since_last_support_contact"],
  satisfaction: ["has_nps", "last_nps", "nps_category", "has_csat", "last_csat", "has_ces", "last_ces", "days_since_last_survey"],
  refunds: ["refund_count", "refund_amount", "refund_ratio"],
  new_customer: ["tenure_days"],
};

type F = Readonly<Record<FeatureName, number>>;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const days = (n: number) => plural(Math.round(n), "day");

function recencyText(f: F): string {
  if (f.purchase_count === 0) return `no purchase yet, ${days(f.tenure_days)} after sign-up`;
  if (f.purchase_count === 1) return `only one purchase, ${days(f.days_since_last_purchase)} ago`;
  const usual = Math.max(1, Math.round(f.mean_days_between_purchases));
  return `no purchase for ${days(f.days_since_last_purchase)}; usually every ${usual}`;
}

function engagementText(f: F): string {
  if (f.purchases_90d === 0 && f.purchase_trend_90d <= -1) return "stopped buying: no purchase in the last 90 days after buying in the 90 before";
  const t = f.spend_trend_90d;
  if (t < 0 && t > -1) {
    const drop = Math.round((1 - (1 + t) / (1 - t)) * 100);
    return `spend down ${drop}% over the last 90 days against the 90 before`;
  }
  return `${plural(f.purchases_90d, "purchase")} in the last 90 days`;
}

function supportText(f: F): string {
  const window = f.tickets_14d > 0 ? [f.tickets_14d, 14] : f.tickets_30d > 0 ? [f.tickets_30d, 30] : f.tickets_90d > 0 ? [f.tickets_90d, 90] : null;
  const parts = [window ? `${plural(window[0]!, "support ticket")} in the last ${window[1]} days` : `${plural(f.tickets_total, "support ticket")} in total`];
  if (f.sla_breaches > 0) parts.push(plural(f.sla_breaches, "SLA breach", "SLA breaches"));
  if (f.escalated_tickets > 0) parts.push(`${f.escalated_tickets} escalated`);
  if (f.tickets_open > 0) parts.push(`${plural(f.tickets_open, "ticket")} open for up to ${days(f.oldest_open_ticket_days)}`);
  return parts.join(", ");
}

function satisfactionText(f: F): string {
  const parts: string[] = [];
  if (f.has_nps === 1) parts.push(`last NPS ${f.last_nps}: ${f.nps_category < 0 ? "detractor" : f.nps_category > 0 ? "promoter" : "passive"}`);
  if (f.has_csat === 1 && f.last_csat <= 3) parts.push(`last CSAT ${f.last_csat} of 5`);
  if (f.has_ces === 1 && f.last_ces >= 5) parts.push(`last effort score ${f.last_ces} of 7 (hard to deal with us)`);
  if (parts.length === 0) return f.has_nps || f.has_csat || f.has_ces ? "survey answers lean negative" : "has never answered a survey";
  return parts.join("; ");
}

function refundsText(f: F): string {
  return `${plural(f.refund_count, "refund")}, ${Math.round(f.refund_ratio * 100)}% of spend returned`;
}

const TEXT: Record<ReasonCode, (f: F) => string> = {
  recency: recencyText,
  engagement: engagementText,
  support: supportText,
  satisfaction: satisfactionText,
  refunds: refundsText,
  new_customer: (f) => `new customer: first known ${days(f.tenure_days)} ago`,
};

/** Index of each feature in FEATURE_NAMES order, resolved once per feature set. */
export function themeIndex(featureNames: readonly string[]): [ReasonCode, number[]][] {
  return (Object.entries(THEMES) as [ReasonCode, readonly FeatureName[]][]).map(([code, names]) => [
    code,
    names.map((n) => featureNames.indexOf(n)).filter((i) => i >= 0),
  ]);
}

/**
 * Top themes that RAISE the churn probability, strongest first. Themes that lower it are left out:
 * a retention agent needs to know what is wrong, not what is fine.
 */
export function explain(
  contributions: ArrayLike<number>,
  features: F,
  themes: [ReasonCode, number[]][],
  opts: { max?: number; minWeight?: number } = {},
): Reason[] {
  const max = opts.max ?? 3;
  const minWeight = opts.minWeight ?? 0.01;
  const scored = themes
    .map(([code, idx]) => ({ code, weight: idx.reduce((s, i) => s + contributions[i]!, 0) }))
    .filter((t) => t.weight >= minWeight)
    .sort((a, b) => b.weight - a.weight)
    .slice(0, max);
  return scored.map((t) => ({ code: t.code, text: TEXT[t.code](features), weight: Math.round(t.weight * 1e4) / 1e4 }));
}
