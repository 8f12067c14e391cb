/** Sends risk-score events to Kafka, keyed by customerId so each customer's events stay ordered. */
import { Partitioners, type Kafka, type Producer } from "kafkajs";
import type { RiskScoreEvent } from "./risk-event.js";

export interface RiskPublisher {
  publish(events: readonly RiskScoreEvent[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startRiskPublisher(kafka: Kafka, topic: string): Promise<RiskPublisher> {
  // The Java client's partitioner, so CRMs' own producers put a customer on the same partition.
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return {
    async publish(events) {
      for (let i = 0; i < events.length; i += 2000) {
        await producer.send({
          topic,
          acks: -1,
          messages: events.slice(i, i + 2000).map((e) => ({
            key: e.customerId,
            value: JSON.stringify(e),
            headers: { "content-type": "application/json", "x-churnwatch-schema": `risk-score/v${e.schemaVersion}` },
          })),
        });
      }
    },
    stop: () => producer.disconnect(),
  };
}
