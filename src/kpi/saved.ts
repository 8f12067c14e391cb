/**
 * The "saved" KPI: of the customers a retention team reached while they were at risk, how many were
 * still customers one horizon later.
 *
 *   treated  a customer's first reach in the period (retention_outcome contacted, offer_made,
 *            accepted or declined; REACHED_OUTCOMES) at instant t, while at risk: the score in
 *            force at t (the latest score_history row at or before t) had a level in
 *            `atRiskLevels` (medium and high by default). Customers never scored before t are not
 *            counted: nobody can say they were at risk.
 *   saved    treated, and not churned in (t, t + horizon] by the model's own label: a purchase in
 *            that window and no cancellation in it (src/training/dataset.ts). The same question the
 *            score answered, so "saved" means "the prediction did not come true".
 *   pending  treated in the period, but t + horizon is after `asOf`: not judged yet.
 *
 * Not a causal estimate: treated customers are chosen, and some would have stayed anyway. Read the
 * rate next to the realised churn of the same risk band (live model quality), which covers treated
 * and untreated customers alike.
 *
 * One statement: the period's outcomes through raw_event_occurred_at_idx (occurred_at, type), then
 * per treated customer one probe of score_history (customer_id, scored_at) and of raw_event
 * (customer_id, occurred_at).
 */
import { REACHED_OUTCOMES } from "../events/schema.js";
import type { Queryable } from "../store/queryable.js";

export interface SavedKpiOptions {
  /** Treatments (a customer's first reach) in [start, end). */
  start: Date;
  end: Date;
  /** The model's horizon: how long after the treatment the customer must not churn. */
  horizonDays: number;
  /** When the KPI is read: treatments whose horizon ends after it are pending. */
  asOf: Date;
  /** Levels that count as at risk at the treatment (default DEFAULT_AT_RISK_LEVELS). */
  atRiskLevels?: readonly string[];
}

export const DEFAULT_AT_RISK_LEVELS: readonly string[] = ["medium", "high"];

export interface SavedKpiLevel {
  level: string;
  treated: number;
  saved: number;
}

export interface SavedKpi {
  periodStart: string;
  periodEnd: string;
  asOf: string;
  horizonDays: number;
  atRiskLevels: string[];
  /** At-risk customers reached in the period whose horizon is over. */
  treated: number;
  /** Of those, not churned within the horizon after the reach. */
  saved: number;
  /** treated - saved. */
  lost: number;
  /** saved / treated x 100; null without treated customers (0% and "nobody to save" differ). */
  savedRate: number | null;
  /** At-risk customers reached in the period whose horizon has not ended yet. */
  pending: number;
  /** Per at-risk level at the reach, judged customers only. */
  byLevel: SavedKpiLevel[];
}

const SAVED_SQL = `
with reached as (
  select customer_id, min(occurred_at) as t
    from raw_event
   where occurred_at >= $1 and occurred_at < $2 and type = 'retention_outcome'
     and payload->>'outcome' = any($3::text[])
   group by customer_id
), at_risk as (
  select r.customer_id, r.t, h.risk_level
    from reached r
    join lateral (
      select s.risk_level from score_history s
       where s.customer_id = r.customer_id and s.scored_at <= r.t
       order by s.scored_at desc limit 1
    ) h on true
   where h.risk_level = any($4::text[])
)
select a.risk_level,
       (a.t + make_interval(days => $5) <= $6) as due,
       exists (select 1 from raw_event p where p.customer_id = a.customer_id and p.type = 'purchase'
                  and p.occurred_at > a.t and p.occurred_at <= a.t + make_interval(days => $5)) as bought,
       exists (select 1 from raw_event c where c.customer_id = a.customer_id and c.type = 'cancellation'
                  and c.occurred_at > a.t and c.occurred_at <= a.t + make_interval(days => $5)) as cancelled,
       count(*)::int as n
  from at_risk a
 group by 1, 2, 3, 4`;

export async function computeSavedKpi(db: Queryable, opts: SavedKpiOptions): Promise<SavedKpi> {
  if (!(opts.start.getTime() < opts.end.getTime())) throw new RangeError(`saved KPI period start ${opts.start.toISOString()} is not before end ${opts.end.toISOString()}`);
  if (!Number.isInteger(opts.horizonDays) || opts.horizonDays < 1) throw new RangeError(`horizonDays must be a whole number >= 1, got ${opts.horizonDays}`);
  const levels = [...(opts.atRiskLevels ?? DEFAULT_AT_RISK_LEVELS)];
  const { rows } = await db.query<{ risk_level: string; due: boolean; bought: boolean; cancelled: boolean; n: number }>(SAVED_SQL, [
    opts.start, opts.end, [...REACHED_OUTCOMES], levels, opts.horizonDays, opts.asOf,
  ]);
  const byLevel = new Map<string, SavedKpiLevel>(levels.map((level) => [level, { level, treated: 0, saved: 0 }]));
  let pending = 0;
  for (const r of rows) {
    if (!r.due) {
      pending += r.n;
      continue;
    }
    const l = byLevel.get(r.risk_level)!;
    l.treated += r.n;
    // The model's label: churned = no purchase in the window, or a cancellation in it.
    if (r.bought && !r.cancelled) l.saved += r.n;
  }
  const list = [...byLevel.values()];
  const treated = list.reduce((s, l) => s + l.treated, 0);
  const saved = list.reduce((s, l) => s + l.saved, 0);
  return {
    periodStart: opts.start.toISOString(),
    periodEnd: opts.end.toISOString(),
    asOf: opts.asOf.toISOString(),
    horizonDays: opts.horizonDays,
    atRiskLevels: levels,
    treated,
    saved,
    lost: treated - saved,
    savedRate: treated === 0 ? null : (saved / treated) * 100,
    pending,
    byLevel: list,
  };
}

/**
 * The period whose treatments have just been judged: the `days` before `asOf - horizon`, so that
 * every customer in it has had a full horizon. The KPI the live-quality job records every day.
 */
export function judgedPeriod(asOf: Date, horizonDays: number, days: number): { start: Date; end: Date } {
  const DAY = 86_400_000;
  const end = new Date(asOf.getTime() - horizonDays * DAY);
  return { start: new Date(end.getTime() - days * DAY), end };
}

/** One plain sentence for a digest or a report. */
export function describeSavedKpi(k: SavedKpi): string {
  const from = k.periodStart.slice(0, 10);
  const to = new Date(Date.parse(k.periodEnd) - 1).toISOString().slice(0, 10);
  if (k.treated === 0) {
    return `Saved: no at-risk customer reached between ${from} and ${to} has completed the ${k.horizonDays}-day horizon yet` +
      (k.pending > 0 ? ` (${k.pending} still within it).` : ".");
  }
  return `Saved: ${k.saved} of ${k.treated} at-risk customers reached between ${from} and ${to} were still customers ` +
    `${k.horizonDays} days later (${(k.savedRate ?? 0).toFixed(0)}%)` + (k.pending > 0 ? `; ${k.pending} more are within their horizon.` : ".");
}
