/**
 * `npm run demo`: the whole product on one machine with nothing set up beforehand.
 * Builds and starts the local Kafka broker, starts embedded PostgreSQL (./data), produces a
 * realistic stream for a few thousand customers (plus a few poison messages), runs the worker
 * until it has consumed everything, scores everyone, sends the digests to ./outbox, and prints
 * what happened and where to look.
 *
 *   DEMO_CUSTOMERS=3000 DEMO_SEED=42 npm run demo
 */
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { loadConfig, ConfigError } from "../src/config/config.js";
import { createLogger } from "../src/log.js";
import { startWorker } from "../src/worker.js";
import { startEmbeddedPostgres } from "../src/store/embedded.js";
import { simulateStream } from "../src/simulate/index.js";
import { topicFor } from "../src/events/topics.js";
import { startLocalBroker } from "./kafka-broker/broker.js";

const CUSTOMERS = Number(process.env.DEMO_CUSTOMERS ?? 3000);
const SEED = Number(process.env.DEMO_SEED ?? 42);
const say = (line = "") => process.stdout.write(`${line}\n`);
const fmt = (n: number) => n.toLocaleString("en");

async function main() {
  say("churnwatch demo: local Kafka broker + embedded PostgreSQL + the worker + the starter model\n");
  // The simulator bills 5% of customers in USD: give the worker a rate so they convert, not dead-letter.
  const env: NodeJS.ProcessEnv = { CURRENCY_RATES: "USD=0.92", ...process.env };
  const config = loadConfig({ LOG_LEVEL: "warn", HTTP_PORT: "0", ...env });
  const topics = config.kafka.topics;

  say("1. starting the local Kafka broker (librdkafka's mock cluster; built on first use)");
  const broker = await startLocalBroker({
    topics: [
      { name: topics.purchases, partitions: 6 }, { name: topics.support, partitions: 6 },
      { name: topics.dlq, partitions: 1 }, { name: topics.riskScores, partitions: 6 },
    ],
  });
  say(`   broker at ${broker.bootstrap}`);

  // A fresh demo database on the embedded server each run, so the numbers below are this run's.
  say("2. starting embedded PostgreSQL (data in ./data/postgres, database churnwatch_demo)");
  let databaseUrl = env.DATABASE_URL;
  let stopPg: (() => Promise<void>) | null = null;
  if (!databaseUrl) {
    const embedded = "embedded" in config.database ? config.database.embedded : { dir: "./data/postgres", port: 54329 };
    const server = await startEmbeddedPostgres({ ...embedded, database: "postgres" });
    stopPg = server.stop;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query("drop database if exists churnwatch_demo with (force)");
    await admin.query("create database churnwatch_demo");
    await admin.end();
    databaseUrl = server.url.replace(/\/postgres$/, "/churnwatch_demo");
  }

  try {
    const kafka = new Kafka({ clientId: "churnwatch-demo", brokers: broker.brokers, logLevel: logLevel.NOTHING });
    say(`3. producing events for ${fmt(CUSTOMERS)} simulated customers (540 days up to today, seed ${SEED})`);
    const produced = await produceStream(kafka, topics);
    say(`   ${fmt(produced.events)} events and ${produced.poison} poison messages produced`);

    say("4. running the worker (ingest -> features -> scores -> risk events -> digests)");
    const workerConfig = loadConfig({
      LOG_LEVEL: "warn", HTTP_PORT: "0", ...env, DATABASE_URL: databaseUrl, KAFKA_BROKERS: broker.bootstrap,
      KAFKA_SESSION_TIMEOUT_MS: env.KAFKA_SESSION_TIMEOUT_MS ?? "6000", KAFKA_GROUP_ID: "churnwatch-demo",
    });
    // Rejects are summarised below; their per-message warnings would only interleave with the progress.
    const worker = await startWorker(workerConfig, { logger: createLogger(env.LOG_LEVEL ?? "error"), schedules: false });
    const started = Date.now();
    const total = produced.events + produced.poison;
    let lastPrint = 0;
    while (worker.ingest.stats.messages < total) {
      if (Date.now() - lastPrint > 2000) {
        process.stdout.write(`   consumed ${fmt(worker.ingest.stats.messages)} of ${fmt(total)} messages\r`);
        lastPrint = Date.now();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const ingestSeconds = (Date.now() - started) / 1000;
    try {
      await worker.scoring.flush();
      // Risk and lifecycle events leave through the event outbox: wait until the relay has sent them.
      await worker.relay.drain(300_000);
      const digest = await worker.digestNow(new Date()) as { digests: { segment: string; locale?: string; status: string; customers: number }[] } | null;
      await report(worker.db.pool, worker, ingestSeconds, kafka, workerConfig.kafka.topics.riskScores, workerConfig.kafka.topics.dlq, digest, workerConfig.outreach.outboxDir);
    } finally {
      // Before the broker and the database go: a worker left running would log their absence.
      await worker.stop();
    }
  } finally {
    await broker.stop();
    await stopPg?.();
  }
}

async function produceStream(kafka: Kafka, topics: { purchases: string; support: string }) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const pending = new Map<string, { key: string; value: string }[]>();
  let events = 0;
  const flush = async (topic: string) => {
    const messages = pending.get(topic) ?? [];
    if (messages.length) await producer.send({ topic, acks: -1, messages });
    pending.set(topic, []);
  };
  const now = new Date();
  for (const event of simulateStream({ seed: SEED, customers: CUSTOMERS, now, days: 540, foreignCurrency: { code: "USD", share: 0.05, rateToBase: 0.92 } })) {
    const topic = topicFor(event, topics);
    const list = pending.get(topic) ?? [];
    list.push({ key: event.customerId, value: JSON.stringify(event) });
    pending.set(topic, list);
    events++;
    if (list.length >= 5000) await flush(topic);
  }
  // What real producers get wrong now and then: every one must land in the DLQ with its reason.
  const poison = [
    { key: "c-000001", value: "{\"eventId\": \"broken" },
    { key: "c-000002", value: JSON.stringify({ eventId: "neg-1", type: "purchase", customerId: "c-000002", occurredAt: now.toISOString(), orderId: "x", amount: -10, currency: "EUR" }) },
    { key: "c-000003", value: JSON.stringify({ eventId: "yen-1", type: "purchase", customerId: "c-000003", occurredAt: now.toISOString(), orderId: "y", amount: 1000, currency: "JPY" }) },
    { key: "c-000004", value: JSON.stringify({ eventId: "nps-1", type: "survey_response", customerId: "c-000004", occurredAt: now.toISOString(), nps: 12 }) },
  ];
  (pending.get(topics.purchases) ?? pending.set(topics.purchases, []).get(topics.purchases)!).push(...poison);
  await flush(topics.purchases);
  await flush(topics.support);
  await producer.disconnect();
  return { events, poison: poison.length };
}

async function report(
  pool: pg.Pool,
  worker: Awaited<ReturnType<typeof startWorker>>,
  ingestSeconds: number,
  kafka: Kafka,
  riskTopic: string,
  dlqTopic: string,
  digest: { digests: { segment: string; locale?: string; status: string; customers: number }[] } | null,
  outboxDir: string,
) {
  const s = worker.ingest.stats;
  const q = async <T>(sql: string) => (await pool.query(sql)).rows as T[];
  const dlq = await q<{ code: string; n: number; reason: string }>(
    "select code, count(*)::int as n, min(reason) as reason from dead_letter group by code order by code");
  const levels = await q<{ risk_level: string; n: number }>("select risk_level, count(*)::int as n from customer_score group by 1 order by 1");
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(riskTopic);
  await admin.disconnect();
  const riskEvents = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  const top = await q<{ customer_id: string; score: number; value: number; value_at_risk: number; reasons: { text: string }[]; name: string | null }>(
    `select c.customer_id, c.score, c.value, c.value_at_risk, c.reasons, s.state->'profile'->>'name' as name
       from customer_score c join customer_state s using (customer_id)
      where c.risk_level = 'high' order by c.value_at_risk desc limit 5`);

  say("\n\nWhat the worker did");
  say(`  messages consumed        ${fmt(s.messages)} in ${ingestSeconds.toFixed(1)} s`);
  say(`  events applied           ${fmt(s.applied)}`);
  say(`  duplicates ignored       ${fmt(s.duplicates)}`);
  say(`  dead-lettered            ${fmt(s.deadLettered)} (kept on topic ${dlqTopic} with the reason in headers)`);
  for (const d of dlq) say(`    - ${d.n} x ${d.code}, e.g. ${d.reason}`);
  say(`  customers updated        ${fmt(Number((await q<{ n: string }>("select count(*) as n from customer_state"))[0]!.n))}`);
  say(`  customers scored         ${levels.map((l) => `${l.risk_level} ${fmt(l.n)}`).join(", ")} (model ${worker.models.current().artifact.modelVersion}${worker.models.current().artifact.starter ? ", starter model trained on simulated data" : ""})`);
  say(`  risk-score events        ${fmt(riskEvents)} on topic ${riskTopic}`);
  say("\nHighest value at risk");
  for (const c of top) {
    say(`  ${c.name ?? c.customer_id} (${c.customer_id}): risk ${(c.score * 100).toFixed(0)}%, 12-month value ${c.value.toFixed(0)}, at risk ${c.value_at_risk.toFixed(0)}`);
    for (const r of c.reasons) say(`      - ${r.text}`);
  }
  say("\nDigests");
  for (const d of digest?.digests ?? []) say(`  ${d.segment}${d.locale ? ` (${d.locale})` : ""}: ${d.status}, ${d.customers} customers`);
  say(`\nWhere to look`);
  say(`  emails:   ${path.resolve(outboxDir, "index.html")} (each digest as .eml with HTML, text and CSV)`);
  say(`  database: the churnwatch_demo database on the embedded server (./data/postgres)`);
  say(`  run it for real: npm start (README: configuration)`);
}

main().catch((err) => {
  process.stderr.write(err instanceof ConfigError ? `churnwatch demo: ${err.message}\n` : `churnwatch demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
