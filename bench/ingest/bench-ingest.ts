/**
 * `npm run bench:ingest`: events/s of the full worker path (validate, one Postgres transaction per
 * batch with events, states and offsets, exactly once) against a bare kafkajs consumer that only
 * counts messages, both measured in this run on the same topics, so the ratio survives a noisy
 * shared machine. Also printed: CPU seconds of this process and of PostgreSQL during the worker
 * phase (who is the bottleneck) and the peak RSS.
 *
 *   npm run bench:ingest -- --events 200000 --customers 20000 --partitions 12
 *   npm run bench:ingest -- --customers 1000000 --events 5000000      # memory at scale
 *
 * The local broker (librdkafka's mock) answers a fetch with at most one produced record batch per
 * partition, whereas real Kafka fills a fetch up to maxBytesPerPartition. Producing in sends of
 * --produce-batch messages gives consumer batches of the size a busy real topic delivers. --pg-flags
 * passes extra postgres flags (e.g. "-c synchronous_commit=off"); the default is durable.
 */
import { mkdtemp, rm, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { startEmbeddedPostgres } from "../../src/store/embedded.js";
import { startLocalBroker } from "../../scripts/kafka-broker/broker.js";
import { simulateStream } from "../../src/simulate/index.js";
import { topicFor } from "../../src/events/topics.js";
import { loadConfig } from "../../src/config/config.js";
import { startWorker } from "../../src/worker.js";
import { freePort } from "../../test/support/servers.js";
import { peakRssMiB, processCpuSeconds, treeCpuSeconds } from "../lib/resources.js";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "200000" },
    customers: { type: "string", default: "20000" },
    partitions: { type: "string", default: "12" },
    "produce-batch": { type: "string", default: "10000" },
    "pg-flags": { type: "string", default: "" },
  },
});
const EVENTS = Number(args.events);
const CUSTOMERS = Number(args.customers);
const PARTITIONS = Number(args.partitions);
const PRODUCE_BATCH = Number(args["produce-batch"]);
export const TARGET_EVENTS_PER_SECOND = 50_000;
export const TARGET_RATIO = 0.3;

const perSecond = (n: number, ms: number) => Math.round(n / (ms / 1000));
const fmt = (n: number) => n.toLocaleString("en");

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
  // A history long enough for the event count: ~20 events per customer over 540 days.
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
  const pg = await startEmbeddedPostgres({ dir: path.join(dir, "pg"), port: await freePort(), flags: args["pg-flags"] ? args["pg-flags"].split(" ") : [] });
  const broker = await startLocalBroker({
    topics: [{ name: "purchases", partitions: PARTITIONS }, { name: "support", partitions: PARTITIONS }, { name: "churn.dlq", partitions: 1 }],
  });
  try {
    const kafka = new Kafka({ clientId: "bench", brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const t0 = performance.now();
    const total = await produceAll(kafka);
    console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}, node ${process.version}`);
    console.log(`produced ${fmt(total)} events for ${fmt(CUSTOMERS)} customers on ${PARTITIONS} partitions per topic in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // (a) reference: a kafkajs consumer that only counts. Timed from its first batch, like (b).
    const bareMs = await bareConsumer(kafka, total);
    console.log(`(a) bare kafkajs consumer: ${fmt(perSecond(total, bareMs))} events/s (${(bareMs / 1000).toFixed(2)} s)`);

    // (b) the full worker path into Postgres with exactly-once offsets.
    const config = loadConfig({
      DATABASE_URL: pg.url, KAFKA_BROKERS: broker.bootstrap, KAFKA_GROUP_ID: "bench-worker",
      KAFKA_SESSION_TIMEOUT_MS: "6000", LOG_LEVEL: "warn", HTTP_PORT: "0",
      // Ingest only, as the target is defined: per-batch rescoring runs off the ingest path anyway,
      // and operators turn it off for bulk backfills like this one (bench:score measures scoring).
      SCORE_AFTER_BATCH: "false", OUTBOX_DIR: path.join(dir, "outbox"),
    });
    let firstBatchAt = 0;
    let cpuAtFirst = 0;
    let pgCpuAtFirst = 0;
    const worker = await startWorker(config, {
      http: false, schedules: false,
      afterDbCommit: () => {
        if (firstBatchAt !== 0) return;
        firstBatchAt = performance.now();
        cpuAtFirst = processCpuSeconds();
        pgCpuAtFirst = treeCpuSeconds(pg.pid()!);
      },
    });
    while (worker.ingest.stats.messages < total) await new Promise((r) => setTimeout(r, 20));
    const workerMs = performance.now() - firstBatchAt;
    const nodeCpu = processCpuSeconds() - cpuAtFirst;
    const pgCpu = treeCpuSeconds(pg.pid()!) - pgCpuAtFirst;
    const { rows } = await worker.db.pool.query<{ n: string }>("select count(*) as n from raw_event");
    const stats = worker.ingest.stats;
    await worker.stop();
    const rate = perSecond(total, workerMs);
    const ratio = bareMs / workerMs;
    console.log(`(b) worker -> Postgres, exactly once: ${fmt(rate)} events/s (${(workerMs / 1000).toFixed(2)} s, ${fmt(Number(rows[0]!.n))} events stored, ${fmt(stats.batches)} batches, ${fmt(stats.customersTouched)} customer-state writes)`);
    console.log(`    CPU during (b): worker process ${nodeCpu.toFixed(1)} s (${((nodeCpu / total) * 1e6).toFixed(1)} µs/event), PostgreSQL ${pgCpu.toFixed(1)} s (${((pgCpu / total) * 1e6).toFixed(1)} µs/event)`);
    console.log(`    peak RSS of the worker process: ${peakRssMiB().toFixed(0)} MiB`);
    console.log(`ratio (b)/(a): ${ratio.toFixed(2)}x`);
    console.log(`targets: (b) >= ${fmt(TARGET_EVENTS_PER_SECOND)} events/s: ${rate >= TARGET_EVENTS_PER_SECOND ? "met" : "NOT met"}; (b) >= ${TARGET_RATIO}x (a): ${ratio >= TARGET_RATIO ? "met" : "NOT met"}`);
  } finally {
    await broker.stop();
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
