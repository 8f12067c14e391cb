/**
 * Replays history (NDJSON events or mapped CSV rows) into the worker's store or onto Kafka.
 *
 * Every item is validated by the worker's own parser (parseEvent: contract + currency conversion),
 * so what gets in is exactly what ingest would accept. Invalid items are reported with their line
 * and skipped; the caller decides whether that is an error.
 *
 * Store target: batches go through the worker's writeBatch (raw_event + customer_state in one
 * transaction, deduped by eventId) under a synthetic consumer group/topic. Offsets continue from
 * the stored next offset, so the offset guard (meant for Kafka redelivery) never drops a replayed
 * event; idempotency comes from the eventId dedupe, as for producer retries. A second replay of the
 * same file therefore writes nothing. Customer states are folded by the same applyEvent the
 * worker uses, so a replayed customer is indistinguishable from one ingested live.
 *
 * Kafka target: events are produced as given (the worker converts currencies itself), keyed by
 * customerId, to the topic the worker routes that type to (topicFor).
 */
import type pg from "pg";
import type { Producer } from "kafkajs";
import type { ChurnEvent } from "../events/schema.js";
import { parseEvent, type ParseOptions } from "../events/parse.js";
import { writeBatch, type PartitionRef } from "../ingest/write/batch-writer.js";
import { readStoredOffsets } from "../ingest/offsets.js";
import { topicFor, type Topics } from "../events/topics.js";
import type { SourceItem } from "./sources.js";

export interface ValidItem {
  line: number;
  /** The original bytes (what Kafka gets). */
  value: Buffer;
  /** Validated and converted to the base currency (what the store gets). */
  event: ChurnEvent;
}

export interface ReplaySink {
  write(batch: readonly ValidItem[]): Promise<{ written: number; duplicates: number }>;
  close(): Promise<void>;
}

export interface ReplaySummary {
  read: number;
  valid: number;
  invalid: number;
  written: number;
  duplicates: number;
}

export interface ReplayOptions {
  parse: ParseOptions;
  batchSize?: number;
  onInvalid?: (line: number, reason: string) => void;
  onProgress?: (summary: ReplaySummary) => void;
  /** Validate only. */
  dryRun?: boolean;
}

/** Validates and writes every item; closes the sink at the end (also on failure). */
export async function replay(items: AsyncIterable<SourceItem>, sink: ReplaySink | null, opts: ReplayOptions): Promise<ReplaySummary> {
  try {
    return await replayInto(items, sink, opts);
  } finally {
    await sink?.close();
  }
}

async function replayInto(items: AsyncIterable<SourceItem>, sink: ReplaySink | null, opts: ReplayOptions): Promise<ReplaySummary> {
  const batchSize = opts.batchSize ?? 500;
  const summary: ReplaySummary = { read: 0, valid: 0, invalid: 0, written: 0, duplicates: 0 };
  let batch: ValidItem[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    if (sink && !opts.dryRun) {
      const r = await sink.write(batch);
      summary.written += r.written;
      summary.duplicates += r.duplicates;
    }
    batch = [];
    opts.onProgress?.(summary);
  };
  for await (const item of items) {
    summary.read++;
    if ("error" in item) {
      summary.invalid++;
      opts.onInvalid?.(item.line, item.error);
      continue;
    }
    const parsed = parseEvent(item.value, null, opts.parse);
    if (!parsed.ok) {
      summary.invalid++;
      opts.onInvalid?.(item.line, `${parsed.code}: ${parsed.reason}`);
      continue;
    }
    summary.valid++;
    batch.push({ line: item.line, value: item.value, event: parsed.event });
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return summary;
}

/** The synthetic consumer position replays write under (never a real Kafka group). */
export const REPLAY_REF: PartitionRef = { groupId: "churnwatch-replay", topic: "replay", partition: 0 };

/** Serialises replays into one database: two at once would hand out the same synthetic offsets. */
const REPLAY_LOCK_KEY = 0x63687277; // "chrw"

export function storeSink(pool: pg.Pool, ref: PartitionRef = REPLAY_REF): ReplaySink {
  let nextOffset: number | null = null;
  let lockClient: pg.PoolClient | null = null;
  let lockLost: Error | undefined;
  return {
    async write(batch) {
      if (lockLost) throw new Error(`replay lock lost: ${lockLost.message}`, { cause: lockLost });
      if (nextOffset === null) {
        lockClient = await pool.connect();
        // The lock lives as long as this session: a lost connection (a database restart) ends the
        // replay at the next write instead of crashing the process, and the client is discarded.
        lockClient.on("error", (err) => (lockLost ??= err));
        await lockClient.query("select pg_advisory_lock($1)", [REPLAY_LOCK_KEY]);
        nextOffset = (await readStoredOffsets(pool, ref.groupId, ref.topic)).get(ref.partition) ?? 0;
      }
      // writeBatch dedupes against stored events; duplicates inside one batch must go first
      // (the worker's prepareBatch does the same), or both copies would be folded into the state.
      const seen = new Set<string>();
      const events: { offset: number; event: ChurnEvent }[] = [];
      for (const item of batch) {
        if (seen.has(item.event.eventId)) continue;
        seen.add(item.event.eventId);
        events.push({ offset: nextOffset + events.length, event: item.event });
      }
      const end = nextOffset + events.length;
      const outcome = await writeBatch(pool, ref, { events, rejects: [], nextOffset: end });
      if (outcome.skippedByOffset > 0) throw new Error(`${outcome.skippedByOffset} replayed events were below the stored replay offset: another writer used ${ref.groupId}/${ref.topic}`);
      nextOffset = end;
      return { written: outcome.applied, duplicates: batch.length - outcome.applied };
    },
    async close() {
      if (!lockClient) return;
      await lockClient.query("select pg_advisory_unlock($1)", [REPLAY_LOCK_KEY]).catch(() => undefined);
      lockClient.release(lockLost);
      lockClient = null;
    },
  };
}

export function kafkaSink(producer: Producer, topics: Readonly<Topics>): ReplaySink {
  return {
    async write(batch) {
      const byTopic = new Map<string, { key: string; value: Buffer }[]>();
      for (const item of batch) {
        const topic = topicFor(item.event, topics);
        const list = byTopic.get(topic) ?? [];
        list.push({ key: item.event.customerId, value: item.value });
        byTopic.set(topic, list);
      }
      // acks -1: a replay that reports success must not lose events to a leader change.
      await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      return { written: batch.length, duplicates: 0 };
    },
    async close() {
      await producer.disconnect();
    },
  };
}
