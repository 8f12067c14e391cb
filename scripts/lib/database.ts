/**
 * Database access for the scripts: the worker's configuration and startup (migrations applied),
 * with the data scientists' convenience that an unset DATABASE_URL means the embedded PostgreSQL
 * under ./data (started here, stopped on close). Logs go to stderr so stdout stays for results.
 */
import { pino } from "pino";
import { loadConfig, type Config } from "../../src/config/config.js";
import type { Db } from "../../src/store/db.js";
import { openDatabase } from "../../src/store/open.js";
import { startEmbeddedDatabase } from "./dev-services.js";

export interface OpenedDb {
  db: Db;
  /** Migrations this open applied (empty when the database was up to date). */
  applied: string[];
  close(): Promise<void>;
}

export function scriptConfig(databaseUrl?: string): Config {
  return loadConfig({ ...process.env, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
}

export async function openScriptDatabase(config: Config): Promise<OpenedDb> {
  const logger = pino({ level: process.env.LOG_LEVEL ?? "warn", base: { service: "churnwatch-script" } }, pino.destination(2));
  const server = await startEmbeddedDatabase(config, logger);
  try {
    const { db, applied } = await openDatabase(server.url, logger);
    return {
      db,
      applied,
      async close() {
        await db.close();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
