/**
 * Who goes into a segment's digest: customer_score rows (a win-back segment: unscored_customer
 * rows), their current features (from customer_state, at `now`, so silence counts) and profile,
 * the segment's rule, and the cooldown.
 *
 * Membership is decided here from the segments file rather than read from customer_score.segments,
 * so a digest follows the file the worker runs with even before the next rescoring.
 */
import { featureRecord } from "../features/vector.js";
import { outcomesOf, type CustomerState, type OutcomeFacts } from "../features/state.js";
import type { Reason, ScoredCustomer, WinbackCustomer } from "./customer.js";
import { matchesSegment, WINBACK_STAGES, type Segment } from "./segments.js";
import { levelRank } from "../model/risk-levels.js";
import { DAY_MS } from "../lib/time.js";
import type { Queryable } from "../store/queryable.js";



export interface Listing {
  listedAt: Date;
  listedScore: number;
  listedLevel: string;
}

export interface CooldownRule {
  cooldownDays: number;
  /** A score rise of at least this much (probability, 0.1 = 10 points) re-lists during the cooldown. */
  riseDelta: number;
  /**
   * OUTREACH_DECLINED_COOLDOWN_DAYS: a customer who declined an offer is not listed for this long
   * after declining, whatever their risk does (0 = no separate rule). Default DEFAULT_DECLINED_DAYS.
   */
  declinedDays?: number;
}

export const DEFAULT_RISE_DELTA = 0.1;
export const DEFAULT_DECLINED_DAYS = 30;

/** What the teams reported (retention_outcome) that the cooldown reads. */
export type ContactHistory = Pick<OutcomeFacts, "lastReachedAt" | "lastDeclinedAt">;

/**
 * True when the customer stays out of this digest. Three rules, the first that holds wins:
 *
 * 1. declined: a customer who declined an offer within `declinedDays` is held out whatever their
 *    risk does: asking again within weeks turns a "no" into a complaint.
 * 2. reached: a team reached the customer (contacted, offer_made, accepted or declined, in any
 *    campaign or segment) within `cooldownDays`: held out whatever their risk does, since someone
 *    is already talking to them and a second touch within days is what a cooldown prevents. An
 *    "unreachable" attempt starts no such hold: the customer heard nothing, so they stay eligible
 *    and only the listing rule below applies (the team retries after it, perhaps on another channel).
 * 3. listed: the team saw them in this segment's digest within `cooldownDays` and their risk has
 *    not risen since (neither a higher level nor a score up by riseDelta or more). Re-listing on a
 *    rise is the point: a listing the team may not have acted on must not hide a customer who got worse.
 *    A win-back customer (`current` null) has no risk that could rise: the listing alone holds them.
 *
 * `cooldownDays` <= 0 turns rules 2 and 3 off; `declinedDays` 0 turns rule 1 off.
 */
export function inCooldown(
  listing: Listing | null,
  current: { score: number; riskLevel: string } | null,
  now: Date,
  rule: CooldownRule,
  contact: ContactHistory | null = null,
): boolean {
  const t = now.getTime();
  const declinedDays = rule.declinedDays ?? DEFAULT_DECLINED_DAYS;
  // An outcome stamped after `now` (a digest run for an earlier instant) does not count yet.
  const within = (at: number | null | undefined, days: number) => at != null && at <= t && t - at < days * DAY_MS;
  if (declinedDays > 0 && within(contact?.lastDeclinedAt, declinedDays)) return true;
  if (rule.cooldownDays <= 0) return false;
  if (within(contact?.lastReachedAt, rule.cooldownDays)) return true;
  if (listing === null) return false;
  if (t - listing.listedAt.getTime() >= rule.cooldownDays * DAY_MS) return false;
  if (current === null) return true;
  if (levelRank(current.riskLevel) > levelRank(listing.listedLevel)) return false;
  // The epsilon keeps 0.6 - 0.5 (0.0999...) from failing a 0.1 rule.
  if (current.score - listing.listedScore >= rule.riseDelta - 1e-9) return false;
  return true;
}

export interface Candidate extends ScoredCustomer {
  /** Lifecycle stage when scored (new or active); null on rows from before lifecycles existed. */
  stage: string | null;
  scoredAt: Date;
  listing: Listing | null;
  /** What retention teams reported about the customer, for the cooldown (null: nothing yet). */
  contact: ContactHistory | null;
}

interface CandidateRow {
  customer_id: string;
  score: number;
  risk_level: string;
  reasons: unknown;
  value: number;
  value_at_risk: number;
  scored_at: Date;
  lifecycle: string | null;
  state: CustomerState | null;
  listed_at: Date | null;
  listed_score: number | null;
  listed_level: string | null;
}

function parseReasons(raw: unknown): Reason[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((r): r is Record<string, unknown> => typeof r === "object" && r !== null && typeof (r as { text?: unknown }).text === "string")
    .map((r) => ({
      code: typeof r.code === "string" ? r.code : "",
      text: r.text as string,
      weight: typeof r.weight === "number" && Number.isFinite(r.weight) ? r.weight : 0,
    }));
}

