/**
 * Dead-letter messages keep the original bytes and key and add headers that say why and where
 * from, so an operator can fix and replay them without guessing. The reason names fields and
 * rules, never input text (see events/reason.ts).
 */
import { safeReason } from "../events/reason.js";
import type { Reject } from "./prepare.js";

export const DLQ_HEADERS = {
  reason: "x-churnwatch-dlq-reason",
  code: "x-churnwatch-dlq-code",
  topic: "x-churnwatch-source-topic",
  partition: "x-churnwatch-source-partition",
  offset: "x-churnwatch-source-offset",
  failedAt: "x-churnwatch-failed-at",
} as const;

export interface DlqMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | (Buffer | string)[]>;
}

export function toDeadLetter(reject: Reject, topic: string, partition: number, now: Date): DlqMessage {
  const original: Record<string, Buffer | string | (Buffer | string)[]> = {};
  for (const [k, v] of Object.entries(reject.message.headers ?? {})) if (v !== undefined) original[k] = v;
  return {
    key: reject.message.key,
    value: reject.message.value,
    headers: {
      ...original,
      // Parser reasons are already safe; this also covers reasons made elsewhere (a database error
      // when a failing batch is narrowed down), which may hold control characters or run long.
      [DLQ_HEADERS.reason]: safeReason(reject.reason),
      [DLQ_HEADERS.code]: reject.code,
      [DLQ_HEADERS.topic]: topic,
      [DLQ_HEADERS.partition]: String(partition),
      [DLQ_HEADERS.offset]: String(reject.message.offset),
      [DLQ_HEADERS.failedAt]: now.toISOString(),
    },
  };
}
