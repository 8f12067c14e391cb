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
  if (when.minValue !== undefined) parts.push(tr.t("rule", "minValue", { value: f.money(when.minValue) }));
  for (const [name, c] of Object.entries(when.features ?? {})) {
    for (const [op, v] of Object.entries(c)) parts.push(`${name} ${OPS[op] ?? op} ${f.number(v as number, Number.isInteger(v) ? 0 : 2)}`);
  }
  return parts.length ? parts.join(", ") : tr.t("rule", "everyone");
}

/** What rendering needs of a segment: its texts already in the reader's language. */
export type SegmentView = Pick<Segment, "id" | "name" | "description" | "action" | "when"> & Partial<Pick<Segment, "maxRows" | "crmLinkTemplate">>;
