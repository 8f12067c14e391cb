/**
 * Durable outbox for digests and alerts (table outbox_message).
 *
 * Delivery is at-least-once with a stable Message-ID: the row (with the finished message) is
 * committed before any send, and a row is marked sent only after the transport accepted it.
 * A crash between the two leaves the row pending, and a later drain sends the same bytes with
 * the same Message-ID again. Exactly-once towards an SMTP server is impossible (the server can
 * accept the message and the connection drop before we hear it); a stable Message-ID lets mail
 * clients and the file transport recognise the repeat.
 *
 * No network call happens inside a database transaction. A drain claims due rows with a lease in
 * one autocommit statement (UPDATE ... RETURNING, `for update skip locked` in its subquery so
 * concurrent claimers never pick the same row), sends each one with no transaction, row lock or
 * pool connection held, and records the outcome in one short statement. While a lease holds, no
 * other drainer (on this worker or another) touches the row; a drainer that dies mid-send leaves
 * its lease to expire and the row is sent again. Before, the send ran inside the row's
 * transaction: a relay that never answered DATA left every pool connection idle in transaction
 * and froze ingest.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { Logger } from "../log.js";
import { buildRawMessage, messageIdFor, messageIdOf, outboxId, type OutgoingMail } from "./message.js";
import type { MailTransport, OutboxItem } from "./transport.js";
import type { Queryable } from "../store/queryable.js";
import { withTimeout } from "../lib/timeout.js";


export interface EnqueueResult {
  id: string;
  messageId: string;
  /** false when a message with this dedupe key already existed (nothing was written). */
  enqueued: boolean;
}

/**
 * Builds the message and inserts it, unless its dedupe key exists. Pass a transaction's client
 * to make the enqueue atomic with other writes (the digest records its listings that way).
 */
export async function enqueueMessage(db: Queryable, mail: OutgoingMail): Promise<EnqueueResult> {
  const id = outboxId(mail.dedupeKey);
  const raw = await buildRawMessage(mail, id);
  const { rows } = await db.query(
    `insert into outbox_message (id, kind, dedupe_key, recipients, subject, raw, status, attempts, next_attempt_at, created_at)
     values ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7)
     on conflict do nothing
     returning id`,
    [id, mail.kind, mail.dedupeKey, [...mail.to], mail.subject, raw, mail.date],
  );
  // The header the message carries (per-deployment since mail identities), whatever built it.
  return { id, messageId: messageIdOf(raw) ?? messageIdFor(id), enqueued: rows.length === 1 };
}

export async function isEnqueued(db: Queryable, dedupeKey: string): Promise<boolean> {
  const { rows } = await db.query("select 1 from outbox_message where dedupe_key = $1", [dedupeKey]);
  return rows.length > 0;
}

export interface BackoffOptions {
  /** Delay after the first failure. */
  baseMs: number;
  /** Ceiling for the doubling. */
  maxMs: number;
  /** Random extra of up to this fraction of the delay, so workers retrying together spread out. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 60_000, maxMs: 6 * 3_600_000, jitter: 0.2 };
/** With DEFAULT_BACKOFF the last attempt comes about 20 h after the first: a relay down for most of a day loses nothing. */
export const DEFAULT_MAX_ATTEMPTS = 12;

/** Delay before retry number `attempts` (1 = after the first failure): base x 2^(attempts-1), capped, plus jitter. */
export function retryDelayMs(attempts: number, backoff: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exp = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp * (1 + backoff.jitter * random()));
}

/**
 * What the outbox records, shaped like prom-client's metrics (metrics/metrics.ts) without
 * importing them, so outreach/ does not depend on the metrics stage. `kind` is the outbox kind.
 */
export interface OutboxMetrics {
  outboxSent: { inc(labels: { kind: string }, value?: number): void };
  outboxFailed: { inc(labels: { kind: string }, value?: number): void };
  outboxPending: { set(labels: { kind: string }, value: number): void };
  outboxOldestPendingAge: { set(labels: { kind: string }, value: number): void };
}

