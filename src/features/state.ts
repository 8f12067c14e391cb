/**
 * Per-customer state: the facts kept about one customer, folded from their events.
 *
 * Three constraints shape it:
 * - It is a Postgres JSONB value read back with JSON.parse: only plain objects, arrays, strings,
 *   numbers, booleans and null. Instants are epoch milliseconds; money is integer cents.
 * - It must stay small for a customer with years of events: lifetime facts are counters, sums and
 *   min/max; detail is kept only where a feature needs it, and only bounded (the K most recent
 *   purchase instants, per-day buckets for a fixed number of days, a capped list of unfinished tickets).
 * - Events arrive late and out of order, so every field is an order-independent fold: counters and
 *   integer sums (commutative and exact), min/max, top-K of a multiset, "latest wins" decided by
 *   (occurredAt, eventId) rather than by arrival, and ticket halves matched by ticketId whichever
 *   comes first. Applying the same events in any order gives a deep-equal state (and the same
 *   JSON text). One documented limit: ticket halves are matched only while at most
 *   MAX_PENDING_TICKETS tickets are half-seen at once; beyond that the oldest half is dropped
 *   (lifetime ticket counters stay exact, pairing-based values may then depend on order).
 */

/** How many most recent purchase instants are kept for the inter-purchase interval features. */
export const RECENT_PURCHASES_KEPT = 32;
/** Days of per-day purchase buckets kept: 180 covers "last 90 days" and "the 90 before" for the trend. */
export const PURCHASE_DAYS_KEPT = 180;
/** Days of per-day ticket-opened buckets kept: enough for the 14/30/90-day ticket windows. */
export const TICKET_DAYS_KEPT = 90;
/**
 * Safety valve on tickets seen only half (opened but not resolved, or resolved before its opened
 * arrived). Real customers have a handful; a producer that never sends resolutions must not make
 * the row grow without bound. When exceeded, the oldest half-ticket is dropped (its lifetime counts stay).
 */
export const MAX_PENDING_TICKETS = 32;

/** Bump when the shape changes; the store can rebuild states by replaying raw events. */
export const STATE_VERSION = 1;

/** Which event set a "latest wins" value: the later occurredAt, ties broken by the larger eventId. */
export interface Stamp {
  readonly at: number;
  readonly eventId: string;
}

export interface Stamped<T> extends Stamp {
  readonly value: T;
}

/** One UTC day's aggregate: [utcDay, events that day, sum] (sum = cents for purchases, high-priority tickets for tickets). */
export type DayBucket = readonly [day: number, count: number, sum: number];

export interface Profile {
  readonly email: string | null;
  readonly name: string | null;
  readonly locale: string | null;
}

/** Per-field stamps behind `profile` and `signedUpAt`: a profile event may carry only some fields. */
export interface ProfileStamps {
  readonly email: Stamp | null;
  readonly name: Stamp | null;
  readonly locale: Stamp | null;
  readonly signedUpAt: Stamp | null;
}

export interface PurchaseFacts {
  readonly count: number;
  /** Integer cents: integer addition is exact and associative, so the sum is the same in any arrival order. */
  readonly spendCents: number;
  readonly firstAt: number | null;
  readonly lastAt: number | null;
  /** The RECENT_PURCHASES_KEPT latest purchase instants, ascending; equal instants repeat (a multiset). */
  readonly recentAt: readonly number[];
  /** Ascending by day; only days within PURCHASE_DAYS_KEPT of the latest purchase day. */
  readonly days: readonly DayBucket[];
}

export interface RefundFacts {
  readonly count: number;
  readonly amountCents: number;
  readonly lastAt: number | null;
}

/** A ticket of which only one half (opened or resolved) has been seen so far. */
export interface PendingTicket {
  readonly ticketId: string;
  readonly openedAt: number | null;
  readonly resolvedAt: number | null;
  readonly escalated: boolean;
}

export interface TicketFacts {
  /** support_ticket_opened events. */
  readonly opened: number;
  /** support_ticket_resolved events. */
  readonly resolved: number;
  /** Opened with priority high or urgent. */
  readonly highPriority: number;
  /** Resolved with slaBreached. */
  readonly slaBreaches: number;
  /** Tickets whose both halves were seen; they are folded into these three and dropped from `pending`. */
  readonly closed: number;
  readonly closedResolutionMs: number;
  readonly closedEscalated: number;
  /** Latest opened/resolved instant: "days since last support contact". */
  readonly lastContactAt: number | null;
  /** Half-seen tickets, sorted by ticketId (canonical order), at most MAX_PENDING_TICKETS. */
  readonly pending: readonly PendingTicket[];
  /** Tickets opened per UTC day: [day, opened, of which high/urgent], within TICKET_DAYS_KEPT of the latest. */
  readonly openedDays: readonly DayBucket[];
}

