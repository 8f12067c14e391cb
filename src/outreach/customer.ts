/** The customer rows that digests and alerts show, and how they are ordered and described. */
import type { MailFormat } from "./format.js";
import { localiseReason } from "./i18n/reasons.js";
import type { Segment, SegmentConditions } from "./segments.js";

export interface Reason {
  code: string;
  /** A short plain-words sentence from scoring, e.g. "no purchase for 64 days, usually every 12". */
  text: string;
  weight: number;
  /** Optional: the fact (a key of the catalogues' `reasons` group) and its numbers, rendered in any language. */
  fact?: string;
  params?: Record<string, string | number>;
}

export interface ScoredCustomer {
  customerId: string;
  name?: string | null;
  email?: string | null;
  /** Calibrated churn probability, 0-1. */
  score: number;
  riskLevel: string;
  /**
   * The score the team last saw for this customer: at their last listing in this segment's digest,
   * or before the rise an alert reports (null when never seen).
   */
  lastSeenScore: number | null;
  reasons: Reason[];
  /** Estimated lifetime value, base currency. */
  value: number;
  /** value x score: the value at risk, which ranks the list. */
  valueAtRisk: number;
  features: Record<string, number>;
  /** The customer's own locale (profile.locale), shown next to the name so the team can call in it. */
  locale?: string | null;
}

/**
 * A customer of a win-back segment: lapsed or cancelled, so the model gives no probability (they
 * already stopped buying by its own definition) and there is no value at risk. What the team gets
 * instead are plain facts: the stage and since when, the value, the last purchase against their
 * usual rhythm, what they spent.
 */
export interface WinbackCustomer {
  customerId: string;
  name?: string | null;
  email?: string | null;
  locale?: string | null;
  /** lapsed or cancelled (unscored_customer.stage). */
  stage: string;
  /** When the stage began (lapsed: last purchase + the model's active window; cancelled: the cancellation); null when unknown. */
  since: Date | null;
  /** Expected 12-month spend at the rate they bought before the stage began (unscored_customer.value): the ranking. */
  value: number;
  /** When this list last had them (a listing older than the cooldown), null when never. */
  lastListedAt: Date | null;
  /** Current feature values (features/names.ts), for the facts. */
  features: Record<string, number>;
}

/** Highest value first; ties by id, so two renders of the same data agree. */
export function rankByValue<T extends Pick<WinbackCustomer, "customerId" | "value">>(customers: readonly T[]): T[] {
  return [...customers].sort((a, b) => b.value - a.value || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0));
}

/** The facts a win-back digest shows instead of churn reasons, as they go in the CSV (null: not known). */
export interface WinbackFacts {
  daysSinceLastPurchase: number | null;
  /** Mean days between purchases; null with fewer than two purchases. */
  usualDays: number | null;
  purchases: number;
  /** Spend net of refunds, lifetime, base currency. */
  lifetimeSpend: number;
}

export function winbackFacts(c: Pick<WinbackCustomer, "features">): WinbackFacts {
  const f = c.features;
  const num = (name: string): number | null => {
    const v = f[name];
    return v === undefined || !Number.isFinite(v) ? null : v;
  };
  const purchases = Math.max(0, Math.round(num("purchase_count") ?? 0));
  const since = num("days_since_last_purchase");
  const usual = num("mean_days_between_purchases");
  return {
    // days_since_last_purchase falls back to the tenure without a purchase: that is no purchase date.
    daysSinceLastPurchase: purchases > 0 && since !== null ? Math.round(since) : null,
    // -1 is the feature's "fewer than two purchases".
    usualDays: usual !== null && usual >= 0 && purchases >= 2 ? Math.max(1, Math.round(usual)) : null,
    purchases,
    lifetimeSpend: Math.max(0, (num("total_spend") ?? 0) - (num("refund_amount") ?? 0)),
  };
}

/** The facts as sentences in the reader's language: capitalised, with a full stop. */
export function winbackFactSentences(c: Pick<WinbackCustomer, "features">, f: MailFormat): string[] {
  const facts = winbackFacts(c);
  const out: string[] = [];
  if (facts.daysSinceLastPurchase === null) out.push(f.tr.t("winback", "noPurchase"));
  else if (facts.usualDays === null) out.push(f.tr.t("winback", "lastPurchase", { days: facts.daysSinceLastPurchase }));
  else out.push(f.tr.t("winback", "lastPurchaseUsual", { days: facts.daysSinceLastPurchase, usual: facts.usualDays }));
  if (facts.purchases > 0) out.push(f.tr.t("winback", "lifetime", { value: f.money(facts.lifetimeSpend), n: facts.purchases }));
  return out.map((t) => {
    const s = t.charAt(0).toLocaleUpperCase(f.locale) + t.slice(1);
    return /[.!?]$/.test(s) ? s : `${s}.`;
  });
}

