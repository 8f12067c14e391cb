/**
 * Turns a customer's TreeSHAP contributions into the few plain sentences a retention agent can act
 * on. The rules (issue 8):
 *
 * - Only factors that RAISE the risk: a theme (a group of related features, so five recency
 *   features read as one reason) counts when its contributions sum above zero, and its sentence
 *   comes from its strongest risk-raising feature.
 * - Specific and numeric, one time window per sentence: every sentence states a fact about one
 *   feature with its window ("in the last 14 days", "so far"), never a lifetime count next to a
 *   windowed one.
 * - A sentence only states a fact that reads as a risk: "5 purchases in the last 90 days" is never
 *   a churn reason. When the strongest feature's value is not such a fact, the theme's next
 *   risk-raising feature speaks; when none is, the theme gives no reason.
 * - Weak factors dropped: a theme below MIN_SHARE of the total upward push (the sum of every
 *   theme's positive contribution, spend included though spend is never shown) is left out.
 * - At most MAX_REASONS, strongest first.
 * - A missing-data indicator ("has never answered a survey") is never the only reason: if it would
 *   be, the next real reason replaces it, or there is none.
 *
 * Only at-risk customers (medium or high) whose reasons someone reads are explained: published
 * scores (scoring/plan.ts) and digest rows (scoring/refresh-reasons.ts).
 */
import type { FeatureName } from "../features/index.js";

export interface Reason {
  /** Stable theme code for CRMs and analytics. */
  code: ReasonCode;
  text: string;
  /** Summed TreeSHAP contribution of the theme's features to the churn probability (raw forest output). */
  weight: number;
}

