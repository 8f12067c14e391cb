// `npm run broker`: a local Kafka for development and the demo, on librdkafka's mock cluster.
// In-memory only: everything is gone when it stops.
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { startLocalBroker, type TopicSpec } from "./broker.js";

const DEFAULT_TOPICS = ["purchases", "support", "churn.risk-scores", "churn.dlq"];

const HELP = `Usage: tsx scripts/kafka-broker/run.ts [options]
       npm run broker -- [options]

Starts a local Kafka (librdkafka mock cluster, in memory) with the topics
${DEFAULT_TOPICS.join(", ")} and prints its address.

Options:
  --partitions N        partitions for the default topics (default 6)
  --topic NAME[:N]      add a topic, or change a default topic's partitions (repeatable)
  --brokers N           number of brokers, ids 1..N (default 1)
  -h, --help            this text

While it runs, type on stdin:
  down <id> / up <id>   take broker <id> offline / back online
  topic-error <name> <code>  every request about the topic fails with a Kafka error code (0 clears)
  topic <name> <n>      create a topic with n partitions
Unknown topics are also auto-created on first produce, with the mock's default of 4 partitions.
Ctrl-C stops it.`;

function fail(message: string): never {
  console.error(`${message}\n\n${HELP}`);
  process.exit(2);
}

function positiveInt(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`${what} must be a positive integer, got "${value}"`);
  return n;
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      partitions: { type: "string" },
      topic: { type: "string", multiple: true },
      brokers: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }).values;
} catch (err) {
  fail((err as Error).message);
}
if (parsed.help) {
  console.log(HELP);
  process.exit(0);
}

const partitions = positiveInt(parsed.partitions ?? "6", "--partitions");
const topics = new Map<string, number>(DEFAULT_TOPICS.map((name) => [name, partitions]));
for (const spec of parsed.topic ?? []) {
  const [name, count] = spec.split(":");
  if (!name) fail(`--topic needs a name, got "${spec}"`);
  topics.set(name, count === undefined ? partitions : positiveInt(count, `--topic ${name}`));
}
const topicSpecs: TopicSpec[] = [...topics].map(([name, n]) => ({ name, partitions: n }));

const broker = await startLocalBroker({
  topics: topicSpecs,
  brokers: parsed.brokers === undefined ? 1 : positiveInt(parsed.brokers, "--brokers"),
});

console.log(`Local Kafka broker (librdkafka mock, in memory) listening on ${broker.bootstrap}`);
for (const t of topicSpecs) console.log(`  topic ${t.name} (${t.partitions} partitions)`);
console.log(`\nexport KAFKA_BROKERS=${broker.bootstrap}\n`);
console.log(`Commands: down <id> | up <id> | topic <name> <partitions> | topic-error <name> <code>. Ctrl-C to stop.`);

let stopping = false;
async function shutdown(code: number): Promise<never> {
  stopping = true;
  await broker.stop();
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
void broker.exited.then(() => {
  if (stopping) return;
  console.error("The broker process exited unexpectedly.");
  process.exit(1);
});

// stdin may be closed already (e.g. started in the background); the broker stays up regardless.
// One command at a time, so replies print in the order they were typed.
for await (const raw of createInterface({ input: process.stdin })) {
  const [cmd, arg, count] = raw.trim().split(/\s+/);
  try {
    if (!cmd) continue;
    if ((cmd === "down" || cmd === "up") && arg) {
      await broker[cmd](positiveIntOrThrow(arg));
      console.log(`broker ${arg} is ${cmd}`);
    } else if (cmd === "topic" && arg && count) {
      await broker.createTopic(arg, positiveIntOrThrow(count));
      console.log(`created topic ${arg} (${count} partitions)`);
    } else {
      console.log("Commands: down <id> | up <id> | topic <name> <partitions> | topic-error <name> <code>");
    }
  } catch (err) {
    console.error((err as Error).message);
  }
}
// stdin closed (e.g. started in the background): keep serving until a signal arrives.

function positiveIntOrThrow(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got "${value}"`);
  return n;
}
