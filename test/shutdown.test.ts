/**
 * Shutdown through the real entry points, signalled mid-ingest: `npm start` (npm -> node
 * dist/main.js), `node dist/main.js` directly (what Docker and systemd run) and `npm run dev`
 * (embedded PostgreSQL), and the Docker entrypoint under tini. Each must log "stopping", leave the
 * consumer group, exit 0 and leave no process behind; after a graceful stop a fresh worker applies
 * the rest exactly once.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulate } from "../src/simulate/index.js";
import { topicFor } from "../src/events/topics.js";
import type { LocalBroker } from "../scripts/kafka-broker/broker.js";
import { freePort, startTestBroker, startTestPostgres, type TestPostgres } from "./support/servers.js";
import { eventMessages, produce, testKafka, waitFor } from "./support/kafka.js";
import { testTopics } from "./support/worker.js";
import { childPids, isAlive, processesMentioning, ROOT, spawnEntry, type Spawned } from "./support/spawn.js";

const topics = testTopics("sd");
const NOW = Math.floor(Date.now() / 86_400_000) * 86_400_000;
const { events } = simulate({ seed: 11, customers: 1000, now: new Date(NOW), days: 400 });
const uniqueEvents = new Set(events.map((e) => e.eventId)).size;

let pgServer: TestPostgres;
let broker: LocalBroker;
let kafka: Kafka;
let tmp: string;
const running: Spawned[] = [];

// dist/ is built once for the whole run by test/global-setup.ts.
beforeAll(async () => {
  [pgServer, broker] = await Promise.all([startTestPostgres(), startTestBroker([])]);
  for (const t of [topics.purchases, topics.support]) await broker.createTopic(t, 4);
  await broker.createTopic(topics.dlq, 1);
  await broker.createTopic(topics.riskScores, 2);
  kafka = testKafka(broker.bootstrap);
  await produce(kafka, eventMessages(events, (e) => topicFor(e, { purchases: topics.purchases, support: topics.support })));
  tmp = await mkdtemp(path.join(os.tmpdir(), "churnwatch-shutdown-"));
  // As root the embedded PostgreSQL of `npm run dev` runs as the postgres user, which must enter it.
  await chmod(tmp, 0o755);
});

afterAll(async () => {
  for (const s of running) s.kill();
  await broker?.stop();
  await pgServer?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function workerEnv(databaseUrl: string | null, groupId: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    KAFKA_BROKERS: broker.bootstrap,
    KAFKA_GROUP_ID: groupId,
    KAFKA_SESSION_TIMEOUT_MS: "6000",
    TOPIC_PURCHASES: topics.purchases,
    TOPIC_SUPPORT: topics.support,
    TOPIC_DLQ: topics.dlq,
    TOPIC_RISK_SCORES: topics.riskScores,
    MODEL_DIR: path.join(ROOT, "models"),
    OUTBOX_DIR: path.join(tmp, `outbox-${groupId}`),
    HTTP_PORT: "0",
    LOG_LEVEL: "info",
    // Small partition batches keep ingest going for a while, so the signal lands mid-stream.
    KAFKA_PARTITIONS_CONCURRENCY: "2",
    ...extra,
  };
}

async function appliedEvents(url: string, groupId: string): Promise<{ events: number; stored: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const e = await client.query<{ n: string }>("select count(*) as n from raw_event").catch(() => ({ rows: [{ n: "0" }] }));
    const o = await client.query<{ n: string }>("select coalesce(sum(next_offset), 0) as n from consumer_offset where group_id = $1", [groupId])
      .catch(() => ({ rows: [{ n: "0" }] }));
    return { events: Number(e.rows[0]!.n), stored: Number(o.rows[0]!.n) };
  } finally {
    await client.end();
  }
}

/**
 * The consumer's own account of leaving the group: kafkajs logs "Stopped" once its runner has
 * stopped fetching, waited for the batch in hand and sent LeaveGroup. (The local broker, librdkafka's
 * mock cluster, answers no DescribeGroups, so membership cannot be read from the broker side.)
 */
function leftGroup(s: Spawned, groupId: string): boolean {
  const lines = jsonLines(s);
  const stopping = lines.findIndex((l) => l.msg === "stopping");
  return stopping >= 0 && lines.slice(stopping).some((l) => l.component === "kafkajs" && l.msg === "Stopped" && l.groupId === groupId);
}

