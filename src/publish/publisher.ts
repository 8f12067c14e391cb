/** Sends risk-score events to Kafka, keyed by customerId so each customer's events stay ordered. */
import type { Kafka, Producer } from "kafkajs";
import type { RiskScoreEvent } from "./risk-event.js";

export interface RiskPublisher {
  publish(events: readonly RiskScoreEvent[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startRiskPublisher(kafka: Kafka, topic: string): Promise<RiskPublisher> {
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: true });
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
