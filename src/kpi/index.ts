/** Retention KPIs: pure formulas (metrics, report), SQL over raw_event (compute), snapshots, periods and segment trends. */
export * from "./metrics.js";
export * from "./report.js";
export { computeChurn, computeKpiCounts, computeKpis, DEFAULT_ACTIVE_WINDOW_DAYS, type KpiPeriodOptions } from "./compute.js";
export { readKpiSnapshot, saveKpiSnapshot, snapshotKpis, type KpisWithChange } from "./snapshots.js";
export {
  assertTimeZone, localDate, previousPeriod, startOfLocalDay, startOfLocalWeek, trailingDays, weekStarts, zonedMidnight, type Period,
} from "./period.js";
export {
  computeWonBack, readSegmentTrend, recordSegmentSnapshot, settleSegmentChurn, TREND_WEEKS, type SegmentTrend, type SnapshotMember, type TrendWeek,
} from "./segment-trends.js";
export { computeSavedKpi, DEFAULT_AT_RISK_LEVELS, describeSavedKpi, judgedPeriod, type SavedKpi, type SavedKpiLevel, type SavedKpiOptions } from "./saved.js";
