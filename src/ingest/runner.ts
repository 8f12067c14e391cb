/**
 * The ingest loop: a kafkajs consumer group with eachBatch feeding a per-partition pipeline.
 * Per partition batch, in order: handleBatch (validate, then one Postgres transaction of events,
 * states, dead letters and offsets) -> notify (rescoring) -> mirror the offset to Kafka.
 *
 * Postgres holds the authoritative offsets (offsets.ts). On every assignment the partitions are
 * paused before kafkajs can fetch them, sought to the stored offsets, and only then resumed; a
 * partition whose stored offset cannot be read stays paused until it can. The transaction
 * re-checks the offset under a row lock, so a partition briefly owned twice is still applied once.
 * A rebalance drops queued batches and stops Kafka commits until the new assignment; a failed
 * batch rewinds its partition (recovery.ts); dead letters leave through a relay after commit.
 */
import { isGroupRoundError, RejoinBudget } from "./rejoin.js";
import { Partitioners, type Consumer, type EachBatchPayload, type Kafka, type Producer } from "kafkajs";
import type pg from "pg";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ParseOptions } from "../events/parse.js";
import type { InMessage } from "./prepare.js";
import type { BatchOutcome, PartitionRef } from "./write/batch-writer.js";
import { DEFAULT_STATE_CACHE_BYTES, StateCache } from "./write/state-cache.js";
import { PartitionPipeline } from "./pipeline.js";
import { partitionKey, readStoredOffsets, StoredOffsets } from "./offsets.js";
import { PartitionRecovery } from "./recovery.js";
import { KafkaOffsetMirror } from "./kafka-offsets.js";
import { handleBatch, type FetchedBatch } from "./handle-batch.js";
import { DeadLetterRelay } from "./dead-letter-relay.js";
import { PartitionProgress } from "./progress.js";

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
  /** Bytes of fetched messages not yet committed before eachBatch waits (bounds memory). */
  maxQueuedBytes?: number;
  /** Memory budget of the customer-state cache in bytes (0 disables it). */
  stateCacheBytes?: number;
  /** A partition with messages waiting whose stored offset does not move for this long is stalled. */
  stallMs?: number;
  /** Called after the database commit and before the Kafka commit (rescoring, fault tests). */
  afterDbCommit?: (ref: PartitionRef, outcome: BatchOutcome) => Promise<void> | void;
  /** The consumer crashed and kafkajs will not restart it: the worker cannot make progress. */
  onFatal?: (err: Error) => void;
}

export interface IngestStats {
  messages: number;
  applied: number;
  duplicates: number;
  deadLettered: number;
  batches: number;
  customersTouched: number;
}

export interface IngestHealth {
  /** The consumer runs (false after a crash until kafkajs restarted it, and for good after a fatal one). */
  consumerUp: boolean;
  /** Joined the group and holds an assignment. */
  assigned: boolean;
  /** Partitions with messages waiting whose stored offset is not moving. */
  stalled: string[];
  /** Partitions held paused because their stored offset could not be read. */
  waitingForOffsets: string[];
  fatal: string | null;
}

export interface Ingest {
  stats: IngestStats;
  /** Ready: consumer up, assignment held, no stalled partition. */
  isReady(): boolean;
  health(): IngestHealth;
  stop(): Promise<void>;
}

type QueuedBatch = FetchedBatch & { generation: number };

const tp = (topic: string, partition: number) => [{ topic, partitions: [partition] }];

