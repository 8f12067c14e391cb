/**
 * A period's KPI report: the raw counts (so a snapshot can be re-derived or audited later) and the
 * metrics computed from them. Plain JSON (ISO strings, numbers, null) because it is stored as
 * kpi_snapshot.values and rendered into emails.
 */
import {
  averageOrderValue,
  cesFromCounts,
  churnRate,
  csatFromCounts,
  customerLifetimeValue,
  customerRetentionRate,
  expectedLifespanPeriods,
  npsFromCounts,
  purchaseFrequency,
} from "./metrics.js";

export interface KpiCounts {
  /** S: customers at the period start. */
  customersAtStart: number;
  /** E: customers at the period end. */
  customersAtEnd: number;
  /** N: customers whose first purchase ever falls inside the period. */
  newCustomers: number;
  /** Customers at the start who are not customers at the end. */
  lostCustomers: number;
  orders: number;
  /** Sum of purchase amounts in the period, base currency, gross of refunds. */
  revenue: number;
  /** Distinct customers with at least one purchase in the period. */
  buyers: number;
  refunds: number;
  refundAmount: number;
  npsResponses: number;
  promoters: number;
  detractors: number;
  csatResponses: number;
  /** CSAT answers of 4 or 5. */
  satisfied: number;
  cesResponses: number;
  cesTotal: number;
}

export interface KpiValues {
  activeCustomers: number;
  newCustomers: number;
  lostCustomers: number;
  retentionRate: number | null;
  churnRate: number | null;
  averageOrderValue: number | null;
  purchaseFrequency: number | null;
  /** In periods of this report's length. */
  expectedLifespanPeriods: number;
  customerLifetimeValue: number | null;
  nps: number | null;
  csat: number | null;
  ces: number | null;
}

export interface KpiReport {
  periodStart: string;
  periodEnd: string;
  activeWindowDays: number;
  maxLifespanPeriods: number;
  counts: KpiCounts;
  values: KpiValues;
}

/** Default lifespan cap: 36 periods (three years of monthly periods) keeps a calm month from claiming eternal customers. */
export const DEFAULT_MAX_LIFESPAN_PERIODS = 36;

export function kpiValues(c: KpiCounts, maxLifespanPeriods = DEFAULT_MAX_LIFESPAN_PERIODS): KpiValues {
  const churn = churnRate(c.lostCustomers, c.customersAtStart);
  const aov = averageOrderValue(c.revenue, c.orders);
  const frequency = purchaseFrequency(c.orders, c.buyers);
  const lifespan = expectedLifespanPeriods(churn, maxLifespanPeriods);
  return {
    activeCustomers: c.customersAtEnd,
    newCustomers: c.newCustomers,
    lostCustomers: c.lostCustomers,
    retentionRate: customerRetentionRate(c.customersAtStart, c.customersAtEnd, c.newCustomers),
    churnRate: churn,
    averageOrderValue: aov,
    purchaseFrequency: frequency,
    expectedLifespanPeriods: lifespan,
    customerLifetimeValue: customerLifetimeValue(aov, frequency, lifespan),
    nps: npsFromCounts(c.npsResponses, c.promoters, c.detractors),
    csat: csatFromCounts(c.csatResponses, c.satisfied),
    ces: cesFromCounts(c.cesResponses, c.cesTotal),
  };
}

export type KpiUnit = "count" | "percent" | "currency" | "number" | "nps";

export interface KpiDefinition {
  key: keyof KpiValues;
  label: string;
  unit: KpiUnit;
  /** Which direction is good news; the digest colours arrows by it. */
  better: "higher" | "lower";
}

/** What the digest shows, in this order. */
export const KPI_DEFINITIONS: readonly KpiDefinition[] = [
  { key: "activeCustomers", label: "Active customers", unit: "count", better: "higher" },
  { key: "retentionRate", label: "Customer retention rate", unit: "percent", better: "higher" },
  { key: "churnRate", label: "Churn rate", unit: "percent", better: "lower" },
  { key: "newCustomers", label: "New customers", unit: "count", better: "higher" },
  { key: "averageOrderValue", label: "Average order value", unit: "currency", better: "higher" },
  { key: "purchaseFrequency", label: "Purchase frequency (orders per buyer)", unit: "number", better: "higher" },
  { key: "customerLifetimeValue", label: "Customer lifetime value", unit: "currency", better: "higher" },
  { key: "nps", label: "Net Promoter Score", unit: "nps", better: "higher" },
  { key: "csat", label: "CSAT (satisfied answers)", unit: "percent", better: "higher" },
  { key: "ces", label: "Customer effort score (1-7, lower is easier)", unit: "number", better: "lower" },
];

export interface KpiChange {
  key: keyof KpiValues;
  label: string;
  unit: KpiUnit;
  value: number | null;
  previous: number | null;
  /** value - previous, in the metric's own unit (percentage points for percentages). */
  change: number | null;
  /** Relative change in % of previous; null when previous is 0 or either side is missing. */
  relativeChange: number | null;
  direction: "up" | "down" | "flat" | null;
  assessment: "better" | "worse" | "same" | null;
}

const FLAT = 1e-9;

/** "Change against the previous period" for every KPI in KPI_DEFINITIONS; previous may be absent (first period). */
export function kpiChange(current: KpiValues, previous: KpiValues | null): KpiChange[] {
  return KPI_DEFINITIONS.map((d) => {
    const value = current[d.key];
    const prev = previous === null ? null : previous[d.key];
    const change = value === null || prev === null ? null : value - prev;
    const direction = change === null ? null : Math.abs(change) < FLAT ? "flat" : change > 0 ? "up" : "down";
    const assessment =
      direction === null ? null
        : direction === "flat" ? "same"
          : (direction === "up") === (d.better === "higher") ? "better" : "worse";
    const relativeChange = change === null || prev === null || prev === 0 ? null : (change / Math.abs(prev)) * 100;
    return { key: d.key, label: d.label, unit: d.unit, value, previous: prev, change, relativeChange, direction, assessment };
  });
}
