/**
 * Dead letters sent back once the cause is fixed: a purchase in a currency without a rate is
 * dead-lettered; after the operator adds the rate, the redrive CLI sends it back with its
 * original bytes, the worker applies it, and a second redrive sends nothing.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { ChurnEvent } from "../src/events/schema.js";
import { REDRIVE_HEADER, listDeadLetters, summariseDeadLetters } from "../src/admin/dead-letters.js";
import { count } from "./support/exactly-once.js";
import { produce, readTopicUntil, waitFor } from "./support/kafka.js";
import { useFaultBed } from "./support/fault-bed.js";
import { testEnv } from "./support/worker.js";
import { loadConfig } from "../src/config/config.js";
import { startWorker } from "../src/worker.js";

const bed = useFaultBed();

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/dead-letters.ts", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

describe("dead-letter redrive", () => {
  it("lists by reason, sends the chosen ones back once, and the worker applies them", async () => {
    const s = await bed.scenario({ partitions: 1 });
    const yen: ChurnEvent = { eventId: "yen-1", type: "purchase", customerId: "c-7", occurredAt: "2026-09-01T10:00:00Z", orderId: "y1", amount: 10000, currency: "JPY" };
    const eur: ChurnEvent = { eventId: "eur-1", type: "purchase", customerId: "c-7", occurredAt: "2026-09-02T10:00:00Z", orderId: "e1", amount: 20, currency: "EUR" };
    await produce(bed.kafka, [
      { topic: s.topics.purchases, key: "c-7", value: JSON.stringify(yen) },
      { topic: s.topics.purchases, key: "c-7", value: JSON.stringify(eur) },
      { topic: s.topics.purchases, key: "c-8", value: "{broken" },
    ]);
    let worker = await s.startWorker();
    try {
      await waitFor("both rejects stored", async () => (await count(s.db, "select count(*) from dead_letter")) === 2, 30_000);
      expect((await summariseDeadLetters(s.db)).map((r) => [r.code, r.count]).sort()).toEqual([["not_json", 1], ["unknown_currency", 1]]);
    } finally {
      await worker.stop();
    }

    // The operator adds the missing rate and restarts the worker, then redrives that reason only.
    const env = { ...testEnv(s.opts), CURRENCY_RATES: "USD=0.9,JPY=0.0062" };
    worker = await startWorker(loadConfig(env), { http: false, schedules: false });
    try {
      const missing = await cli(["redrive"], env);
      expect(missing.code).toBe(2);
      expect(missing.out).toMatch(/needs a selection/);
      const first = await cli(["redrive", "--code", "unknown_currency"], env);
      expect(first.code, first.out).toBe(0);
      expect(first.out).toMatch(/redriven 1 dead letter/);
      const second = await cli(["redrive", "--code", "unknown_currency"], env);
      expect(second.out).toMatch(/redriven 0 dead letter/);

      // The message on the source topic is the original, byte for byte, marked as a redrive.
      const onTopic = await readTopicUntil(bed.kafka, s.topics.purchases, (m) => m.some((x) => x.headers[REDRIVE_HEADER]), "the redriven message");
      const redriven = onTopic.find((m) => m.headers[REDRIVE_HEADER])!;
      expect(redriven.value!.toString()).toBe(JSON.stringify(yen));
      expect(redriven.key).toBe("c-7");
      // Applied this time, converted with the new rate; nothing new was dead-lettered.
      await waitFor("the redriven purchase applied", async () => (await count(s.db, "select count(*) from raw_event where event_id = 'yen-1'")) === 1, 30_000);
      expect(await count(s.db, "select (payload->>'amount')::float8 from raw_event where event_id = 'yen-1'")).toBe(62);
      expect(await count(s.db, "select count(*) from dead_letter")).toBe(2);
      const [row] = await listDeadLetters(s.db, { code: "unknown_currency" });
      expect(row!.redrivenAt).not.toBeNull();
    } finally {
      await worker.stop();
    }
  });
});
