/** Real servers for integration tests: a throw-away embedded PostgreSQL and the local Kafka broker. */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "../../src/store/embedded.js";
import { migrate } from "../../src/store/migrate.js";
import { startLocalBroker, type LocalBroker, type TopicSpec } from "../../scripts/kafka-broker/broker.js";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface TestPostgres {
  url: string;
  /** A fresh empty database on the same server, for tests that need isolation. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown) and starts it again with the same data, after `downMs`. */
  restart(downMs: number): Promise<void>;
  /** SIGSTOP / SIGCONT of the postmaster and its backends: a frozen server, connections open. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  stop(): Promise<void>;
}

/** The postmaster and every backend it forked (a freeze must stop the backends too). */
async function serverPids(postmaster: number): Promise<number[]> {
  const { readdir, readFile } = await import("node:fs/promises");
  const pids = [postmaster];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === postmaster) pids.push(Number(entry));
  }
  return pids;
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "churnwatch-pg-"));
  // As root, PostgreSQL runs as the `postgres` user, which must be able to enter the folder.
  await chmod(dir, 0o755);
  const port = await freePort();
  // Durability is irrelevant for a throw-away cluster; fsync off keeps tests fast on shared disks.
  const pg = await startEmbeddedPostgres({
    dir: path.join(dir, "data"), port, flags: ["-c", "fsync=off", "-c", "synchronous_commit=off"],
  });
  const base = pg.url.slice(0, pg.url.lastIndexOf("/"));
  return {
    url: pg.url,
    async createDatabase(name: string) {
      const { default: pgLib } = await import("pg");
      const client = new pgLib.Client({ connectionString: pg.url });
      // Fault tests restart the server; a connection that outlived its query must not crash the run.
      client.on("error", () => undefined);
      await client.connect();
      try {
        await client.query(`create database "${name}"`);
      } finally {
        await client.end();
      }
      return `${base}/${name}`;
    },
    async restart(downMs: number) {
      await pg.stop();
      await new Promise((r) => setTimeout(r, downMs));
      await pg.start();
    },
    async freeze() {
      for (const pid of await serverPids(pg.pid()!)) process.kill(pid, "SIGSTOP");
    },
    async thaw() {
      for (const pid of await serverPids(pg.pid()!)) process.kill(pid, "SIGCONT");
    },
    async stop() {
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A throw-away server with the schema migrated and a pool on it: what most database tests start
 * with. Idle connections terminated when the server stops must not fail the run, hence the handler.
 */
export async function startMigratedPostgres(max = 4): Promise<{ server: TestPostgres; pool: pg.Pool }> {
  const server = await startTestPostgres();
  const pool = new pg.Pool({ connectionString: server.url, max });
  pool.on("error", () => undefined);
  await migrate(pool);
  return { server, pool };
}

export async function stopMigratedPostgres(db: { server?: TestPostgres; pool?: pg.Pool }): Promise<void> {
  await db.pool?.end();
  await db.server?.stop();
}

export const DEFAULT_TOPICS: TopicSpec[] = [
  { name: "purchases", partitions: 4 },
  { name: "support", partitions: 4 },
  { name: "churn.dlq", partitions: 1 },
];

export async function startTestBroker(topics: TopicSpec[] = DEFAULT_TOPICS): Promise<LocalBroker> {
  return startLocalBroker({ topics });
}