export interface DrainOptions {
  /** The drainer's clock: rows due at or before it are sent; retries are scheduled from it. */
  now?: Date;
  /** After this many failed attempts the row becomes 'failed' and is not retried. */
  maxAttempts?: number;
  backoff?: Partial<BackoffOptions>;
  /** Most messages to send in one call, so one drain cannot run forever. */
  limit?: number;
  /** Rows claimed per statement: small, so a slow drainer leaves the rest to other workers. */
  batchSize?: number;
  /** Bound on the whole drain (real time): no send starts after it and unsent claims are given back. */
  timeoutMs?: number;
  /** Bound on one send, whatever the transport's own timeouts do (a server that trickles bytes). */
  sendTimeoutMs?: number;
  /** Extra lease beyond the drain's own bound, for the bookkeeping statement after the last send. */
  leaseMarginMs?: number;
  /** Aborts the drain (shutdown): the send in flight is abandoned and its claim given back. */
  signal?: AbortSignal;
  logger?: Logger;
  metrics?: Pick<OutboxMetrics, "outboxSent" | "outboxFailed">;
  random?: () => number;
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 300_000;
export const DEFAULT_SEND_TIMEOUT_MS = 120_000;

export interface DrainResult {
  sent: number;
  /** Failed this time, scheduled again with backoff. */
  retrying: number;
  /** Given up on for good (maxAttempts reached). */
  failed: number;
  /** Claimed but not tried (drain bound reached, relay unreachable, shutdown): due again at once. */
  released: number;
}

interface ClaimedRow {
  id: string;
  kind: string;
  recipients: string[];
  subject: string;
  raw: string;
  attempts: number;
  created_at: Date;
  next_attempt_at: Date;
}

/**
 * Claims up to `n` due rows for `leaseMs` (database clock: leases are about real elapsed time, while
 * `now` is the scheduling clock the caller may move). `for update skip locked` keeps two claimers
 * that run at the same moment apart; a committed lease keeps everyone else away afterwards (the
 * locked row is re-checked against the lease once the other claim commits).
 */
async function claimDue(db: Queryable, now: Date, n: number, token: string, leaseMs: number): Promise<ClaimedRow[]> {
  const { rows } = await db.query<ClaimedRow>(
    `update outbox_message
        set claimed_until = now() + make_interval(secs => $4::float8 / 1000), claim_token = $3
      where id in (
        select id from outbox_message
         where status = 'pending' and next_attempt_at <= $1
           and (claimed_until is null or claimed_until <= now())
         order by next_attempt_at, created_at, id
         limit $2
         for update skip locked)
      returning id, kind, recipients, subject, raw, attempts, created_at, next_attempt_at`,
    [now, n, token, Math.ceil(leaseMs)],
  );
  // RETURNING keeps no order: send oldest-due first, as selected.
  return rows.sort((a, b) => a.next_attempt_at.getTime() - b.next_attempt_at.getTime()
    || a.created_at.getTime() - b.created_at.getTime() || (a.id < b.id ? -1 : 1));
}

/** Gives claims back without counting an attempt: the rows are due again for any drainer. */
async function releaseClaims(db: Queryable, ids: readonly string[], token: string): Promise<void> {
  if (ids.length === 0) return;
  await db.query("update outbox_message set claimed_until = null, claim_token = null where id = any($1) and claim_token = $2", [ids, token]);
}

/**
 * A failure the server gave for this message (a recipient or the content refused, temporary or
 * not), as opposed to one about the relay (refused connection, timeout, dropped connection, TLS,
 * authentication, abort): after a relay failure the drain stops, since the next message would
 * only wait out the same timeout, and its untried claims are given back without an attempt.
 */
export function isMessageFailure(err: unknown): boolean {
  const e = err as { code?: unknown; responseCode?: unknown };
  // nodemailer: EENVELOPE = recipients refused (or none usable); EMESSAGE with a reply code = the
  // server answered the message's DATA with a refusal. Everything else concerns the connection.
  return e.code === "EENVELOPE" || (e.code === "EMESSAGE" && typeof e.responseCode === "number");
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** One short statement, retried briefly: a database blip right after a send should not cause a resend. */
async function bookkeep(db: Queryable, sql: string, params: unknown[], until: number): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await db.query(sql, params)).rowCount ?? 0;
    } catch (err) {
      if (attempt >= 3 || Date.now() + 1000 * attempt >= until) throw err;
      await sleep(1000 * attempt);
    }
  }
}

