/**
 * State + "as of" instant -> features. Pure and cheap (no I/O, one pass over bounded detail).
 *
 * Point-in-time design (the simpler of the two correct ones): the state is assumed to hold only
 * events with occurredAt <= asOf. The dataset builder guarantees it by folding only events up to
 * the cutoff (`stateAsOf`, or applying in time order and taking vectors at each cutoff); the live
 * worker scores "now", after everything it has seen. Keeping enough detail to undo later events
 * would mean keeping every event. Still, where the state has the detail it honours asOf anyway
 * (day windows end at asOf's day) and every "days since" is clamped at 0, so a state that does
 * hold a slightly later event (producer clock skew) yields no negative or NaN value.
 *
 * Silence is the main churn signal: the same state scored later gives larger recencies and
 * emptier windows, which is why the rescoring job needs no new events.
 */
import { windowSums } from "./bounded.js";
import { FEATURE_NAMES, type FeatureName } from "./names.js";
import { emptyState, type CustomerState, type Stamped } from "./state.js";
import { asOfMs, DAY_MS, daysSince, HOUR_MS, utcDay } from "./time.js";

export { FEATURE_DESCRIPTIONS, FEATURE_NAMES, FEATURE_SET_VERSION, type FeatureName } from "./names.js";

/** Sentinel for "does not exist yet" where the natural range is >= 0. */
export const MISSING = -1;

const PURCHASE_SPANS: readonly [number, number, number] = [30, 90, 180];
const TICKET_SPANS: readonly [number, number, number] = [14, 30, 90];

export function featureRecord(state: CustomerState, asOf: Date | number): Record<FeatureName, number> {
  const now = asOfMs(asOf);
  const today = utcDay(now);
  const p = state.purchases;
  const t = state.tickets;
  const s = state.surveys;

  const tenureStart =
    state.signedUpAt === null
      ? state.firstSeenAt
      : state.firstSeenAt === null
        ? state.signedUpAt
        : Math.min(state.signedUpAt, state.firstSeenAt);
  const tenure = tenureStart === null ? 0 : daysSince(tenureStart, now);
  const recency = since(p.lastAt, now, tenure);
  const intervals = intervalStats(p.recentAt);

  // [30, 90, 180] days; "the 90 before the last 90" = 180 minus 90.
  const pw = windowSums(p.days, today, PURCHASE_SPANS);
  const [p30, p90, p180] = pw.count;
  const [s30, s90, s180] = pw.sum;

  let openTickets = 0;
  let oldestOpenAt: number | null = null;
  let orphanResolutions = 0;
  let pendingEscalated = 0;
  for (const pt of t.pending) {
    if (pt.escalated) pendingEscalated++;
    if (pt.openedAt === null) orphanResolutions++;
    else if (pt.resolvedAt === null) {
      openTickets++;
      if (oldestOpenAt === null || pt.openedAt < oldestOpenAt) oldestOpenAt = pt.openedAt;
    }
  }
  const tw = windowSums(t.openedDays, today, TICKET_SPANS);
  const [t14, t30, t90] = tw.count;

  return {
    tenure_days: tenure,
    days_since_last_event: since(state.lastEventAt, now, tenure),
    purchase_count: p.count,
    total_spend: p.spendCents / 100,
    avg_order_value: p.count === 0 ? 0 : p.spendCents / p.count / 100,
    days_since_last_purchase: recency,
    purchases_per_30d: (p.count * 30) / Math.max(tenure, 30),
    mean_days_between_purchases: intervals.meanDays,
    std_days_between_purchases: intervals.stdDays,
    // Floor of one day: two orders minutes apart must not make any silence look infinitely overdue.
    recency_vs_interval: intervals.meanDays === MISSING ? MISSING : recency / Math.max(intervals.meanDays, 1),
    purchases_30d: p30,
    spend_30d: s30 / 100,
    purchases_90d: p90,
    spend_90d: s90 / 100,
    purchase_trend_90d: trend(p90, p180 - p90),
    spend_trend_90d: trend(s90, s180 - s90),
    refund_count: state.refunds.count,
    refund_amount: state.refunds.amountCents / 100,
    refund_ratio: refundRatio(state.refunds.amountCents, p.spendCents),
    tickets_total: t.opened + orphanResolutions,
    tickets_open: openTickets,
    oldest_open_ticket_days: oldestOpenAt === null ? 0 : daysSince(oldestOpenAt, now),
    tickets_14d: t14,
    tickets_30d: t30,
    tickets_90d: t90,
    high_priority_tickets: t.highPriority,
    high_priority_tickets_90d: tw.sum[2],
    escalated_tickets: t.closedEscalated + pendingEscalated,
    sla_breaches: t.slaBreaches,
    mean_resolution_hours: t.closed === 0 ? MISSING : t.closedResolutionMs / t.closed / HOUR_MS,
    days_since_last_support_contact: since(t.lastContactAt, now, tenure),
    has_nps: s.nps === null ? 0 : 1,
    last_nps: valueOr(s.nps),
    nps_category: s.nps === null ? 0 : npsCategory(s.nps.value),
    has_csat: s.csat === null ? 0 : 1,
    last_csat: valueOr(s.csat),
    has_ces: s.ces === null ? 0 : 1,
    last_ces: valueOr(s.ces),
    days_since_last_survey: since(s.lastAt, now, tenure),
  };
}

