/**
 * `npm run bench:ingest`: events/s of the full worker path (validate, dead-letter, one Postgres
 * transaction per batch with offsets) against a bare kafkajs consumer that only counts messages,
 * both measured in this run on the same topics, so the ratio survives a noisy shared machine.
 *
 *   EVENTS=200000 CUSTOMERS=20000 PARTITIONS=12 PRODUCE_BATCH=10000 npm run bench:ingest
 *
 * The local broker (librdkafka's mock) answers a fetch with at most one produced record batch
 * per partition, whereas real Kafka fills a fetch up to maxBytesPerPartition. Producing in
 * sends of PRODUCE_BATCH messages (spread over all partitions) gives consumer batches of the
 * size a busy real topic delivers; both consumers read the same batches. PG_FLAGS passes extra
 * postgres flags (e.g. "-c synchronous_commit=off") for experiments; the default is durable.
 */
import { mkdtemp, rm, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { startEmbeddedPostgres } from "../../src/store/embedded.js";
import { startLocalBroker } from "../../scripts/kafka-broker/broker.js";
import { simulateStream } from "../../src/simulate/index.js";
import { topicFor } from "../../src/events/topics.js";
import { loadConfig } from "../../src/config/config.js";
import { startWorker } from "../../src/worker.js";
import { freePort } from "../../test/support/servers.js";

const EVENTS = Number(process.env.EVENTS ?? 200_000);
const CUSTOMERS = Number(process.env.CUSTOMERS ?? 20_000);
const PARTITIONS = Number(process.env.PARTITIONS ?? 12);
const PRODUCE_BATCH = Number(process.env.PRODUCE_BATCH ?? 10_000);

function rate(n: number, ms: number): string {
  return `${Math.round(n / (ms / 1000)).toLocaleString("en")} events/s`;
}

async function produceAll(kafka: Kafka): Promise<number> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let produced = 0;
  const pending: Record<string, { key: string; value: string }[]> = { purchases: [], support: [] };
  const flush = async (topic: string) => {
    const messages = pending[topic]!;
    if (messages.length === 0) return;
    pending[topic] = [];
    await producer.send({ topic, acks: -1, messages });
  };
  for (const event of simulateStream({ seed: 7, customers: CUSTOMERS, now: "2026-11-01T00:00:00Z", days: 540 })) {
    if (produced >= EVENTS) break;
    const topic = topicFor(event);
    pending[topic]!.push({ key: event.customerId, value: JSON.stringify(event) });
    produced++;
    if (pending[topic]!.length >= PRODUCE_BATCH) await flush(topic);
  }
  await flush("purchases");
  await flush("support");
  await producer.disconnect();
  return produced;
}

async function bareConsumer(kafka: Kafka, total: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: "bench-bare", sessionTimeout: 6000, heartbeatInterval: 1000, maxWaitTimeInMs: 200, maxBytesPerPartition: 4 << 20, maxBytes: 16 << 20 });
  await consumer.connect();
  await consumer.subscribe({ topics: ["purchases", "support"], fromBeginning: true });
  let seen = 0;
  let started = 0;
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch }) => {
        if (started === 0) started = performance.now();
        seen += batch.messages.length;
        if (seen >= total) resolve(performance.now() - started);
      },
    });
  });
  const ms = await done;
  await consumer.disconnect();
  return ms;
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "churnwatch-bench-"));
  await chmod(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dir: path.join(dir, "pg"), port: await freePort(), flags: process.env.PG_FLAGS ? process.env.PG_FLAGS.split(" ") : [] });
  const broker = await startLocalBroker({
    topics: [{ name: "purchases", partitions: PARTITIONS }, { name: "support", partitions: PARTITIONS }, { name: "churn.dlq", partitions: 1 }],
  });
  try {
    const kafka = new Kafka({ clientId: "bench", brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const t0 = performance.now();
    const total = await produceAll(kafka);
    console.log(`produced ${total.toLocaleString("en")} events for ${CUSTOMERS.toLocaleString("en")} customers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // (a) reference: a kafkajs consumer that only counts. Timed from its first batch, like (b).
    const bareMs = await bareConsumer(kafka, total);
    console.log(`(a) bare kafkajs consumer: ${rate(total, bareMs)} (${(bareMs / 1000).toFixed(2)} s)`);

    // (b) the full worker path into Postgres with exactly-once offsets.
    const config = loadConfig({
      DATABASE_URL: pg.url, KAFKA_BROKERS: broker.bootstrap, KAFKA_GROUP_ID: "bench-worker",
      KAFKA_SESSION_TIMEOUT_MS: "6000", LOG_LEVEL: "warn", HTTP_PORT: "0",
      // Ingest only, as the target is defined: per-batch rescoring runs off the ingest path anyway,
      // and operators turn it off for bulk backfills like this one (bench:score measures scoring).
      SCORE_AFTER_BATCH: "false", OUTBOX_DIR: path.join(dir, "outbox"),
    });
    let firstBatchAt = 0;
    const worker = await startWorker(config, { http: false, schedules: false, afterDbCommit: () => { if (firstBatchAt === 0) firstBatchAt = performance.now(); } });
    while (worker.ingest.stats.messages < total) await new Promise((r) => setTimeout(r, 20));
    const workerMs = performance.now() - firstBatchAt;
    const { rows } = await worker.db.pool.query<{ n: string }>("select count(*) as n from raw_event");
    await worker.stop();
    console.log(`(b) worker -> Postgres (exactly-once offsets): ${rate(total, workerMs)} (${(workerMs / 1000).toFixed(2)} s, ${Number(rows[0]!.n).toLocaleString("en")} events stored, ${worker.ingest.stats.batches} batches)`);
    const ratio = bareMs / workerMs;
    console.log(`ratio (b)/(a): ${ratio.toFixed(2)}x`);
    const perSec = total / (workerMs / 1000);
    console.log(`targets: (b) >= 20,000 events/s: ${perSec >= 20_000 ? "met" : "NOT met"}; (b) >= 0.5x (a): ${ratio >= 0.5 ? "met" : "NOT met"}`);
  } finally {
    await broker.stop();
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
