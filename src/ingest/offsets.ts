/**
 * The offsets Postgres holds for this consumer group: the authoritative "next offset to apply" per
 * partition (written by every batch transaction). Kept in memory between batches of a partition
 * this worker owns, forgotten when ownership may have changed (a group join, a failed batch).
 */
import type { Consumer } from "kafkajs";
import type pg from "pg";

/** Next offset stored for each partition of a topic in a consumer group. */
export async function readStoredOffsets(pool: pg.Pool, groupId: string, topic: string): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ partition: number; next_offset: number }>(
    "select partition, next_offset from consumer_offset where group_id = $1 and topic = $2",
    [groupId, topic],
  );
  return new Map(rows.map((r) => [r.partition, Number(r.next_offset)]));
}

export const partitionKey = (topic: string, partition: number) => `${topic}:${partition}`;

export class StoredOffsets {
  private next = new Map<string, number | null>();

  constructor(private readonly pool: pg.Pool, private readonly groupId: string) {}

  /** First offset not yet applied (null: nothing of the partition was ever applied). */
  async get(topic: string, partition: number): Promise<number | null> {
    const key = partitionKey(topic, partition);
    if (!this.next.has(key)) {
      const offsets = await readStoredOffsets(this.pool, this.groupId, topic);
      this.next.set(key, offsets.get(partition) ?? null);
    }
    return this.next.get(key) ?? null;
  }

  /** The value this worker's own transaction just committed. */
  set(topic: string, partition: number, nextOffset: number): void {
    this.next.set(partitionKey(topic, partition), nextOffset);
  }

  forget(topic: string, partition: number): void {
    this.next.delete(partitionKey(topic, partition));
  }

  forgetAll(): void {
    this.next = new Map();
  }

  /**
   * Seeks every assigned partition to its stored offset and returns the offsets it sought to. No
   * stored offset means nothing of the partition was ever applied: start at the beginning, not at
   * whatever Kafka has committed for the group (a new or restored database under an existing group
   * would otherwise skip history). Throws when the stored offsets cannot be read: the caller must
   * then keep the partitions paused rather than let the consumer trust Kafka's offsets.
   */
  async seekAssigned(consumer: Pick<Consumer, "seek">, assignment: Record<string, number[]>): Promise<Map<string, number>> {
    const sought = new Map<string, number>();
    const stored = new Map<string, Map<number, number>>();
    // Read everything first, so a failure seeks nothing (all or none of the assignment).
    for (const topic of Object.keys(assignment)) stored.set(topic, await readStoredOffsets(this.pool, this.groupId, topic));
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const offset = stored.get(topic)!.get(partition);
        const from = offset !== undefined && offset >= 0 ? offset : null;
        consumer.seek({ topic, partition, offset: from === null ? "-2" : String(from) });
        this.next.set(partitionKey(topic, partition), from);
        sought.set(partitionKey(topic, partition), from ?? 0);
      }
    }
    return sought;
  }
}
