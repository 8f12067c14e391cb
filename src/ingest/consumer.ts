/**
 * The ingest loop: a kafkajs consumer group with eachBatch feeding a per-partition pipeline.
 * Per partition batch, in order:
 *   validate -> dead-letter rejects (awaited) -> one Postgres transaction (events, states,
 *   offsets) -> notify (rescoring) -> commit the offset to Kafka (in the background).
 * Postgres holds the authoritative offsets; Kafka's committed offsets only let other tools see
 * lag. On partition assignment the consumer seeks to the stored offsets, and the transaction
 * re-checks them under a row lock, so redelivered messages are never applied twice.
 */
import { Partitioners, type Consumer, type EachBatchPayload, type Kafka, type Producer } from "kafkajs";
import type pg from "pg";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ParseOptions } from "../events/parse.js";
import { prepareBatch, type InMessage } from "./prepare.js";
import { toDeadLetter } from "./dead-letter.js";
import { readStoredOffsets, writeBatch, type BatchOutcome, type PartitionRef } from "./write/batch-writer.js";
import { StateCache } from "./write/state-cache.js";
import { PartitionPipeline } from "./pipeline.js";

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

const partitionKey = (topic: string, partition: number) => `${topic}:${partition}`;

export async function startIngest(opts: IngestOptions): Promise<Ingest> {
  const log = opts.logger.child({ component: "ingest" });
  const stats: IngestStats = { messages: 0, applied: 0, duplicates: 0, deadLettered: 0, batches: 0, customersTouched: 0 };
  // Stored next offsets per partition; refreshed on every group join because ownership changed.
  let known = new Map<string, number | null>();
  let ready = false;
  const stateCache = new StateCache(opts.stateCacheSize ?? 200_000);

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

  async function storedOffset(topic: string, partition: number): Promise<number | null> {
    const key = partitionKey(topic, partition);
    if (!known.has(key)) {
      const offsets = await readStoredOffsets(opts.pool, opts.groupId, topic);
      known.set(key, offsets.get(partition) ?? null);
    }
    return known.get(key) ?? null;
  }

  interface QueuedBatch {
    topic: string;
    partition: number;
    fetchedOffset: number;
    messages: InMessage[];
  }

  /** Validate -> dead-letter -> one transaction -> remember the offset for the Kafka commit. */
  async function processBatch(key: string, batch: QueuedBatch): Promise<void> {
    const started = process.hrtime.bigint();
    const ref: PartitionRef = { groupId: opts.groupId, topic: batch.topic, partition: batch.partition };
    const from = await storedOffset(batch.topic, batch.partition);
    const prepared = prepareBatch(batch.messages, from, opts.parse);

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
    known.set(key, prepared.nextOffset);
    failures.delete(key);
    await opts.afterDbCommit?.(ref, outcome);
    // Kafka learns the offset only after Postgres has it (committed in the background).
    toCommit.set(key, { topic: batch.topic, partition: batch.partition, offset: String(prepared.nextOffset) });

    stats.messages += batch.messages.length;
    stats.applied += outcome.applied;
    stats.duplicates += outcome.duplicates + prepared.duplicatesInBatch;
    stats.deadLettered += outcome.deadLettered;
    stats.customersTouched += outcome.customers.length;
    stats.batches++;
    opts.metrics.eventsIngested.inc({ topic: batch.topic }, outcome.applied);
    opts.metrics.eventsDuplicate.inc({ topic: batch.topic }, outcome.duplicates + prepared.duplicatesInBatch);
    opts.metrics.batchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    log.debug({ topic: batch.topic, partition: batch.partition, messages: batch.messages.length, ...outcome, customers: outcome.customers.length }, "batch committed");
  }

  const failures = new Map<string, number>();
  /**
   * Partitions being rewound after a failure: batches kafkajs already fetched for them must not
   * be queued past the hole the failed batch left. Cleared by the seek, after which kafkajs marks
   * older fetches stale.
   */
  const rewinding = new Set<string>();
  const pipeline = new PartitionPipeline<QueuedBatch>({
    concurrency: opts.partitionsConsumedConcurrently ?? 6,
    run: processBatch,
    onError: (key, batch, err) => void rewind(key, batch, err),
  });

  /**
   * A batch failed (database down, DLQ unreachable...): nothing of it was acknowledged. Its queued
   * successors were dropped; fetch the partition again from the stored offset after a backoff.
   */
  async function rewind(key: string, batch: QueuedBatch, err: unknown): Promise<void> {
    const n = (failures.get(key) ?? 0) + 1;
    failures.set(key, n);
    const delay = Math.min(30_000, 250 * 2 ** n);
    log.error({ err, topic: batch.topic, partition: batch.partition, attempt: n, retryInMs: delay }, "batch failed; will fetch it again");
    known.delete(key);
    rewinding.add(key);
    const tp = [{ topic: batch.topic, partitions: [batch.partition] }];
    try {
      consumer.pause(tp);
      await new Promise((r) => setTimeout(r, delay));
      if (stopping) return;
      const stored = await readStoredOffsets(opts.pool, opts.groupId, batch.topic).then((m) => m.get(batch.partition), () => undefined);
      const offset = stored !== undefined && stored >= 0 ? stored : batch.fetchedOffset;
      consumer.seek({ topic: batch.topic, partition: batch.partition, offset: String(offset) });
      rewinding.delete(key);
      consumer.resume(tp);
    } catch (rewindErr) {
      // The consumer is stopping or restarting: its group join seeks to the stored offsets anyway.
      log.warn({ err: rewindErr, topic: batch.topic, partition: batch.partition }, "could not rewind partition");
    }
  }

  async function enqueueBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    const key = partitionKey(batch.topic, batch.partition);
    if (stopping || rewinding.has(key) || !isRunning() || isStale() || batch.messages.length === 0) return;
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

  const toCommit = new Map<string, { topic: string; partition: number; offset: string }>();
  async function commitToKafka(): Promise<void> {
    if (toCommit.size === 0) return;
    const offsets = [...toCommit.values()];
    toCommit.clear();
    // Informational (lag tools, other consumers of the group id): Postgres holds the real offsets.
    await consumer.commitOffsets(offsets).catch((err) => log.debug({ err }, "kafka offset commit failed; postgres has the offsets"));
  }
  const commitTimer = setInterval(() => void commitToKafka(), 1000);
  commitTimer.unref();
  let stopping = false;

  consumer.on(consumer.events.GROUP_JOIN, async ({ payload }) => {
    known = new Map();
    // The join seeks every partition with a stored offset; pending rewinds are superseded.
    rewinding.clear();
    const assignment = payload.memberAssignment as Record<string, number[]>;
    let count = 0;
    try {
      for (const [topic, partitions] of Object.entries(assignment)) {
        count += partitions.length;
        const stored = await readStoredOffsets(opts.pool, opts.groupId, topic);
        for (const partition of partitions) {
          const offset = stored.get(partition);
          // No stored offset means nothing of this partition was ever applied: start at the
          // beginning, not at whatever Kafka has committed for the group (a new or restored
          // database under an existing group would otherwise skip history).
          consumer.seek({ topic, partition, offset: offset !== undefined && offset >= 0 ? String(offset) : "-2" });
        }
      }
    } catch (err) {
      // Without the seek the consumer starts at Kafka's committed offsets, which never run ahead of
      // Postgres (they are committed only after it), and the transaction skips what is already stored.
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
      clearInterval(commitTimer);
      await commitToKafka();
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
