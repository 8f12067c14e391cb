/**
 * One partition batch, in order: validate -> dead-letter the rejects (awaited) -> one Postgres
 * transaction (events, states, offsets). A reject is never acknowledged before it is kept.
 */
import type { Producer } from "kafkajs";
import type pg from "pg";
import type { ParseOptions } from "../events/parse.js";
import type { Logger } from "../log.js";
import { toDeadLetter } from "./dead-letter.js";
import { prepareBatch, type InMessage, type PreparedBatch } from "./prepare.js";
import type { StateCache } from "./write/state-cache.js";
import { writeBatch, type BatchOutcome, type PartitionRef } from "./write/batch-writer.js";

export interface FetchedBatch {
  topic: string;
  partition: number;
  /** The offset this fetch asked for (where to resume if nothing is stored yet). */
  fetchedOffset: number;
  messages: InMessage[];
}

export interface BatchDeps {
  pool: pg.Pool;
  producer: Producer;
  dlqTopic: string;
  parse: ParseOptions;
  stateCache: StateCache;
  log: Logger;
}

export interface HandledBatch {
  ref: PartitionRef;
  prepared: PreparedBatch;
  outcome: BatchOutcome;
}

export async function handleBatch(deps: BatchDeps, ref: PartitionRef, batch: FetchedBatch, storedOffset: number | null): Promise<HandledBatch> {
  const prepared = prepareBatch(batch.messages, storedOffset, deps.parse);
  if (prepared.rejects.length > 0) {
    const now = new Date();
    await deps.producer.send({
      topic: deps.dlqTopic,
      acks: -1,
      messages: prepared.rejects.map((r) => toDeadLetter(r, batch.topic, batch.partition, now)),
    });
    for (const r of prepared.rejects) {
      deps.log.warn({ topic: batch.topic, partition: batch.partition, offset: r.message.offset, code: r.code, reason: r.reason }, "message dead-lettered");
    }
  }
  const outcome = await writeBatch(deps.pool, ref, {
    events: prepared.valid, rejects: prepared.rejects, nextOffset: prepared.nextOffset,
  }, deps.stateCache);
  return { ref, prepared, outcome };
}