function featuresOf(state: CustomerState | null, now: Date): Record<string, number> {
  if (state === null) return {};
  try {
    return featureRecord(state, now);
  } catch {
    // A state row of an older shape must not stop everyone else's digest; such a customer
    // just matches no feature condition until it is rebuilt.
    return {};
  }
}

function profileOf(state: CustomerState | null): Pick<ScoredCustomer, "name" | "email" | "locale"> {
  const profile = state?.profile;
  return {
    name: typeof profile?.name === "string" ? profile.name : null,
    email: typeof profile?.email === "string" ? profile.email : null,
    locale: typeof profile?.locale === "string" ? profile.locale : null,
  };
}

function listingOf(r: { listed_at: Date | null; listed_score: number | null; listed_level: string | null }): Listing | null {
  return r.listed_at === null ? null : { listedAt: r.listed_at, listedScore: r.listed_score!, listedLevel: r.listed_level! };
}

function toCandidate(r: CandidateRow, now: Date): Candidate {
  return {
    customerId: r.customer_id,
    ...profileOf(r.state),
    stage: r.lifecycle,
    score: r.score,
    riskLevel: r.risk_level,
    lastSeenScore: r.listed_score,
    reasons: parseReasons(r.reasons),
    value: r.value,
    valueAtRisk: r.value_at_risk,
    features: featuresOf(r.state, now),
    scoredAt: r.scored_at,
    listing: listingOf(r),
    contact: r.state === null ? null : outcomesOf(r.state),
  };
}

const CANDIDATES_SQL = `
select s.customer_id, s.score, s.risk_level, s.reasons, s.value, s.value_at_risk, s.scored_at, s.lifecycle,
       c.state, l.listed_at, l.listed_score, l.listed_level
  from customer_score s
  left join customer_state c on c.customer_id = s.customer_id
  left join outreach_listing l on l.segment = $1 and l.customer_id = s.customer_id`;

/**
 * Scored customers of the segment now, with the cooldown not yet applied. Score/level/value/stage
 * conditions run in SQL. `ledger` names the outreach_listing rows to attach (default the segment
 * id; "" for none). Only customer_score is read, so an at-risk digest never lists a lapsed or
 * cancelled customer (scoring moves them to unscored_customer); a win-back segment gets nobody
 * here (see winbackCandidates).
 */
export async function segmentCandidates(db: Queryable, segment: Segment, now: Date, ledger: string = segment.id): Promise<Candidate[]> {
  const w = segment.when;
  const { rows } = await db.query<CandidateRow>(
    `${CANDIDATES_SQL}
      where ($2::float8 is null or s.score >= $2) and ($3::float8 is null or s.score <= $3)
        and ($4::text[] is null or s.risk_level = any($4)) and ($5::float8 is null or s.value >= $5)
        and ($6::text[] is null or s.lifecycle = any($6))`,
    [ledger, w.minScore ?? null, w.maxScore ?? null, w.riskLevels ?? null, w.minValue ?? null, w.lifecycle ?? null],
  );
  return rows.map((r) => toCandidate(r, now)).filter((c) => matchesSegment(c, w));
}

/** A win-back segment's customer before the cooldown: what the digest shows, the listing and the team's contacts. */
export interface WinbackCandidate extends WinbackCustomer {
  listing: Listing | null;
  contact: ContactHistory | null;
}

interface WinbackRow {
  customer_id: string;
  stage: string;
  since: Date | null;
  value: number;
  state: CustomerState | null;
  listed_at: Date | null;
  listed_score: number | null;
  listed_level: string | null;
}

/**
 * Customers of a win-back segment now (lapsed or cancelled: unscored_customer), with the cooldown
 * not yet applied. Stage and value conditions run in SQL, feature conditions on the current state.
 * `value` is unscored_customer's: the expected 12-month spend when their stage began, at the rate
 * they bought until then (scoring/value.ts valueBefore; today's rate would shrink with every silent
 * day and put the longest-gone last whatever they spent). A customer who buys again is rescored
 * into customer_score at the next rescoring, and left out here already (boughtSince).
 */
export async function winbackCandidates(db: Queryable, segment: Segment, now: Date, ledger: string = segment.id): Promise<WinbackCandidate[]> {
  const w = segment.when;
  const stages = (w.lifecycle ?? []).filter((s) => WINBACK_STAGES.includes(s));
  if (stages.length === 0) return [];
  const { rows } = await db.query<WinbackRow>(
    `select u.customer_id, u.stage, u.since, u.value, c.state, l.listed_at, l.listed_score, l.listed_level
       from unscored_customer u
       left join customer_state c on c.customer_id = u.customer_id
       left join outreach_listing l on l.segment = $1 and l.customer_id = u.customer_id
      where u.stage = any($2::text[]) and ($3::float8 is null or u.value >= $3)`,
    [ledger, stages, w.minValue ?? null],
  );
  return rows
    .filter((r) => !boughtSince(r))
    .map((r): WinbackCandidate => ({
      customerId: r.customer_id,
      ...profileOf(r.state),
      stage: r.stage,
      since: r.since,
      value: r.value,
      lastListedAt: r.listed_at,
      features: featuresOf(r.state, now),
      listing: listingOf(r),
      contact: r.state === null ? null : outcomesOf(r.state),
    }))
    .filter((c) => matchesSegment(c, w));
}

