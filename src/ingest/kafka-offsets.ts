/**
 * Mirrors the offsets Postgres has committed into Kafka's group offsets, in the background, for
 * lag tools and anyone else reading the group. Informational only: Postgres holds the real offsets,
 * so a failed Kafka commit loses nothing. Only partitions this worker owns right now are
 * committed: a batch finishing after its partition moved to another worker must not move the
 * group's Kafka offset (backwards, possibly).
 */
import type { Consumer } from "kafkajs";
import type { Logger } from "../log.js";
import { partitionKey } from "./offsets.js";

export class KafkaOffsetMirror {
  private readonly pending = new Map<string, { topic: string; partition: number; offset: string }>();
  private owned = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly consumer: Pick<Consumer, "commitOffsets">, private readonly log: Logger, intervalMs = 1000) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  /** A rebalance began: nothing is owned until the next assignment, nothing pending is sent. */
  revokeAll(): void {
    this.owned = new Set();
    this.pending.clear();
  }

  assign(assignment: Record<string, number[]>): void {
    this.owned = new Set(Object.entries(assignment).flatMap(([topic, ps]) => ps.map((p) => partitionKey(topic, p))));
    for (const key of this.pending.keys()) if (!this.owned.has(key)) this.pending.delete(key);
  }

  /** Called only after Postgres committed `nextOffset`: Kafka never runs ahead of Postgres. */
  record(topic: string, partition: number, nextOffset: number): void {
    const key = partitionKey(topic, partition);
    if (this.owned.has(key)) this.pending.set(key, { topic, partition, offset: String(nextOffset) });
  }

  async flush(): Promise<void> {
    const offsets = [...this.pending.values()].filter((o) => this.owned.has(partitionKey(o.topic, o.partition)));
    this.pending.clear();
    if (offsets.length === 0) return;
    await this.consumer.commitOffsets(offsets).catch((err) => this.log.debug({ err }, "kafka offset commit failed; postgres has the offsets"));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
