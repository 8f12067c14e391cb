/**
 * `churnwatch simulate`: writes a seeded synthetic event history as NDJSON and/or produces it to Kafka,
 * with the hidden ground truth (who churns when) on the side. See --help.
 */
import { once } from "node:events";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { Kafka, logLevel, Partitioners, type Message, type Producer } from "kafkajs";
import type { ChurnEvent } from "../events/schema.js";
import {
  DAY_MS,
  simulateStream,
  truthToJson,
  type CustomerTruth,
  type GroundTruth,
  type SimulateOptions,
} from "../simulate/index.js";
import { topicFor, type Topics } from "../events/topics.js";
import { describeError } from "../lifecycle.js";

export const usage = (prog: string): string => `Usage: ${prog} [options] (--out FILE | --kafka BROKERS)

Generates a seeded, realistic history of churnwatch events (purchases, refunds, support tickets,
surveys, profiles, cancellations) for demos, tests, load and model training. The same seed and
options always give the same events and ids. Churn in it is as uncertain as in real purchase
histories (docs/simulator.md): some churners leave without warning, some silent customers return.

Output (one or both):
  --out FILE              write NDJSON, one event per line; "-" writes to stdout
  --kafka BROKERS         produce to Kafka, comma-separated host:port list; key = customerId
  --truth FILE            also write the hidden ground truth as JSON: per customer the persona,
                          churn time and how it came (faded or sudden; experience, life event
                          or dropping out after an order), pauses and lapses it came back from

Population:
  --customers N           number of customers (default 1000)
  --seed S                integer 0..4294967295 (default 1)
  --days D                window length in days before --now (default 540)
  --now ISO               end of the window, exclusive (default: today 00:00 UTC)
  --currency CODE         base currency (default EUR)
  --foreign-currency CODE second currency for some customers, e.g. USD (default: none)
  --foreign-share F       share of customers paying in it, 0..1 (default 0.1)
  --foreign-rate R        multiplier from it to the base currency, as in CURRENCY_RATES
                          (default 0.92 for USD with base EUR; otherwise required)
  --existing-share F      share of customers already signed up before the window (default 0.4)

Kafka:
  --purchases-topic NAME  purchase, refund, cancellation, customer_profile (default purchases)
  --support-topic NAME    support_ticket_*, survey_response (default support)
  --batch-size N          messages per sendBatch, acks=all (default 1000)
  --client-id ID          Kafka client id (default churnwatch-simulate)

  --quiet                 no progress lines on stderr
  -h, --help              show this help

Examples:
  ${prog} --customers 2000 --seed 7 --out data/events.ndjson --truth data/truth.json
  ${prog} --customers 20000 --kafka 127.0.0.1:9092
`;

/** A mistake in the command line: reported with a hint to --help, exit code 2. */
export class UsageError extends Error {}

export interface CliOptions {
  sim: SimulateOptions;
  out: string | null;
  kafka: string[] | null;
  truth: string | null;
  topics: Topics;
  batchSize: number;
  clientId: string;
  quiet: boolean;
}

