/**
 * Where one customer sits in the database, for erasure (admin/erasure.ts) and export
 * (admin/export.ts), which must agree on it: the tables keyed by customer_id, and the rows that
 * only mention the customer in text (dead letters, mail, segment member lists).
 *
 * Every table with a customer_id column is listed in CUSTOMER_TABLES; test/admin-erasure.test.ts
 * checks the list against the catalogue, so a new table cannot be forgotten silently.
 */
import type { Queryable } from "../store/queryable.js";
import { mimeText } from "../lib/mime.js";
import { mentions, needlesOf, type CustomerIdentity, type Needle } from "./mentions.js";

/**
 * Tables keyed by the customer, in the order an erasure deletes them (the state row is locked
 * first, separately). event_outbox and erasure_request are handled on their own: in-flight CRM
 * events stay until acknowledged, and the tombstone is written after the delete.
 */
export const CUSTOMER_TABLES = [
  "raw_event",
  "customer_score",
  "score_history",
  "unscored_customer",
  "scoring_failure",
  "outreach_listing",
  "customer_state",
] as const;

/** Tables with a customer_id column that are not in CUSTOMER_TABLES, and where they are handled. */
export const CUSTOMER_TABLES_HANDLED_APART = ["event_outbox", "erasure_request"] as const;

export type CustomerTable = (typeof CUSTOMER_TABLES)[number];

/**
 * The customer's id and every e-mail address and name their profile ever carried: the current
 * state and each stored customer_profile event (a changed address still sits in old mail).
 */
export async function customerIdentity(db: Queryable, customerId: string): Promise<CustomerIdentity> {
  const { rows } = await db.query<{ email: string | null; name: string | null }>(
    `select s.state->'profile'->>'email' as email, s.state->'profile'->>'name' as name
       from customer_state s where s.customer_id = $1
     union
     select e.payload->>'email', e.payload->>'name'
       from raw_event e where e.customer_id = $1 and e.type = 'customer_profile'`,
    [customerId],
  );
  const emails = new Set<string>();
  const names = new Set<string>();
  for (const r of rows) {
    if (r.email) emails.add(r.email);
    if (r.name) names.add(r.name);
  }
  return { customerId, emails: [...emails], names: [...names] };
}

/** Which kinds of needle a text matches: "id", "email", "name" (for an export that shows no text of others). */
export function mentionedAs(text: string, who: CustomerIdentity): string[] {
  const out: string[] = [];
  if (mentions(text, needlesOf({ customerId: who.customerId, emails: [], names: [] }))) out.push("id");
  if (who.emails.length && mentions(text, needlesOf({ customerId: "", emails: who.emails, names: [] }))) out.push("email");
  if (who.names.length && mentions(text, needlesOf({ customerId: "", emails: [], names: who.names }))) out.push("name");
  return out;
}

const PAGE = 500;

export interface DeadLetterMention {
  id: number;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: number;
  code: string;
  reason: string;
  createdAt: Date;
  sentAt: Date | null;
  /** The message's key and value as text (lossy for bytes that are not UTF-8). */
  key: string | null;
  value: string | null;
  /** The message is the customer's own (keyed by them, or its customerId is theirs), not a mere mention. */
  own: boolean;
}

/**
 * A dead letter's searchable text: key, value (and, when it is JSON, its decoded strings: an
 * escaped address such as "ann\u0040example.com" is found too), original headers, reason.
 */
function deadLetterText(key: string | null, value: string | null, headers: Record<string, string[]>, reason: string): string {
  const parts = [key ?? "", value ?? "", reason];
  if (value) {
    try {
      const strings: string[] = [];
      JSON.parse(value, (_k, v: unknown) => {
        if (typeof v === "string") strings.push(v);
        return v;
      });
      parts.push(...strings);
    } catch {
      // Not JSON (a not_json or not_utf8 dead letter): the raw text above is all there is.
    }
  }
  for (const [name, values] of Object.entries(headers)) parts.push(name, ...values.map((b) => Buffer.from(b, "base64").toString("utf8")));
  return parts.join("\n");
}

