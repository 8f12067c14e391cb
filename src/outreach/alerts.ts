/**
 * Immediate alerts: a customer of a segment with `alert: true` whose risk level just became
 * high. The scoring job knows the level before and after each rescoring and passes the changes
 * in (call it in the scoring transaction, with its client, so a crash cannot lose a crossing).
 *
 * Rate limit: at most `ratePerHour` alert messages per recipient per rolling hour, counted from
 * outbox_message rows of kind 'alert' and 'alert-summary'. When the new crossings exceed what is
 * left, the highest value-at-risk customers get individual alerts and the rest are FOLDED INTO
 * ONE SUMMARY alert, which uses the last slot; with no slot left at all they are DEFERRED TO THE
 * DIGEST (nothing is sent now: they are high risk, so the next digest lists them unless the team
 * saw them at high level within the cooldown). Inboxes stay readable during a mass event (an
 * outage making hundreds of customers high risk at once) without losing anyone.
 *
 * Who was alerted (alone or in a summary) is kept in outreach_listing under the pseudo-segment
 * `alert:<segment id>`, with listed_at = when alerted: a crossing scored at or before that instant
 * is a repeat (a retried job) and is not alerted again; a later crossing (high -> medium -> high)
 * is. It is separate from the digest's own listing, so alerts never hide anyone from a digest.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import type { Logger } from "../log.js";
import { rankCustomers } from "./customer.js";
import { defaultUnsubscribe, unsubscribeUrl, type MailIdentity } from "./message.js";
import { enqueueMessage } from "./outbox.js";
import { renderAlert, renderAlertSummary } from "./render-alert.js";
import { recipientsKey } from "./run-digest.js";
import { loadCandidates, recordListings, type Candidate } from "./select.js";
import { inTransaction } from "../store/tx.js";
import { matchesSegment, segmentTextFor, type RecipientList, type Segment } from "./segments.js";

export interface RiskChange {
  customerId: string;
  /** Level before this rescoring; null for a customer scored for the first time. */
  levelBefore: string | null;
  /** Score before this rescoring (what the team would have seen), null for a first score. */
  scoreBefore: number | null;
}

/** The alert trigger: high now, not high before (a first score of high counts). */
export function crossedIntoHigh(levelBefore: string | null, currentLevel: string): boolean {
  return currentLevel === "high" && levelBefore !== "high";
}

export interface EnqueueAlertsOptions {
  segments: readonly Segment[];
  changes: readonly RiskChange[];
  now: Date;
  from: string;
  baseCurrency: string;
  /** ALERT_RATE_PER_HOUR: alert messages per recipient per rolling hour. */
  ratePerHour: number;
  crmLinkTemplate?: string | null;
  /** DIGEST_TIMEZONE, for dates shown (lists may name their own). */
  timeZone?: string;
  /** Deployment-unique Message-IDs and List-Ids (deployment.ts); without it the legacy Message-ID. */
  identity?: MailIdentity;
  /** MAIL_LIST_UNSUBSCRIBE (mailto: or https:, {segment} replaced); default a mailto: to MAIL_FROM. */
  unsubscribe?: string | null;
  logger?: Logger;
}

export interface AlertRunResult {
  segment: string;
  /** Individual alerts enqueued. */
  alerted: string[];
  /** Customers folded into the one summary alert. */
  summarised: string[];
  /** Over the limit with no slot left: they go to the next digest instead. */
  deferred: string[];
  /** Crossings alerted before (same customer, same scoring). */
  duplicates: number;
}

type Db = pg.Pool | pg.PoolClient;

export function alertLedgerSegment(segmentId: string): string {
  return `alert:${segmentId}`;
}

/** One segment with one list keeps the key it always had; several lists each get their own message. */
function listSuffix(segment: Segment, list: RecipientList): string {
  return segment.lists.length <= 1 ? "" : `:${recipientsKey(list.to)}`;
}

function alertKey(segment: Segment, list: RecipientList, c: Candidate): string {
  return `alert:${segment.id}:${c.customerId}:${c.scoredAt.toISOString()}${listSuffix(segment, list)}`;
}

