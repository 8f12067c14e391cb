/** The customer rows that digests and alerts show, and how they are ordered and described. */
import type { Segment, SegmentConditions } from "./segments.js";

export interface Reason {
  code: string;
  /** A short plain-words sentence from scoring, e.g. "no purchase for 64 days, usually every 12". */
  text: string;
  weight: number;
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
}

/** Highest value at risk first; ties by score, then id, so two renders of the same data agree. */
export function rankCustomers<T extends ScoredCustomer>(customers: readonly T[]): T[] {
  return [...customers].sort(
    (a, b) => b.valueAtRisk - a.valueAtRisk || b.score - a.score || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0),
  );
}

/** The strongest reasons as sentences: capitalised, with a full stop, at most `max`. */
export function reasonSentences(reasons: readonly Reason[], max = 3): string[] {
  return [...reasons]
    .filter((r) => typeof r.text === "string" && r.text.trim() !== "")
    .sort((a, b) => b.weight - a.weight)
    .slice(0, max)
    .map((r) => {
      const t = r.text.trim();
      const s = t.charAt(0).toUpperCase() + t.slice(1);
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

/** The segment's rule in words, for the footer ("why is this customer in my list?"). */
export function describeConditions(when: SegmentConditions, currency: string): string {
  const parts: string[] = [];
  if (when.riskLevels) parts.push(`risk level ${when.riskLevels.join(" or ")}`);
  if (when.minScore !== undefined) parts.push(`churn risk \u2265 ${Math.round(when.minScore * 100)}%`);
  if (when.maxScore !== undefined) parts.push(`churn risk \u2264 ${Math.round(when.maxScore * 100)}%`);
  if (when.minValue !== undefined) parts.push(`lifetime value \u2265 ${when.minValue} ${currency}`);
  for (const [name, c] of Object.entries(when.features ?? {})) {
    for (const [op, v] of Object.entries(c)) parts.push(`${name} ${OPS[op] ?? op} ${v}`);
  }
  return parts.length ? parts.join(", ") : "every scored customer";
}

export type SegmentView = Pick<Segment, "id" | "name" | "description" | "action" | "when"> & Partial<Pick<Segment, "maxRows" | "crmLinkTemplate">>;
