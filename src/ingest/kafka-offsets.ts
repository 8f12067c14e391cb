/**
 * Mirrors the offsets Postgres has committed into Kafka's group offsets, in the background, for
 * lag tools and anyone else reading the group. Informational only: Postgres holds the real offsets,
 * so a failed Kafka commit loses nothing.
 */
import type { Consumer } from "kafkajs";
import type { Logger } from "../log.js";
import { partitionKey } from "./offsets.js";

export class KafkaOffsetMirror {
  private readonly pending = new Map<string, { topic: string; partition: number; offset: string }>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly consumer: Pick<Consumer, "commitOffsets">, private readonly log: Logger, intervalMs = 1000) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  /** Called only after Postgres committed `nextOffset`: Kafka never runs ahead of Postgres. */
  record(topic: string, partition: number, nextOffset: number): void {
    this.pending.set(partitionKey(topic, partition), { topic, partition, offset: String(nextOffset) });
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const offsets = [...this.pending.values()];
    this.pending.clear();
    await this.consumer.commitOffsets(offsets).catch((err) => this.log.debug({ err }, "kafka offset commit failed; postgres has the offsets"));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
