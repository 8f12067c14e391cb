/** Real servers for integration tests: a throw-away embedded PostgreSQL and the local Kafka broker. */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { startEmbeddedPostgres } from "../../src/store/embedded.js";
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
  stop(): Promise<void>;
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
      await client.connect();
      await client.query(`create database "${name}"`);
      await client.end();
      return `${base}/${name}`;
    },
    async stop() {
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const DEFAULT_TOPICS: TopicSpec[] = [
  { name: "purchases", partitions: 4 },
  { name: "support", partitions: 4 },
  { name: "churn.dlq", partitions: 1 },
];

export async function startTestBroker(topics: TopicSpec[] = DEFAULT_TOPICS): Promise<LocalBroker> {
  return startLocalBroker({ topics });
}
