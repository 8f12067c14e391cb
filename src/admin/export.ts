/**
 * Export of what is held about one customer (GDPR Art. 15), as one JSON-ready object: the rows of
 * every table keyed by the customer (admin/customer-data.ts), the CRM events not yet sent, the
 * dead letters that are the customer's messages, and which stored mail mentions them.
 *
 * Nothing of other customers: mail (a digest lists many customers) is shown by id, kind, dates and
 * how it names the customer (id, e-mail, name), not by content; a dead letter that only mentions
 * the customer in another customer's message likewise. Read in one REPEATABLE READ transaction, so
 * the parts agree with each other.
 */
import type pg from "pg";
import type { Queryable } from "../store/queryable.js";
import { withClient } from "../store/tx.js";
import { customerIdentity, findDeadLetters, findMails, type MailMention } from "./customer-data.js";

export const EXPORT_FORMAT = "churnwatch-customer-export/v1";

export interface CustomerExport {
  format: typeof EXPORT_FORMAT;
  customerId: string;
  exportedAt: string;
  /** False when nothing at all is held (never seen, or erased). */
  found: boolean;
  profile: { emails: readonly string[]; names: readonly string[] };
  state: Record<string, unknown> | null;
  rawEvents: Record<string, unknown>[];
  score: Record<string, unknown> | null;
  scoreHistory: Record<string, unknown>[];
  unscored: Record<string, unknown> | null;
  scoringFailure: Record<string, unknown> | null;
  outreachListings: Record<string, unknown>[];
  /** Weeks whose digest member list holds the customer (the list itself is not shown). */
  segmentWeeks: Record<string, unknown>[];
  crmEventsQueued: Record<string, unknown>[];
  erasureRequests: Record<string, unknown>[];
  deadLetters: Record<string, unknown>[];
  mail: MailMention[];
}

async function all(db: Queryable, sql: string, id: string): Promise<Record<string, unknown>[]> {
  return (await db.query<Record<string, unknown>>(sql, [id])).rows;
}

async function one(db: Queryable, sql: string, id: string): Promise<Record<string, unknown> | null> {
  return (await all(db, sql, id))[0] ?? null;
}

async function collect(db: Queryable, customerId: string, now: Date): Promise<CustomerExport> {
  const who = await customerIdentity(db, customerId);
  const stateRow = await one(db, "select state, event_count, last_event_at, updated_at from customer_state where customer_id = $1", customerId);
  const out: CustomerExport = {
    format: EXPORT_FORMAT,
    customerId,
    exportedAt: now.toISOString(),
    found: false,
    profile: { emails: who.emails, names: who.names },
    state: stateRow,
    rawEvents: await all(db, "select event_id, type, occurred_at, ingested_at, source_topic, payload from raw_event where customer_id = $1 order by occurred_at, event_id", customerId),
    score: await one(db, "select * from customer_score where customer_id = $1", customerId),
    scoreHistory: await all(db, "select * from score_history where customer_id = $1 order by scored_at", customerId),
    unscored: await one(db, "select * from unscored_customer where customer_id = $1", customerId),
    scoringFailure: await one(db, "select * from scoring_failure where customer_id = $1", customerId),
    outreachListings: await all(db, "select * from outreach_listing where customer_id = $1 order by segment", customerId),
    segmentWeeks: await all(db, "select segment, week_start, taken_at, settled_at from segment_snapshot where $1 = any(members) order by week_start, segment", customerId),
    crmEventsQueued: await all(db, "select event_id, kind, created_at, payload from event_outbox where customer_id = $1 order by id", customerId),
    erasureRequests: await all(db, "select event_id, requested_at, received_at, attempts from erasure_request where customer_id = $1 order by received_at", customerId),
    deadLetters: (await findDeadLetters(db, who)).map((d) => ({
      id: d.id, source: `${d.sourceTopic}[${d.sourcePartition}]@${d.sourceOffset}`, code: d.code, reason: d.reason,
      createdAt: d.createdAt, sentToDeadLetterTopicAt: d.sentAt,
      // Another customer's message that mentions this one: where it is, not what it says.
      ...(d.own ? { key: d.key, value: d.value } : { mentionOnly: true }),
    })),
    mail: await findMails(db, who),
  };
  out.found = [out.state, out.score, out.unscored, out.scoringFailure].some((x) => x !== null) ||
    [out.rawEvents, out.scoreHistory, out.outreachListings, out.segmentWeeks, out.crmEventsQueued, out.erasureRequests, out.deadLetters, out.mail].some((l) => l.length > 0);
  return out;
}

/** Everything held about `customerId`, read in one consistent snapshot. */
export async function exportCustomer(pool: pg.Pool, customerId: string, now = new Date()): Promise<CustomerExport> {
  return withClient(pool, async (client) => {
    await client.query("begin isolation level repeatable read read only");
    try {
      return await collect(client, customerId, now);
    } finally {
      await client.query("rollback").catch(() => undefined);
    }
  });
}
