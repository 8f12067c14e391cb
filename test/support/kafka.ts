/** kafkajs helpers for tests: produce events, read a topic back, wait for a condition. */
import { Kafka, logLevel, type IHeaders } from "kafkajs";
import type { ChurnEvent } from "../../src/events/schema.js";

export function testKafka(bootstrap: string): Kafka {
  return new Kafka({ clientId: "churnwatch-test", brokers: bootstrap.split(","), logLevel: logLevel.NOTHING });
}

export interface RawMessage {
  topic: string;
  key: string | Buffer | null;
  value: string | Buffer;
}

export async function produce(kafka: Kafka, messages: RawMessage[]): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const byTopic = new Map<string, RawMessage[]>();
    for (const m of messages) byTopic.set(m.topic, [...(byTopic.get(m.topic) ?? []), m]);
    for (const [topic, list] of byTopic) {
      for (let i = 0; i < list.length; i += 1000) {
        await producer.send({ topic, acks: -1, messages: list.slice(i, i + 1000).map((m) => ({ key: m.key, value: m.value })) });
      }
    }
  } finally {
    await producer.disconnect();
  }
}

export function eventMessages(events: readonly ChurnEvent[], topicFor: (e: ChurnEvent) => string): RawMessage[] {
  return events.map((e) => ({ topic: topicFor(e), key: e.customerId, value: JSON.stringify(e) }));
}

export interface ReadMessage {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  partition: number;
  offset: string;
}

/** Reads `count` messages of a topic from the beginning with a throw-away consumer group. */
export function readTopic(kafka: Kafka, topic: string, count: number, timeoutMs = 20_000): Promise<ReadMessage[]> {
  return readTopicUntil(kafka, topic, (read) => read.length >= count, `${count} messages`, timeoutMs);
}

/** Reads a topic from the beginning until `done(messagesSoFar)` holds. */
export async function readTopicUntil(kafka: Kafka, topic: string, done: (read: ReadMessage[]) => boolean, what: string, timeoutMs = 20_000): Promise<ReadMessage[]> {
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}-${Math.random()}`, sessionTimeout: 6000, heartbeatInterval: 1000, maxWaitTimeInMs: 200 });
  const out: ReadMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const finished = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${out.length} messages from ${topic} in ${timeoutMs} ms, waiting for ${what}`)), timeoutMs);
    void consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers as IHeaders)) headers[k] = String(v);
        out.push({ key: message.key?.toString() ?? null, value: message.value, headers, partition, offset: message.offset });
        if (done(out)) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  try {
    await finished;
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