/** "lapsed since 3 May 2026", "cancelled on 12 Jan 2026", or the stage alone when its start is unknown. */
export function stageLine(c: Pick<WinbackCustomer, "stage" | "since">, f: MailFormat): string {
  const { tr } = f;
  if (c.since !== null) {
    if (c.stage === "lapsed") return tr.t("winback", "lapsedSince", { date: f.date(c.since) });
    if (c.stage === "cancelled") return tr.t("winback", "cancelledOn", { date: f.date(c.since) });
  }
  return stageName(c.stage, f);
}

/** A lifecycle stage in the reader's language (the stage as stored when it has no name). */
export function stageName(stage: string, f: MailFormat): string {
  return stage === "new" || stage === "active" || stage === "lapsed" || stage === "cancelled" ? f.tr.t("stages", stage) : stage;
}

/** Highest value at risk first; ties by score, then id, so two renders of the same data agree. */
export function rankCustomers<T extends ScoredCustomer>(customers: readonly T[]): T[] {
  return [...customers].sort(
    (a, b) => b.valueAtRisk - a.valueAtRisk || b.score - a.score || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0),
  );
}

/**
 * The strongest reasons as sentences in the reader's language (English when no format is given):
 * capitalised, with a full stop, at most `max`.
 */
export function reasonSentences(reasons: readonly Reason[], max = 3, f?: MailFormat): string[] {
  return [...reasons]
    .filter((r) => typeof r.text === "string" && r.text.trim() !== "")
    .sort((a, b) => b.weight - a.weight)
    .slice(0, max)
    .map((r) => {
      const t = (f ? localiseReason(r, f.tr) : r.text).trim();
      const s = t.charAt(0).toLocaleUpperCase(f?.locale) + t.slice(1);
      return /[.!?]$/.test(s) ? s : `${s}.`;
    });
}

/** The customer's CRM page; null without a template (or when the result is not an http(s) URL). */
export function crmLink(template: string | undefined | null, customerId: string): string | null {
  if (!template) return null;
  const url = template.split("{customerId}").join(encodeURIComponent(customerId));
  return /^https?:\/\/\S+$/i.test(url) ? url : null;
}

export function displayName(c: Pick<ScoredCustomer, "customerId" | "name">): string {
  return c.name && c.name.trim() !== "" ? c.name.trim() : c.customerId;
}

const OPS: Record<string, string> = { lt: "<", lte: "\u2264", gt: ">", gte: "\u2265", eq: "=", ne: "\u2260" };

/**
 * The segment's rule in words, for the footer ("why is this customer in my list?"). Feature names
 * stay as written in the segments file: that is where a reader would look them up.
 */
export function describeConditions(when: SegmentConditions, f: MailFormat): string {
  const { tr } = f;
  const parts: string[] = [];
  if (when.riskLevels) {
    const levels = new Intl.ListFormat(f.locale, { type: "disjunction" }).format(when.riskLevels.map((l) => f.level(l)));
    parts.push(tr.t("rule", "levels", { levels }));
  }
  if (when.minScore !== undefined) parts.push(tr.t("rule", "minScore", { value: f.score(when.minScore) }));
  if (when.maxScore !== undefined) parts.push(tr.t("rule", "maxScore", { value: f.score(when.maxScore) }));
  if (when.lifecycle) {
    const stages = new Intl.ListFormat(f.locale, { type: "disjunction" }).format(when.lifecycle.map((s) => stageName(s, f)));
    parts.push(tr.t("rule", "lifecycle", { stages }));
  }
  if (when.minValue !== undefined) parts.push(tr.t("rule", "minValue", { value: f.money(when.minValue) }));
  for (const [name, c] of Object.entries(when.features ?? {})) {
    for (const [op, v] of Object.entries(c)) parts.push(`${name} ${OPS[op] ?? op} ${f.number(v as number, Number.isInteger(v) ? 0 : 2)}`);
  }
  return parts.length ? parts.join(", ") : tr.t("rule", "everyone");
}

/** What rendering needs of a segment: its texts already in the reader's language. */
export type SegmentView = Pick<Segment, "id" | "name" | "description" | "action" | "when"> & Partial<Pick<Segment, "maxRows" | "crmLinkTemplate">>;
