/** Opens the worker's database: the pool, then pending migrations (under an advisory lock). */
import type { Logger } from "../log.js";
import { DEFAULT_DB_TIMEOUTS, openDb, type Db, type DbTimeouts } from "./db.js";
import { migrate } from "./migrate.js";

export async function openDatabase(
  url: string,
  logger: Logger,
  pool: { size?: number; timeouts?: DbTimeouts } = {},
): Promise<{ db: Db; applied: string[] }> {
  const db = openDb(url, pool.size ?? 10, pool.timeouts ?? DEFAULT_DB_TIMEOUTS);
  try {
    const result = await migrate(db.pool);
    if (result.applied.length) logger.info({ applied: result.applied }, "database migrations applied");
    return { db, applied: result.applied };
  } catch (err) {
    await db.close();
    throw err;
  }
}
