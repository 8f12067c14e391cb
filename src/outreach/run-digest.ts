/**
 * The scheduled digest: for each segment and each of its recipient lists, select the customers
 * (with that list's cooldown), render in the list's locale, enqueue, and record the listings, all
 * in one transaction per list. The dedupe key `digest:<segment>:<recipients>:<period>` makes a
 * second run in the same period (a retry, a second worker, a restart) enqueue nothing: the unique
 * key decides, the advisory lock only spares the loser the rendering work.
 *
 * Per segment, before its lists: the week's snapshot for the trend charts (the first run of a
 * local week records it; finished weeks get their realised churn), the segment's KPIs over the
 * same periods as the company's, computed over its current customers.
 *
 * A win-back segment (lapsed or cancelled customers, segments.ts isWinbackSegment) takes its
 * customers from unscored_customer, ranks them by value, settles its weeks as "won back", shows
 * the company's KPIs only (its members buy nothing by definition, so their own KPIs would be zeros
 * that say nothing), and follows the same cooldown rules without the risk-rise exception.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import { computeKpis } from "../kpi/compute.js";
import { localDate, startOfLocalWeek, type Period } from "../kpi/period.js";
import { kpiChange, type KpiChange } from "../kpi/report.js";
import { readSegmentTrend, recordSegmentSnapshot, settleSegmentChurn, type SegmentTrend } from "../kpi/segment-trends.js";
import type { Logger } from "../log.js";
import { erasedSinceSql, passErasureBarrier } from "../store/erasure-barrier.js";
import type { Queryable } from "../store/queryable.js";
import { inTransaction, inTransactionOr, Rollback } from "../store/tx.js";
import { mailFormat } from "./format.js";
import { DEFAULT_LOCALE } from "./i18n/locales.js";
import { defaultUnsubscribe, unsubscribeUrl, type MailIdentity } from "./message.js";
import { enqueueMessage, isEnqueued } from "./outbox.js";
import { renderDigest, type ModelCheck } from "./render-digest.js";
import {
  afterCooldown, DEFAULT_RISE_DELTA, loadListings, recordListings, segmentCandidates, winbackCandidates, winbackListed,
  type Candidate, type CooldownRule, type Listed, type WinbackCandidate,
} from "./select.js";
import { isWinbackSegment, segmentTextFor, type RecipientList, type Segment } from "./segments.js";
import { describeTrajectory, loadScoreHistory, type Trajectory } from "./trajectory.js";

export interface RunDigestOptions {
  segments: readonly Segment[];
  /** How the model's earlier scores turned out, for the footer (null or absent: not shown). */
  modelCheck?: ModelCheck | null;
  now: Date;
  /** IANA zone of the teams (DIGEST_TIMEZONE): the default period is their local calendar day, weeks start on their Monday. */
  timeZone: string;
  /** Identifies the period in the dedupe key; default the local date of `now`, e.g. "2026-11-23". */
  periodKey?: string;
  /** Shown to people; default the local day in each list's language, like "Mon 23 Nov 2026". */
  periodLabel?: string;
  /** Company KPI changes for every digest (kpi/snapshotKpis(...).changes); empty to leave them out. */
  kpis?: readonly KpiChange[];
  /**
   * The periods the company KPIs cover: with them, each digest also shows its segment's KPIs over
   * the same periods (the segment's current customers), next to the company's.
   */
  kpiPeriod?: { current: Period; previous: Period | null; activeWindowDays?: number } | null;
  baseCurrency: string;
  /** From header (MAIL_FROM). */
  from: string;
  /** OUTREACH_COOLDOWN_DAYS: a customer listed in a segment is not listed again for this long unless their risk rose. */
  cooldownDays: number;
  riseDelta?: number;
  /** OUTREACH_DECLINED_COOLDOWN_DAYS: a customer who declined an offer is not listed for this long (select.ts). */
  declinedCooldownDays?: number;
  /** CRM_LINK_TEMPLATE, for segments without their own crmLinkTemplate. */
  crmLinkTemplate?: string | null;
  /** Skip segments with nobody to contact instead of mailing "nothing to do" (default false: teams see the job ran). */
  skipEmpty?: boolean;
  /** Deployment-unique Message-IDs and List-Ids (deployment.ts); without it the legacy Message-ID. */
  identity?: MailIdentity;
  /** MAIL_LIST_UNSUBSCRIBE: a mailto: or https: URL, {segment} replaced; default a mailto: to MAIL_FROM. */
  unsubscribe?: string | null;
  /** Weekly snapshots and the trend charts (default true). */
  trends?: boolean;
  logger?: Logger;
}

