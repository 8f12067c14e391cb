/**
 * The worker's database handle: one pg pool. Hot paths (ingest batches, rescoring pages, outbox
 * claims) use set-based SQL through it, because per-row ORM calls cap ingest near 500 events/s
 * (docs/architecture.md). prisma/schema.prisma and prisma/migrations remain the source of truth
 * for the schema.
 *
 * Every wait is bounded: getting a connection, each statement, and a transaction left idle (a
 * worker stuck on something else while holding row locks must not block the others for long).
 */
import pg from "pg";

// BIGINT offsets and counts fit in a JS number for any realistic Kafka offset (< 2^53).
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface DbTimeouts {
  /** Waiting for a pooled connection (or a new one) before the query fails. */
  connectMs: number;
  /** Server-side statement_timeout for every statement of the pool's sessions. */
  statementMs: number;
  /** Server-side idle_in_transaction_session_timeout: a forgotten transaction is ended. */
  idleInTransactionMs: number;
}

export const DEFAULT_DB_TIMEOUTS: Readonly<DbTimeouts> = { connectMs: 10_000, statementMs: 60_000, idleInTransactionMs: 60_000 };

export interface Db {
  pool: pg.Pool;
  close(): Promise<void>;
}

export function openDb(url: string, maxConnections = 10, timeouts: Readonly<DbTimeouts> = DEFAULT_DB_TIMEOUTS): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: maxConnections,
    connectionTimeoutMillis: timeouts.connectMs,
    statement_timeout: timeouts.statementMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
    // A dead peer (a frozen or unplugged server) is noticed by TCP keepalive, not only by timeouts.
    keepAlive: true,
    application_name: "churnwatch",
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on("error", () => undefined);
  return {
    pool,
    close: () => pool.end(),
  };
}