export interface SurveyFacts {
  readonly count: number;
  readonly lastAt: number | null;
  /** Latest answer per metric: a survey that asks only CSAT must not erase the last NPS. */
  readonly nps: Stamped<number> | null;
  readonly csat: Stamped<number> | null;
  readonly ces: Stamped<number> | null;
}

/**
 * What retention teams reported about the customer (retention_outcome events). Not a model input:
 * it is kept for cooldowns and reports, and folding it changes no feature (see apply.ts). Each
 * field is a max or a count, so the fold is order independent like every other.
 */
export interface OutcomeFacts {
  /** retention_outcome events folded in. */
  readonly count: number;
  /** Latest outcome in which the team reached the customer: contacted, offer_made, accepted or declined. */
  readonly lastReachedAt: number | null;
  readonly lastOfferAt: number | null;
  readonly lastAcceptedAt: number | null;
  readonly lastDeclinedAt: number | null;
  /** Latest attempt that did not reach the customer. */
  readonly lastUnreachableAt: number | null;
  /** The latest outcome of any kind, by (occurredAt, eventId). */
  readonly latest: Stamped<string> | null;
}

export interface CustomerState {
  readonly stateVersion: typeof STATE_VERSION;
  readonly customerId: string;
  /** Events folded in (every type), so upstream double-delivery shows up instead of hiding. */
  readonly eventCount: number;
  /** Earliest occurredAt of any event. */
  readonly firstSeenAt: number | null;
  /** Latest occurredAt of any event. */
  readonly lastEventAt: number | null;
  /** Account creation from the latest profile that states it; tenure starts at min(signedUpAt, firstSeenAt). */
  readonly signedUpAt: number | null;
  /** Latest value of each field by occurredAt (not by arrival). */
  readonly profile: Profile;
  readonly profileStamps: ProfileStamps;
  /** Latest explicit cancellation. Kept for later stages (labels, suppressing outreach), not a model feature. */
  readonly cancelledAt: number | null;
  readonly purchases: PurchaseFacts;
  readonly refunds: RefundFacts;
  readonly tickets: TicketFacts;
  readonly surveys: SurveyFacts;
  /**
   * Null until the first retention_outcome. States stored before this field existed lack it:
   * read it through outcomesOf(), which treats a missing field as null.
   */
  readonly outcomes: OutcomeFacts | null;
}

/** The state's outcome facts; states stored before the field existed have none. */
export function outcomesOf(state: CustomerState): OutcomeFacts | null {
  return state.outcomes ?? null;
}

export function emptyState(customerId: string): CustomerState {
  return {
    stateVersion: STATE_VERSION,
    customerId,
    eventCount: 0,
    firstSeenAt: null,
    lastEventAt: null,
    signedUpAt: null,
    profile: { email: null, name: null, locale: null },
    profileStamps: { email: null, name: null, locale: null, signedUpAt: null },
    cancelledAt: null,
    purchases: { count: 0, spendCents: 0, firstAt: null, lastAt: null, recentAt: [], days: [] },
    refunds: { count: 0, amountCents: 0, lastAt: null },
    tickets: {
      opened: 0,
      resolved: 0,
      highPriority: 0,
      slaBreaches: 0,
      closed: 0,
      closedResolutionMs: 0,
      closedEscalated: 0,
      lastContactAt: null,
      pending: [],
      openedDays: [],
    },
    surveys: { count: 0, lastAt: null, nps: null, csat: null, ces: null },
    outcomes: null,
  };
}

/** True when `a` should replace `b` as the latest: later occurredAt, or the same instant and a larger eventId. */
export function isNewer(a: Stamp, b: Stamp | null): boolean {
  if (b === null) return true;
  return a.at > b.at || (a.at === b.at && a.eventId > b.eventId);
}

/**
 * Base-currency amount to integer cents. Sub-cent digits are rounded away: the price of an exact,
 * order-independent sum (floating-point addition gives different last digits in different orders).
 */
export function toCents(amount: number): number {
  return Math.round(amount * 100);
}
