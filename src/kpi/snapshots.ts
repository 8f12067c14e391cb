/**
 * KPI snapshots in kpi_snapshot, keyed by (period_start, period_end): the digest's "change
 * against the previous period" reads the stored previous report rather than recomputing it, so
 * the numbers a team saw last time stay the numbers they compare against.
 */
import { computeKpis, type KpiPeriodOptions } from "./compute.js";
import { kpiChange, type KpiChange, type KpiReport } from "./report.js";
import type { Queryable } from "../store/queryable.js";


export async function saveKpiSnapshot(db: Queryable, report: KpiReport, computedAt = new Date()): Promise<void> {
  await db.query(
    `insert into kpi_snapshot (period_start, period_end, values, computed_at) values ($1, $2, $3, $4)
     on conflict (period_start, period_end) do update set values = excluded.values, computed_at = excluded.computed_at`,
    [report.periodStart, report.periodEnd, JSON.stringify(report), computedAt],
  );
}

export async function readKpiSnapshot(db: Queryable, start: Date, end: Date): Promise<KpiReport | null> {
  const { rows } = await db.query<{ values: KpiReport }>(
    "select values from kpi_snapshot where period_start = $1 and period_end = $2",
    [start, end],
  );
  return rows[0]?.values ?? null;
}

export interface KpisWithChange {
  current: KpiReport;
  previous: KpiReport | null;
  changes: KpiChange[];
}

/**
 * Computes and stores the current period, and compares it with the previous one: the stored
 * snapshot if there is one, else computed from the event log now and stored (the first digest
 * after deployment still gets a comparison, as raw_event holds the history).
 */
export async function snapshotKpis(
  db: Queryable,
  current: KpiPeriodOptions,
  previous: { start: Date; end: Date } | null,
  now = new Date(),
): Promise<KpisWithChange> {
  const report = await computeKpis(db, current);
  await saveKpiSnapshot(db, report, now);
  let prev: KpiReport | null = null;
  if (previous !== null) {
    prev = await readKpiSnapshot(db, previous.start, previous.end);
    if (prev === null) {
      prev = await computeKpis(db, { ...current, start: previous.start, end: previous.end });
      await saveKpiSnapshot(db, prev, now);
    }
  }
  return { current: report, previous: prev, changes: kpiChange(report.values, prev?.values ?? null) };
}
