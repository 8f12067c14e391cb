/**
 * The retention job: deletes what is older than its window from the tables that grow with time
 * (score history, finished mail, finished job slots, dead letters the topic acknowledged, and raw
 * events only when a window is set for them: they feed training sets, so they are kept by default).
 *
 * Each statement deletes at most `batchRows` rows, picked through an index range scan (the
 * indexes of migration 20261205090100), and commits on its own: no long lock, no huge transaction,
 * no bloat of WAL held back by one statement; ingest and scoring go on between batches.
 */
import type { Logger } from "../log.js";
import type { Queryable } from "../store/queryable.js";
import { DAY_MS } from "../lib/time.js";

export interface RetentionWindows {
  scoreHistoryDays: number;
  /** Sent and failed mail; pending mail is never deleted. */
  outboxDays: number;
  /** Finished job slots; open ones (running, waiting for a retry) are never deleted. */
  jobRunDays: number;
  /** Dead letters acknowledged by the dead-letter topic; unsent ones are never deleted. */
  deadLetterDays: number;
  /** Null: raw events are kept for good. */
  rawEventDays: number | null;
}

export interface RetentionOptions extends RetentionWindows {
  /** Rows per delete statement. */
  batchRows: number;
}

interface Target {
  table: "score_history" | "outbox_message" | "job_run" | "dead_letter" | "raw_event";
  days(w: RetentionWindows): number | null;
  /** Rows to delete, with $1 the cutoff; each condition is a range on the column its index starts with. */
  where: string;
}

const TARGETS: readonly Target[] = [
  { table: "score_history", days: (w) => w.scoreHistoryDays, where: "scored_at < $1" },
  { table: "outbox_message", days: (w) => w.outboxDays, where: "status in ('sent', 'failed') and created_at < $1" },
  { table: "job_run", days: (w) => w.jobRunDays, where: "finished_at < $1" },
  { table: "dead_letter", days: (w) => w.deadLetterDays, where: "sent_at is not null and sent_at < $1" },
  { table: "raw_event", days: (w) => w.rawEventDays, where: "occurred_at < $1" },
];

/**
 * The bounded delete of one batch. ctid identifies the selected rows without a second lookup
 * through the primary key, and `ctid = any(array)` runs as a TID scan. The age condition is not
 * repeated on the delete: the planner could then scan every old row by the index to filter on
 * ctid, once per batch. It is not needed either: the selection and the delete share one snapshot,
 * and a row that another transaction changes meanwhile gets a new ctid, so the delete's recheck
 * skips it (it waits for the next run).
 */
export function batchDeleteSql(t: Pick<Target, "table" | "where">): string {
  return `delete from ${t.table} where ctid = any(array(select ctid from ${t.table} where ${t.where} limit $2))`;
}

/** The selection alone, for EXPLAIN in tests. */
export function batchSelectSql(t: Pick<Target, "table" | "where">): string {
  return `select ctid from ${t.table} where ${t.where} limit $2`;
}

export const RETENTION_TARGETS = TARGETS;

export interface RetentionOutcome {
  /** Rows deleted per table; "kept" where no window applies. */
  deleted: Record<Target["table"], number | "kept">;
  /** The cutoff per table (ISO), rows older than it were deleted. */
  cutoffs: Partial<Record<Target["table"], string>>;
  batches: number;
  ms: number;
}

export async function runRetention(db: Queryable, now: Date, opts: RetentionOptions, logger?: Logger): Promise<RetentionOutcome> {
  if (!Number.isInteger(opts.batchRows) || opts.batchRows < 1) throw new RangeError(`batchRows must be a whole number >= 1, got ${opts.batchRows}`);
  const started = Date.now();
  const deleted = {} as RetentionOutcome["deleted"];
  const cutoffs: RetentionOutcome["cutoffs"] = {};
  let batches = 0;
  for (const t of TARGETS) {
    const days = t.days(opts);
    if (days === null) {
      deleted[t.table] = "kept";
      continue;
    }
    const cutoff = new Date(now.getTime() - days * DAY_MS);
    cutoffs[t.table] = cutoff.toISOString();
    const sql = batchDeleteSql(t);
    let total = 0;
    for (;;) {
      const res = await db.query(sql, [cutoff, opts.batchRows]);
      batches++;
      const n = res.rowCount ?? 0;
      total += n;
      // A short batch means nothing older is left; rows that arrive or change meanwhile wait for the next run.
      if (n < opts.batchRows) break;
    }
    deleted[t.table] = total;
    logger?.info({ table: t.table, days, cutoff: cutoff.toISOString(), deleted: total }, "retention: deleted rows older than the window");
  }
  return { deleted, cutoffs, batches, ms: Date.now() - started };
}
