// The local Kafka broker (librdkafka mock cluster) must carry everything the worker relies on:
// keyed produce with acks, multi-partition metadata, consumer groups with eachBatch, committed
// offsets that a new group member resumes from, explicit topic creation, and broker outages.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from "kafkajs";
import { mockFriendlyConsumerConfig, startLocalBroker, type LocalBroker } from "../scripts/kafka-broker/broker.js";

interface Received {
  topic: string;
  partition: number;
  key: string;
  value: string;
}

const kafkaFor = (broker: LocalBroker) =>
  new Kafka({ clientId: "kafka-broker-test", brokers: broker.brokers, logLevel: logLevel.NOTHING });

const producerFor = (kafka: Kafka): Producer =>
  kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    // Bounded but patient: enough to ride out a broker that is down for a couple of seconds.
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
  });

// Group joins cost 3 s (first) and sessionTimeout - 1 s (after a member left) on the mock;
// see mockFriendlyConsumerConfig.
const consumerFor = (kafka: Kafka, groupId: string): Consumer =>
  kafka.consumer({ groupId, ...mockFriendlyConsumerConfig });

/**
 * Run a consumer in `groupId` until `expected` messages arrived, then keep listening for
 * `settleMs` so that duplicates or extras are caught too. Commits after every batch.
 */