export interface DigestRunResult {
  segment: string;
  dedupeKey: string;
  status: "enqueued" | "already-enqueued" | "skipped-empty";
  outboxId?: string;
  customers: number;
  inCooldown: number;
  /** The recipient list's locale. */
  locale: string;
}

/** English default label; a list's own label comes from its locale (format.ts dayLabel). */
export function defaultPeriodLabel(now: Date, timeZone: string, locale: string = DEFAULT_LOCALE): string {
  return mailFormat({ locale, timeZone, currency: "EUR" }).dayLabel(now);
}

/** A recipient list as a short stable key: lower-cased, sorted, hashed when long. */
export function recipientsKey(recipients: readonly string[]): string {
  const who = [...recipients].map((r) => r.toLowerCase()).sort().join(",");
  // Keeps the unique index's entries small however long a recipient list gets.
  return who.length > 300 ? `sha256-${createHash("sha256").update(who).digest("hex").slice(0, 24)}` : who;
}

export function digestDedupeKey(segmentId: string, recipients: readonly string[], periodKey: string): string {
  return `digest:${segmentId}:${recipientsKey(recipients)}:${periodKey}`;
}

/**
 * Whose listings a list's cooldown reads: the segment's own when it has one list (as before lists
 * existed), else one ledger per list, so that one team's digest does not hide customers from
 * another team's.
 */
export function listingLedger(segment: Pick<Segment, "id" | "lists">, list: RecipientList): string {
  return segment.lists.length <= 1 ? segment.id : `${segment.id}#${recipientsKey(list.to)}`;
}

/** A segment's customers before the cooldown: scored ones, or a win-back segment's. */
type Selected = { kind: "at-risk"; candidates: Candidate[] } | { kind: "winback"; candidates: WinbackCandidate[] };

/** A list's customers after the cooldown, and how many it held. */
type Through = ({ kind: "at-risk"; customers: Candidate[] } | { kind: "winback"; customers: WinbackCandidate[] }) & { inCooldown: number };

type SegmentContext = Selected & {
  /** When the candidates were read: erasures since then are checked before anything is written. */
  readAt: Date;
  trend: SegmentTrend | null;
  segmentKpis: KpiChange[] | null;
};

export async function runDigest(pool: pg.Pool, opts: RunDigestOptions): Promise<DigestRunResult[]> {
  const periodKey = opts.periodKey ?? localDate(opts.now, opts.timeZone);
  const rule: CooldownRule = {
    cooldownDays: opts.cooldownDays, riseDelta: opts.riseDelta ?? DEFAULT_RISE_DELTA,
    ...(opts.declinedCooldownDays !== undefined ? { declinedDays: opts.declinedCooldownDays } : {}),
  };
  const results: DigestRunResult[] = [];
  for (const segment of opts.segments) {
    const pending: RecipientList[] = [];
    for (const list of segment.lists) {
      const dedupeKey = digestDedupeKey(segment.id, list.to, periodKey);
      if (await isEnqueued(pool, dedupeKey)) {
        results.push({ segment: segment.id, dedupeKey, status: "already-enqueued", customers: 0, inCooldown: 0, locale: list.locale });
      } else {
        pending.push(list);
      }
    }
    if (pending.length === 0) {
      opts.logger?.info({ segment: segment.id, period: periodKey }, "digest: already enqueued for this period");
      continue;
    }
    const context = await segmentContext(pool, segment, opts);
    for (const list of pending) results.push(await digestOne(pool, segment, list, context, opts, periodKey, rule));
  }
  return results;
}

/**
 * Of candidates read before this transaction, those still held: takes the erasure barrier
 * (store/erasure-barrier.ts) first, so a customer erased since the read is left out and an erasure
 * that starts now waits until this transaction has committed (and then removes what it wrote). The
 * test is the customer's state row, which at-risk (scored) and win-back (unscored) customers both
 * have and an erasure deletes, and, when someone was erased since the read, that the row is not a
 * new history begun after the erasure.
 */
