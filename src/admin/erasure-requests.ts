/**
 * Erasure requests that arrived as events (erasure_request rows, written by the ingest batch
 * transaction, ingest/write/batch-writer.ts): each is carried out with eraseCustomer, which also
 * deletes the request rows of the customer in its transaction.
 *
 * The ingest batch only records the request: an erasure takes the exclusive erasure barrier and
 * waits for rescoring pages in flight, which must not hold a partition's batch up (nor can the
 * batch's own transaction see its rows deleted). The worker runs the batch's requests right after
 * commit, off the ingest path, and a sweep every minute runs what is due: requests of a worker that
 * died first, and failed ones again with backoff.
 *
 * A request is claimed by moving next_attempt_at ahead (a lease with backoff), so two workers, or
 * the worker and its own sweep, do not erase the same customer twice at once; if one did anyway
 * (a lease ran out during a very long erasure), the second finds nothing (erasure is idempotent).
 */
import type pg from "pg";
import type { Logger } from "../log.js";
import { sqlState } from "../store/errors.js";
import { ErasureFilesError, eraseCustomer, type ErasureResult } from "./erasure.js";

interface Claimed {
  event_id: string;
  customer_id: string;
  requested_at: Date;
  source_topic: string;
  source_partition: number;
  source_offset: string;
  attempts: number;
}

/** Lease of a claimed request, doubled per failed attempt up to a day. */
const LEASE_MS = 5 * 60_000;
const MAX_BACKOFF_MS = 24 * 3_600_000;

/** Claims requests of `customers` (whatever their due time), or, without customers, all that are due. */
async function claim(pool: pg.Pool, customers: readonly string[] | null, limit: number): Promise<Claimed[]> {
  const { rows } = await pool.query<Claimed>(
    `update erasure_request r
        set attempts = r.attempts + 1,
            next_attempt_at = now() + least($3::float8, $2::float8 * power(2, r.attempts)) * interval '1 millisecond'
      where r.event_id in (select q.event_id from erasure_request q
                            where ($1::text[] is null and q.next_attempt_at <= now()) or q.customer_id = any($1::text[])
                            order by q.received_at limit $4 for update skip locked)
      returning r.event_id, r.customer_id, r.requested_at, r.source_topic, r.source_partition, r.source_offset, r.attempts`,
    [customers, LEASE_MS, MAX_BACKOFF_MS, limit],
  );
  return rows;
}

export interface ErasureRequestsOptions {
  pool: pg.Pool;
  /** OUTBOX_DIR: the file transport's copies are deleted too. */
  outboxDir?: string | null;
  logger: Logger;
  /** An erasure committed (its tombstone is in event_outbox): wake the relay. */
  onErased?: (result: ErasureResult) => void;
  /** Requests taken per run. */
  batchSize?: number;
}

/**
 * Runs claimed requests, one erasure per customer (the earliest request names the audit's source).
 * Returns how many customers were erased; a failure is recorded on the request and retried later.
 */
export async function runErasureRequests(opts: ErasureRequestsOptions, customers: readonly string[] | null = null): Promise<number> {
  const claimed = await claim(opts.pool, customers, opts.batchSize ?? 100);
  const byCustomer = new Map<string, Claimed>();
  for (const r of claimed) if (!byCustomer.has(r.customer_id)) byCustomer.set(r.customer_id, r);
  let erased = 0;
  for (const [customerId, r] of byCustomer) {
    try {
      const result = await eraseCustomer(opts.pool, customerId, {
        source: "event",
        requestedBy: `${r.source_topic}[${r.source_partition}]@${r.source_offset}`,
        requestedAt: r.requested_at,
        outboxDir: opts.outboxDir ?? null,
      });
      erased++;
      // The event id names the request, not the customer; the audit id finds the row.
      opts.logger.info({ eventId: r.event_id, auditId: result.auditId, removed: result.removed }, "erasure request carried out");
      opts.onErased?.(result);
    } catch (err) {
      // The error text can quote data (a driver message): the row and the log get its class only.
      const what = `${(err as Error).name ?? "Error"}${sqlState(err) ? ` (SQLSTATE ${sqlState(err)})` : ""}`;
      opts.logger.error({ eventId: r.event_id, error: what, attempts: r.attempts }, "erasure request failed; retried later");
      if (err instanceof ErasureFilesError) {
        // The transaction deleted the request with everything else; only the files are left. A
        // request row again (same source, backed off) lets the sweep repeat the erasure, which
        // is idempotent in the database and finds the remaining copies by the customer id.
        await opts.pool.query(
          `insert into erasure_request (event_id, customer_id, requested_at, source_topic, source_partition, source_offset, attempts, next_attempt_at, last_error)
           values ($1, $2, $3, $4, $5, $6, $7, now() + least($9::float8, $8::float8 * power(2, $7)) * interval '1 millisecond', $10)
           on conflict (event_id) do update set attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error`,
          [`${r.event_id}:files`, customerId, r.requested_at, r.source_topic, r.source_partition, r.source_offset, r.attempts, LEASE_MS, MAX_BACKOFF_MS, what],
        ).catch((e: unknown) => opts.logger.error({ eventId: r.event_id, error: (e as Error).name }, "erasure request: the retry of the files could not be recorded"));
        continue;
      }
      await opts.pool.query("update erasure_request set last_error = $2 where customer_id = $1", [customerId, what]).catch(() => undefined);
    }
  }
  return erased;
}

export interface ErasureRequestRunner {
  /** Runs the requests of these customers now (after an ingest batch recorded them). */
  request(customers: readonly string[]): void;
  /** Runs what is due (the sweep); resolves when done. */
  sweep(): Promise<number>;
  /** Waits for runs in flight; no new ones start. */
  stop(): Promise<void>;
}

/** One run at a time per worker, in order; the sweep every `sweepMs`. */
export function startErasureRequests(opts: ErasureRequestsOptions, sweepMs = 60_000): ErasureRequestRunner {
  let chain: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const enqueue = (customers: readonly string[] | null): Promise<number> => {
    if (stopped) return Promise.resolve(0);
    const run = chain.then(() => runErasureRequests(opts, customers));
    chain = run.catch((err: unknown) => opts.logger.error({ err }, "erasure requests could not be claimed; the sweep tries again"));
    return run;
  };
  const timer = setInterval(() => void enqueue(null).catch(() => undefined), sweepMs);
  timer.unref();
  return {
    request(customers) {
      if (customers.length > 0) void enqueue(customers).catch(() => undefined);
    },
    sweep: () => enqueue(null),
    async stop() {
      stopped = true;
      clearInterval(timer);
      await chain;
    },
  };
}