export async function drainOutbox(pool: pg.Pool, transport: MailTransport, opts: DrainOptions = {}): Promise<DrainResult> {
  const now = opts.now ?? new Date();
  const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
  const limit = opts.limit ?? 100;
  const batchSize = Math.max(1, opts.batchSize ?? 10);
  const sendTimeoutMs = opts.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
  const margin = opts.leaseMarginMs ?? 30_000;
  const log = opts.logger;
  const token = randomUUID();
  const result: DrainResult = { sent: 0, retrying: 0, failed: 0, released: 0 };
  let handled = 0;
  let stopReason: string | null = null;

  while (handled < limit && stopReason === null) {
    if (opts.signal?.aborted) { stopReason = "shutdown"; break; }
    const remaining = deadline - Date.now();
    if (remaining <= 0) { stopReason = "drain time limit"; break; }
    const want = Math.min(batchSize, limit - handled);
    // The lease outlasts everything this drain may still do with the rows: sends start only before
    // the deadline, the last one is cut off after sendTimeoutMs, then one bookkeeping statement.
    const rows = await claimDue(pool, now, want, token, remaining + sendTimeoutMs + margin);
    if (rows.length === 0) break;
    let next = 0;
    try {
      for (; next < rows.length; next++) {
        if (opts.signal?.aborted) stopReason = "shutdown";
        else if (Date.now() >= deadline) stopReason = "drain time limit";
        if (stopReason !== null) break;
        const row = rows[next]!;
        const outcome = await sendOne(pool, transport, row, token, { now, maxAttempts, backoff, sendTimeoutMs, leaseUntil: deadline + sendTimeoutMs + margin, opts });
        if (outcome.result === "aborted") {
          // Left at `next`: the finally block gives this row's claim back with the untried ones.
          stopReason = "shutdown";
          break;
        }
        handled++;
        if (outcome.result !== "lost") result[outcome.result]++;
        if (outcome.relayDown) stopReason = "relay unavailable";
      }
    } finally {
      // Untried claims go back at once rather than waiting out the lease. A failure here (the
      // database is gone) only delays them until the lease expires.
      const untried = rows.slice(next).map((r) => r.id);
      if (untried.length > 0) {
        result.released += untried.length;
        await releaseClaims(pool, untried, token).catch((err) => log?.warn({ err: describeError(err as Error) }, "outbox: could not release claims; they are due again when their lease expires"));
      }
    }
    if (rows.length < want) break;
  }
  if (stopReason !== null && result.released > 0) {
    log?.warn({ reason: stopReason, released: result.released, sent: result.sent }, "outbox: drain stopped early; untried messages stay due");
  }
  return result;
}

interface SendContext {
  now: Date;
  maxAttempts: number;
  backoff: BackoffOptions;
  sendTimeoutMs: number;
  /** Bookkeeping retries stop before this (real time): the lease ends soon after. */
  leaseUntil: number;
  opts: DrainOptions;
}

