/**
 * The ingest loop: a kafkajs consumer group with eachBatch feeding a per-partition pipeline.
 * Per partition batch, in order: handleBatch (validate, dead-letter, one Postgres transaction of
 * events, states and offsets) -> notify (rescoring) -> mirror the offset to Kafka (background).
 * Postgres holds the authoritative offsets (offsets.ts); on partition assignment the consumer
 * seeks to them, and the transaction re-checks them under a row lock, so redelivered messages are
 * never applied twice. A failed batch rewinds its partition (recovery.ts).
 */
import { Partitioners, type Consumer, type EachBatchPayload, type Kafka, type Producer } from "kafkajs";
import type pg from "pg";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ParseOptions } from "../events/parse.js";
import type { InMessage } from "./prepare.js";
import type { BatchOutcome, PartitionRef } from "./write/batch-writer.js";
import { StateCache } from "./write/state-cache.js";
import { PartitionPipeline } from "./pipeline.js";
import { partitionKey, readStoredOffsets, StoredOffsets } from "./offsets.js";
import { PartitionRecovery } from "./recovery.js";
import { KafkaOffsetMirror } from "./kafka-offsets.js";
import { handleBatch, type FetchedBatch } from "./handle-batch.js";

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
  /** Messages fetched but not yet committed before eachBatch waits (bounds memory). */
  maxQueuedMessages?: number;
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

export async function startIngest(opts: IngestOptions): Promise<Ingest> {
  const log = opts.logger.child({ component: "ingest" });
  const stats: IngestStats = { messages: 0, applied: 0, duplicates: 0, deadLettered: 0, batches: 0, customersTouched: 0 };
  let ready = false;
  let stopping = false;
  const stateCache = new StateCache(opts.stateCacheSize ?? 200_000);
  const storedOffsets = new StoredOffsets(opts.pool, opts.groupId);

  const producer: Producer = opts.kafka.producer({ idempotent: false, allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
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
  const kafkaOffsets = new KafkaOffsetMirror(consumer, log);
  const recovery = new PartitionRecovery({
    consumer,
    log,
    isStopping: () => stopping,
    readStored: (topic, partition) => readStoredOffsets(opts.pool, opts.groupId, topic).then((m) => m.get(partition), () => undefined),
  });
  const deps = { pool: opts.pool, producer, dlqTopic: opts.dlqTopic, parse: opts.parse, stateCache, log };

  async function processBatch(_key: string, batch: FetchedBatch): Promise<void> {
    const started = process.hrtime.bigint();
    const ref: PartitionRef = { groupId: opts.groupId, topic: batch.topic, partition: batch.partition };
    const from = await storedOffsets.get(batch.topic, batch.partition);
    const { prepared, outcome } = await handleBatch(deps, ref, batch, from);
    for (const r of prepared.rejects) opts.metrics.eventsDeadLettered.inc({ topic: batch.topic, code: r.code });
    storedOffsets.set(batch.topic, batch.partition, prepared.nextOffset);
    recovery.succeeded(partitionKey(batch.topic, batch.partition));
    await opts.afterDbCommit?.(ref, outcome);
    kafkaOffsets.record(batch.topic, batch.partition, prepared.nextOffset);

    stats.messages += batch.messages.length;
    stats.applied += outcome.applied;
    stats.duplicates += outcome.duplicates + prepared.duplicatesInBatch;
    stats.deadLettered += outcome.deadLettered;
    stats.customersTouched += outcome.customers.length;
    stats.batches++;
    opts.metrics.messagesReceived.inc({ topic: batch.topic }, batch.messages.length);
    opts.metrics.eventsApplied.inc({ topic: batch.topic }, outcome.applied);
    opts.metrics.eventsDuplicate.inc({ topic: batch.topic }, outcome.duplicates + prepared.duplicatesInBatch);
    opts.metrics.batchDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    log.debug({ topic: batch.topic, partition: batch.partition, messages: batch.messages.length, ...outcome, customers: outcome.customers.length }, "batch committed");
  }

  const pipeline = new PartitionPipeline<FetchedBatch>({
    concurrency: opts.partitionsConsumedConcurrently ?? 6,
    run: processBatch,
    onError: (_key, batch, err) => {
      storedOffsets.forget(batch.topic, batch.partition);
      void recovery.rewind(batch, err);
    },
  });

  async function enqueueBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    const key = partitionKey(batch.topic, batch.partition);
    if (stopping || recovery.isRewinding(key) || !isRunning() || isStale() || batch.messages.length === 0) return;
    const messages: InMessage[] = batch.messages.map((m) => ({
      offset: Number(m.offset), key: m.key, value: m.value, headers: m.headers,
    }));
    // kafkajs sets fetchedOffset at run time (not in its types): the offset this fetch asked for.
    const fetchedOffset = Number((batch as unknown as { fetchedOffset?: string }).fetchedOffset ?? messages[0]!.offset);
    pipeline.push(key, { topic: batch.topic, partition: batch.partition, fetchedOffset, messages }, messages.length);
    // Moves the fetch position only; with autoCommit off nothing reaches Kafka before Postgres.
    resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
    await pipeline.waitBelow(opts.maxQueuedMessages ?? 50_000, () => stopping || !isRunning(), heartbeat);
  }

  consumer.on(consumer.events.GROUP_JOIN, async ({ payload }) => {
    // Ownership may have changed: nothing cached about any partition can be trusted.
    storedOffsets.forgetAll();
    recovery.supersede();
    const assignment = payload.memberAssignment as Record<string, number[]>;
    try {
      await storedOffsets.seekAssigned(consumer, assignment);
    } catch (err) {
      // Without the seek the consumer starts at Kafka's committed offsets, which never run ahead of
      // Postgres (they are committed only after it), and the transaction skips what is already stored.
      log.warn({ err }, "could not seek to stored offsets after group join");
    }
    opts.metrics.partitionsAssigned.set(Object.values(assignment).reduce((n, p) => n + p.length, 0));
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
    autoCommit: false,
    // All fetched partitions are handed over at once; the pipeline limits the work in flight.
    partitionsConsumedConcurrently: 64,
    eachBatch: enqueueBatch,
  });

  return {
    stats,
    isReady: () => ready,
    async stop() {
      ready = false;
      stopping = true;
      pipeline.clear();
      // Let running transactions finish, then tell Kafka what Postgres has, then leave the group.
      await pipeline.idle();
      await kafkaOffsets.stop();
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
