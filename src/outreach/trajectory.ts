/**
 * A customer's risk trajectory from score_history ("35% -> 72% in 3 weeks"): how fast they got to
 * where the digest shows them. score_history has a row whenever a score moved noticeably (a level
 * change, a new model or a move past scoring's threshold), so a few rows per customer cover weeks.
 */
import { DAY_MS } from "../lib/time.js";
import type { Queryable } from "../store/queryable.js";
import type { MailFormat } from "./format.js";

export interface ScorePoint {
  at: Date;
  score: number;
}

export interface Trajectory {
  kind: "rise" | "fall" | "steady" | "first";
  from: number;
  to: number;
  /** Whole days from the reference point (the low before a rise, the high before a fall, the first score) to now. */
  days: number;
}

/** Moves smaller than this (probability) read as steady: the model's noise is of that order. */
export const STEADY_BAND = 0.05;
export const TRAJECTORY_LOOKBACK_DAYS = 84;

/**
 * From the points of the lookback window (any order) and the current score: a rise is told from
 * the lowest point before it, a fall from the highest, so "35% -> 72% in 3 weeks" names the low
 * the customer climbed from, not an arbitrary start of the window.
 */
export function describeTrajectory(points: readonly ScorePoint[], current: ScorePoint, now: Date): Trajectory | null {
  const past = points.filter((p) => p.at.getTime() < current.at.getTime());
  const daysSince = (at: Date) => Math.max(0, Math.floor((now.getTime() - at.getTime()) / DAY_MS));
  if (past.length === 0) {
    return { kind: "first", from: current.score, to: current.score, days: daysSince(current.at) };
  }
  const low = past.reduce((a, b) => (b.score < a.score ? b : a));
  const high = past.reduce((a, b) => (b.score > a.score ? b : a));
  if (current.score - low.score >= STEADY_BAND && current.score - low.score >= high.score - current.score) {
    return { kind: "rise", from: low.score, to: current.score, days: daysSince(low.at) };
  }
  if (high.score - current.score >= STEADY_BAND) {
    return { kind: "fall", from: high.score, to: current.score, days: daysSince(high.at) };
  }
  const first = past.reduce((a, b) => (b.at < a.at ? b : a));
  return { kind: "steady", from: current.score, to: current.score, days: daysSince(first.at) };
}

/** "35% → 72% in 3 weeks" in the reader's language; weeks from 14 days on, days below. */
export function trajectoryText(t: Trajectory, f: MailFormat): string {
  const weeks = Math.round(t.days / 7);
  const inWeeks = t.days >= 14;
  switch (t.kind) {
    case "first":
      return f.tr.t("trend", "firstScored", { days: t.days });
    case "steady":
      return inWeeks ? f.tr.t("trend", "steady", { score: f.score(t.to), weeks }) : f.tr.t("trend", "steadyDays", { score: f.score(t.to), days: Math.max(1, t.days) });
    case "rise":
    case "fall": {
      const from = f.score(t.from), to = f.score(t.to);
      return inWeeks ? f.tr.t("trend", "riseWeeks", { from, to, weeks }) : f.tr.t("trend", "riseDays", { from, to, days: Math.max(1, t.days) });
    }
  }
}

/**
 * Score history of the given customers over the lookback window, plus each one's last score
 * before it (a customer steady for months has no row inside the window). Reads
 * score_history_customer_id_scored_at_idx, one range per customer.
 */
export async function loadScoreHistory(
  db: Queryable, customerIds: readonly string[], now: Date, lookbackDays = TRAJECTORY_LOOKBACK_DAYS,
): Promise<Map<string, ScorePoint[]>> {
  const out = new Map<string, ScorePoint[]>();
  if (customerIds.length === 0) return out;
  const since = new Date(now.getTime() - lookbackDays * DAY_MS);
  const { rows } = await db.query<{ customer_id: string; score: number; scored_at: Date }>(
    `select c.id as customer_id, h.score, h.scored_at
       from unnest($1::text[]) as c(id)
       cross join lateral (
         (select score, scored_at from score_history
           where customer_id = c.id and scored_at >= $2 and scored_at <= $3)
         union all
         (select score, scored_at from score_history
           where customer_id = c.id and scored_at < $2 order by scored_at desc limit 1)
       ) h`,
    [[...customerIds], since, now],
  );
  for (const r of rows) {
    let list = out.get(r.customer_id);
    if (list === undefined) out.set(r.customer_id, (list = []));
    // The point before the window stands for the window's start: the score held then.
    list.push({ at: r.scored_at < since ? since : r.scored_at, score: r.score });
  }
  return out;
}
