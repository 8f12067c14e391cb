/**
 * The worker's database handle: one pg pool. Hot paths (ingest batches, rescoring pages, outbox
 * claims) use set-based SQL through it, because per-row ORM calls cap ingest near 500 events/s
 * (docs/architecture.md). prisma/schema.prisma and prisma/migrations remain the source of truth
 * for the schema; the generated Prisma client is used where typed queries serve better than speed.
 */
import pg from "pg";

// BIGINT offsets and counts fit in a JS number for any realistic Kafka offset (< 2^53).
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface Db {
  pool: pg.Pool;
  close(): Promise<void>;
}

export function openDb(url: string, maxConnections = 10): Db {
  const pool = new pg.Pool({ connectionString: url, max: maxConnections });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on("error", () => undefined);
  return {
    pool,
    close: () => pool.end(),
  };
}