function customerIdOf(value: string | null): string | null {
  if (!value) return null;
  try {
    const parsed = JSON.parse(value) as unknown;
    return parsed && typeof parsed === "object" && typeof (parsed as { customerId?: unknown }).customerId === "string"
      ? (parsed as { customerId: string }).customerId : null;
  } catch {
    return null;
  }
}

/**
 * Dead letters that mention the customer. The whole table is read in pages (a value's bytes can
 * hide an address in any case or escape, so no SQL filter is safe); it is bounded by retention
 * (RETENTION_DEAD_LETTER_DAYS) and this runs once per request.
 */
export async function findDeadLetters(db: Queryable, who: CustomerIdentity): Promise<DeadLetterMention[]> {
  const needles = needlesOf(who);
  const out: DeadLetterMention[] = [];
  for (let after = 0; ;) {
    const { rows } = await db.query<{
      id: string; source_topic: string; source_partition: number; source_offset: string; code: string; reason: string;
      created_at: Date; sent_at: Date | null; message_key: Buffer | null; message_value: Buffer | null; message_headers: Record<string, string[]>;
    }>(
      `select id, source_topic, source_partition, source_offset, code, reason, created_at, sent_at, message_key, message_value, message_headers
         from dead_letter where id > $1 order by id limit ${PAGE}`,
      [after],
    );
    for (const r of rows) {
      const key = r.message_key ? r.message_key.toString("utf8") : null;
      const value = r.message_value ? r.message_value.toString("utf8") : null;
      if (!mentions(deadLetterText(key, value, r.message_headers ?? {}, r.reason), needles)) continue;
      out.push({
        id: Number(r.id), sourceTopic: r.source_topic, sourcePartition: r.source_partition, sourceOffset: Number(r.source_offset),
        code: r.code, reason: r.reason, createdAt: r.created_at, sentAt: r.sent_at, key, value,
        own: key === who.customerId || customerIdOf(value) === who.customerId,
      });
    }
    if (rows.length < PAGE) return out;
    after = Number(rows[rows.length - 1]!.id);
  }
}

export interface MailMention {
  id: string;
  kind: string;
  status: string;
  createdAt: Date;
  sentAt: Date | null;
  mentionedAs: string[];
}

/**
 * Outbox mail (digests, alerts, any status) that mentions the customer, searched in the decoded
 * message (lib/mime.ts: quoted-printable bodies, base64 CSV attachments, encoded headers) plus the
 * subject and dedupe key columns. Read in pages, like dead letters.
 */
export async function findMails(db: Queryable, who: CustomerIdentity): Promise<MailMention[]> {
  const needles = needlesOf(who);
  const out: MailMention[] = [];
  for (let after = ""; ;) {
    const { rows } = await db.query<{ id: string; kind: string; status: string; created_at: Date; sent_at: Date | null; subject: string; dedupe_key: string; raw: string }>(
      `select id, kind, status, created_at, sent_at, subject, dedupe_key, raw from outbox_message where id > $1 order by id limit ${PAGE}`,
      [after],
    );
    for (const r of rows) {
      const text = `${r.subject}\n${r.dedupe_key}\n${mimeText(r.raw)}`;
      if (!mentions(text, needles)) continue;
      out.push({ id: r.id, kind: r.kind, status: r.status, createdAt: r.created_at, sentAt: r.sent_at, mentionedAs: mentionedAs(text, who) });
    }
    if (rows.length < PAGE) return out;
    after = rows[rows.length - 1]!.id;
  }
}

/** The file transport's test for one .eml file (decoded like outbox rows). */
export function mailMatcher(who: CustomerIdentity): (raw: string) => boolean {
  const needles: Needle[] = needlesOf(who);
  return (raw) => mentions(mimeText(raw), needles);
}