/**
 * A purchase after the stage began (a lapse ends at a purchase, a cancellation too): the customer is
 * back, and unscored_customer only says otherwise until the next rescoring catches up.
 */
function boughtSince(r: WinbackRow): boolean {
  const last = r.state?.purchases.lastAt ?? null;
  return last !== null && r.since !== null && last > r.since.getTime();
}

export interface DigestSelection {
  customers: Candidate[];
  /** In the segment but left out by the cooldown. */
  inCooldown: number;
}

/**
 * A segment's candidates that the cooldown lets through (each with its listing and contacts), and
 * how many it holds. `risk` is a scored customer's current risk, which can re-list them early; a
 * win-back customer has none (null), so a listing within the cooldown holds them.
 */
export function afterCooldown<T extends { listing: Listing | null; contact: ContactHistory | null }>(
  candidates: readonly T[], now: Date, rule: CooldownRule, risk: (c: T) => { score: number; riskLevel: string } | null,
): { customers: T[]; inCooldown: number } {
  const customers = candidates.filter((c) => !inCooldown(c.listing, risk(c), now, rule, c.contact));
  return { customers, inCooldown: candidates.length - customers.length };
}

export async function selectForDigest(db: Queryable, segment: Segment, now: Date, rule: CooldownRule): Promise<DigestSelection> {
  return afterCooldown(await segmentCandidates(db, segment, now), now, rule, (c) => c);
}

export interface WinbackSelection {
  customers: WinbackCandidate[];
  inCooldown: number;
}

/** selectForDigest for a win-back segment: the same cooldown rules, with no risk that could re-list a customer early. */
export async function selectWinback(db: Queryable, segment: Segment, now: Date, rule: CooldownRule): Promise<WinbackSelection> {
  return afterCooldown(await winbackCandidates(db, segment, now), now, rule, () => null);
}

/** The listings of one ledger (a segment, or one recipient list of it), by customer. */
export async function loadListings(db: Queryable, ledger: string): Promise<Map<string, Listing>> {
  const { rows } = await db.query<{ customer_id: string; listed_at: Date; listed_score: number; listed_level: string }>(
    "select customer_id, listed_at, listed_score, listed_level from outreach_listing where segment = $1",
    [ledger],
  );
  return new Map(rows.map((r) => [r.customer_id, { listedAt: r.listed_at, listedScore: r.listed_score, listedLevel: r.listed_level }]));
}

/** Current rows for given customers (alerts), lastSeenScore left to the caller. */
export async function loadCandidates(db: Queryable, customerIds: readonly string[], now: Date): Promise<Candidate[]> {
  if (customerIds.length === 0) return [];
  // Segment "" joins no listing: alerts do not use the digest cooldown.
  const { rows } = await db.query<CandidateRow>(`${CANDIDATES_SQL} where s.customer_id = any($2::text[])`, ["", [...customerIds]]);
  return rows.map((r) => toCandidate(r, now));
}

/** What a listing records: the score and level the team saw (for a win-back customer: 0 and their stage). */
export type Listed = Pick<ScoredCustomer, "customerId" | "score" | "riskLevel">;

/**
 * A win-back customer's listing. listed_score and listed_level are required columns, and the team
 * saw no score: 0 and the stage say so (should the segment id later get an at-risk rule, a medium
 * or high level, or any score of riseDelta or more, counts as a rise and re-lists the customer).
 */
export function winbackListed(c: Pick<WinbackCustomer, "customerId" | "stage">): Listed {
  return { customerId: c.customerId, score: 0, riskLevel: c.stage };
}

/** Records that the team got these customers now (same transaction as the enqueue). */
export async function recordListings(db: Queryable, segmentId: string, customers: readonly Listed[], now: Date): Promise<void> {
  if (customers.length === 0) return;
  await db.query(
    `insert into outreach_listing (segment, customer_id, listed_at, listed_score, listed_level)
     select $1, l.id, $2, l.score, l.level from unnest($3::text[], $4::float8[], $5::text[]) as l(id, score, level)
     on conflict (segment, customer_id) do update
       set listed_at = excluded.listed_at, listed_score = excluded.listed_score, listed_level = excluded.listed_level`,
    [segmentId, now, customers.map((c) => c.customerId), customers.map((c) => c.score), customers.map((c) => c.riskLevel)],
  );
}
