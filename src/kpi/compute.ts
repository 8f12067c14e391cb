/**
 * KPIs over [start, end) from the raw event log. Aggregates run in Postgres (two queries) so a
 * history of millions of events never crosses the wire, and each reads only the rows of its period
 * (plus the active window before it) through the occurred_at index, not the whole table.
 *
 * Who counts as "a customer" at instant t: someone whose latest purchase before t lies within
 * activeWindowDays before t, and who has no cancellation between that purchase and t. A
 * cancellation followed by a new purchase is a returning customer, not a lost one: the event log
 * keeps both, and counting them as gone forever would overstate churn.
 * N = customers whose first purchase ever falls in [start, end); lost = customers at start who
 * are not customers at end. Survey metrics count answers given in the period.
 */
import { DEFAULT_MAX_LIFESPAN_PERIODS, kpiValues, type KpiCounts, type KpiReport } from "./report.js";
import type { Queryable } from "../store/queryable.js";

export interface KpiPeriodOptions {
  start: Date;
  end: Date;
  /** A customer is active at t when they bought within this many days before t. */
  activeWindowDays?: number;
  maxLifespanPeriods?: number;
  /**
   * Only these customers (a segment's members): the same definitions over a subset, so a segment's
   * KPIs sit next to the company's and mean the same thing. Absent: everyone.
   */
  customers?: readonly string[];
}


// Reads one active window before the period's start through its end, not the whole history:
// whether someone is a customer at t depends only on their purchases and cancellations within the
// active window before t (the latest purchase there, and any cancellation after it), so events
// from start - window to end decide both ends of the period. It runs as a range scan of
// raw_event_occurred_at_idx, index-only (type and customer_id are in the index).
// "New" means a first purchase ever in the period: a purchase in the period and none before it;
// none in the window is seen here, and none before the window is checked per candidate with a
// scalar subquery (one probe of raw_event_customer_id_occurred_at_idx each, stopping at the first
// purchase). A scalar subquery, not NOT EXISTS: the planner may turn NOT EXISTS into a hashed
// anti-join that reads every earlier purchase, which is the full scan this query avoids.
const CUSTOMER_BASE_SQL = `
with recent as (
  select customer_id,
         max(occurred_at) filter (where type = 'purchase' and occurred_at < $1) as last_purchase_start,
         max(occurred_at) filter (where type = 'cancellation' and occurred_at < $1) as last_cancel_start,
         max(occurred_at) filter (where type = 'purchase') as last_purchase_end,
         max(occurred_at) filter (where type = 'cancellation') as last_cancel_end,
         bool_or(type = 'purchase' and occurred_at >= $1) as bought_in_period
    from raw_event
   where occurred_at >= $1::timestamptz - make_interval(days => $3) and occurred_at < $2
     and type in ('purchase', 'cancellation')
     and ($4::text[] is null or customer_id = any($4::text[]))
   group by customer_id
), status as (
  select (last_purchase_start >= $1::timestamptz - make_interval(days => $3)
           and (last_cancel_start is null or last_cancel_start < last_purchase_start)) as at_start,
         (last_purchase_end >= $2::timestamptz - make_interval(days => $3)
           and (last_cancel_end is null or last_cancel_end < last_purchase_end)) as at_end,
         case when bought_in_period and last_purchase_start is null then
           (select true from raw_event p
             where p.customer_id = recent.customer_id and p.type = 'purchase'
               and p.occurred_at < $1::timestamptz - make_interval(days => $3)
             limit 1) is null
         end as is_new
    from recent
)
select count(*) filter (where at_start)::int as s,
       count(*) filter (where at_end)::int as e,
       count(*) filter (where at_start and not at_end)::int as lost,
       count(*) filter (where is_new)::int as n
  from status`;