async function sendOne(
  pool: pg.Pool, transport: MailTransport, row: ClaimedRow, token: string, ctx: SendContext,
): Promise<{ result: "sent" | "retrying" | "failed" | "lost" | "aborted"; relayDown: boolean }> {
  const log = ctx.opts.logger;
  const item: OutboxItem = {
    id: row.id, messageId: messageIdOf(row.raw) ?? messageIdFor(row.id), kind: row.kind, subject: row.subject,
    recipients: row.recipients, raw: row.raw, createdAt: row.created_at,
  };
  const signal = ctx.opts.signal
    ? AbortSignal.any([ctx.opts.signal, AbortSignal.timeout(ctx.sendTimeoutMs)])
    : AbortSignal.timeout(ctx.sendTimeoutMs);
  // The row may have gone since the claim: an erasure (admin/erasure.ts) deletes every message that
  // mentions the customer, claimed ones included, and what it deleted must not go out afterwards.
  // One indexed read per message; what is left is an erasure committing during this one send.
  const { rowCount } = await pool.query("select 1 from outbox_message where id = $1 and claim_token = $2 and status = 'pending'", [row.id, token]);
  if (rowCount === 0) {
    log?.info({ outboxId: row.id, kind: row.kind }, "outbox: message withdrawn or taken over since the claim; not sent");
    return { result: "lost", relayDown: false };
  }
  const started = Date.now();
  let sendError: Error | undefined;
  try {
    // The race covers a transport that ignores the signal; a second later than the signal so
    // that nodemailer's own abort (which closes the connection) normally wins.
    const sent = await withTimeout(transport.send(item, { signal }), ctx.sendTimeoutMs + 1_000, `mail transport ${transport.name}`);
    if (sent?.rejected?.length) {
      // Some recipients accepted it: sending again would duplicate it for them, so it counts as sent.
      log?.warn({ outboxId: row.id, kind: row.kind, rejected: sent.rejected }, "outbox: some recipients were rejected");
    }
  } catch (err) {
    sendError = err as Error;
  }
  if (sendError === undefined) {
    // Sent is the truth whoever holds the claim now. If this statement fails for good the row
    // stays pending and is resent, same bytes and Message-ID, once the lease expires.
    await bookkeep(
      pool,
      `update outbox_message set status = 'sent', sent_at = $2, attempts = attempts + 1, last_error = null,
              claimed_until = null, claim_token = null
        where id = $1 and status = 'pending'`,
      [row.id, ctx.now],
      ctx.leaseUntil,
    );
    ctx.opts.metrics?.outboxSent.inc({ kind: row.kind });
    log?.info({ outboxId: row.id, kind: row.kind, recipients: row.recipients.length, transport: transport.name, ms: Date.now() - started }, "outbox: sent");
    return { result: "sent", relayDown: false };
  }
  if (ctx.opts.signal?.aborted) {
    // Shutdown, not the message's fault: no attempt counted, the caller gives the claim back.
    return { result: "aborted", relayDown: false };
  }
  const attempts = row.attempts + 1;
  const giveUp = attempts >= ctx.maxAttempts;
  const next = new Date(ctx.now.getTime() + retryDelayMs(attempts, ctx.backoff, ctx.opts.random));
  const message = describeError(sendError);
  const relayDown = !isMessageFailure(sendError);
  // Only the claim's owner records a failure: after a lease ran out another drainer may own the row.
  const updated = await bookkeep(
    pool,
    `update outbox_message set attempts = $3, last_error = $4, next_attempt_at = $5, status = $6,
            claimed_until = null, claim_token = null
      where id = $1 and claim_token = $2 and status = 'pending'`,
    [row.id, token, attempts, message, next, giveUp ? "failed" : "pending"],
    ctx.leaseUntil,
  );
  if (updated === 0) {
    log?.warn({ outboxId: row.id, kind: row.kind, err: message, ms: Date.now() - started }, "outbox: send failed after the claim's lease ran out; the new owner decides");
    return { result: "lost", relayDown };
  }
  const fields = { outboxId: row.id, kind: row.kind, attempts, maxAttempts: ctx.maxAttempts, err: message, ms: Date.now() - started, transport: transport.name };
  if (giveUp) {
    ctx.opts.metrics?.outboxFailed.inc({ kind: row.kind });
    log?.error(fields, "outbox: giving up on message after its last attempt");
    return { result: "failed", relayDown };
  }
  log?.warn({ ...fields, nextAttemptAt: next.toISOString() }, "outbox: send failed, will retry");
  return { result: "retrying", relayDown };
}

function describeError(err: Error): string {
  const e = err as Error & { code?: string; responseCode?: number; response?: string };
  const parts = [e.code, e.responseCode, e.message].filter((p) => p !== undefined && p !== "");
  return parts.join(" ").slice(0, 2000);
}

export interface OutboxStatus {
  pending: number;
  failed: number;
  sent: number;
  /** Oldest pending message's age in ms at `now`, for a health check / metric. */
  oldestPendingMs: number | null;
}

export async function outboxStatus(db: Queryable, now = new Date()): Promise<OutboxStatus> {
  const { rows } = await db.query<{ pending: number; failed: number; sent: number; oldest: Date | null }>(
    `select count(*) filter (where status = 'pending')::int as pending,
            count(*) filter (where status = 'failed')::int as failed,
            count(*) filter (where status = 'sent')::int as sent,
            min(created_at) filter (where status = 'pending') as oldest
       from outbox_message`,
  );
  const r = rows[0]!;
  return { pending: r.pending, failed: r.failed, sent: r.sent, oldestPendingMs: r.oldest ? now.getTime() - r.oldest.getTime() : null };
}

export interface PendingKind {
  kind: string;
  pending: number;
  /** Age of the kind's oldest pending message in seconds at `now` (0 for one dated in the future). */
  oldestAgeSeconds: number;
}

/** Pending messages per kind, for the outbox gauges (served by the (status, next_attempt_at) index). */
export async function pendingByKind(db: Queryable, now = new Date()): Promise<PendingKind[]> {
  const { rows } = await db.query<{ kind: string; pending: number; oldest: Date }>(
    `select kind, count(*)::int as pending, min(created_at) as oldest
       from outbox_message where status = 'pending' group by kind order by kind`,
  );
  return rows.map((r) => ({ kind: r.kind, pending: r.pending, oldestAgeSeconds: Math.max(0, (now.getTime() - r.oldest.getTime()) / 1000) }));
}
