/**
 * Pure batch preparation: splits one Kafka partition batch into valid events and rejects,
 * drops messages the store has already processed, and dedupes eventIds inside the batch.
 */
import type { ChurnEvent } from "../events/schema.js";
import { parseEvent, type ParseOptions, type RejectCode } from "../events/parse.js";

export interface InMessage {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

export interface ValidEvent {
  offset: number;
  event: ChurnEvent;
}

export interface Reject {
  message: InMessage;
  code: RejectCode;
  reason: string;
}

export interface PreparedBatch {
  valid: ValidEvent[];
  rejects: Reject[];
  /** Same eventId seen earlier in this batch: ignored (the store ignores ones from earlier batches). */
  duplicatesInBatch: number;
  /** Messages below the stored next offset: already applied by an earlier transaction. */
  alreadyProcessed: number;
  /** Offset to store once this batch is committed. */
  nextOffset: number;
}

/**
 * @param fromOffset first offset not yet applied to the store for this partition (null if none)
 */
export function prepareBatch(messages: readonly InMessage[], fromOffset: number | null, opts: ParseOptions): PreparedBatch {
  const valid: ValidEvent[] = [];
  const rejects: Reject[] = [];
  const seen = new Set<string>();
  let duplicatesInBatch = 0;
  let alreadyProcessed = 0;
  let nextOffset = fromOffset ?? 0;
  for (const message of messages) {
    if (fromOffset !== null && message.offset < fromOffset) {
      alreadyProcessed++;
      continue;
    }
    nextOffset = Math.max(nextOffset, message.offset + 1);
    const result = parseEvent(message.value, message.key, opts);
    if (!result.ok) {
      rejects.push({ message, code: result.code, reason: result.reason });
      continue;
    }
    if (seen.has(result.event.eventId)) {
      duplicatesInBatch++;
      continue;
    }
    seen.add(result.event.eventId);
    valid.push({ offset: message.offset, event: result.event });
  }
  return { valid, rejects, duplicatesInBatch, alreadyProcessed, nextOffset };
}