async function sentInLastHour(db: pg.PoolClient, recipients: readonly string[], now: Date): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select coalesce(max(n), 0)::int as n from (
       select r, count(*) as n
         from outbox_message, unnest(recipients) as r
        where kind in ('alert', 'alert-summary') and created_at > $1::timestamptz - interval '1 hour' and created_at <= $1
          and lower(r) = any($2::text[])
        group by r) per_recipient`,
    [now, recipients.map((r) => r.toLowerCase())],
  );
  return rows[0]!.n;
}

/** Customers already alerted in this segment for this crossing (alerted at or after it was scored). */
async function alreadyAlerted(db: pg.PoolClient, segmentId: string, customers: readonly Candidate[]): Promise<Set<string>> {
  const { rows } = await db.query<{ customer_id: string }>(
    `select l.customer_id from outreach_listing l
       join unnest($2::text[], $3::timestamptz[]) as c(id, scored_at) on c.id = l.customer_id
      where l.segment = $1 and l.listed_at >= c.scored_at`,
    [alertLedgerSegment(segmentId), customers.map((c) => c.customerId), customers.map((c) => c.scoredAt)],
  );
  return new Set(rows.map((r) => r.customer_id));
}

/**
 * Pass the pool to run in a transaction of its own, or the scoring transaction's client to make
 * the alerts commit (or roll back) together with the scores that triggered them.
 */
export async function enqueueAlerts(db: Db, opts: EnqueueAlertsOptions): Promise<AlertRunResult[]> {
  if ("release" in db) return alertsIn(db, opts);
  return inTransaction(db, (client) => alertsIn(client, opts));
}

async function alertsIn(db: pg.PoolClient, opts: EnqueueAlertsOptions): Promise<AlertRunResult[]> {
  const alertSegments = opts.segments.filter((s) => s.alert);
  const crossing = new Map(opts.changes.filter((c) => c.levelBefore !== "high").map((c) => [c.customerId, c]));
  if (alertSegments.length === 0 || crossing.size === 0) return [];
  // Serialises alert runs, so two of them cannot both see budget left and both spend it.
  await db.query("select pg_advisory_xact_lock(hashtextextended('churnwatch:alerts', 0))");
  const current = (await loadCandidates(db, [...crossing.keys()], opts.now))
    .filter((c) => crossedIntoHigh(crossing.get(c.customerId)?.levelBefore ?? null, c.riskLevel))
    .map((c) => ({ ...c, lastSeenScore: crossing.get(c.customerId)?.scoreBefore ?? null }));

  const results: AlertRunResult[] = [];
  for (const segment of alertSegments) {
    const result: AlertRunResult = { segment: segment.id, alerted: [], summarised: [], deferred: [], duplicates: 0 };
    results.push(result);
    const inSegment = rankCustomers(current.filter((c) => matchesSegment(c, segment.when)));
    if (inSegment.length === 0) continue;
    const done = await alreadyAlerted(db, segment.id, inSegment);
    const members = inSegment.filter((c) => !done.has(c.customerId));
    result.duplicates = inSegment.length - members.length;
    if (members.length === 0) continue;

    const alerted = new Set<string>(), summarised = new Set<string>(), deferred = new Set<string>();
    for (const list of segment.lists) {
      const left = Math.max(0, opts.ratePerHour - (await sentInLastHour(db, list.to, opts.now)));
      const individual = members.length <= left ? members : members.slice(0, Math.max(0, left - 1));
      const rest = members.slice(individual.length);
      const unsubscribe = (segment.unsubscribe ? unsubscribeUrl(segment.unsubscribe, segment.id) : null) ??
        (opts.unsubscribe ? unsubscribeUrl(opts.unsubscribe, segment.id) : null) ?? defaultUnsubscribe(opts.from, segment.id);
      const input = {
        segment: { ...segment, ...segmentTextFor(segment, list.locale) }, baseCurrency: opts.baseCurrency,
        crmLinkTemplate: opts.crmLinkTemplate ?? null, locale: list.locale, timeZone: list.timeZone ?? opts.timeZone ?? "UTC",
        unsubscribeUrl: unsubscribe,
      };
      const mail = {
        from: opts.from, to: list.to, date: opts.now, language: list.locale,
        list: { id: segment.id, name: segment.name, unsubscribe },
        ...(opts.identity ? { identity: opts.identity } : {}),
      };
      for (const c of individual) {
        const r = renderAlert(c, input);
        const res = await enqueueMessage(db, { ...mail, kind: "alert", dedupeKey: alertKey(segment, list, c), subject: r.subject, text: r.text, html: r.html });
        if (res.enqueued) alerted.add(c.customerId);
        else result.duplicates++;
      }
      if (rest.length > 0 && left > 0) {
        const ids = rest.map((c) => `${c.customerId}@${c.scoredAt.toISOString()}`).sort().join(",");
        const r = renderAlertSummary(rest, input);
        const res = await enqueueMessage(db, {
          ...mail, kind: "alert-summary",
          dedupeKey: `alert-summary:${segment.id}:${createHash("sha256").update(ids).digest("hex").slice(0, 32)}${listSuffix(segment, list)}`,
          subject: r.subject, text: r.text, html: r.html,
        });
        if (res.enqueued) for (const c of rest) summarised.add(c.customerId);
      } else {
        for (const c of rest) deferred.add(c.customerId);
      }
    }
    // A customer alerted to one list counts as alerted, even if another list's budget was spent.
    result.alerted.push(...alerted);
    result.summarised.push(...[...summarised].filter((id) => !alerted.has(id)));
    result.deferred.push(...[...deferred].filter((id) => !alerted.has(id) && !summarised.has(id)));
    const alertedNow = new Set([...result.alerted, ...result.summarised]);
    await recordListings(db, alertLedgerSegment(segment.id), members.filter((c) => alertedNow.has(c.customerId)), opts.now);
    opts.logger?.[result.deferred.length ? "warn" : "info"](
      { segment: segment.id, alerted: result.alerted.length, summarised: result.summarised.length, deferred: result.deferred.length },
      result.deferred.length ? "alerts: hourly limit reached, deferred to the digest" : "alerts: enqueued",
    );
  }
  return results;
}