// ->> then ::numeric: payloads are the validated events, so amounts and answers are JSON numbers.
// Reads the period's rows only: a range scan of raw_event_occurred_at_idx. A member list ($3) is a
// filter on that scan (a hashed = any: the unnamed statement is planned with the array's value).
const PERIOD_ACTIVITY_SQL = `
select count(*) filter (where type = 'purchase')::int as orders,
       coalesce(sum((payload->>'amount')::numeric) filter (where type = 'purchase'), 0)::float8 as revenue,
       count(distinct customer_id) filter (where type = 'purchase')::int as buyers,
       count(*) filter (where type = 'refund')::int as refunds,
       coalesce(sum((payload->>'amount')::numeric) filter (where type = 'refund'), 0)::float8 as refund_amount,
       count(payload->>'nps') filter (where type = 'survey_response')::int as nps_n,
       count(*) filter (where type = 'survey_response' and (payload->>'nps')::int >= 9)::int as promoters,
       count(*) filter (where type = 'survey_response' and (payload->>'nps')::int <= 6)::int as detractors,
       count(payload->>'csat') filter (where type = 'survey_response')::int as csat_n,
       count(*) filter (where type = 'survey_response' and (payload->>'csat')::int >= 4)::int as satisfied,
       count(payload->>'ces') filter (where type = 'survey_response')::int as ces_n,
       coalesce(sum((payload->>'ces')::numeric) filter (where type = 'survey_response'), 0)::float8 as ces_total
  from raw_event
 where occurred_at >= $1 and occurred_at < $2
   and type in ('purchase', 'refund', 'survey_response')
   and ($3::text[] is null or customer_id = any($3::text[]))`;

export const DEFAULT_ACTIVE_WINDOW_DAYS = 90;

export async function computeKpiCounts(db: Queryable, opts: KpiPeriodOptions): Promise<KpiCounts> {
  const { start, end } = opts;
  const windowDays = opts.activeWindowDays ?? DEFAULT_ACTIVE_WINDOW_DAYS;
  if (!(start.getTime() < end.getTime())) throw new RangeError(`KPI period start ${start.toISOString()} is not before end ${end.toISOString()}`);
  if (!Number.isInteger(windowDays) || windowDays < 1) throw new RangeError(`activeWindowDays must be a whole number >= 1, got ${windowDays}`);
  const members = opts.customers ? [...opts.customers] : null;
  const [b, activity] = await Promise.all([
    customerBase(db, start, end, windowDays, members),
    db.query<{
      orders: number; revenue: number; buyers: number; refunds: number; refund_amount: number;
      nps_n: number; promoters: number; detractors: number; csat_n: number; satisfied: number; ces_n: number; ces_total: number;
    }>(PERIOD_ACTIVITY_SQL, [start, end, members]),
  ]);
  const a = activity.rows[0]!;
  return {
    customersAtStart: b.s,
    customersAtEnd: b.e,
    newCustomers: b.n,
    lostCustomers: b.lost,
    orders: a.orders,
    revenue: a.revenue,
    buyers: a.buyers,
    refunds: a.refunds,
    refundAmount: a.refund_amount,
    npsResponses: a.nps_n,
    promoters: a.promoters,
    detractors: a.detractors,
    csatResponses: a.csat_n,
    satisfied: a.satisfied,
    cesResponses: a.ces_n,
    cesTotal: a.ces_total,
  };
}

async function customerBase(
  db: Queryable, start: Date, end: Date, windowDays: number, members: string[] | null,
): Promise<{ s: number; e: number; lost: number; n: number }> {
  const { rows } = await db.query<{ s: number; e: number; lost: number; n: number }>(CUSTOMER_BASE_SQL, [start, end, windowDays, members]);
  return rows[0]!;
}

/**
 * Of `customers`, how many were customers at `start` and how many of those were not at `end`
 * (the churn-rate numerator and denominator over [start, end)): a segment's realised churn.
 */
export async function computeChurn(
  db: Queryable, opts: { start: Date; end: Date; activeWindowDays?: number; customers: readonly string[] },
): Promise<{ atStart: number; lost: number }> {
  const b = await customerBase(db, opts.start, opts.end, opts.activeWindowDays ?? DEFAULT_ACTIVE_WINDOW_DAYS, [...opts.customers]);
  return { atStart: b.s, lost: b.lost };
}

export async function computeKpis(db: Queryable, opts: KpiPeriodOptions): Promise<KpiReport> {
  const counts = await computeKpiCounts(db, opts);
  const maxLifespanPeriods = opts.maxLifespanPeriods ?? DEFAULT_MAX_LIFESPAN_PERIODS;
  return {
    periodStart: opts.start.toISOString(),
    periodEnd: opts.end.toISOString(),
    activeWindowDays: opts.activeWindowDays ?? DEFAULT_ACTIVE_WINDOW_DAYS,
    maxLifespanPeriods,
    counts,
    values: kpiValues(counts, maxLifespanPeriods),
  };
}
