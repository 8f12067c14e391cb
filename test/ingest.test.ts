import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import type { Kafka } from "kafkajs";
import { startWorker, type Worker } from "../src/worker.js";
import { simulate } from "../src/simulate/index.js";
import { topicFor } from "../src/events/topics.js";
import { applyEvent, emptyState, featureVector, type CustomerState } from "../src/features/index.js";
import type { ChurnEvent } from "../src/events/schema.js";
import { DLQ_HEADERS } from "../src/ingest/dead-letter.js";
import { startTestBroker, startTestPostgres, type TestPostgres } from "./support/servers.js";
import { eventMessages, produce, readTopic, testKafka, waitFor } from "./support/kafka.js";
import { testConfig, testEnv, testTopics, type TestTopics } from "./support/worker.js";
import type { LocalBroker } from "../scripts/kafka-broker/broker.js";
import { testModelDir } from "./support/model.js";
import { count, expectedTotals, storedTotals } from "./support/exactly-once.js";
import { migrate } from "../src/store/migrate.js";

let pgServer: TestPostgres;
let broker: LocalBroker;
let kafka: Kafka;
let n = 0;
let modelDir: string;

beforeAll(async () => {
  [pgServer, broker, modelDir] = await Promise.all([startTestPostgres(), startTestBroker([]), testModelDir()]);
  kafka = testKafka(broker.bootstrap);
});
afterAll(async () => {
  await broker?.stop();
  await pgServer?.stop();
});

/** A fresh database, topics and consumer group per test, on the shared servers. */
async function scenario() {
  n++;
  const name = `t${n}`;
  const topics = testTopics(name);
  await broker.createTopic(topics.purchases, 3);
  await broker.createTopic(topics.support, 3);
  await broker.createTopic(topics.dlq, 1);
  await broker.createTopic(topics.riskScores, 3);
  const databaseUrl = await pgServer.createDatabase(`ingest_${name}`);
  const opts = { databaseUrl, bootstrap: broker.bootstrap, topics, groupId: `g-${name}`, modelDir };
  return { topics, databaseUrl, opts, config: testConfig(opts) };
}

const route = (topics: TestTopics) => (e: ChurnEvent) => topicFor(e, topics);