export async function startIngest(opts: IngestOptions): Promise<Ingest> {
  const log = opts.logger.child({ component: "ingest" });
  const stats: IngestStats = { messages: 0, applied: 0, duplicates: 0, deadLettered: 0, batches: 0, customersTouched: 0 };
  let stopping = false;
  let consumerUp = false;
  let fatal: string | null = null;
  /** Assigned partitions; null between the start of a rebalance and the next assignment. */
  let assigned: Set<string> | null = null;
  /** Bumped by every rebalance and assignment: work from an older generation is not trusted. */
  let generation = 0;
  const waitingForOffsets = new Set<string>();
  const stateCache = new StateCache(opts.stateCacheBytes ?? DEFAULT_STATE_CACHE_BYTES);
  const storedOffsets = new StoredOffsets(opts.pool, opts.groupId);

  const producer: Producer = opts.kafka.producer({ idempotent: false, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
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
  const admin = opts.kafka.admin();
  const kafkaOffsets = new KafkaOffsetMirror(consumer, log);
  const progress = new PartitionProgress({ admin, metrics: opts.metrics, log, stallMs: opts.stallMs ?? 120_000 });
  const relay = new DeadLetterRelay({ pool: opts.pool, producer, topic: opts.dlqTopic, log, metrics: opts.metrics });
  const recovery = new PartitionRecovery({
    consumer,
    log,
    isStopping: () => stopping,
    readStored: (topic, partition) => readStoredOffsets(opts.pool, opts.groupId, topic).then((m) => m.get(partition), () => undefined),
  });
  const deps = { pool: opts.pool, parse: opts.parse, stateCache, log };

  async function processBatch(_key: string, batch: QueuedBatch): Promise<void> {
    // Fetched before a rebalance: the new assignment's seek fetches these messages again.
    if (batch.generation !== generation) return;
    const started = process.hrtime.bigint();
    const ref: PartitionRef = { groupId: opts.groupId, topic: batch.topic, partition: batch.partition };
    const from = await storedOffsets.get(batch.topic, batch.partition);
    const { prepared, outcome } = await handleBatch(deps, ref, batch, from);
    if (prepared.rejects.length > 0) relay.kick();
    const current = batch.generation === generation;
    if (current) {
      storedOffsets.set(batch.topic, batch.partition, prepared.nextOffset);
      progress.stored(batch.topic, batch.partition, prepared.nextOffset);
      recovery.succeeded(partitionKey(batch.topic, batch.partition));
    }
    await opts.afterDbCommit?.(ref, outcome);
    // Kafka learns the offset only after Postgres has it, and only while this worker owns the partition.
    if (current) kafkaOffsets.record(batch.topic, batch.partition, prepared.nextOffset);

    // Messages below the stored offset were applied by an earlier batch: counted there, not here.
    const received = batch.messages.length - prepared.alreadyProcessed;
    stats.messages += received;
    stats.applied += outcome.applied;
    stats.duplicates += outcome.duplicates + prepared.duplicatesInBatch;
    stats.deadLettered += outcome.deadLettered;
    stats.customersTouched += outcome.customers.length;
    stats.batches++;
    opts.metrics.messagesReceived.inc({ topic: batch.topic }, received);
    opts.metrics.eventsApplied.inc({ topic: batch.topic }, outcome.applied);
    opts.metrics.eventsDuplicate.inc({ topic: batch.topic }, outcome.duplicates + prepared.duplicatesInBatch);
    opts.metrics.batchDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    opts.metrics.stateCacheHitRatio.set(stateCache.hitRatio);
    opts.metrics.stateCacheBytes.set(stateCache.bytes);
    log.debug({ topic: batch.topic, partition: batch.partition, messages: batch.messages.length, ...outcome, customers: outcome.customers.length }, "batch committed");
  }

  const pipeline = new PartitionPipeline<QueuedBatch>({
    concurrency: opts.partitionsConsumedConcurrently ?? 6,
    run: processBatch,
    onError: (_key, batch, err) => {
      storedOffsets.forget(batch.topic, batch.partition);
      // After a rebalance the new assignment's seek already restarts the partition.
      if (batch.generation !== generation || stopping) return;
      opts.metrics.partitionRewinds.inc({ topic: batch.topic });
      void recovery.rewind(batch, err);
    },
  });

  async function enqueueBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    const key = partitionKey(batch.topic, batch.partition);
    if (stopping || !assigned?.has(key) || recovery.isRewinding(key) || !isRunning() || isStale() || batch.messages.length === 0) return;
    let bytes = 0;
    const messages: InMessage[] = batch.messages.map((m) => {
      bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0);
      return { offset: Number(m.offset), key: m.key, value: m.value, headers: m.headers };
    });
    // kafkajs sets fetchedOffset at run time (not in its types): the offset this fetch asked for.
    const fetchedOffset = Number((batch as unknown as { fetchedOffset?: string }).fetchedOffset ?? messages[0]!.offset);
    pipeline.push(key, { topic: batch.topic, partition: batch.partition, fetchedOffset, messages, bytes, generation }, bytes);
    // Moves the fetch position only; with autoCommit off nothing reaches Kafka before Postgres.
    resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
    await pipeline.waitBelow(opts.maxQueuedBytes ?? 64 * 1024 * 1024, () => stopping || !isRunning(), heartbeat);
  }

  /** Seeks the assignment to the stored offsets, retrying (partitions paused) until they can be read. */
  async function seekWhenReadable(assignment: Record<string, number[]>, joinGeneration: number): Promise<void> {
    const keys = Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => partitionKey(t, p)));
    for (let attempt = 1; ; attempt++) {
      if (stopping || joinGeneration !== generation) return;
      try {
        const sought = await storedOffsets.seekAssigned(consumer, assignment);
        for (const [topic, partitions] of Object.entries(assignment)) {
          for (const p of partitions) progress.stored(topic, p, sought.get(partitionKey(topic, p)) ?? 0);
        }
        for (const k of keys) waitingForOffsets.delete(k);
        if (joinGeneration === generation) consumer.resume(Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions })));
        return;
      } catch (err) {
        for (const k of keys) waitingForOffsets.add(k);
        const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
        // Kafka's committed offsets may be ahead of Postgres (a restored database): never fall back to them.
        log.error({ err, attempt, retryInMs: delay }, "cannot read the stored offsets for the new assignment; its partitions stay paused");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  consumer.on(consumer.events.REBALANCING, () => {
    generation++;
    assigned = null;
    pipeline.clear();
    kafkaOffsets.revokeAll();
  });

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const assignment = payload.memberAssignment as Record<string, number[]>;
    const topicPartitions = Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions }));
    // kafkajs starts fetching as soon as it has emitted this event, without waiting for listeners:
    // until a partition's seek is in place it would fetch from Kafka's committed offsets, and a batch
    // handed over before the seek would be applied and then fetched again (or, with Kafka ahead of
    // Postgres, the messages between would be skipped for good). Paused here, synchronously, a
    // partition is fetched only from its stored offset.
    consumer.pause(topicPartitions);
    const joinGeneration = ++generation;
    assigned = new Set(Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => partitionKey(t, p))));
    storedOffsets.forgetAll();
    recovery.supersede();
    pipeline.clear();
    kafkaOffsets.assign(assignment);
    progress.assign(assignment);
    consumerUp = true;
    opts.metrics.consumerUp.set(1);
    opts.metrics.partitionsAssigned.set(assigned.size);
    log.info({ assignment }, "joined consumer group");
    void seekWhenReadable(assignment, joinGeneration);
  });

  const runConsumer = () => consumer.run({
    eachBatchAutoResolve: false,
    autoCommit: false,
    // All fetched partitions are handed over at once; the pipeline limits the work in flight.
    partitionsConsumedConcurrently: 64,
    eachBatch: enqueueBatch,
  });
  const giveUp = (err: Error | undefined) => {
    fatal = err?.message ?? "consumer crashed";
    opts.onFatal?.(err ?? new Error(fatal));
  };
  const rejoins = new RejoinBudget();
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    consumerUp = false;
    assigned = null;
    opts.metrics.consumerUp.set(0);
    log.error({ err: payload.error, restart: payload.restart }, "consumer crashed");
    if (payload.restart || stopping) return;
    if (isGroupRoundError(payload.error) && rejoins.take()) {
      // kafkajs has disconnected the consumer; subscriptions and handlers stay with it.
      log.warn("the group's join/sync round failed without this worker; joining again");
      setTimeout(() => {
        if (stopping) return;
        consumer.connect().then(runConsumer).catch((err: Error) => giveUp(err));
      }, 1_000);
      return;
    }
    giveUp(payload.error);
  });

  const progressTimer = setInterval(() => {
    progress.poll().catch((err) => log.debug({ err }, "could not read high watermarks"));
  }, 5_000);
  progressTimer.unref();

  await producer.connect();
  await admin.connect();
  await consumer.connect();
  for (const topic of opts.topics) await consumer.subscribe({ topic, fromBeginning: true });
  relay.start();
  await runConsumer();

  const health = (): IngestHealth => ({
    consumerUp,
    assigned: assigned !== null && assigned.size > 0,
    stalled: progress.stalledPartitions(),
    waitingForOffsets: [...waitingForOffsets],
    fatal,
  });

  return {
    stats,
    health,
    isReady() {
      const h = health();
      return h.consumerUp && h.assigned && h.stalled.length === 0 && h.fatal === null;
    },
    async stop() {
      stopping = true;
      consumerUp = false;
      clearInterval(progressTimer);
      pipeline.clear();
      // Let running transactions finish, then tell Kafka what Postgres has, then leave the group.
      await pipeline.idle();
      await kafkaOffsets.stop();
      await relay.stop();
      await consumer.disconnect();
      await admin.disconnect();
      await producer.disconnect();
    },
  };
}
