/**
 * Recovery of a partition whose batch failed (database down, dead-letter topic unreachable...):
 * nothing of the batch was acknowledged and its queued successors were dropped, so the partition
 * is paused, fetched again from the offset Postgres holds after a backoff, and resumed.
 */
import type { Consumer } from "kafkajs";
import type { Logger } from "../log.js";
import { partitionKey } from "./offsets.js";

export interface FailedBatch {
  topic: string;
  partition: number;
  /** The offset this batch's fetch asked for: where to resume when no stored offset can be read. */
  fetchedOffset: number;
}

export interface RecoveryOptions {
  consumer: Pick<Consumer, "pause" | "resume" | "seek">;
  log: Logger;
  /** The stored next offset, or undefined when it cannot be read now. */
  readStored(topic: string, partition: number): Promise<number | undefined>;
  isStopping(): boolean;
}

export class PartitionRecovery {
  private readonly failures = new Map<string, number>();
  /**
   * Partitions being rewound: batches kafkajs already fetched for them must not be queued past the
   * hole the failed batch left. Cleared by the seek, after which kafkajs marks older fetches stale.
   */
  private readonly rewinding = new Set<string>();

  constructor(private readonly opts: RecoveryOptions) {}

  isRewinding(key: string): boolean {
    return this.rewinding.has(key);
  }

  succeeded(key: string): void {
    this.failures.delete(key);
  }

  /** A group join seeks every partition to its stored offset: pending rewinds are superseded. */
  supersede(): void {
    this.rewinding.clear();
  }

  async rewind(batch: FailedBatch, err: unknown): Promise<void> {
    const key = partitionKey(batch.topic, batch.partition);
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = Math.min(30_000, 250 * 2 ** n);
    const { consumer, log } = this.opts;
    log.error({ err, topic: batch.topic, partition: batch.partition, attempt: n, retryInMs: delay }, "batch failed; will fetch it again");
    this.rewinding.add(key);
    const tp = [{ topic: batch.topic, partitions: [batch.partition] }];
    try {
      consumer.pause(tp);
      await new Promise((r) => setTimeout(r, delay));
      if (this.opts.isStopping()) return;
      const stored = await this.opts.readStored(batch.topic, batch.partition);
      const offset = stored !== undefined && stored >= 0 ? stored : batch.fetchedOffset;
      consumer.seek({ topic: batch.topic, partition: batch.partition, offset: String(offset) });
      this.rewinding.delete(key);
      consumer.resume(tp);
    } catch (rewindErr) {
      // The consumer is stopping or restarting: its group join seeks to the stored offsets anyway.
      log.warn({ err: rewindErr, topic: batch.topic, partition: batch.partition }, "could not rewind partition");
    }
  }
}
