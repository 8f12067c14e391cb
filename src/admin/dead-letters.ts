/**
 * Dead letters for operators: list them by reason and time, and send a chosen set back to their
 * source topics once the producer's bug is fixed, with the original key, value and headers (plus
 * x-churnwatch-redrive-of naming the dead letter), at most once per dead letter: a row is marked
 * before the send and unmarked if the send fails.
 */
import type { Producer } from "kafkajs";
import type { Queryable } from "../store/queryable.js";

export interface DeadLetterFilter {
  ids?: readonly number[];
  code?: string;
  topic?: string;
  since?: Date;
  until?: Date;
  /** Include rows already redriven (listing only; a redrive never repeats one). */
  includeRedriven?: boolean;
  limit?: number;
}

export interface DeadLetterRow {
  id: number;
  failedAt: Date;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: number;
  code: string;
  reason: string;
  sentAt: Date | null;
  redrivenAt: Date | null;
  valueBytes: number;
}

export const REDRIVE_HEADER = "x-churnwatch-redrive-of";

function where(f: DeadLetterFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const parts: string[] = [];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    parts.push(clause.replace("?", `$${params.length}`));
  };
  if (f.ids) add("id = any(?::bigint[])", f.ids);
  if (f.code) add("code = ?", f.code);
  if (f.topic) add("source_topic = ?", f.topic);
  if (f.since) add("created_at >= ?", f.since);
  if (f.until) add("created_at < ?", f.until);
  if (!f.includeRedriven) parts.push("redriven_at is null");
  return { sql: parts.length ? `where ${parts.join(" and ")}` : "", params };
}

export async function listDeadLetters(db: Queryable, filter: DeadLetterFilter = {}): Promise<DeadLetterRow[]> {
  const w = where({ includeRedriven: true, ...filter });
  const { rows } = await db.query<{
    id: number; created_at: Date; source_topic: string; source_partition: number; source_offset: number;
    code: string; reason: string; sent_at: Date | null; redriven_at: Date | null; value_bytes: number | null;
  }>(
    `select id, created_at, source_topic, source_partition, source_offset, code, reason, sent_at, redriven_at,
            octet_length(message_value) as value_bytes
       from dead_letter ${w.sql} order by id limit ${Math.max(1, Math.min(filter.limit ?? 1000, 100_000))}`,
    w.params,
  );
  return rows.map((r) => ({
    id: Number(r.id), failedAt: r.created_at, sourceTopic: r.source_topic, sourcePartition: r.source_partition,
    sourceOffset: Number(r.source_offset), code: r.code, reason: r.reason, sentAt: r.sent_at, redrivenAt: r.redriven_at,
    valueBytes: r.value_bytes ?? 0,
  }));
}

/** Counts per reason code, for a first look. */
export async function summariseDeadLetters(db: Queryable, filter: DeadLetterFilter = {}): Promise<{ code: string; count: number; first: Date; last: Date }[]> {
  const w = where({ includeRedriven: true, ...filter });
  const { rows } = await db.query<{ code: string; n: string; first: Date; last: Date }>(
    `select code, count(*) as n, min(created_at) as first, max(created_at) as last from dead_letter ${w.sql} group by code order by count(*) desc`,
    w.params,
  );
  return rows.map((r) => ({ code: r.code, count: Number(r.n), first: r.first, last: r.last }));
}

export interface RedriveResult {
  redriven: number[];
  /** Dead letters stored before their original bytes were kept: nothing to send back. */
  withoutMessage: number[];
}

/**
 * Sends the matching dead letters back to their source topics. Rows already redriven are never
 * sent again; rows being redriven by someone else at the same moment are skipped.
 */
export async function redriveDeadLetters(db: Queryable, producer: Pick<Producer, "send">, filter: DeadLetterFilter, opts: { batchSize?: number } = {}): Promise<RedriveResult> {
  const result: RedriveResult = { redriven: [], withoutMessage: [] };
  const w = where({ ...filter, includeRedriven: false });
  for (;;) {
    const { rows } = await db.query<{ id: number; source_topic: string; message_key: Buffer | null; message_value: Buffer | null; message_headers: Record<string, string[]> }>(
      `update dead_letter set redriven_at = now()
        where id in (select id from dead_letter ${w.sql} ${w.sql ? "and" : "where"} message_value is not null
                      order by id limit ${opts.batchSize ?? 500} for update skip locked)
        returning id, source_topic, message_key, message_value, message_headers`,
      w.params,
    );
    if (rows.length === 0) break;
    rows.sort((a, b) => Number(a.id) - Number(b.id));
    const byTopic = new Map<string, typeof rows>();
    for (const r of rows) byTopic.set(r.source_topic, [...(byTopic.get(r.source_topic) ?? []), r]);
    try {
      for (const [topic, list] of byTopic) {
        await producer.send({
          topic,
          acks: -1,
          messages: list.map((r) => ({
            key: r.message_key,
            value: r.message_value,
            headers: {
              ...Object.fromEntries(Object.entries(r.message_headers).map(([k, v]) => [k, v.map((b) => Buffer.from(b, "base64"))])),
              [REDRIVE_HEADER]: String(r.id),
            },
          })),
        });
        result.redriven.push(...list.map((r) => Number(r.id)));
      }
    } catch (err) {
      // Unmark what was not sent, so a later redrive can try again (still at most once each).
      const sent = new Set(result.redriven);
      await db.query("update dead_letter set redriven_at = null where id = any($1::bigint[])", [rows.map((r) => Number(r.id)).filter((id) => !sent.has(id))]);
      throw err;
    }
  }
  const { rows: bare } = await db.query<{ id: number }>(
    `select id from dead_letter ${w.sql} ${w.sql ? "and" : "where"} message_value is null order by id`,
    w.params,
  );
  result.withoutMessage = bare.map((r) => Number(r.id));
  return result;
}