async function consume(
  kafka: Kafka,
  groupId: string,
  topics: string[],
  expected: number,
  { timeoutMs = 20_000, settleMs = 1_000 } = {},
): Promise<{ consumer: Consumer; received: Received[] }> {
  const consumer = consumerFor(kafka, groupId);
  const received: Received[] = [];
  await consumer.connect();
  for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
  let reached!: () => void;
  const enough = new Promise<void>((resolve) => (reached = resolve));
  await consumer.run({
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat }) => {
      for (const m of batch.messages) {
        received.push({
          topic: batch.topic,
          partition: batch.partition,
          key: m.key?.toString() ?? "",
          value: m.value?.toString() ?? "",
        });
        resolveOffset(m.offset);
      }
      await commitOffsetsIfNecessary();
      await heartbeat();
      if (received.length >= expected) reached();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`consumer ${groupId}: got ${received.length} of ${expected} messages in ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([enough, timeout]);
  } catch (err) {
    await consumer.disconnect();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  await new Promise((r) => setTimeout(r, settleMs));
  return { consumer, received };
}

const values = (msgs: { value: string }[]) => msgs.map((m) => m.value).sort();

function keyed(topic: string, from: number, count: number) {
  return Array.from({ length: count }, (_, j) => {
    const i = from + j;
    return { key: `customer-${i % 37}`, value: JSON.stringify({ topic, i }) };
  });
}

async function highWatermarkSum(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

describe("local Kafka broker, 1 broker, 2 topics x 3 partitions", () => {
  const topics = ["purchases.test", "support.test"];
  let broker: LocalBroker;
  let kafka: Kafka;
  let producer: Producer;

  beforeAll(async () => {
    broker = await startLocalBroker({ topics: topics.map((name) => ({ name, partitions: 3 })) });
    kafka = kafkaFor(broker);
    producer = producerFor(kafka);
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await broker?.stop();
  });

  it("reports its address and the requested partitions", async () => {
    expect(broker.bootstrap).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(broker.brokers).toEqual([broker.bootstrap]);
    const admin = kafka.admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics });
    await admin.disconnect();
    expect(meta.topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual([
      ["purchases.test", 3],
      ["support.test", 3],
    ]);
  });

  it("delivers 300 keyed messages exactly once to a group, which resumes from its commits", async () => {
    const first = [...keyed(topics[0]!, 0, 150), ...keyed(topics[1]!, 0, 150)];
    await producer.send({ topic: topics[0]!, acks: -1, messages: first.slice(0, 150) });
    await producer.send({ topic: topics[1]!, acks: -1, messages: first.slice(150) });

    const groupId = "churnwatch-test-resume";
    const run1 = await consume(kafka, groupId, topics, 300);
    // Offsets must be committed before we leave, or the next member would start over.
    const admin = kafka.admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId, topics });
    await admin.disconnect();
    await run1.consumer.disconnect();

    expect(run1.received).toHaveLength(300);
    expect(values(run1.received)).toEqual(values(first));
    // Same key, same partition: per-customer ordering depends on it.
    const partitionOfKey = new Map<string, number>();
    for (const m of run1.received) {
      const id = `${m.topic}/${m.key}`;
      expect(partitionOfKey.get(id) ?? m.partition).toBe(m.partition);
      partitionOfKey.set(id, m.partition);
    }
    expect(new Set(run1.received.map((m) => m.partition)).size).toBe(3);
    const committedTotal = committed.flatMap((t) => t.partitions).reduce((s, p) => s + Number(p.offset), 0);
    expect(committedTotal).toBe(300);

    const more = [...keyed(topics[0]!, 150, 25), ...keyed(topics[1]!, 150, 25)];
    await producer.send({ topic: topics[0]!, acks: -1, messages: more.slice(0, 25) });
    await producer.send({ topic: topics[1]!, acks: -1, messages: more.slice(25) });

    // fromBeginning is set, so only the committed offsets keep the first 300 from coming back.
    const run2 = await consume(kafka, groupId, topics, 50);
    await run2.consumer.disconnect();
    expect(run2.received).toHaveLength(50);
    expect(values(run2.received)).toEqual(values(more));
  });

  it("creates topics on request with the given partition count", async () => {
    await broker.createTopic("churn.dlq.test", 5);
    await expect(broker.createTopic("churn.dlq.test", 5)).rejects.toThrow(/already exists/i);
    const admin = kafka.admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: ["churn.dlq.test"] });
    await admin.disconnect();
    expect(meta.topics[0]?.partitions).toHaveLength(5);

    await producer.send({ topic: "churn.dlq.test", acks: -1, messages: keyed("churn.dlq.test", 0, 20) });
    expect(await highWatermarkSum(kafka, "churn.dlq.test")).toBe(20);
  });

  it("auto-creates a topic on first produce (mock default partition count)", async () => {
    await producer.send({ topic: "auto.created.test", acks: -1, messages: keyed("auto.created.test", 0, 7) });
    expect(await highWatermarkSum(kafka, "auto.created.test")).toBe(7);
  });

  it("rejects bad commands with the broker's reason", async () => {
    await expect(broker.down(2)).rejects.toThrow(/broker id must be 1\.\.1/);
    await expect(broker.createTopic("bad name", 1)).rejects.toThrow(/invalid topic name/);
    await expect(broker.createTopic("zero.partitions", 0)).rejects.toThrow(/positive integer/);
  });
});

describe("local Kafka broker, several brokers and lifecycle", () => {
  it("keeps every acknowledged message across a broker going down and up", async () => {
    const broker = await startLocalBroker({ brokers: 3, topics: [{ name: "outage.test", partitions: 3 }] });
    const kafka = kafkaFor(broker);
    const producer = producerFor(kafka);
    try {
      expect(broker.brokers).toHaveLength(3);
      expect(broker.bootstrap).toBe(broker.brokers.join(","));
      await producer.connect();

      const admin = kafka.admin();
      await admin.connect();
      const meta = await admin.fetchTopicMetadata({ topics: ["outage.test"] });
      await admin.disconnect();
      // Take down the leader of partition 0 so the outage really hits in-flight produce requests.
      const victim = meta.topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader;

      const before = keyed("outage.test", 0, 60);
      await producer.send({ topic: "outage.test", acks: -1, messages: before });

      await broker.down(victim);
      const during = keyed("outage.test", 60, 60).map((m, j) => ({ ...m, partition: j % 3 }));
      const sending = producer.send({ topic: "outage.test", acks: -1, messages: during });
      await new Promise((r) => setTimeout(r, 1_500));
      await broker.up(victim);
      await sending; // acknowledged only once the leader is back

      const after = keyed("outage.test", 120, 60);
      await producer.send({ topic: "outage.test", acks: -1, messages: after });

      const acked = [...before, ...during, ...after];
      expect(await highWatermarkSum(kafka, "outage.test")).toBe(acked.length);
      const { consumer, received } = await consume(kafka, "churnwatch-test-outage", ["outage.test"], acked.length);
      await consumer.disconnect();
      expect(received).toHaveLength(acked.length);
      expect(values(received)).toEqual(values(acked));
    } finally {
      await producer.disconnect();
      await broker.stop();
    }
  });

  it("fails to start with the broker's own error message", async () => {
    const twice = { name: "dup.test", partitions: 1 };
    await expect(startLocalBroker({ topics: [twice, twice] })).rejects.toThrow(/exited[\s\S]*dup\.test.*already exists/i);
  });

  it("stop() ends the broker process", async () => {
    const broker = await startLocalBroker({ topics: [] });
    expect(() => process.kill(broker.pid, 0)).not.toThrow();
    await broker.stop();
    expect(() => process.kill(broker.pid, 0)).toThrow();
    await expect(broker.up(1)).rejects.toThrow(/not running/);
  });
});
