/**
 * Customer value for outreach priority: spend expected over the next 12 months at the customer's
 * own historical rate. Tenure is floored at 90 days so that a new customer's single first order
 * is not extrapolated into a fortune. Priority = value x churn probability = value at risk.
 */
import type { FeatureName } from "../features/index.js";

const MIN_TENURE_DAYS = 90;

export function twelveMonthValue(f: Readonly<Record<FeatureName, number>>): number {
  const spend = Math.max(0, f.total_spend - f.refund_amount);
  const perDay = spend / Math.max(MIN_TENURE_DAYS, f.tenure_days);
  return Math.round(perDay * 365 * 100) / 100;
}

export function valueAtRisk(value: number, score: number): number {
  return Math.round(value * score * 100) / 100;
}
