/**
 * Sends outbox rows to Kafka, keyed by customerId so each customer's events stay on one partition
 * and in order. Called by the relay only, after the scoring transaction committed: no database
 * lock is ever held while this waits on a broker.
 */
import { Partitioners, type Kafka, type Producer } from "kafkajs";
import { envelope, type EnvelopeOptions, type OutgoingEvent } from "./cloudevents.js";
import type { OutboxEvent, RelayedEvent } from "./event-outbox.js";

export interface EventSender {
  /** Resolves once the broker acknowledged every message (acks = all); throws otherwise. */
  send(events: readonly RelayedEvent[]): Promise<void>;
  stop(): Promise<void>;
}

/** Messages per produce request: large enough for throughput, small enough for the broker's size limits. */
const PER_REQUEST = 1000;

/** The outbox row as the envelope builder wants it: data parsed back, time from the event itself. */
function outgoing(e: OutboxEvent): OutgoingEvent {
  const data = JSON.parse(e.payload) as { scoredAt?: string; observedAt?: string };
  return {
    type: `com.churnwatch.${e.kind}.v1`,
    id: e.eventId,
    customerId: e.customerId,
    time: data.scoredAt ?? data.observedAt ?? new Date().toISOString(),
    schemaFile: `${e.kind}.v1.json`,
    data,
    plainHeaders: { "x-churnwatch-schema": `${e.kind}/v1`, "x-churnwatch-event-id": e.eventId },
  };
}

/**
 * `envelope` (default plain JSON) may wrap every event as a CloudEvent 1.0 (publish/cloudevents.ts);
 * the key stays the customer id in every format.
 */
export async function startEventSender(kafka: Kafka, topic: string, envelopeOptions?: EnvelopeOptions): Promise<EventSender> {
  // The Java client's partitioner, so CRMs' own producers put a customer on the same partition.
  // One request in flight: a retried request can then never overtake a later one of the same customer.
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner, maxInFlightRequests: 1 });
  await producer.connect();
  const plain = !envelopeOptions || envelopeOptions.format === "plain";
  const toMessage = (e: RelayedEvent) => {
    // An erasure's tombstone: the key and a null value whatever the format, so that compaction
    // removes the customer's earlier events; the event id header lets consumers log which erasure it was.
    if (e.kind === "tombstone") return { key: e.customerId, value: null, headers: { "x-churnwatch-event-id": e.eventId } };
    if (plain) {
      // The payload text as built at scoring time: no parse, no re-serialisation.
      return { key: e.customerId, value: e.payload, headers: { "content-type": "application/json", "x-churnwatch-schema": `${e.kind}/v1`, "x-churnwatch-event-id": e.eventId } };
    }
    return envelope(outgoing(e), envelopeOptions);
  };
  return {
    async send(events) {
      for (let i = 0; i < events.length; i += PER_REQUEST) {
        await producer.send({ topic, acks: -1, messages: events.slice(i, i + PER_REQUEST).map(toMessage) });
      }
    },
    stop: () => producer.disconnect(),
  };
}