function integer(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--${name} must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function fraction(name: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--${name} must be a number from 0 to 1, got "${raw}"`);
  return n;
}

function currencyCode(name: string, raw: string): string {
  if (!/^[A-Z]{3}$/.test(raw)) throw new UsageError(`--${name} must be an upper-case ISO-4217 code like EUR, got "${raw}"`);
  return raw;
}

function topicName(name: string, raw: string): string {
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(raw)) throw new UsageError(`--${name} is not a valid Kafka topic name: "${raw}"`);
  return raw;
}

/** Parses argv (without node and the script); returns null when --help was asked for. */
export function parseCliArgs(argv: string[], today: Date = new Date()): CliOptions | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        out: { type: "string" },
        kafka: { type: "string" },
        truth: { type: "string" },
        customers: { type: "string" },
        seed: { type: "string" },
        days: { type: "string" },
        now: { type: "string" },
        currency: { type: "string" },
        "foreign-currency": { type: "string" },
        "foreign-share": { type: "string" },
        "foreign-rate": { type: "string" },
        "existing-share": { type: "string" },
        "purchases-topic": { type: "string" },
        "support-topic": { type: "string" },
        "batch-size": { type: "string" },
        "client-id": { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return null;

  if (v.out === undefined && v.kafka === undefined) throw new UsageError("nothing to do: give --out FILE (or -) and/or --kafka BROKERS");
  if (v.out === "") throw new UsageError("--out needs a file name or -");
  let kafka: string[] | null = null;
  if (v.kafka !== undefined) {
    kafka = v.kafka.split(",").map((b) => b.trim()).filter((b) => b !== "");
    const bad = kafka.find((b) => !/^[^\s:]+:\d{1,5}$/.test(b));
    if (kafka.length === 0 || bad !== undefined) throw new UsageError(`--kafka must be a comma-separated host:port list, got "${v.kafka}"`);
  }

  let now: Date;
  if (v.now === undefined) {
    // Midnight, not the current instant: two runs on the same day then produce the same events.
    now = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()));
  } else {
    now = new Date(v.now);
    if (!/^\d{4}-\d\d-\d\d/.test(v.now) || Number.isNaN(now.getTime())) throw new UsageError(`--now must be an ISO-8601 date or instant, got "${v.now}"`);
  }
  const currency = currencyCode("currency", v.currency ?? "EUR");
  const sim: SimulateOptions = {
    seed: integer("seed", v.seed ?? "1", 0, 0xffffffff),
    customers: integer("customers", v.customers ?? "1000", 1, 10_000_000),
    days: integer("days", v.days ?? "540", 1, 36_500),
    now,
    currency,
    existingShare: fraction("existing-share", v["existing-share"] ?? "0.4"),
  };
  if (v["foreign-currency"] !== undefined) {
    const code = currencyCode("foreign-currency", v["foreign-currency"]);
    if (code === currency) throw new UsageError(`--foreign-currency ${code} is the base currency`);
    let rateToBase: number;
    if (v["foreign-rate"] !== undefined) {
      rateToBase = Number(v["foreign-rate"]);
      if (!Number.isFinite(rateToBase) || rateToBase <= 0) throw new UsageError(`--foreign-rate must be a positive number, got "${v["foreign-rate"]}"`);
    } else if (code === "USD" && currency === "EUR") {
      rateToBase = 0.92;
    } else {
      throw new UsageError(`--foreign-rate is required for ${code} -> ${currency} (multiplier to the base currency)`);
    }
    sim.foreignCurrency = { code, share: fraction("foreign-share", v["foreign-share"] ?? "0.1"), rateToBase };
  } else if (v["foreign-share"] !== undefined || v["foreign-rate"] !== undefined) {
    throw new UsageError("--foreign-share and --foreign-rate need --foreign-currency");
  }
  if (v.kafka === undefined && (v["purchases-topic"] ?? v["support-topic"] ?? v["batch-size"] ?? v["client-id"]) !== undefined) {
    throw new UsageError("--purchases-topic, --support-topic, --batch-size and --client-id need --kafka");
  }
  return {
    sim,
    out: v.out ?? null,
    kafka,
    truth: v.truth ?? null,
    topics: {
      purchases: topicName("purchases-topic", v["purchases-topic"] ?? "purchases"),
      support: topicName("support-topic", v["support-topic"] ?? "support"),
    },
    batchSize: integer("batch-size", v["batch-size"] ?? "1000", 1, 100_000),
    clientId: v["client-id"] ?? "churnwatch-simulate",
    quiet: v.quiet ?? false,
  };
}

/** NDJSON writer that respects back-pressure, so a slow disk or pipe does not buffer the run. */
class NdjsonSink {
  private readonly stream: NodeJS.WritableStream;
  private readonly ownsStream: boolean;
  private chunk: string[] = [];
  private failure: Error | null = null;

  constructor(target: string) {
    this.ownsStream = target !== "-";
    // `--out data/history.ndjson` in a fresh clone: the folder does not exist yet.
    if (this.ownsStream) mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
    this.stream = this.ownsStream ? createWriteStream(target) : process.stdout;
    this.stream.on("error", (err: Error) => {
      this.failure = err;
    });
  }

  async write(event: ChurnEvent): Promise<void> {
    this.chunk.push(JSON.stringify(event));
    if (this.chunk.length >= 1000) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.chunk.length === 0) return;
    const ok = this.stream.write(`${this.chunk.join("\n")}\n`);
    this.chunk = [];
    // events.once rejects if the stream emits 'error' while we wait.
    if (!ok) await once(this.stream, "drain");
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    await this.flush();
    if (!this.ownsStream) {
      // Pipes take stdout writes asynchronously: wait until ours are handed to the OS.
      await new Promise<void>((done) => this.stream.write("", () => done()));
      if (this.failure) throw this.failure;
      return;
    }
    await new Promise<void>((resolveEnd, reject) => {
      this.stream.end(() => resolveEnd());
      this.stream.once("error", reject);
    });
  }
}

class KafkaSink {
  private readonly producer: Producer;
  private pending = new Map<string, Message[]>();
  private count = 0;

  constructor(
    brokers: string[],
    clientId: string,
    private readonly topics: Topics,
    private readonly batchSize: number,
  ) {
    const kafka = new Kafka({
      clientId,
      brokers,
      // kafkajs logs to stdout by default, which would corrupt `--out -`.
      logLevel: logLevel.WARN,
      logCreator: () => ({ namespace, label, log }) => {
        process.stderr.write(`kafkajs ${label} ${namespace}: ${log.message}\n`);
      },
      // A CLI should fail within seconds when the brokers are unreachable, not retry for long.
      connectionTimeout: 3000,
      retry: { initialRetryTime: 300, retries: 4 },
    });
    // The Java-compatible partitioner: other producers of the same keys land on the same partitions.
    this.producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async write(event: ChurnEvent): Promise<void> {
    const topic = topicFor(event, this.topics);
    let list = this.pending.get(topic);
    if (!list) this.pending.set(topic, (list = []));
    list.push({ key: event.customerId, value: JSON.stringify(event) });
    if (++this.count >= this.batchSize) await this.flush();
  }

  /** One sendBatch at a time: per-customer order on a partition survives retries. */
  async flush(): Promise<void> {
    if (this.count === 0) return;
    const topicMessages = [...this.pending].map(([topic, messages]) => ({ topic, messages }));
    this.pending = new Map();
    this.count = 0;
    await this.producer.sendBatch({ topicMessages, acks: -1 });
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.producer.disconnect();
    }
  }
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

export async function run(opts: CliOptions): Promise<{ events: number; truth: GroundTruth }> {
  const truth: GroundTruth = new Map();
  const sinks: Array<NdjsonSink | KafkaSink> = [];
  if (opts.out !== null) sinks.push(new NdjsonSink(opts.out));
  if (opts.kafka !== null) {
    const kafka = new KafkaSink(opts.kafka, opts.clientId, opts.topics, opts.batchSize);
    await kafka.connect();
    sinks.push(kafka);
  }
  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write("simulate: interrupted; flushing what was generated (Ctrl-C again to abort)\n");
  };
  process.on("SIGINT", onSignal);

  const started = Date.now();
  let lastProgress = started;
  let count = 0;
  try {
    for (const event of simulateStream(opts.sim, { onTruth: (t: CustomerTruth) => truth.set(t.customerId, t) })) {
      for (const sink of sinks) await sink.write(event);
      count++;
      if (!opts.quiet && (count & 1023) === 0 && Date.now() - lastProgress >= 2000) {
        lastProgress = Date.now();
        const seconds = (lastProgress - started) / 1000;
        process.stderr.write(`simulate: ${fmt(count)} events (${fmt(Math.round(count / seconds))}/s), at ${event.occurredAt.slice(0, 10)}\n`);
      }
      if (stopping) break;
    }
  } finally {
    process.off("SIGINT", onSignal);
    // Close every sink even if one fails, then report the first failure.
    const closed = await Promise.allSettled(sinks.map((s) => s.close()));
    const failed = closed.find((c): c is PromiseRejectedResult => c.status === "rejected");
    if (failed) throw failed.reason;
  }

  if (opts.truth !== null) {
    const nowMs = new Date(opts.sim.now).getTime();
    const doc = {
      seed: opts.sim.seed,
      start: new Date(nowMs - (opts.sim.days ?? 540) * DAY_MS).toISOString(),
      end: new Date(nowMs).toISOString(),
      complete: !stopping,
      customers: truthToJson(truth),
    };
    mkdirSync(path.dirname(path.resolve(opts.truth)), { recursive: true });
    await writeFile(opts.truth, `${JSON.stringify(doc, null, 1)}\n`);
  }
  if (!opts.quiet) {
    const all = [...truth.values()];
    const churned = all.filter((t) => t.churnedAt !== null);
    const sudden = churned.filter((t) => t.churnPath === "sudden").length;
    const paused = all.filter((t) => t.pauses > 0).length;
    const seconds = (Date.now() - started) / 1000;
    process.stderr.write(
      `simulate: ${fmt(count)} events for ${fmt(opts.sim.customers)} customers in ${seconds.toFixed(1)} s; ` +
        `${fmt(churned.length)} churned in the window (${fmt(sudden)} without fading first), ` +
        `${fmt(paused)} paused or lapsed${stopping ? " (interrupted)" : ""}\n`,
    );
  }
  if (stopping) process.exitCode = 130;
  return { events: count, truth };
}

export async function main(argv: string[], prog = "churnwatch simulate"): Promise<number> {
  let opts: CliOptions | null;
  try {
    opts = parseCliArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`simulate: ${err.message} (see --help)\n`);
      return 2;
    }
    throw err;
  }
  if (opts === null) {
    process.stdout.write(usage(prog));
    return 0;
  }
  try {
    await run(opts);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // `simulate --out - | head` closes the pipe early: that is the reader's choice, not an error.
    if (e.code === "EPIPE") return 0;
    process.stderr.write(`simulate: failed: ${describeError(e)}\n`);
    return 1;
  }
  return typeof process.exitCode === "number" ? process.exitCode : 0;
}

