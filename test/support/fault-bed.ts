/**
 * Shared ground for the fault tests (test/faults/): one embedded PostgreSQL and one local broker
 * per test file, a fresh database, topics and consumer group per scenario, the worker either in
 * this process or as the real entry point in a child process (to SIGKILL it), and a clock for
 * recovery times.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll } from "vitest";
import pg from "pg";
import type { ChurnEvent } from "../../src/events/schema.js";
import { topicFor } from "../../src/events/topics.js";
import { startWorker, type Worker, type WorkerOptions } from "../../src/worker.js";
import type { LocalBroker } from "../../scripts/kafka-broker/broker.js";
import { startLocalBroker } from "../../scripts/kafka-broker/broker.js";
import { eventMessages, produce, testKafka, waitFor } from "./kafka.js";
import { testModelDir } from "./model.js";
import { startTestPostgres, type TestPostgres } from "./servers.js";
import { testConfig, testEnv, testTopics, type TestTopics, type TestWorkerOptions } from "./worker.js";

export interface FaultBed {
  pg: TestPostgres;
  broker: LocalBroker;
  kafka: Kafka;
  modelDir: string;
  scenario(opts?: { partitions?: number; dlq?: boolean; extra?: Record<string, string> }): Promise<Scenario>;
  stop(): Promise<void>;
}

export interface Scenario {
  name: string;
  topics: TestTopics;
  databaseUrl: string;
  opts: TestWorkerOptions;
  /** A pool for the test's own queries (closed by bed.stop()). */
  db: pg.Pool;
  produce(events: readonly ChurnEvent[]): Promise<void>;
  startWorker(options?: WorkerOptions): Promise<Worker>;
  /** The real entry point (src/main.ts) in a child process. */
  spawnWorker(extraEnv?: Record<string, string>): WorkerProcess;
}

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /**
   * Resolves once the worker has printed `text` (looked for as output arrives, so a line is not
   * missed when later output pushes it out of the kept tail); on timeout the error carries that tail.
   */
  waitForOutput(text: string, timeoutMs: number): Promise<void>;
  exited: Promise<NodeJS.Signals | number | null>;
  kill(signal?: NodeJS.Signals): void;
}

let counter = 0;

export async function startFaultBed(opts: { brokers?: number } = {}): Promise<FaultBed> {
  const [pgServer, broker, modelDir] = await Promise.all([
    startTestPostgres(),
    startLocalBroker({ topics: [], brokers: opts.brokers ?? 1 }),
    testModelDir(),
  ]);
  const kafka = testKafka(broker.bootstrap);
  const pools: pg.Pool[] = [];
  const children: WorkerProcess[] = [];
  return {
    pg: pgServer,
    broker,
    kafka,
    modelDir,
    async scenario(s = {}) {
      const name = `f${process.pid}x${++counter}`;
      const topics = testTopics(name);
      const partitions = s.partitions ?? 3;
      await broker.createTopic(topics.purchases, partitions);
      await broker.createTopic(topics.support, partitions);
      if (s.dlq !== false) await broker.createTopic(topics.dlq, 1);
      await broker.createTopic(topics.riskScores, partitions);
      const databaseUrl = await pgServer.createDatabase(name);
      const opts: TestWorkerOptions = { databaseUrl, bootstrap: broker.bootstrap, topics, groupId: `g-${name}`, modelDir, ...(s.extra ? { extra: s.extra } : {}) };
      const db = new pg.Pool({ connectionString: databaseUrl, max: 3 });
      db.on("error", () => undefined);
      pools.push(db);
      return {
        name,
        topics,
        databaseUrl,
        opts,
        db,
        produce: (events) => produce(kafka, eventMessages(events, (e) => topicFor(e, topics))),
        startWorker: (options = {}) => startWorker(testConfig(opts), { http: false, schedules: false, ...options }),
        spawnWorker(extraEnv = {}) {
          const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
            env: { ...process.env, ...testEnv(opts), LOG_LEVEL: "warn", ...extraEnv },
            stdio: ["ignore", "pipe", "pipe"],
          });
          let out = "";
          const seen = new Set<string>();
          const watched = new Set<string>();
          const onData = (d: Buffer) => {
            const before = out;
            out = (out + d).slice(-20_000);
            // The previous tail joins the chunk so a text split across two chunks is still found.
            const window = before.slice(-1_000) + d;
            for (const text of watched) if (window.includes(text)) seen.add(text);
          };
          child.stdout!.on("data", onData);
          child.stderr!.on("data", onData);
          const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
          const wp: WorkerProcess = {
            child,
            output: () => out,
            async waitForOutput(text, timeoutMs) {
              watched.add(text);
              if (out.includes(text)) seen.add(text);
              await waitFor(`worker output "${text}"`, async () => seen.has(text), timeoutMs).catch((err: Error) => {
                throw new Error(`${err.message}; worker output ends with:\n${out.slice(-3_000)}`);
              });
            },
            exited,
            kill: (signal = "SIGKILL") => void child.kill(signal),
          };
          children.push(wp);
          return wp;
        },
      };
    },
    async stop() {
      for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.kill("SIGKILL");
      await Promise.all(children.map((c) => c.exited));
      await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
      await broker.stop();
      await pgServer.stop();
    },
  };
}

/** Milliseconds since `start`, for recovery-time reports. */
export const since = (start: number) => Date.now() - start;

/** Waits until raw_event holds `n` rows; returns how long it took. */
export async function waitForEvents(db: pg.Pool, n: number, timeoutMs = 90_000): Promise<number> {
  const start = Date.now();
  await waitFor(`${n} events stored`, async () => {
    const { rows } = await db.query<{ n: string }>("select count(*) as n from raw_event");
    return Number(rows[0]!.n) === n;
  }, timeoutMs);
  return since(start);
}

/** One line per fault in the test output: what happened and how long recovery took. */
export function report(fault: string, figures: Record<string, number | string>): void {
  process.stdout.write(`[fault] ${fault}: ${Object.entries(figures).map(([k, v]) => `${k}=${v}`).join(" ")}\n`);
}

/**
 * One fault bed for the test file: started before its tests, stopped after them. The returned
 * object forwards to the running bed, so tests use it like the bed itself.
 */
export function useFaultBed(opts: { brokers?: number } = {}): FaultBed {
  let bed: FaultBed | undefined;
  beforeAll(async () => {
    bed = await startFaultBed(opts);
  });
  afterAll(async () => bed?.stop());
  const get = (): FaultBed => {
    if (!bed) throw new Error("the fault bed starts in beforeAll: use it inside hooks and tests");
    return bed;
  };
  return {
    get pg() { return get().pg; },
    get broker() { return get().broker; },
    get kafka() { return get().kafka; },
    get modelDir() { return get().modelDir; },
    scenario: (o) => get().scenario(o),
    stop: () => get().stop(),
  };
}
