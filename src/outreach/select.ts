/**
 * Who goes into a segment's digest: customer_score rows, their current features (from
 * customer_state, at `now`, so silence counts) and profile, the segment's rule, and the cooldown.
 *
 * Membership is decided here from the segments file rather than read from customer_score.segments,
 * so a digest follows the file the worker runs with even before the next rescoring.
 */
import { featureRecord } from "../features/vector.js";
import { outcomesOf, type CustomerState, type OutcomeFacts } from "../features/state.js";
import type { Reason, ScoredCustomer } from "./customer.js";
import { matchesSegment, type Segment } from "./segments.js";
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
 *
 * `cooldownDays` <= 0 turns rules 2 and 3 off; `declinedDays` 0 turns rule 1 off.
 */
export function inCooldown(
  listing: Listing | null,
  current: { score: number; riskLevel: string },
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
  if (levelRank(current.riskLevel) > levelRank(listing.listedLevel)) return false;
  // The epsilon keeps 0.6 - 0.5 (0.0999...) from failing a 0.1 rule.
  if (current.score - listing.listedScore >= rule.riseDelta - 1e-9) return false;
  return true;
}

export interface Candidate extends ScoredCustomer {
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

function toCandidate(r: CandidateRow, now: Date): Candidate {
  const profile = r.state?.profile;
  return {
    customerId: r.customer_id,
    name: typeof profile?.name === "string" ? profile.name : null,
    email: typeof profile?.email === "string" ? profile.email : null,
    locale: typeof profile?.locale === "string" ? profile.locale : null,
    score: r.score,
    riskLevel: r.risk_level,
    lastSeenScore: r.listed_score,
    reasons: parseReasons(r.reasons),
    value: r.value,
    valueAtRisk: r.value_at_risk,
    features: featuresOf(r.state, now),
    scoredAt: r.scored_at,
    listing: r.listed_at === null ? null : { listedAt: r.listed_at, listedScore: r.listed_score!, listedLevel: r.listed_level! },
    contact: r.state === null ? null : outcomesOf(r.state),
  };
}

const CANDIDATES_SQL = `
select s.customer_id, s.score, s.risk_level, s.reasons, s.value, s.value_at_risk, s.scored_at,
       c.state, l.listed_at, l.listed_score, l.listed_level
  from customer_score s
  left join customer_state c on c.customer_id = s.customer_id
  left join outreach_listing l on l.segment = $1 and l.customer_id = s.customer_id`;

/**
 * Customers of the segment now, with the cooldown not yet applied. Score/level/value conditions run
 * in SQL. `ledger` names the outreach_listing rows to attach (default the segment id; "" for none).
 */
export async function segmentCandidates(db: Queryable, segment: Segment, now: Date, ledger: string = segment.id): Promise<Candidate[]> {
  const w = segment.when;
  const { rows } = await db.query<CandidateRow>(
    `${CANDIDATES_SQL}
      where ($2::float8 is null or s.score >= $2) and ($3::float8 is null or s.score <= $3)
        and ($4::text[] is null or s.risk_level = any($4)) and ($5::float8 is null or s.value >= $5)`,
    [ledger, w.minScore ?? null, w.maxScore ?? null, w.riskLevels ?? null, w.minValue ?? null],
  );
  return rows.map((r) => toCandidate(r, now)).filter((c) => matchesSegment(c, w));
}

export interface DigestSelection {
  customers: Candidate[];
  /** In the segment but left out by the cooldown. */
  inCooldown: number;
}

export async function selectForDigest(db: Queryable, segment: Segment, now: Date, rule: CooldownRule): Promise<DigestSelection> {
  const all = await segmentCandidates(db, segment, now);
  const customers = all.filter((c) => !inCooldown(c.listing, c, now, rule, c.contact));
  return { customers, inCooldown: all.length - customers.length };
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

/** Records that the team got these customers now (same transaction as the enqueue). */
export async function recordListings(db: Queryable, segmentId: string, customers: readonly ScoredCustomer[], now: Date): Promise<void> {
  if (customers.length === 0) return;
  await db.query(
    `insert into outreach_listing (segment, customer_id, listed_at, listed_score, listed_level)
     select $1, l.id, $2, l.score, l.level from unnest($3::text[], $4::float8[], $5::text[]) as l(id, score, level)
     on conflict (segment, customer_id) do update
       set listed_at = excluded.listed_at, listed_score = excluded.listed_score, listed_level = excluded.listed_level`,
    [segmentId, now, customers.map((c) => c.customerId), customers.map((c) => c.score), customers.map((c) => c.riskLevel)],
  );
}