/**
 * Features as a plain number[] in FEATURE_NAMES order (plain array, not Float64Array: it is what
 * ml-random-forest's predict takes and it JSON-serialises for feature snapshots).
 * Throws on a non-finite value, naming the feature, rather than handing NaN to the model.
 */
export function featureVector(state: CustomerState, asOf: Date | number): number[] {
  // Object.values in the record's literal order: no per-name lookups (half the cost of this
  // function). assertRecordOrder below proves at load time that this order is FEATURE_NAMES.
  const out = Object.values(featureRecord(state, asOf));
  for (let i = 0; i < out.length; i++) {
    const v = out[i] as number;
    if (!Number.isFinite(v)) throw new Error(`feature ${NAMES[i]} is ${v} for customer ${state.customerId}`);
    // -0 (a trend of nothing times -1) prints as "0" in a dataset CSV: one zero, so a model sees
    // the same value whether its rows came from memory or from a file.
    if (v === 0) out[i] = 0;
  }
  return out;
}

// A module-local copy: read through an import binding on every loop step, it costs a getter call under tsx.
const NAMES: readonly FeatureName[] = FEATURE_NAMES;

/** Fails at import, not at scoring, if someone reorders featureRecord's literal or FEATURE_NAMES alone. */
function assertRecordOrder(): void {
  const keys = Object.keys(featureRecord(emptyState("order-check"), 0));
  if (keys.length !== NAMES.length || keys.some((k, i) => k !== NAMES[i])) {
    throw new Error(`featureRecord keys are not in FEATURE_NAMES order: ${keys.join(",")}`);
  }
}
assertRecordOrder();

/** "Never happened" reads as "not since we have known them": the longest recency possible. */
function since(at: number | null, now: number, tenure: number): number {
  return at === null ? tenure : daysSince(at, now);
}

/** -1 detractor (0-6), 0 passive (7-8), 1 promoter (9-10): the NPS definition's buckets. */
export function npsCategory(nps: number): -1 | 0 | 1 {
  return nps <= 6 ? -1 : nps <= 8 ? 0 : 1;
}

function valueOr(s: Stamped<number> | null): number {
  return s === null ? MISSING : s.value;
}

/** Symmetric relative change in [-1, 1]: bounded and defined when the earlier period is 0, unlike a ratio. */
function trend(recent: number, before: number): number {
  const total = recent + before;
  return total === 0 ? 0 : (recent - before) / total;
}

function refundRatio(refundCents: number, spendCents: number): number {
  if (refundCents === 0) return 0;
  if (spendCents === 0) return 1;
  return Math.min(1, refundCents / spendCents);
}

/** Mean and population std of the gaps between the kept purchase instants (ascending), in days. */
function intervalStats(sortedAsc: readonly number[]): { meanDays: number; stdDays: number } {
  const n = sortedAsc.length;
  if (n < 2) return { meanDays: MISSING, stdDays: MISSING };
  const first = sortedAsc[0] as number;
  const last = sortedAsc[n - 1] as number;
  const meanMs = (last - first) / (n - 1);
  if (n < 3) return { meanDays: meanMs / DAY_MS, stdDays: MISSING };
  let sq = 0;
  for (let i = 1; i < n; i++) {
    const d = (sortedAsc[i] as number) - (sortedAsc[i - 1] as number) - meanMs;
    sq += d * d;
  }
  return { meanDays: meanMs / DAY_MS, stdDays: Math.sqrt(sq / (n - 1)) / DAY_MS };
}
