import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulate } from "../src/simulate/index.js";
import { topicFor } from "../src/events/topics.js";
import type { LocalBroker } from "../scripts/kafka-broker/broker.js";
import { startTestBroker } from "./support/servers.js";
import { readTopic, testKafka } from "./support/kafka.js";

const run = promisify(execFile);
let broker: LocalBroker;
let dir = "";

beforeAll(async () => {
  [broker, dir] = await Promise.all([
    startTestBroker([{ name: "r.purchases", partitions: 2 }, { name: "r.support", partitions: 2 }]),
    mkdtemp(path.join(os.tmpdir(), "cw-replay-kafka-")),
  ]);
});
afterAll(async () => {
  await broker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("replay onto Kafka", () => {
  it("routes each event to the worker's topic for its type, keyed by customer id, unchanged", async () => {
    const { events } = simulate({ seed: 8, customers: 25, now: "2025-03-01T00:00:00Z", days: 90 });
    const file = path.join(dir, "events.ndjson");
    await writeFile(file, events.map((e) => JSON.stringify(e)).join("\n") + "\n");
    const { stdout } = await run(process.execPath, [
      "--import", "tsx", "scripts/replay.ts", "--ndjson", file, "--kafka", broker.bootstrap,
      "--topic-purchases", "r.purchases", "--topic-support", "r.support", "--quiet",
    ]);
    expect(stdout).toContain(`${events.length} written to Kafka`);
    const topics = { purchases: "r.purchases", support: "r.support" };
    const kafka = testKafka(broker.bootstrap);
    for (const topic of Object.values(topics)) {
      const expected = events.filter((e) => topicFor(e, topics) === topic);
      const got = await readTopic(kafka, topic, expected.length);
      expect(got).toHaveLength(expected.length);
      // Compared after a JSON round trip: the simulator can emit -0 (e.g. nps), which JSON writes as 0.
      const byId = new Map(expected.map((e) => [e.eventId, JSON.parse(JSON.stringify(e))]));
      for (const m of got) {
        const value = JSON.parse(m.value!.toString());
        expect(value).toEqual(byId.get(value.eventId));
        expect(m.key).toBe(value.customerId);
      }
    }
  });
});
