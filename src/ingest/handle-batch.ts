/**
 * One partition batch: validate, then ONE Postgres transaction of events, states, dead letters
 * and the partition's next offset. Dead letters are published by the relay after commit.
 *
 * A batch the database refuses for a reason that is not an outage (a value it cannot store, a
 * customer whose state breaks) must not stop the partition: the refused messages are found by
 * bisection with dry-run transactions (rolled back, so nothing is applied twice), and the batch is
 * written once more with them turned into dead letters ("unstorable", with the database's
 * reason). A failure that every message shares is no poison message but a broken system, and is
 * retried like an outage.
 */
import type pg from "pg";
import type { ParseOptions } from "../events/parse.js";
import { safeReason } from "../events/reason.js";
import type { Logger } from "../log.js";
import { isTransientDbError, sqlState } from "../store/errors.js";
import { prepareBatch, type InMessage, type PreparedBatch, type Reject, type ValidEvent } from "./prepare.js";
import type { StateCache } from "./write/state-cache.js";
import { writeBatch, type BatchOutcome, type BatchWrite, type PartitionRef } from "./write/batch-writer.js";

export interface FetchedBatch {
  topic: string;
  partition: number;
  /** The offset this fetch asked for (where to resume if nothing is stored yet). */
  fetchedOffset: number;
  messages: InMessage[];
  /** Bytes of the messages' keys and values (what the queue bound counts). */
  bytes: number;
}

export interface BatchDeps {
  pool: pg.Pool;
  parse: ParseOptions;
  stateCache: StateCache;
  log: Logger;
}

export interface HandledBatch {
  ref: PartitionRef;
  prepared: PreparedBatch;
  outcome: BatchOutcome;
  /** Messages valid by the contract that the database refused (now dead letters). */
  unstorable: Reject[];
}

/** Lock conflicts between concurrent batches: the same write succeeds when run again. */
function isConflict(err: unknown): boolean {
  const state = sqlState(err);
  return state === "40001" || state === "40P01" || state === "55P03";
}

/** Runs `fn` again at once (with a little jitter) when it lost a lock conflict; other errors pass. */
async function retryConflicts<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isConflict(err) || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * i));
    }
  }
}

const SQLSTATE_CLASSES: Readonly<Record<string, string>> = {
  "22": "data exception",
  "23": "integrity constraint violation",
  "54": "program limit exceeded",
};

/**
 * The dead-letter reason for an event the database refused: the SQLSTATE, its class and the
 * schema names the driver reports (table, column, constraint, type), never the error's message,
 * which quotes input ("invalid input syntax for type ...: \"ann@example.com\"", a trigger's text,
 * our own errors naming a customer). The message itself is in the worker's debug log.
 */
export function refusalReason(err: unknown): string {
  const state = sqlState(err);
  if (state === null) return "it could not be applied: an error while folding it into the customer's state (no SQLSTATE; details in the worker's debug log)";
  const e = err as { table?: unknown; column?: unknown; constraint?: unknown; dataType?: unknown };
  const where = (["table", "column", "constraint", "dataType"] as const)
    .filter((k) => typeof e[k] === "string" && /^[A-Za-z0-9_."]{1,63}$/.test(e[k] as string))
    .map((k) => `${k === "dataType" ? "type" : k} ${e[k] as string}`);
  const kind = SQLSTATE_CLASSES[state.slice(0, 2)];
  return `the database refused it: SQLSTATE ${state}${kind ? ` (${kind})` : ""}${where.length ? `, ${where.join(", ")}` : ""}`;
}

/** Errors about the data itself: retrying the same rows cannot succeed. */
function isDataError(err: unknown): boolean {
  const state = sqlState(err);
  if (state !== null) return state.startsWith("22") || state.startsWith("23") || state.startsWith("54");
  // No SQLSTATE and not the network: thrown by our own code for this input (e.g. a state fold).
  return !isTransientDbError(err);
}

export async function handleBatch(deps: BatchDeps, ref: PartitionRef, batch: FetchedBatch, storedOffset: number | null): Promise<HandledBatch> {
  const prepared = prepareBatch(batch.messages, storedOffset, deps.parse);
  const write = (w: BatchWrite, dryRun = false) => retryConflicts(() => writeBatch(deps.pool, ref, w, dryRun ? null : deps.stateCache, { dryRun }));
  const whole: BatchWrite = { events: prepared.valid, rejects: prepared.rejects, nextOffset: prepared.nextOffset };
  try {
    return { ref, prepared, outcome: await write(whole), unstorable: [] };
  } catch (err) {
    if (!isDataError(err)) throw err;
    const refused = await findRefused(prepared.valid, (events) => write({ events, rejects: [], nextOffset: prepared.nextOffset }, true));
    if (refused.size === 0) throw err; // not reproducible event by event: treat as an outage and retry
    if (refused.size === prepared.valid.length && prepared.valid.length > 1) {
      throw new Error(`every event of the batch is refused, which no single message explains: ${(err as Error).message}`, { cause: err });
    }
    const unstorable: Reject[] = [];
    const events: ValidEvent[] = [];
    for (const e of prepared.valid) {
      if (!refused.has(e.offset)) events.push(e);
      else unstorable.push({ message: batch.messages.find((m) => m.offset === e.offset)!, code: "unstorable", reason: safeReason(refusalReason(refused.get(e.offset))) });
    }
    for (const r of unstorable) {
      deps.log.warn({ topic: ref.topic, partition: ref.partition, offset: r.message.offset, reason: r.reason }, "message refused by the database; dead-lettered");
      // The database's own words may quote the message (personal data): debug level only.
      deps.log.debug({ topic: ref.topic, partition: ref.partition, offset: r.message.offset, error: (refused.get(r.message.offset) as Error | undefined)?.message }, "database refusal in full");
    }
    const rejects = [...prepared.rejects, ...unstorable].sort((a, b) => a.message.offset - b.message.offset);
    const outcome = await write({ events, rejects, nextOffset: prepared.nextOffset });
    return { ref, prepared: { ...prepared, valid: events, rejects }, outcome, unstorable };
  }
}

/**
 * The events that fail on their own, by bisection over dry runs: a group that passes holds no
 * refused event; a failing single event is one. Outages during the search are rethrown.
 */
async function findRefused(events: readonly ValidEvent[], tryWrite: (events: readonly ValidEvent[]) => Promise<unknown>): Promise<Map<number, unknown>> {
  const refused = new Map<number, unknown>();
  const search = async (group: readonly ValidEvent[]): Promise<void> => {
    if (group.length === 0) return;
    try {
      await tryWrite(group);
      return;
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (group.length === 1) {
        refused.set(group[0]!.offset, err);
        return;
      }
    }
    const mid = group.length >> 1;
    await search(group.slice(0, mid));
    await search(group.slice(mid));
  };
  await search(events);
  return refused;
}