async function stillHeld<T extends { customerId: string }>(tx: Queryable, candidates: readonly T[], readAt: Date): Promise<T[]> {
  const since = await passErasureBarrier(tx, readAt);
  if (candidates.length === 0) return [];
  // A state row that exists may still be a new history begun after an erasure: not the one read.
  const { rows } = await tx.query<{ customer_id: string }>(
    `select customer_id from customer_state where customer_id = any($1::text[])
        and ($2::timestamptz is null or not ${erasedSinceSql("customer_id", "$2::timestamptz")})`,
    [candidates.map((c) => c.customerId), since],
  );
  const present = new Set(rows.map((r) => r.customer_id));
  return candidates.filter((c) => present.has(c.customerId));
}

async function segmentContext(pool: pg.Pool, segment: Segment, opts: RunDigestOptions): Promise<SegmentContext> {
  const winback = isWinbackSegment(segment.when);
  const readAt = new Date();
  // "" attaches no listing: each list reads its own ledger in its transaction.
  const selected: Selected = winback
    ? { kind: "winback", candidates: await winbackCandidates(pool, segment, opts.now, "") }
    : { kind: "at-risk", candidates: await segmentCandidates(pool, segment, opts.now, "") };
  const candidates = selected.candidates;
  let trend: SegmentTrend | null = null;
  if (opts.trends !== false) {
    // A win-back snapshot's "value at risk" is its members' value: without a probability, all of it is what is at stake.
    const members = selected.kind === "winback" ? selected.candidates.map((c) => ({ customerId: c.customerId, valueAtRisk: c.value })) : selected.candidates;
    // The week's member list must not name a customer erased since the candidates were read.
    await inTransaction(pool, async (tx) =>
      recordSegmentSnapshot(tx, segment.id, startOfLocalWeek(opts.now, opts.timeZone), await stillHeld(tx, members, readAt), opts.now));
    await settleSegmentChurn(pool, segment.id, opts.now, {
      timeZone: opts.timeZone, ...(opts.kpiPeriod?.activeWindowDays ? { activeWindowDays: opts.kpiPeriod.activeWindowDays } : {}),
      measure: winback ? "wonBack" : "churn",
    });
    trend = await readSegmentTrend(pool, segment.id, opts.now, opts.timeZone);
  }
  let segmentKpis: KpiChange[] | null = null;
  if (opts.kpiPeriod && candidates.length > 0 && !winback) {
    const customers = candidates.map((c) => c.customerId);
    const { current, previous, activeWindowDays } = opts.kpiPeriod;
    const window = activeWindowDays ? { activeWindowDays } : {};
    const cur = await computeKpis(pool, { ...current, ...window, customers });
    const prev = previous ? await computeKpis(pool, { ...previous, ...window, customers }) : null;
    segmentKpis = kpiChange(cur.values, prev?.values ?? null);
  }
  return { ...selected, readAt, trend, segmentKpis };
}

async function trajectories(db: pg.PoolClient, customers: readonly Candidate[], now: Date): Promise<Map<string, Trajectory>> {
  const history = await loadScoreHistory(db, customers.map((c) => c.customerId), now);
  const out = new Map<string, Trajectory>();
  for (const c of customers) {
    const t = describeTrajectory(history.get(c.customerId) ?? [], { at: c.scoredAt, score: c.score }, now);
    if (t) out.set(c.customerId, t);
  }
  return out;
}

