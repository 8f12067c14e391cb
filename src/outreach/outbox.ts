/**
 * Durable outbox for digests and alerts (table outbox_message).
 *
 * Delivery is at-least-once with a stable Message-ID: the row (with the finished message) is
 * committed before any send, and a row is marked sent only after the transport accepted it.
 * A crash between the two leaves the row pending, and the next drain sends the same bytes with
 * the same Message-ID again. Exactly-once towards an SMTP server is impossible (the server can
 * accept the message and the connection drop before we hear it); a stable Message-ID lets mail
 * clients and the file transport recognise the repeat.
 *
 * Several workers may drain at once: each row is claimed with FOR UPDATE SKIP LOCKED inside its
 * own transaction, held during the send, so no two drainers send one row at the same time and a
 * crashed drainer's lock dies with its connection.
 */
import type pg from "pg";
import type { Logger } from "../log.js";
import { buildRawMessage, messageIdFor, outboxId, type OutgoingMail } from "./message.js";
import type { MailTransport, OutboxItem } from "./transport.js";
import { inTransaction } from "../store/tx.js";
import type { Queryable } from "../store/queryable.js";


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
  return { id, messageId: messageIdFor(id), enqueued: rows.length === 1 };
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
export const DEFAULT_MAX_ATTEMPTS = 8;

/** Delay before retry number `attempts` (1 = after the first failure): base x 2^(attempts-1), capped, plus jitter. */
export function retryDelayMs(attempts: number, backoff: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exp = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp * (1 + backoff.jitter * random()));
}

export interface DrainOptions {
  /** The drainer's clock: rows due at or before it are sent; retries are scheduled from it. */
  now?: Date;
  /** After this many failed attempts the row becomes 'failed' and is not retried. */
  maxAttempts?: number;
  backoff?: Partial<BackoffOptions>;
  /** Most messages to send in one call, so one drain cannot run forever. */
  limit?: number;
  logger?: Logger;
  random?: () => number;
}

export interface DrainResult {
  sent: number;
  retrying: number;
  failed: number;
}

interface ClaimedRow {
  id: string;
  kind: string;
  recipients: string[];
  subject: string;
  raw: string;
  attempts: number;
  created_at: Date;
}

export async function drainOutbox(pool: pg.Pool, transport: MailTransport, opts: DrainOptions = {}): Promise<DrainResult> {
  const now = opts.now ?? new Date();
  const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
  const limit = opts.limit ?? 100;
  const log = opts.logger;
  const result: DrainResult = { sent: 0, retrying: 0, failed: 0 };

  for (let n = 0; n < limit; n++) {
    // One row per transaction: the row lock is held during the send (so no other drainer can
    // send it meanwhile) and a crash loses at most this one row's mark-sent.
    const outcome = await inTransaction(pool, async (client) => {
      const { rows } = await client.query<ClaimedRow>(
        `select id, kind, recipients, subject, raw, attempts, created_at from outbox_message
          where status = 'pending' and next_attempt_at <= $1
          order by next_attempt_at, created_at
          limit 1
          for update skip locked`,
        [now],
      );
      const row = rows[0];
      if (row === undefined) return "none" as const;
      const item: OutboxItem = {
        id: row.id, messageId: messageIdFor(row.id), kind: row.kind, subject: row.subject,
        recipients: row.recipients, raw: row.raw, createdAt: row.created_at,
      };
      let sendError: Error | undefined;
      try {
        const sent = await transport.send(item);
        if (sent?.rejected?.length) {
          // Some recipients accepted it: sending again would duplicate it for them, so it counts as sent.
          log?.warn({ outboxId: row.id, rejected: sent.rejected }, "outbox: some recipients were rejected");
        }
      } catch (err) {
        sendError = err as Error;
      }
      if (sendError === undefined) {
        // A database error from here on propagates: the row stays pending and is resent later
        // with the same Message-ID (at-least-once).
        await client.query(
          "update outbox_message set status = 'sent', sent_at = $2, attempts = attempts + 1, last_error = null where id = $1",
          [row.id, now],
        );
        log?.info({ outboxId: row.id, kind: row.kind, recipients: row.recipients.length, transport: transport.name }, "outbox: sent");
        return "sent" as const;
      }
      const attempts = row.attempts + 1;
      const giveUp = attempts >= maxAttempts;
      const next = new Date(now.getTime() + retryDelayMs(attempts, backoff, opts.random));
      const message = describeError(sendError);
      await client.query(
        "update outbox_message set attempts = $2, last_error = $3, next_attempt_at = $4, status = $5 where id = $1",
        [row.id, attempts, message, next, giveUp ? "failed" : "pending"],
      );
      if (giveUp) log?.error({ outboxId: row.id, kind: row.kind, attempts, err: message }, "outbox: giving up on message");
      else log?.warn({ outboxId: row.id, kind: row.kind, attempts, nextAttemptAt: next.toISOString(), err: message }, "outbox: send failed, will retry");
      return giveUp ? ("failed" as const) : ("retrying" as const);
    });
    if (outcome === "none") break;
    result[outcome]++;
  }
  return result;
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
