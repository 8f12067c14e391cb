/**
 * Database access for the scripts: the same configuration and startup as the worker
 * (DATABASE_URL, or the embedded PostgreSQL under ./data when it is unset; migrations applied),
 * with logs on stderr so stdout stays for results.
 */
import { pino } from "pino";
import { loadConfig, type Config } from "../../src/config/config.js";
import { openDatabase } from "../../src/worker.js";
import type { Db } from "../../src/store/db.js";

export interface OpenedDb {
  db: Db;
  close(): Promise<void>;
}

export function scriptConfig(databaseUrl?: string): Config {
  return loadConfig({ ...process.env, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
}

export async function openScriptDatabase(config: Config): Promise<OpenedDb> {
  const logger = pino({ level: process.env.LOG_LEVEL ?? "warn", base: { service: "churnwatch-script" } }, pino.destination(2));
  const { db, embedded } = await openDatabase(config, logger);
  return {
    db,
    async close() {
      await db.close();
      await embedded?.stop();
    },
  };
}