describe("ingest against the local broker and embedded Postgres", () => {
  it("applies a realistic stream: every valid event once, totals per customer equal what was produced", async () => {
    const s = await scenario();
    const { events } = simulate({ seed: 11, customers: 60, now: "2026-10-01T00:00:00Z", days: 200, foreignCurrency: { code: "USD", share: 0.1, rateToBase: 0.9 } });
    const worker = await startWorker(s.config, { http: false, schedules: false });
    try {
      await produce(kafka, eventMessages(events, route(s.topics)));
      await waitFor("all events stored", async () => (await count(worker.db.pool, "select count(*) from raw_event")) === events.length);
      expect(await storedTotals(worker.db.pool)).toEqual(expectedTotals(events));
      expect(await count(worker.db.pool, "select count(distinct customer_id) from customer_state")).toBe(new Set(events.map((e) => e.customerId)).size);
      expect(worker.ingest.stats.deadLettered).toBe(0);
    } finally {
      await worker.stop();
    }
  });

  it("sends poison messages to the DLQ with their reason and source, and keeps going", async () => {
    const s = await scenario();
    const good = (id: string): ChurnEvent => ({ eventId: id, type: "purchase", customerId: "c-1", occurredAt: "2026-01-01T00:00:00Z", orderId: id, amount: 10, currency: "EUR" });
    const worker = await startWorker(s.config, { http: false, schedules: false });
    try {
      await produce(kafka, [
        { topic: s.topics.purchases, key: "c-1", value: JSON.stringify(good("a")) },
        { topic: s.topics.purchases, key: "c-1", value: "{not json" },
        { topic: s.topics.purchases, key: "c-1", value: JSON.stringify({ ...good("b"), amount: -5 }) },
        { topic: s.topics.purchases, key: "c-1", value: JSON.stringify({ ...good("c"), currency: "JPY" }) },
        { topic: s.topics.purchases, key: "c-1", value: Buffer.alloc(70_000, 120) },
        { topic: s.topics.purchases, key: "c-1", value: JSON.stringify(good("d")) },
      ]);
      const dlq = await readTopic(kafka, s.topics.dlq, 4);
      const byCode = Object.fromEntries(dlq.map((m) => [m.headers[DLQ_HEADERS.code], m]));
      expect(Object.keys(byCode).sort()).toEqual(["invalid", "not_json", "oversized", "unknown_currency"]);
      expect(byCode.not_json!.value!.toString()).toBe("{not json");
      expect(byCode.invalid!.headers[DLQ_HEADERS.reason]).toMatch(/amount/);
      expect(byCode.oversized!.value!.length).toBe(70_000);
      for (const m of dlq) {
        expect(m.headers[DLQ_HEADERS.topic]).toBe(s.topics.purchases);
        expect(m.key).toBe("c-1");
        expect(Number(m.headers[DLQ_HEADERS.offset])).toBeGreaterThanOrEqual(1);
      }
      await waitFor("valid events after the poison", async () => (await count(worker.db.pool, "select count(*) from raw_event")) === 2);
      expect(await count(worker.db.pool, "select count(*) from dead_letter")).toBe(4);
      expect((await storedTotals(worker.db.pool)).get("c-1")).toEqual({ count: 2, cents: 2000 });
    } finally {
      await worker.stop();
    }
  });

  it("counts a duplicate eventId once, inside a batch and across batches", async () => {
    const s = await scenario();
    const e: ChurnEvent = { eventId: "dup-1", type: "purchase", customerId: "c-9", occurredAt: "2026-01-01T00:00:00Z", orderId: "o1", amount: 25, currency: "EUR" };
    const worker = await startWorker(s.config, { http: false, schedules: false });
    try {
      const msg = { topic: s.topics.purchases, key: "c-9", value: JSON.stringify(e) };
      await produce(kafka, [msg, msg]);
      await waitFor("first copy", async () => (await count(worker.db.pool, "select count(*) from raw_event")) === 1);
      await produce(kafka, [msg]);
      await waitFor("third copy consumed", async () => worker.ingest.stats.messages >= 3);
      // Exactly 3: a copy fetched twice would be counted twice (fails here at once, not after 30 s).
      expect(worker.ingest.stats.messages).toBe(3);
      expect((await storedTotals(worker.db.pool)).get("c-9")).toEqual({ count: 1, cents: 2500 });
      expect(worker.ingest.stats.duplicates).toBe(2);
    } finally {
      await worker.stop();
    }
  });

  it("fetches nothing of an assigned partition before its seek to the stored offset", async () => {
    const name = `t${++n}`;
    const topics = testTopics(name);
    for (const topic of Object.values(topics)) await broker.createTopic(topic, 1);
    const groupId = `g-${name}`;
    const ev = (i: number): ChurnEvent => ({ eventId: `${name}-${i}`, type: "purchase", customerId: "c-1", occurredAt: "2026-01-01T00:00:00Z", orderId: `o${i}`, amount: 1, currency: "EUR" });
    await produce(kafka, Array.from({ length: 10 }, (_, i) => ({ topic: topics.purchases, key: "c-1", value: JSON.stringify(ev(i)) })));
    // Kafka has offset 5 for the group, Postgres nothing (a new or restored database).
    const setter = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 1000, maxWaitTimeInMs: 200 });
    await setter.connect();
    await setter.subscribe({ topic: topics.purchases, fromBeginning: true });
    const joined = new Promise<void>((resolve) => setter.on(setter.events.GROUP_JOIN, () => resolve()));
    await setter.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
    await joined;
    await setter.commitOffsets([{ topic: topics.purchases, partition: 0, offset: "5" }]);
    await setter.disconnect();

    const databaseUrl = await pgServer.createDatabase(`ingest_${name}`);
    const admin = new pg.Pool({ connectionString: databaseUrl });
    await migrate(admin);
    // A slow Postgres at the group join: the stored-offset read (and so the seek) waits on this lock.
    const blocker = await admin.connect();
    await blocker.query("begin");
    await blocker.query("lock table consumer_offset in access exclusive mode");
    const worker = await startWorker(testConfig({ databaseUrl, bootstrap: broker.bootstrap, topics, groupId, modelDir }), { http: false, schedules: false });
    try {
      await waitFor("the join's offset read waiting", async () => (await count(admin, "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and query like '%consumer_offset%'")) >= 1);
      // Ample time for kafkajs to fetch 5..9 from Kafka's offset and hand them over, were they not held back.
      await new Promise((r) => setTimeout(r, 1500));
      await blocker.query("commit");
      blocker.release();
      await waitFor("offset 10 stored", async () => (await count(admin, "select coalesce(max(next_offset), 0) from consumer_offset")) === 10);
      const { rows } = await admin.query<{ o: number }>("select source_offset::int as o from raw_event order by 1");
      expect(rows.map((r) => r.o)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(worker.ingest.stats.messages).toBe(10);
    } finally {
      await worker.stop();
      await admin.end();
    }
  });

  it("gives the same features whatever order events arrive in", async () => {
    const s = await scenario();
    const { events } = simulate({ seed: 5, customers: 8, now: "2026-10-01T00:00:00Z", days: 300 });
    const shuffled = [...events].reverse();
    const worker = await startWorker(s.config, { http: false, schedules: false });
    try {
      await produce(kafka, eventMessages(shuffled, route(s.topics)));
      await waitFor("all events stored", async () => (await count(worker.db.pool, "select count(*) from raw_event")) === events.length);
      const { rows } = await worker.db.pool.query<{ customer_id: string; state: CustomerState }>("select customer_id, state from customer_state");
      const asOf = Date.parse("2026-10-01T00:00:00Z");
      for (const row of rows) {
        const inOrder = events.filter((e) => e.customerId === row.customer_id).reduce(applyEvent, emptyState(row.customer_id));
        expect(Array.from(featureVector(row.state, asOf)), row.customer_id).toEqual(Array.from(featureVector(inOrder, asOf)));
      }
    } finally {
      await worker.stop();
    }
  });

  it("loses and double-counts nothing when killed between the database commit and the Kafka commit", async () => {
    const s = await scenario();
    const { events } = simulate({ seed: 23, customers: 120, now: "2026-10-01T00:00:00Z", days: 365 });
    await produce(kafka, eventMessages(events, route(s.topics)));

    const env = { ...process.env, ...testEnv(s.opts), CRASH_AFTER_COMMITS: "2" };
    const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/crashing-worker.ts"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exit = await new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
    expect(exit, out).toBe("SIGKILL");

    // The crash window really happened: Postgres is ahead of what Kafka has committed.
    const db = new pg.Pool({ connectionString: s.databaseUrl });
    const dbOffsets = await db.query<{ topic: string; partition: number; next_offset: string }>("select topic, partition, next_offset from consumer_offset where next_offset >= 0");
    const admin = kafka.admin();
    await admin.connect();
    const committed = new Map<string, number>();
    for (const topic of [s.topics.purchases, s.topics.support]) {
      const [r] = await admin.fetchOffsets({ groupId: s.opts.groupId, topics: [topic] });
      for (const p of r?.partitions ?? []) committed.set(`${topic}:${p.partition}`, Number(p.offset));
    }
    await admin.disconnect();
    const ahead = dbOffsets.rows.filter((r) => Number(r.next_offset) > (committed.get(`${r.topic}:${r.partition}`) ?? -1));
    expect(ahead.length).toBeGreaterThan(0);
    const partial = await count(db, "select count(*) from raw_event");
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(events.length);
    await db.end();

    const worker = await startWorker(s.config, { http: false, schedules: false });
    try {
      await waitFor("all events after restart", async () => (await count(worker.db.pool, "select count(*) from raw_event")) === events.length, 60_000);
      // Let the consumer drain whatever was redelivered before comparing.
      await waitFor("redelivered messages consumed", async () => worker.ingest.stats.messages >= events.length - partial, 30_000);
      expect(await storedTotals(worker.db.pool)).toEqual(expectedTotals(events));
      expect(await count(worker.db.pool, "select coalesce(sum(event_count), 0) from customer_state")).toBe(events.length);
    } finally {
      await worker.stop();
    }
  });
});

describe("configuration at start", () => {
  it("stops the worker with a message naming the variable", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: { ...process.env, KAFKA_BROKERS: "not-a-broker", MAX_EVENT_BYTES: "-3" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/KAFKA_BROKERS: expected host:port/);
    expect(err).toMatch(/MAX_EVENT_BYTES: expected a whole number from 256/);
  });
});
