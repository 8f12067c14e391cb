/**
 * The simulate CLI: argument handling, NDJSON + truth files, and producing to a real Kafka protocol
 * implementation (the local librdkafka mock broker).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Kafka, logLevel } from "kafkajs";
import { churnEvent } from "../src/events/schema.js";
import { simulate } from "../src/simulate/index.js";
import { topicFor } from "../src/events/topics.js";
import { parseCliArgs, run, UsageError } from "../scripts/simulate.js";
import { mockFriendlyConsumerConfig, startLocalBroker } from "../scripts/kafka-broker/broker.js";

const dir = mkdtempSync(join(tmpdir(), "simulate-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", "scripts/simulate.ts", ...args], { encoding: "utf8", cwd: process.cwd() });
}

describe("parseCliArgs", () => {
  it("applies documented defaults, with now = today's UTC midnight", () => {
    const opts = parseCliArgs(["--out", "-"], new Date("2026-03-04T15:16:17Z"));
    expect(opts?.sim).toEqual({
      seed: 1,
      customers: 1000,
      days: 540,
      now: new Date("2026-03-04T00:00:00Z"),
      currency: "EUR",
      existingShare: 0.4,
    });
    expect(opts?.topics).toEqual({ purchases: "purchases", support: "support" });
    expect(opts?.batchSize).toBe(1000);
    expect(parseCliArgs(["--help"])).toBeNull();
  });

  it("reads every option", () => {
    const opts = parseCliArgs([
      "--kafka", "a:9092, b:9093", "--customers", "20000", "--seed", "7", "--days", "365", "--now", "2026-01-01T00:00:00Z",
      "--foreign-currency", "USD", "--foreign-share", "0.2", "--purchases-topic", "p1", "--support-topic", "s1",
      "--batch-size", "500", "--truth", "t.json", "--quiet",
    ]);
    expect(opts?.kafka).toEqual(["a:9092", "b:9093"]);
    expect(opts?.sim.foreignCurrency).toEqual({ code: "USD", share: 0.2, rateToBase: 0.92 });
    expect(opts?.sim.customers).toBe(20000);
    expect(opts?.topics).toEqual({ purchases: "p1", support: "s1" });
    expect(opts?.batchSize).toBe(500);
    expect(opts?.truth).toBe("t.json");
    expect(opts?.quiet).toBe(true);
    expect(opts?.out).toBeNull();
  });

  it.each([
    [[], /nothing to do/],
    [["--out", "-", "--customers", "ten"], /--customers must be an integer/],
    [["--out", "-", "--customers", "0"], /--customers must be between/],
    [["--out", "-", "--seed", "-4"], /--seed/],
    [["--out", "-", "--now", "soon"], /--now must be an ISO-8601/],
    [["--out", "-", "--currency", "eur"], /--currency must be an upper-case/],
    [["--out", "-", "--foreign-currency", "GBP"], /--foreign-rate is required/],
    [["--out", "-", "--foreign-share", "0.1"], /need --foreign-currency/],
    [["--out", "-", "--foreign-currency", "USD", "--foreign-share", "1.5"], /--foreign-share must be a number from 0 to 1/],
    [["--kafka", "localhost"], /host:port/],
    [["--out", "-", "--support-topic", "x"], /need --kafka/],
    [["--kafka", "h:1", "--support-topic", "bad topic"], /not a valid Kafka topic/],
    [["--out", "-", "--bogus"], /Unknown option/],
    [["--out", "-", "extra"], /positional/i],
  ])("rejects %j", (args, message) => {
    expect(() => parseCliArgs(args)).toThrow(UsageError);
    expect(() => parseCliArgs(args)).toThrow(message);
  });
});

describe("simulate CLI process", () => {
  it("prints help and exits 0; exits 2 with a hint on bad arguments", () => {
    const help = cli(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npx tsx scripts\/simulate.ts/);
    expect(help.stdout).toContain("--purchases-topic");

    const bad = cli(["--out", "-", "--days", "0"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--days must be between 1 and");
    expect(bad.stderr).toContain("--help");
    expect(bad.stdout).toBe("");
  });

  it("writes the same events as simulate() as NDJSON, plus the ground truth", () => {
    const out = join(dir, "events.ndjson");
    const truthFile = join(dir, "truth.json");
    const res = cli(["--customers", "150", "--seed", "9", "--now", "2026-01-01", "--out", out, "--truth", truthFile]);
    expect(res.stderr).toMatch(/simulate: [\d,]+ events for 150 customers/);
    expect(res.status).toBe(0);

    const lines = readFileSync(out, "utf8").split("\n");
    expect(lines.pop()).toBe(""); // newline-terminated
    const expected = simulate({ seed: 9, customers: 150, now: "2026-01-01T00:00:00Z", days: 540 });
    expect(lines).toEqual(expected.events.map((e) => JSON.stringify(e)));
    for (const line of lines.slice(0, 500)) churnEvent.parse(JSON.parse(line));

    const truth = JSON.parse(readFileSync(truthFile, "utf8"));
    expect(truth.seed).toBe(9);
    expect(truth.end).toBe("2026-01-01T00:00:00.000Z");
    expect(truth.complete).toBe(true);
    expect(truth.customers).toHaveLength(150);
    const churned = truth.customers.filter((t: { churnedAt: string | null }) => t.churnedAt !== null).length;
    expect(churned).toBe([...expected.truth.values()].filter((t) => t.churnedAt !== null).length);
  });

  it("writes NDJSON to stdout with --out -", () => {
    const res = cli(["--customers", "5", "--now", "2026-01-01", "--out", "-", "--quiet"]);
    expect(res.status).toBe(0);
    expect(res.stderr).toBe("");
    const events = res.stdout.trim().split("\n").map((l) => churnEvent.parse(JSON.parse(l)));
    expect(events.length).toBeGreaterThan(10);
    expect(new Set(events.map((e) => e.customerId)).size).toBe(5);
  });
});

describe("simulate CLI to Kafka", () => {
  it("produces every event to its topic keyed by customerId, in per-customer order", async () => {
    const broker = await startLocalBroker({ topics: [{ name: "sim.purchases", partitions: 3 }, { name: "sim.support", partitions: 3 }] });
    try {
      const sim = { seed: 4, customers: 40, now: new Date("2026-01-01T00:00:00Z"), days: 200 };
      const topics = { purchases: "sim.purchases", support: "sim.support" };
      const result = await run({ sim, out: null, kafka: broker.brokers, truth: null, topics, batchSize: 100, clientId: "sim-test", quiet: true });
      const expected = simulate(sim).events;
      expect(result.events).toBe(expected.length);

      const kafka = new Kafka({ clientId: "sim-test-reader", brokers: broker.brokers, logLevel: logLevel.NOTHING });
      const consumer = kafka.consumer({ groupId: "sim-test-reader", ...mockFriendlyConsumerConfig });
      const got: Array<{ topic: string; partition: number; key: string; value: string }> = [];
      await consumer.connect();
      await consumer.subscribe({ topics: [topics.purchases, topics.support], fromBeginning: true });
      await new Promise<void>((resolveAll, reject) => {
        const timer = setTimeout(() => reject(new Error(`read ${got.length} of ${expected.length} messages`)), 30_000);
        void consumer.run({
          eachMessage: async ({ topic, partition, message }) => {
            got.push({ topic, partition, key: message.key?.toString() ?? "", value: message.value?.toString() ?? "" });
            if (got.length >= expected.length) {
              clearTimeout(timer);
              resolveAll();
            }
          },
        });
      });
      await consumer.disconnect();

      expect(got).toHaveLength(expected.length);
      const byId = new Map(expected.map((e) => [e.eventId, e]));
      for (const m of got) {
        const event = churnEvent.parse(JSON.parse(m.value));
        expect(m.key).toBe(event.customerId);
        expect(m.topic).toBe(topicFor(event, topics));
        expect(byId.get(event.eventId)).toEqual(event);
      }
      // Within one topic, a customer's events arrive in the order they happened.
      for (const topic of [topics.purchases, topics.support]) {
        const perCustomer = new Map<string, string[]>();
        for (const m of got.filter((g) => g.topic === topic)) {
          const list = perCustomer.get(m.key) ?? [];
          list.push(JSON.parse(m.value).occurredAt as string);
          perCustomer.set(m.key, list);
        }
        for (const [customer, times] of perCustomer) expect(times, customer).toEqual([...times].sort());
      }
    } finally {
      await broker.stop();
    }
  });
});
