/**
 * The ingest loop: a kafkajs consumer group with eachBatch. Per partition batch:
 *   validate -> dead-letter rejects (awaited) -> one Postgres transaction (events, states,
 *   offsets) -> resolve and commit the Kafka offset -> notify (rescoring).
 * Postgres holds the authoritative offsets; Kafka's committed offsets only let other tools see
 * lag. On partition assignment the consumer seeks to the stored offsets, and the transaction
 * re-checks them under a row lock, so redelivered messages are never applied twice.
 */
import type { Consumer, EachBatchPayload, Kafka, Producer } from "kafkajs";
import type pg from "pg";
import type { Logger } from "../log.js";
import type { Metrics } from "../http/metrics.js";
import type { ParseOptions } from "../events/parse.js";
import { prepareBatch, type InMessage } from "./prepare.js";
import { toDeadLetter } from "./dead-letter.js";
import { readStoredOffsets, writeBatch, type BatchOutcome, type PartitionRef } from "../store/batch-writer.js";
import { StateCache } from "../store/state-cache.js";

export interface IngestOptions {
  kafka: Kafka;
  pool: pg.Pool;
  logger: Logger;
  metrics: Metrics;
  groupId: string;
  /** A departed member's partitions wait this long before reassignment; also the restart stall. */
  sessionTimeoutMs?: number;
  topics: string[];
  dlqTopic: string;
  parse: ParseOptions;
  /** Partitions processed at once: overlaps Node's parsing with Postgres's commit of another batch. */
  partitionsConsumedConcurrently?: number;
  /** Customer states kept in memory between batches (0 disables the cache). */
  stateCacheSize?: number;
  /** Called after the database commit and before the Kafka commit (rescoring, fault tests). */
  afterDbCommit?: (ref: PartitionRef, outcome: BatchOutcome) => Promise<void> | void;
}

export interface IngestStats {
  messages: number;
  applied: number;
  duplicates: number;
  deadLettered: number;
  batches: number;
  customersTouched: number;
}

export interface Ingest {
  stats: IngestStats;
  /** True once the consumer has joined its group and holds an assignment (readiness). */
  isReady(): boolean;
  stop(): Promise<void>;
}

const partitionKey = (topic: string, partition: number) => `${topic}:${partition}`;

export async function startIngest(opts: IngestOptions): Promise<Ingest> {
  const log = opts.logger.child({ component: "ingest" });
  const stats: IngestStats = { messages: 0, applied: 0, duplicates: 0, deadLettered: 0, batches: 0, customersTouched: 0 };
  // Stored next offsets per partition; refreshed on every group join because ownership changed.
  let known = new Map<string, number | null>();
  let ready = false;
  const stateCache = new StateCache(opts.stateCacheSize ?? 200_000);

  const producer: Producer = opts.kafka.producer({ idempotent: false, allowAutoTopicCreation: true });
  const consumer: Consumer = opts.kafka.consumer({
    groupId: opts.groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: opts.sessionTimeoutMs ?? 10_000,
    heartbeatInterval: Math.max(500, Math.floor((opts.sessionTimeoutMs ?? 10_000) / 6)),
    // A short long-poll keeps shutdown and rebalances quick; full batches return at once anyway.
    maxWaitTimeInMs: 500,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxBytes: 16 * 1024 * 1024,
  });

  async function storedOffset(topic: string, partition: number): Promise<number | null> {
    const key = partitionKey(topic, partition);
    if (!known.has(key)) {
      const offsets = await readStoredOffsets(opts.pool, opts.groupId, topic);
      known.set(key, offsets.get(partition) ?? null);
    }
    return known.get(key) ?? null;
  }

  async function handleBatch({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }: EachBatchPayload) {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const started = process.hrtime.bigint();
    const ref: PartitionRef = { groupId: opts.groupId, topic: batch.topic, partition: batch.partition };
    const messages: InMessage[] = batch.messages.map((m) => ({
      offset: Number(m.offset), key: m.key, value: m.value, headers: m.headers,
    }));
    const from = await storedOffset(batch.topic, batch.partition);
    const prepared = prepareBatch(messages, from, opts.parse);

    if (prepared.rejects.length > 0) {
      // Awaited before the database commit: a reject is never acknowledged without being kept.
      const now = new Date();
      await producer.send({
        topic: opts.dlqTopic,
        acks: -1,
        messages: prepared.rejects.map((r) => toDeadLetter(r, batch.topic, batch.partition, now)),
      });
      for (const r of prepared.rejects) {
        opts.metrics.eventsDeadLettered.inc({ topic: batch.topic, code: r.code });
        log.warn({ topic: batch.topic, partition: batch.partition, offset: r.message.offset, code: r.code, reason: r.reason }, "message dead-lettered");
      }
    }

    const outcome = await writeBatch(opts.pool, ref, {
      events: prepared.valid, rejects: prepared.rejects, nextOffset: prepared.nextOffset,
    }, stateCache);
    known.set(partitionKey(batch.topic, batch.partition), prepared.nextOffset);
    await opts.afterDbCommit?.(ref, outcome);

    resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
    await commitOffsetsIfNecessary();
    await heartbeat();

    stats.messages += messages.length;
    stats.applied += outcome.applied;
    stats.duplicates += outcome.duplicates + prepared.duplicatesInBatch;
    stats.deadLettered += outcome.deadLettered;
    stats.customersTouched += outcome.customers.length;
    stats.batches++;
    opts.metrics.eventsIngested.inc({ topic: batch.topic }, outcome.applied);
    opts.metrics.eventsDuplicate.inc({ topic: batch.topic }, outcome.duplicates + prepared.duplicatesInBatch);
    opts.metrics.batchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    log.debug({ topic: batch.topic, partition: batch.partition, messages: messages.length, ...outcome, customers: outcome.customers.length }, "batch committed");
  }

  consumer.on(consumer.events.GROUP_JOIN, async ({ payload }) => {
    known = new Map();
    const assignment = payload.memberAssignment as Record<string, number[]>;
    let count = 0;
    try {
      for (const [topic, partitions] of Object.entries(assignment)) {
        count += partitions.length;
        const stored = await readStoredOffsets(opts.pool, opts.groupId, topic);
        for (const partition of partitions) {
          const offset = stored.get(partition);
          if (offset !== undefined && offset >= 0) consumer.seek({ topic, partition, offset: String(offset) });
        }
      }
    } catch (err) {
      // Seeking is an optimisation; the transaction's offset check keeps correctness without it.
      log.warn({ err }, "could not seek to stored offsets after group join");
    }
    opts.metrics.partitionsAssigned.set(count);
    ready = true;
    log.info({ assignment }, "joined consumer group");
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    ready = false;
    log.error({ err: payload.error, restart: payload.restart }, "consumer crashed");
  });

  await producer.connect();
  await consumer.connect();
  for (const topic of opts.topics) await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatchAutoResolve: false,
    autoCommit: true,
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 6,
    eachBatch: handleBatch,
  });

  return {
    stats,
    isReady: () => ready,
    async stop() {
      ready = false;
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
