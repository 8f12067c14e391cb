/**
 * The scheduled digest: for each segment, select its customers (with the cooldown), render,
 * enqueue, and record the listings, all in one transaction. The dedupe key
 * `digest:<segment>:<recipients>:<period>` makes a second run in the same period (a retry, a
 * second worker, a restart) enqueue nothing: the unique key decides, the advisory lock only
 * spares the loser the rendering work.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import type { KpiChange } from "../kpi/report.js";
import { localDate } from "../kpi/period.js";
import type { Logger } from "../log.js";
import { renderDigest } from "./render-digest.js";
import { enqueueMessage, isEnqueued } from "./outbox.js";
import { DEFAULT_RISE_DELTA, recordListings, selectForDigest, type CooldownRule } from "./select.js";
import type { Segment } from "./segments.js";
import { inTransactionOr, Rollback } from "../store/tx.js";

export interface RunDigestOptions {
  segments: readonly Segment[];
  now: Date;
  /** IANA zone of the teams (DIGEST_TIMEZONE): the default period is their local calendar day. */
  timeZone: string;
  /** Identifies the period in the dedupe key; default the local date of `now`, e.g. "2026-11-23". */
  periodKey?: string;
  /** Shown to people; default like "Mon 23 Nov 2026". */
  periodLabel?: string;
  /** KPI changes for the top of every digest (kpi/snapshotKpis(...).changes); empty to leave them out. */
  kpis?: readonly KpiChange[];
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
  logger?: Logger;
}

export interface DigestRunResult {
  segment: string;
  dedupeKey: string;
  status: "enqueued" | "already-enqueued" | "skipped-empty";
  outboxId?: string;
  customers: number;
  inCooldown: number;
}

export function defaultPeriodLabel(now: Date, timeZone: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone, weekday: "short", day: "numeric", month: "short", year: "numeric" })
    .format(now)
    .replace(/,/g, "");
}

export function digestDedupeKey(segmentId: string, recipients: readonly string[], periodKey: string): string {
  let who = [...recipients].map((r) => r.toLowerCase()).sort().join(",");
  // Keeps the unique index's entries small however long a recipient list gets.
  if (who.length > 300) who = `sha256-${createHash("sha256").update(who).digest("hex").slice(0, 24)}`;
  return `digest:${segmentId}:${who}:${periodKey}`;
}

export async function runDigest(pool: pg.Pool, opts: RunDigestOptions): Promise<DigestRunResult[]> {
  const periodKey = opts.periodKey ?? localDate(opts.now, opts.timeZone);
  const periodLabel = opts.periodLabel ?? defaultPeriodLabel(opts.now, opts.timeZone);
  const rule: CooldownRule = {
    cooldownDays: opts.cooldownDays, riseDelta: opts.riseDelta ?? DEFAULT_RISE_DELTA,
    ...(opts.declinedCooldownDays !== undefined ? { declinedDays: opts.declinedCooldownDays } : {}),
  };
  const results: DigestRunResult[] = [];
  for (const segment of opts.segments) {
    results.push(await digestOne(pool, segment, opts, periodKey, periodLabel, rule));
  }
  return results;
}

async function digestOne(
  pool: pg.Pool,
  segment: Segment,
  opts: RunDigestOptions,
  periodKey: string,
  periodLabel: string,
  rule: CooldownRule,
): Promise<DigestRunResult> {
  const dedupeKey = digestDedupeKey(segment.id, segment.recipients, periodKey);
  const base = { segment: segment.id, dedupeKey };
  const log = opts.logger?.child({ segment: segment.id, period: periodKey });
  return inTransactionOr(pool, async (client) => {
    await client.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [dedupeKey]);
    if (await isEnqueued(client, dedupeKey)) {
      log?.info("digest: already enqueued for this period");
      throw new Rollback<DigestRunResult>({ ...base, status: "already-enqueued", customers: 0, inCooldown: 0 });
    }
    const { customers, inCooldown } = await selectForDigest(client, segment, opts.now, rule);
    if (customers.length === 0 && opts.skipEmpty) {
      log?.info({ inCooldown }, "digest: nobody to contact, skipped");
      throw new Rollback<DigestRunResult>({ ...base, status: "skipped-empty", customers: 0, inCooldown });
    }
    const rendered = renderDigest({
      segment, periodLabel, kpis: opts.kpis ?? [], customers, baseCurrency: opts.baseCurrency,
      crmLinkTemplate: opts.crmLinkTemplate ?? null, inCooldown,
    });
    const res = await enqueueMessage(client, {
      kind: "digest", dedupeKey, from: opts.from, to: segment.recipients, subject: rendered.subject,
      text: rendered.text, html: rendered.html, date: opts.now,
      attachments: [{ filename: rendered.csvFilename, content: rendered.csv, contentType: "text/csv; charset=utf-8" }],
    });
    if (!res.enqueued) {
      throw new Rollback<DigestRunResult>({ ...base, status: "already-enqueued", customers: 0, inCooldown: 0 });
    }
    // Everyone in the CSV counts as listed: the attachment is the team's work list.
    await recordListings(client, segment.id, customers, opts.now);
    log?.info({ outboxId: res.id, customers: customers.length, inCooldown, valueAtRisk: rendered.valueAtRisk }, "digest: enqueued");
    return { ...base, status: "enqueued" as const, outboxId: res.id, customers: customers.length, inCooldown };
  });
}