/** Offsets Kafka holds for the group (the mirror of what Postgres committed), summed over partitions. */
async function kafkaCommitted(groupId: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const res = await admin.fetchOffsets({ groupId, topics: [topics.purchases, topics.support] });
    return res.flatMap((t) => t.partitions).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

function jsonLines(s: Spawned): Record<string, unknown>[] {
  return s.stdout.filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function signalMidIngest(s: Spawned, url: string, groupId: string, signal: NodeJS.Signals, target: number): Promise<{ code: number | null; ms: number }> {
  await s.waitForLog((l) => l.msg === "joined consumer group", "joined consumer group");
  await waitFor("the first batches applied", async () => (await appliedEvents(url, groupId)).events > 0, 60_000);
  process.kill(target, signal);
  const exit = await s.exited;
  return exit;
}

describe("shutdown of the real entry points", () => {
  it("npm start: SIGTERM to npm reaches the worker, which stops mid-ingest, commits, leaves the group and exits 0", async () => {
    const url = await pgServer.createDatabase("sd_npm");
    const groupId = "sd-npm";
    // debug: kafkajs's own INFO lines ("Stopped") are logged only then.
    const s = spawnEntry("npm", ["start", "--silent"], workerEnv(url, groupId, { LOG_LEVEL: "debug" }));
    running.push(s);
    const npmPid = s.child.pid!;
    await s.waitForLog((l) => l.msg === "churnwatch worker running", "worker running");
    const [workerPid] = childPids(npmPid);
    expect(workerPid).toBeGreaterThan(0);
    const exit = await signalMidIngest(s, url, groupId, "SIGTERM", npmPid);
    expect(exit.code, s.stderr()).toBe(0);
    // npm waits for its child, so by now the worker has exited too.
    expect(isAlive(workerPid!)).toBe(false);
    expect(leftGroup(s, groupId)).toBe(true);

    const lines = jsonLines(s); // every stdout line is JSON: npm start --silent | jq works
    const msgs = lines.map((l) => l.msg);
    expect(msgs).toContain("stopping");
    expect(msgs.at(-1)).toBe("stopped");
    expect(lines.find((l) => l.msg === "stopping")).toMatchObject({ level: "info", component: "lifecycle", reason: "SIGTERM" });
    expect(lines.every((l) => typeof l.component === "string")).toBe(true);
    expect(lines.filter((l) => l.level === "error" || l.level === "fatal")).toEqual([]);

    // Stopped mid-stream, with Kafka holding exactly what Postgres committed.
    const after = await appliedEvents(url, groupId);
    expect(after.events).toBeGreaterThan(0);
    expect(after.events).toBeLessThan(uniqueEvents);
    expect(await kafkaCommitted(groupId)).toBe(after.stored);

    // A fresh worker (node dist/main.js, as Docker and systemd run it) applies the rest exactly once.
    const again = spawnEntry(process.execPath, ["dist/main.js"], workerEnv(url, groupId));
    running.push(again);
    await waitFor("every event applied", async () => (await appliedEvents(url, groupId)).events === uniqueEvents, 120_000);
    const workerAgain = again.child.pid!;
    process.kill(workerAgain, "SIGTERM");
    expect((await again.exited).code, again.stderr()).toBe(0);
    expect((await appliedEvents(url, groupId)).events).toBe(uniqueEvents);
    expect(jsonLines(again).map((l) => l.msg)).toContain("stopping");
  }, 240_000);

  it("npm run dev: SIGINT stops the worker, then the embedded PostgreSQL; nothing is orphaned", async () => {
    const pgDir = path.join(tmp, "dev-pg");
    const port = await freePort();
    const groupId = "sd-dev";
    const s = spawnEntry("npm", ["run", "dev", "--silent"], workerEnv(null, groupId, { EMBEDDED_PG_DIR: pgDir, EMBEDDED_PG_PORT: String(port), LOG_LEVEL: "debug" }));
    running.push(s);
    const url = `postgresql://churnwatch:churnwatch@127.0.0.1:${port}/churnwatch`;
    const running_ = await s.waitForLog((l) => l.msg === "churnwatch worker running (development)", "dev worker running", 120_000);
    expect(processesMentioning(pgDir).length).toBeGreaterThan(0);
    const exit = await signalMidIngest(s, url, groupId, "SIGINT", s.child.pid!);
    expect(exit.code, s.stderr()).toBe(0);
    expect(isAlive(running_.pid as number)).toBe(false);
    const msgs = jsonLines(s).map((l) => l.msg);
    expect(msgs).toContain("stopping");
    expect(msgs.at(-1)).toBe("stopped");
    expect(leftGroup(s, groupId)).toBe(true);
    // The embedded server stopped with the worker: no process uses the folder, no lock file is left.
    await waitFor("the embedded PostgreSQL to exit", async () => processesMentioning(pgDir).length === 0, 10_000);
    expect(existsSync(path.join(pgDir, "postmaster.pid"))).toBe(false);
  }, 240_000);

  // The image's entrypoint: tini -- node dist/cli/index.js worker (tini here is not PID 1, so -s
  // makes it a subreaper as it would be; it forwards the signal either way).
  it("tini -- node dist/cli/index.js worker (the image's entrypoint): SIGTERM to tini stops the idle worker, exit 0", async () => {
    const url = await pgServer.createDatabase("sd_idle");
    const port = await freePort();
    const s = spawnEntry("tini", ["-s", "--", process.execPath, "dist/cli/index.js", "worker"],
      workerEnv(url, "sd-idle", { TOPIC_PURCHASES: "sd.idle.p", TOPIC_SUPPORT: "sd.idle.s", HTTP_PORT: String(port), HTTP_HOST: "127.0.0.1" }));
    running.push(s);
    await broker.createTopic("sd.idle.p", 1);
    await broker.createTopic("sd.idle.s", 1);
    await s.waitForLog((l) => l.msg === "joined consumer group", "joined consumer group");
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    process.kill(s.child.pid!, "SIGTERM");
    const exit = await s.exited;
    expect(exit.code, s.stderr()).toBe(0);
    expect(s.stderr()).toBe("");
  }, 120_000);
});