export const REASON_CODES = [
  "recency", "engagement", "frequency", "support", "support_quality", "satisfaction", "refunds", "new_customer",
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

/** Themes, including the one that is never shown (spend): it still counts in the total push. */
type ThemeCode = ReasonCode | "spend";

export const MAX_REASONS = 4;
/** A theme pushing less than this share of the total upward push is too weak to show. */
export const MIN_SHARE = 0.1;
/** Below this (probability points) a push is noise whatever its share. */
export const MIN_WEIGHT = 0.002;

type F = Readonly<Record<FeatureName, number>>;

interface Fact {
  text: string;
  /** A missing-data indicator: true where the sentence says only that something is unknown. */
  indicator: boolean;
  /**
   * Days without a purchase the sentence states. "No purchase in the last 30 days" says nothing
   * that "no purchase for 64 days" does not: the shorter silence is folded into the longer.
   */
  silenceDays?: number;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const days = (n: number) => plural(Math.round(n), "day");
const real = (text: string, silenceDays?: number): Fact => (silenceDays === undefined ? { text, indicator: false } : { text, indicator: false, silenceDays });
const indicator = (text: string): Fact => ({ text, indicator: true });

/** Purchases in days 91-180 before asOf, from the last-90-days count and the trend (null when the trend is -1). */
function purchasesBefore(f: F): number | null {
  const t = f.purchase_trend_90d;
  return t <= -1 ? null : Math.round((f.purchases_90d * (1 - t)) / (1 + t));
}

function recency(f: F): Fact | null {
  if (f.purchase_count === 0) return real("no purchase yet");
  const silence = Math.floor(f.days_since_last_purchase);
  if (f.purchase_count === 1) return real(`only one purchase, ${days(f.days_since_last_purchase)} ago`, silence);
  // Not overdue against their own rhythm: the silence is not the news.
  if (f.recency_vs_interval < 1.5) return null;
  return real(`no purchase for ${days(f.days_since_last_purchase)}; usually every ${Math.max(1, Math.round(f.mean_days_between_purchases))}`, silence);
}

function noActivity(f: F): Fact | null {
  return f.days_since_last_event >= 30 ? real(`no activity of any kind for ${days(f.days_since_last_event)}`) : null;
}

function noPurchaseIn(window: 30 | 90): (f: F) => Fact | null {
  return (f) => ((window === 30 ? f.purchases_30d : f.purchases_90d) === 0 ? real(`no purchase in the last ${window} days`, window) : null);
}

function purchaseTrend(f: F): Fact | null {
  if (f.purchase_trend_90d >= 0) return null;
  const before = purchasesBefore(f);
  if (before === null) return real("no purchase in the last 90 days, after buying in the 90 days before");
  return real(`${plural(f.purchases_90d, "purchase")} in the last 90 days, down from ${before} in the 90 days before`);
}

function spendTrend(f: F): Fact | null {
  const t = f.spend_trend_90d;
  if (t >= 0) return null;
  if (t <= -1) return real("no spend in the last 90 days, after spending in the 90 days before");
  const drop = Math.round((1 - (1 + t) / (1 - t)) * 100);
  return drop >= 10 ? real(`spend in the last 90 days down ${drop}% on the 90 days before`) : null;
}

function fewPurchases(f: F): Fact | null {
  return f.purchase_count >= 1 && f.purchase_count <= 3
    ? real(`only ${plural(f.purchase_count, "purchase")} in ${days(f.tenure_days)} as a customer`)
    : null;
}

function infrequent(f: F): Fact | null {
  if (f.mean_days_between_purchases < 45) return null;
  return real(`usually ${Math.round(f.mean_days_between_purchases)} days between purchases`);
}

function lowRate(f: F): Fact | null {
  if (f.purchases_per_30d <= 0) return null;
  const every = 30 / f.purchases_per_30d;
  return every >= 45 ? real(`about one purchase every ${Math.round(every)} days since becoming a customer`) : null;
}

function irregular(f: F): Fact | null {
  if (f.std_days_between_purchases < 0 || f.mean_days_between_purchases <= 0) return null;
  if (f.std_days_between_purchases < f.mean_days_between_purchases) return null;
  return real(`irregular buying: ${Math.round(f.mean_days_between_purchases)} days between purchases on average, give or take ${Math.round(f.std_days_between_purchases)}`);
}

function ticketsIn(window: 14 | 30 | 90): (f: F) => Fact | null {
  return (f) => {
    const n = window === 14 ? f.tickets_14d : window === 30 ? f.tickets_30d : f.tickets_90d;
    return n > 0 ? real(`${plural(n, "support ticket")} in the last ${window} days`) : null;
  };
}

function openTickets(f: F): Fact | null {
  if (f.tickets_open <= 0) return null;
  return f.tickets_open === 1
    ? real(`1 support ticket open for ${days(f.oldest_open_ticket_days)}`)
    : real(`${f.tickets_open} support tickets open, the oldest for ${days(f.oldest_open_ticket_days)}`);
}

function ticketsSoFar(f: F): Fact | null {
  return f.tickets_total > 0 ? real(`${plural(f.tickets_total, "support ticket")} so far`) : null;
}

function recentContact(f: F): Fact | null {
  return f.tickets_total > 0 && f.days_since_last_support_contact <= 30
    ? real(`last contact with support ${days(f.days_since_last_support_contact)} ago`)
    : null;
}

function slaBreaches(f: F): Fact | null {
  return f.sla_breaches > 0 ? real(`${plural(f.sla_breaches, "support ticket")} resolved late (SLA breach) so far`) : null;
}

function escalated(f: F): Fact | null {
  return f.escalated_tickets > 0 ? real(`${plural(f.escalated_tickets, "escalated support ticket")} so far`) : null;
}

function highPriority(window: "90d" | "all"): (f: F) => Fact | null {
  return (f) => {
    const n = window === "90d" ? f.high_priority_tickets_90d : f.high_priority_tickets;
    if (n <= 0) return null;
    return real(`${plural(n, "high-priority support ticket")} ${window === "90d" ? "in the last 90 days" : "so far"}`);
  };
}

function slowResolution(f: F): Fact | null {
  const h = f.mean_resolution_hours;
  if (h < 24) return null;
  return real(`support tickets took ${h >= 48 ? days(h / 24) : plural(Math.round(h), "hour")} on average to resolve`);
}

const neverSurveyed = (f: F) => f.has_nps === 0 && f.has_csat === 0 && f.has_ces === 0;

function nps(f: F): Fact | null {
  if (f.has_nps !== 1) return null;
  if (f.last_nps <= 6) return real(`last NPS answer ${f.last_nps}: a detractor`);
  if (f.last_nps <= 8) return real(`last NPS answer ${f.last_nps}: passive, not a promoter`);
  return null;
}

function csat(f: F): Fact | null {
  return f.has_csat === 1 && f.last_csat <= 3 ? real(`last satisfaction score ${f.last_csat} of 5`) : null;
}

function ces(f: F): Fact | null {
  return f.has_ces === 1 && f.last_ces >= 5 ? real(`last effort score ${f.last_ces} of 7: hard to deal with us`) : null;
}

/** Any satisfaction feature standing for an absent answer: says only that it is absent. */
function missingSurvey(what: "NPS" | "satisfaction" | "effort"): (f: F) => Fact | null {
  return (f) => {
    if (neverSurveyed(f)) return indicator("has never answered a survey");
    const has = what === "NPS" ? f.has_nps : what === "satisfaction" ? f.has_csat : f.has_ces;
    return has === 0 ? indicator(`no ${what} answer on record`) : null;
  };
}

function surveyAge(f: F): Fact | null {
  // How long ago someone answered says nothing about how they feel: an indicator at best.
  return neverSurveyed(f) ? indicator("has never answered a survey") : indicator(`last survey answer ${days(f.days_since_last_survey)} ago`);
}

function refunds(f: F): Fact | null {
  return f.refund_count > 0 ? real(`${plural(f.refund_count, "refund")} so far, ${Math.round(f.refund_ratio * 100)}% of spend returned`) : null;
}

function newCustomer(newDays: number): (f: F) => Fact | null {
  return (f) => (f.tenure_days < newDays ? real(`new customer: first known ${days(f.tenure_days)} ago`) : null);
}

type FactOf = (f: F) => Fact | null;

/** Each theme's features with the fact each one can state. Every feature is in exactly one theme. */
function themes(newDays: number): Record<ThemeCode, Partial<Record<FeatureName, FactOf>>> {
  return {
    recency: { days_since_last_purchase: recency, recency_vs_interval: recency, days_since_last_event: noActivity },
    engagement: {
      purchases_30d: noPurchaseIn(30), spend_30d: noPurchaseIn(30), purchases_90d: noPurchaseIn(90), spend_90d: noPurchaseIn(90),
      purchase_trend_90d: purchaseTrend, spend_trend_90d: spendTrend,
    },
    frequency: {
      purchase_count: fewPurchases, purchases_per_30d: lowRate, mean_days_between_purchases: infrequent, std_days_between_purchases: irregular,
    },
    support: {
      tickets_14d: ticketsIn(14), tickets_30d: ticketsIn(30), tickets_90d: ticketsIn(90), tickets_open: openTickets,
      oldest_open_ticket_days: openTickets, tickets_total: ticketsSoFar, days_since_last_support_contact: recentContact,
    },
    support_quality: {
      sla_breaches: slaBreaches, escalated_tickets: escalated, high_priority_tickets_90d: highPriority("90d"),
      high_priority_tickets: highPriority("all"), mean_resolution_hours: slowResolution,
    },
    satisfaction: {
      last_nps: nps, nps_category: nps, has_nps: missingSurvey("NPS"), last_csat: csat, has_csat: missingSurvey("satisfaction"),
      last_ces: ces, has_ces: missingSurvey("effort"), days_since_last_survey: surveyAge,
    },
    refunds: { refund_count: refunds, refund_amount: refunds, refund_ratio: refunds },
    new_customer: { tenure_days: newCustomer(newDays) },
    // Spend level feeds the value estimate and the ranking; "small baskets" is nothing to act on.
    spend: { total_spend: () => null, avg_order_value: () => null },
  };
}

interface ResolvedTheme {
  code: ThemeCode;
  /** Feature positions in the model's input, with the fact each can state. */
  features: { index: number; fact: FactOf }[];
}

/** Themes resolved against a model's feature order, once per model. */
export interface ReasonThemes {
  readonly themes: readonly ResolvedTheme[];
}

export function resolveThemes(featureNames: readonly string[], newDays = 90): ReasonThemes {
  const all = themes(newDays);
  return {
    themes: (Object.entries(all) as [ThemeCode, Partial<Record<FeatureName, FactOf>>][]).map(([code, facts]) => ({
      code,
      features: (Object.entries(facts) as [FeatureName, FactOf][])
        .map(([name, fact]) => ({ index: featureNames.indexOf(name), fact }))
        .filter((x) => x.index >= 0),
    })),
  };
}

interface Candidate {
  code: ReasonCode;
  weight: number;
  fact: Fact;
}

/**
 * Two sentences about the same silence ("no purchase in the last 30 days", "no purchase for 64
 * days; usually every 12") become one: the one stating the longer silence, carrying both themes'
 * push, since both explain the same fact.
 */
function foldSilences(candidates: Candidate[]): void {
  const silent = candidates.filter((c) => c.fact.silenceDays !== undefined);
  if (silent.length < 2) return;
  const keep = silent.reduce((a, b) => (b.fact.silenceDays! > a.fact.silenceDays! ? b : a));
  for (const c of silent) {
    if (c === keep) continue;
    keep.weight += c.weight;
    candidates.splice(candidates.indexOf(c), 1);
  }
}

/**
 * The reasons for one at-risk customer, strongest first, from TreeSHAP contributions (phi, in
 * the model's feature order) and the feature values they explain.
 */
export function explainReasons(phi: ArrayLike<number>, features: F, resolved: ReasonThemes): Reason[] {
  let totalPush = 0;
  const candidates: Candidate[] = [];
  for (const theme of resolved.themes) {
    let weight = 0;
    for (const { index } of theme.features) weight += phi[index]!;
    if (!(weight > 0)) continue;
    totalPush += weight;
    if (theme.code === "spend") continue;
    // The theme's risk-raising features, strongest first; the first that states a fact speaks for it.
    const raising = theme.features.filter((x) => phi[x.index]! > 0).sort((a, b) => phi[b.index]! - phi[a.index]!);
    for (const { fact } of raising) {
      const said = fact(features);
      if (said) {
        candidates.push({ code: theme.code, weight, fact: said });
        break;
      }
    }
  }
  foldSilences(candidates);
  candidates.sort((a, b) => b.weight - a.weight);
  const strong = candidates.filter((c) => c.weight >= MIN_WEIGHT && c.weight >= MIN_SHARE * totalPush).slice(0, MAX_REASONS);
  let chosen = strong;
  if (chosen.length > 0 && chosen.every((c) => c.fact.indicator)) {
    // An indicator alone explains nothing: the next real factor instead, if there is one worth a word.
    const next = candidates.find((c) => !c.fact.indicator && c.weight >= MIN_WEIGHT);
    chosen = next ? [next] : [];
  }
  return chosen.map((c) => ({ code: c.code, text: c.fact.text, weight: Math.round(c.weight * 1e4) / 1e4 }));
}
