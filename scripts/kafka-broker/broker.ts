// Start and drive the local Kafka broker (librdkafka's mock cluster, see mock-broker.c) from
// TypeScript: tests, the demo and `npm run broker` all go through startLocalBroker().
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { ensureBrokerBinary } from "./build.js";

export interface TopicSpec {
  name: string;
  partitions: number;
}

export interface LocalBrokerOptions {
  topics: TopicSpec[];
  /** Number of mock brokers, ids 1..n (default 1). */
  brokers?: number;
  /** How long to wait for the broker to report its address (default 10 s). */
  startTimeoutMs?: number;
}

export interface LocalBroker {
  /** Comma-joined host:port list, ready for KAFKA_BROKERS. */
  bootstrap: string;
  brokers: string[];
  /** OS process id of the broker (for diagnostics and leak checks). */
  pid: number;
  /** Drop broker `id` (1-based): closes its connections and refuses new ones. No leader moves. */
  down(id: number): Promise<void>;
  up(id: number): Promise<void>;
  /**
   * Create a topic with an exact partition count. Needed whenever the count matters: the mock
   * auto-creates unknown topics on metadata requests (kafkajs producers do that by default) but
   * always with its built-in default of 4 partitions.
   */
  createTopic(name: string, partitions: number): Promise<void>;
  /**
   * Make every request about a topic fail with a Kafka error code (0 clears it), e.g. 29
   * (TOPIC_AUTHORIZATION_FAILED) for a topic the client may not write.
   */
  setTopicError(name: string, code: number): Promise<void>;
  /** Kill the broker (SIGTERM, then SIGKILL after 2 s); resolves once it has exited. */
  stop(): Promise<void>;
  /** Resolves when the broker process exits, for whatever reason. */
  exited: Promise<void>;
}

/**
 * kafkajs consumer settings that matter against the mock (spread them into kafka.consumer()).
 * The mock answers the first JoinGroup of an empty group after a fixed 3 s, but once a member has
 * left (disconnect, restart) it holds the next join for the departed member's sessionTimeout
 * minus 1 s: kafkajs' default 30 s session means a 29 s stall on every worker restart.
 * 6 s is the smallest session a real broker accepts by default (group.min.session.timeout.ms).
 * A short maxWaitTimeInMs lets disconnect() return instead of waiting out an empty long poll.
 */
export const mockFriendlyConsumerConfig = {
  sessionTimeout: 6_000,
  heartbeatInterval: 1_000,
  maxWaitTimeInMs: 200,
} as const;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

// Last resort for tests that forget stop() or die mid-way: a broker must never outlive us.
// (The binary also exits when its stdin closes, which covers SIGKILL of this process.)
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

export async function startLocalBroker(options: LocalBrokerOptions): Promise<LocalBroker> {
  const binary = await ensureBrokerBinary();
  const brokerCount = options.brokers ?? 1;
  const args = ["--brokers", String(brokerCount)];
  for (const t of options.topics) {
    assertTopic(t.name, t.partitions);
    args.push("--topic", `${t.name}:${t.partitions}`);
  }

  installExitHook();
  const child = spawn(binary, args, { stdio: ["pipe", "pipe", "pipe"] });
  live.add(child);
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-8192); // librdkafka can be chatty; keep the tail for errors
  });
  // A write after the child died must not crash the test runner; the reply wait reports it.
  child.stdin!.on("error", () => {});

  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      live.delete(child);
      resolve();
    });
  });

  const lines = createInterface({ input: child.stdout! });
  const waiters: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  const buffered: string[] = [];
  lines.on("line", (line) => {
    const w = waiters.shift();
    if (w) w.resolve(line);
    else buffered.push(line);
  });
  const failAll = (why: string) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${why}\nbroker stderr:\n${stderr}`));
  };
  child.once("error", (err) => failAll(`local Kafka broker failed to start: ${err.message}`));
  void exitedPromise.then(() => failAll(`local Kafka broker exited (code ${child.exitCode}, signal ${child.signalCode})`));

  const nextLine = (timeoutMs: number, what: string) =>
    new Promise<string>((resolve, reject) => {
      const early = buffered.shift();
      if (early !== undefined) return resolve(early);
      if (exited) return reject(new Error(`local Kafka broker is not running (${what})\nbroker stderr:\n${stderr}`));
      const waiter = {
        resolve: (line: string) => (clearTimeout(timer), resolve(line)),
        reject: (err: Error) => (clearTimeout(timer), reject(err)),
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`local Kafka broker: no reply within ${timeoutMs} ms (${what})\nbroker stderr:\n${stderr}`));
      }, timeoutMs);
      waiters.push(waiter);
    });

  const kill = async () => {
    if (exited) return;
    child.stdin!.end(); // the broker's own clean shutdown path
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
    await exitedPromise;
    clearTimeout(timer);
  };

  let bootstrap: string;
  try {
    const first = await nextLine(options.startTimeoutMs ?? 10_000, "waiting for BOOTSTRAP line");
    const match = /^BOOTSTRAP (\S+)$/.exec(first);
    if (!match) throw new Error(`local Kafka broker: expected "BOOTSTRAP host:port", got "${first}"`);
    bootstrap = match[1]!;
  } catch (err) {
    await kill();
    throw err;
  }

  // One command at a time: replies carry no id, so order is the only correlation.
  let queue: Promise<unknown> = Promise.resolve();
  const command = (line: string): Promise<void> => {
    const result = queue.then(async () => {
      child.stdin!.write(`${line}\n`);
      const reply = await nextLine(5_000, line);
      if (!reply.startsWith("OK")) throw new Error(`local Kafka broker: ${reply}`);
    });
    queue = result.catch(() => {});
    return result;
  };
  const brokerId = (id: number) => {
    if (!Number.isInteger(id) || id < 1 || id > brokerCount) {
      throw new Error(`broker id must be 1..${brokerCount}, got ${id}`);
    }
    return id;
  };

  return {
    bootstrap,
    brokers: bootstrap.split(","),
    pid: child.pid!,
    down: async (id) => command(`down ${brokerId(id)}`),
    up: async (id) => command(`up ${brokerId(id)}`),
    createTopic: async (name, partitions) => {
      assertTopic(name, partitions);
      await command(`topic ${name} ${partitions}`);
    },
    setTopicError: async (name, code) => {
      assertTopic(name, 1);
      await command(`topic-error ${name} ${code}`);
    },
    stop: kill,
    exited: exitedPromise,
  };
}

function assertTopic(name: string, partitions: number): void {
  // Kafka's own topic-name rule; also keeps the line protocol unambiguous.
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(name)) throw new Error(`invalid topic name "${name}"`);
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new Error(`topic ${name}: partitions must be a positive integer, got ${partitions}`);
  }
}
