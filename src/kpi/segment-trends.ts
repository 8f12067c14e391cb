/**
 * Per-segment history for the digests' trend charts, in segment_snapshot: one row per segment and
 * local week (Monday 00:00 in the teams' zone), written by the first digest run of the week with
 * the segment's size and value at risk at that moment. After the week ends its realised churn is
 * settled: of the members who were customers at the week's start, how many were not at its end,
 * by the same definition as the company's churn rate (kpi/compute.ts), so both read alike.
 *
 * A win-back segment (lapsed or cancelled customers, outreach/segments.ts) has no churn to
 * measure: its members already stopped buying. Its snapshot records their value in value_at_risk
 * (all of it is what the team tries to regain), and its weeks settle as "won back": of the members
 * at the week's start, how many bought again during it, in churn_base and churned. The digest that
 * reads them knows which segment it renders and titles the charts accordingly; one table keeps one
 * trend history per segment id either way.
 *
 * Weeks before the first snapshot are absent rather than reconstructed: membership depends on
 * features and values at the time, which the database does not keep, and a chart of guesses would
 * look as certain as one of facts.
 */
import { DAY_MS } from "../lib/time.js";
import type { Queryable } from "../store/queryable.js";
import { computeChurn } from "./compute.js";
import { startOfLocalWeek, weekStarts } from "./period.js";

export interface TrendWeek {
  weekStart: Date;
  /** null: no snapshot that week. */
  customers: number | null;
  valueAtRisk: number | null;
  /**
   * Members who were customers at the week's start / those of them lost during it; null until
   * settled. A win-back segment's: its members / those who bought again (and valueAtRisk is their value).
   */
  churnBase: number | null;
  churned: number | null;
  /** churned / churnBase x 100; null when unsettled or the base is 0. */
  churnRate: number | null;
}

export interface SegmentTrend {
  /** Oldest first; the last is the current week. */
  weeks: TrendWeek[];
  /** Start of the earliest week with a snapshot in the window, null when none. */
  firstWeek: Date | null;
}

export const TREND_WEEKS = 12;

export interface SnapshotMember {
  customerId: string;
  valueAtRisk: number;
}

/** Records the week's snapshot unless the week has one (the first digest of the week decides). */
export async function recordSegmentSnapshot(
  db: Queryable, segment: string, weekStart: Date, members: readonly SnapshotMember[], takenAt: Date,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `insert into segment_snapshot (segment, week_start, customers, value_at_risk, members, taken_at)
     values ($1, $2, $3, $4, $5, $6) on conflict (segment, week_start) do nothing`,
    [segment, weekStart, members.length, members.reduce((s, m) => s + m.valueAtRisk, 0), members.map((m) => m.customerId), takenAt],
  );
  return rowCount === 1;
}

/**
 * Of `customers`, how many bought in [start, end): a win-back segment's weekly outcome. Any
 * purchase counts (scoring moves the customer back to the scored population on the next run).
 */
export async function computeWonBack(
  db: Queryable, opts: { start: Date; end: Date; customers: readonly string[] },
): Promise<{ atStart: number; wonBack: number }> {
  if (opts.customers.length === 0) return { atStart: 0, wonBack: 0 };
  const { rows } = await db.query<{ n: number }>(
    `select count(distinct customer_id)::int as n from raw_event
      where type = 'purchase' and customer_id = any($1::text[]) and occurred_at >= $2 and occurred_at < $3`,
    [[...opts.customers], opts.start, opts.end],
  );
  return { atStart: new Set(opts.customers).size, wonBack: rows[0]?.n ?? 0 };
}

/**
 * Settles every finished week of the segment that has members and no result yet, then drops the
 * member list (it is not needed again). Returns the weeks settled. `measure` "churn" (default):
 * realised churn; "wonBack": members who bought again (a win-back segment).
 */
export async function settleSegmentChurn(
  db: Queryable, segment: string, now: Date, opts: { timeZone: string; activeWindowDays?: number; measure?: "churn" | "wonBack" },
): Promise<number> {
  const { rows } = await db.query<{ week_start: Date; members: string[] }>(
    `select week_start, members from segment_snapshot
      where segment = $1 and settled_at is null and members is not null and week_start + interval '6 days' <= $2
      order by week_start`,
    [segment, now],
  );
  let settled = 0;
  for (const r of rows) {
    // The next local Monday (a week across a DST change is an hour longer or shorter than 7 x 24 h).
    const end = startOfLocalWeek(new Date(r.week_start.getTime() + 7.5 * DAY_MS), opts.timeZone);
    if (end.getTime() > now.getTime()) continue;
    const churn = r.members.length === 0
      ? { atStart: 0, lost: 0 }
      : opts.measure === "wonBack"
        ? await computeWonBack(db, { start: r.week_start, end, customers: r.members }).then((w) => ({ atStart: w.atStart, lost: w.wonBack }))
        : await computeChurn(db, { start: r.week_start, end, customers: r.members, ...(opts.activeWindowDays ? { activeWindowDays: opts.activeWindowDays } : {}) });
    await db.query(
      `update segment_snapshot set churn_base = $3, churned = $4, members = null, settled_at = $5
        where segment = $1 and week_start = $2`,
      [segment, r.week_start, churn.atStart, churn.lost, now],
    );
    settled++;
  }
  return settled;
}

/** The last `weeks` local weeks up to the one containing `now`, with what the snapshots hold. */
export async function readSegmentTrend(
  db: Queryable, segment: string, now: Date, timeZone: string, weeks = TREND_WEEKS,
): Promise<SegmentTrend> {
  const starts = weekStarts(now, weeks, timeZone);
  const { rows } = await db.query<{ week_start: Date; customers: number; value_at_risk: number; churn_base: number | null; churned: number | null }>(
    `select week_start, customers, value_at_risk, churn_base, churned from segment_snapshot
      where segment = $1 and week_start >= $2 and week_start <= $3`,
    [segment, starts[0]!, starts[starts.length - 1]!],
  );
  const byStart = new Map(rows.map((r) => [r.week_start.getTime(), r]));
  const out = starts.map((weekStart): TrendWeek => {
    const r = byStart.get(weekStart.getTime());
    if (!r) return { weekStart, customers: null, valueAtRisk: null, churnBase: null, churned: null, churnRate: null };
    return {
      weekStart,
      customers: r.customers,
      valueAtRisk: r.value_at_risk,
      churnBase: r.churn_base,
      churned: r.churned,
      churnRate: r.churn_base === null || r.churned === null || r.churn_base === 0 ? null : (r.churned / r.churn_base) * 100,
    };
  });
  const first = out.find((w) => w.customers !== null);
  return { weeks: out, firstWeek: first?.weekStart ?? null };
}
