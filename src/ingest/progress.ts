/**
 * Whether each partition this worker owns is moving: the lag between the topic's high watermark
 * and the offset stored in Postgres, and a partition counted as stalled when it has messages
 * waiting but its stored offset has not advanced for `stallMs`. Readiness and the
 * churnwatch_partition_stalled metric read it, so a partition stuck on anything (a poison batch,
 * a database that refuses writes, a lost assignment) shows instead of hiding behind "ready".
 */
import type { Admin } from "kafkajs";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics/metrics.js";
import { partitionKey } from "./offsets.js";

interface Tracked {
  topic: string;
  partition: number;
  stored: number | null;
  /** When `stored` last changed (or tracking began). */
  movedAt: number;
  highWatermark: number | null;
  stalled: boolean;
}

export interface ProgressOptions {
  admin: Pick<Admin, "fetchTopicOffsets">;
  metrics: Metrics;
  log: Logger;
  /** A partition with waiting messages whose stored offset did not move for this long is stalled. */
  stallMs: number;
  now?: () => number;
}

export class PartitionProgress {
  private tracked = new Map<string, Tracked>();
  private readonly now: () => number;

  constructor(private readonly opts: ProgressOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The partitions this worker now owns; others are forgotten (and their gauges removed). */
  assign(assignment: Record<string, number[]>): void {
    const next = new Map<string, Tracked>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const key = partitionKey(topic, partition);
        next.set(key, this.tracked.get(key) ?? { topic, partition, stored: null, movedAt: this.now(), highWatermark: null, stalled: false });
      }
    }
    for (const [key, t] of this.tracked) {
      if (!next.has(key)) {
        this.opts.metrics.consumerLag.remove({ topic: t.topic, partition: String(t.partition) });
        this.opts.metrics.partitionStalled.remove({ topic: t.topic, partition: String(t.partition) });
      }
    }
    this.tracked = next;
  }

  /** The stored offset of an owned partition (after a commit, or read on assignment). */
  stored(topic: string, partition: number, nextOffset: number): void {
    const t = this.tracked.get(partitionKey(topic, partition));
    if (!t) return;
    if (t.stored !== nextOffset) {
      t.stored = nextOffset;
      t.movedAt = this.now();
    }
  }

  /** Reads the high watermarks and updates lag and stall state; call on a timer. */
  async poll(): Promise<void> {
    const topics = new Set([...this.tracked.values()].map((t) => t.topic));
    for (const topic of topics) {
      const offsets = await this.opts.admin.fetchTopicOffsets(topic);
      for (const o of offsets) {
        const t = this.tracked.get(partitionKey(topic, o.partition));
        if (t) t.highWatermark = Number(o.high);
      }
    }
    this.evaluate();
  }

  /** Recomputes lag and stalls from what is known (separate from poll for tests). */
  evaluate(): void {
    const now = this.now();
    for (const t of this.tracked.values()) {
      if (t.highWatermark === null) continue;
      const lag = Math.max(0, t.highWatermark - (t.stored ?? 0));
      const labels = { topic: t.topic, partition: String(t.partition) };
      this.opts.metrics.consumerLag.set(labels, lag);
      const stalled = lag > 0 && now - t.movedAt >= this.opts.stallMs;
      if (stalled !== t.stalled) {
        t.stalled = stalled;
        if (stalled) this.opts.log.error({ topic: t.topic, partition: t.partition, lag, stuckSeconds: Math.round((now - t.movedAt) / 1000) }, "partition stalled: messages waiting, stored offset not moving");
        else this.opts.log.info({ topic: t.topic, partition: t.partition }, "partition moving again");
      }
      this.opts.metrics.partitionStalled.set(labels, stalled ? 1 : 0);
    }
  }

  stalledPartitions(): string[] {
    return [...this.tracked.entries()].filter(([, t]) => t.stalled).map(([k]) => k);
  }
}
