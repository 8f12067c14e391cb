/**
 * Customer value for outreach priority: spend expected over the next 12 months at the customer's
 * own historical rate. Tenure is floored at 90 days so that a new customer's single first order
 * is not extrapolated into a fortune. Priority = value x churn probability = value at risk; for a
 * customer the model does not score (lapsed, cancelled), the value when that stage began.
 */
import type { FeatureName } from "../features/index.js";

const MIN_TENURE_DAYS = 90;

export function twelveMonthValue(f: Readonly<Record<FeatureName, number>>): number {
  const spend = Math.max(0, f.total_spend - f.refund_amount);
  const perDay = spend / Math.max(MIN_TENURE_DAYS, f.tenure_days);
  return Math.round(perDay * 365 * 100) / 100;
}

/**
 * twelveMonthValue as it was `daysAgo` days before the features' moment (the spend is the same: a
 * lapsed or cancelled customer bought nothing since): a win-back customer's value when their stage
 * began, at the rate they bought while they were buying. Measured today it would drop with every
 * silent day, and a win-back list ranked by it would put the longest-gone last whatever they spent.
 */
export function valueBefore(f: Readonly<Record<FeatureName, number>>, daysAgo: number): number {
  return twelveMonthValue({ ...f, tenure_days: Math.max(0, f.tenure_days - Math.max(0, daysAgo)) });
}

export function valueAtRisk(value: number, score: number): number {
  return Math.round(value * score * 100) / 100;
}