async function digestOne(
  pool: pg.Pool,
  segment: Segment,
  list: RecipientList,
  context: SegmentContext,
  opts: RunDigestOptions,
  periodKey: string,
  rule: CooldownRule,
): Promise<DigestRunResult> {
  const dedupeKey = digestDedupeKey(segment.id, list.to, periodKey);
  const base = { segment: segment.id, dedupeKey, locale: list.locale };
  const log = opts.logger?.child({ segment: segment.id, period: periodKey, locale: list.locale });
  const ledger = listingLedger(segment, list);
  return inTransactionOr(pool, async (client) => {
    await client.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [dedupeKey]);
    if (await isEnqueued(client, dedupeKey)) {
      log?.info("digest: already enqueued for this period");
      throw new Rollback<DigestRunResult>({ ...base, status: "already-enqueued", customers: 0, inCooldown: 0 });
    }
    const listings = await loadListings(client, ledger);
    // Candidates were read before this transaction: leave out anyone erased since.
    const held = new Set((await stillHeld<{ customerId: string }>(client, context.candidates, context.readAt)).map((c) => c.customerId));
    const alive = <T extends { customerId: string }>(list: readonly T[]) => list.filter((c) => held.has(c.customerId));
    const timeZone = list.timeZone ?? opts.timeZone;
    const text = segmentTextFor(segment, list.locale);
    const unsubscribe = opts.unsubscribe ? unsubscribeUrl(opts.unsubscribe, segment.id) : null;
    const listUnsubscribe = (segment.unsubscribe ? unsubscribeUrl(segment.unsubscribe, segment.id) : null) ?? unsubscribe ?? defaultUnsubscribe(opts.from, segment.id);
    const common = {
      segment: { ...segment, ...text },
      periodLabel: opts.periodLabel ?? defaultPeriodLabel(opts.now, timeZone, list.locale),
      periodKey,
      kpis: opts.kpis ?? [],
      segmentKpis: context.segmentKpis,
      ...(opts.kpiPeriod ? { kpiPeriodDays: Math.round((opts.kpiPeriod.current.end.getTime() - opts.kpiPeriod.current.start.getTime()) / 86_400_000) } : {}),
      baseCurrency: opts.baseCurrency,
      crmLinkTemplate: opts.crmLinkTemplate ?? null,
      locale: list.locale,
      timeZone,
      trend: context.trend,
      unsubscribeUrl: listUnsubscribe,
    };
    // Each list's own ledger decides the cooldown and what the digest says about an earlier listing.
    const withListing = <T extends { customerId: string }>(c: T) => ({ ...c, listing: listings.get(c.customerId) ?? null });
    const through: Through = context.kind === "winback"
      ? {
        kind: "winback",
        ...afterCooldown(alive(context.candidates).map(withListing).map((c) => ({ ...c, lastListedAt: c.listing?.listedAt ?? null })), opts.now, rule, () => null),
      }
      : {
        kind: "at-risk",
        ...afterCooldown(alive(context.candidates).map(withListing).map((c) => ({ ...c, lastSeenScore: c.listing?.listedScore ?? null })), opts.now, rule, (c) => c),
      };
    const cooling = through.inCooldown;
    if (through.customers.length === 0 && opts.skipEmpty) {
      log?.info({ inCooldown: cooling }, "digest: nobody to contact, skipped");
      throw new Rollback<DigestRunResult>({ ...base, status: "skipped-empty", customers: 0, inCooldown: cooling });
    }
    const rendered = through.kind === "winback"
      ? renderDigest({ ...common, kind: "winback", customers: through.customers, inCooldown: cooling })
      : renderDigest({
        ...common, customers: through.customers, inCooldown: cooling,
        trajectories: await trajectories(client, through.customers, opts.now),
        modelCheck: opts.modelCheck ?? null,
      });
    const listed: Listed[] = through.kind === "winback" ? through.customers.map(winbackListed) : through.customers;
    const res = await enqueueMessage(client, {
      kind: "digest", dedupeKey, from: opts.from, to: list.to, subject: rendered.subject,
      text: rendered.text, html: rendered.html, date: opts.now, language: list.locale,
      list: { id: segment.id, name: segment.name, unsubscribe: listUnsubscribe },
      ...(opts.identity ? { identity: opts.identity } : {}),
      attachments: [{ filename: rendered.csvFilename, content: rendered.csv, contentType: "text/csv; charset=utf-8" }],
    });
    if (!res.enqueued) {
      throw new Rollback<DigestRunResult>({ ...base, status: "already-enqueued", customers: 0, inCooldown: 0 });
    }
    // Everyone in the CSV counts as listed: the attachment is the team's work list.
    await recordListings(client, ledger, listed, opts.now);
    log?.info(
      { outboxId: res.id, customers: listed.length, inCooldown: cooling, ...(context.kind === "winback" ? { value: rendered.value } : { valueAtRisk: rendered.valueAtRisk }) },
      "digest: enqueued",
    );
    return { ...base, status: "enqueued" as const, outboxId: res.id, customers: listed.length, inCooldown: cooling };
  });
}
