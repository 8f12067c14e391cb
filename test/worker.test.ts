/**
 * The whole worker with real parts: local broker, embedded Postgres, an in-process SMTP server.
 * Ingest -> scoring -> risk-score events on Kafka; scheduled rescoring as customers go silent;
 * model refusal and hot reload; two workers in one group sending one digest.
 */
import { copyFile, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kafka } from "kafkajs";
import { startWorker, type Worker } from "../src/worker.js";
import { simulate } from "../src/simulate/index.js";
import { topicFor } from "../src/events/topics.js";
import { riskScoreEvent } from "../src/publish/risk-event.js";
import { lifecycleEvent } from "../src/publish/lifecycle-event.js";
import { startTestBroker, startTestPostgres, freePort, type TestPostgres } from "./support/servers.js";
import { eventMessages, produce, readTopicUntil, testKafka, waitFor } from "./support/kafka.js";
import { testConfig, testTopics } from "./support/worker.js";
import { installModel, sharedTestArtifact } from "./support/model.js";
import { TestSmtp } from "./support/smtp.js";
import type { LocalBroker } from "../scripts/kafka-broker/broker.js";
import { DAY_MS as DAY } from "../src/lib/time.js";

// The simulated history ends today, so scores computed "now" (after each batch) and the
// scheduled rescoring's clock agree; a rescoring never moves a score back in time.
const NOW = Math.floor(Date.now() / DAY) * DAY;

let pgServer: TestPostgres;
let broker: LocalBroker;
let kafka: Kafka;
let smtp: TestSmtp;
let modelDir: string;
let workers: Worker[] = [];
const topics = testTopics("w");
let config: ReturnType<typeof testConfig>;
const { events } = simulate({ seed: 31, customers: 80, now: new Date(NOW), days: 300 });
const customers = new Set(events.map((e) => e.customerId));
/** Reasons that only say data is missing (scoring/reasons.ts marks them as indicators). */
const INDICATORS = /never answered a survey|answer on record|last survey answer/;

beforeAll(async () => {
  [pgServer, broker] = await Promise.all([startTestPostgres(), startTestBroker([])]);
  kafka = testKafka(broker.bootstrap);
  for (const t of [topics.purchases, topics.support, topics.riskScores]) await broker.createTopic(t, 3);
  await broker.createTopic(topics.dlq, 1);
  modelDir = await mkdtemp(path.join(os.tmpdir(), "churnwatch-models-"));
  await installModel(modelDir, await sharedTestArtifact(), "test-model-1");
  smtp = new TestSmtp(await freePort());
  await smtp.start();
  config = testConfig({
    databaseUrl: pgServer.url, bootstrap: broker.bootstrap, topics, groupId: "workers", modelDir,
    extra: { SMTP_URL: smtp.url, MAIL_FROM: "Churnwatch <churnwatch@example.com>", RISK_SCORE_MIN_DELTA: "0.05" },
  });
  workers.push(await startWorker(config, { http: false, schedules: false }));
});

afterAll(async () => {
  for (const w of workers) await w.stop();
  await smtp?.stop();
  await broker?.stop();
  await pgServer?.stop();
});

const pool = () => workers[0]!.db.pool;
async function one<T>(sql: string, params: unknown[] = []): Promise<T> {
  const { rows } = await pool().query(sql, params);
  return Object.values(rows[0] ?? {})[0] as T;
}

describe("worker end to end", () => {
  it("scores customers touched by ingest, tells CRMs the stage of lapsed and cancelled ones, all keyed by customer", async () => {
    await produce(kafka, eventMessages(events, (e) => topicFor(e, topics)));
    await waitFor("events stored", async () => Number(await one("select count(*) from raw_event")) === events.length);
    // Everyone is either scored (new, active) or has a lifecycle stage outside the model's population.
    await waitFor("every customer scored or staged", async () => {
      await workers[0]!.scoring.flush();
      return Number(await one("select (select count(*) from customer_score) + (select count(*) from unscored_customer)")) === customers.size;
    });
    const scored = Number(await one("select count(*) from customer_score"));
    const unscored = Number(await one("select count(*) from unscored_customer"));
    expect(scored).toBeGreaterThan(0);
    expect(unscored).toBeGreaterThan(0);
    expect(Number(await one("select count(*) from customer_score s join unscored_customer u using (customer_id)"))).toBe(0);
    await workers[0]!.relay.drain();
    // Prospects (no purchase yet) have no score to publish nor one to clear: CRMs hear of them when they buy.
    const prospects = Number(await one("select count(*) from unscored_customer where stage = 'prospect'"));
    const told = customers.size - prospects;
    // A customer whose events span several batches may be published more than once.
    const published = await readTopicUntil(kafka, topics.riskScores, (read) => new Set(read.map((m) => m.key)).size >= told, `${told} customers`);
    const latest = new Map<string, { kind: string; stage?: string }>();
    for (const m of published) {
      const body = JSON.parse(m.value!.toString()) as Record<string, unknown>;
      if (m.headers["x-churnwatch-schema"] === "lifecycle/v1") {
        const e = lifecycleEvent.parse(body);
        expect(m.key).toBe(e.customerId);
        latest.set(e.customerId, { kind: "lifecycle", stage: e.stage });
        continue;
      }
      expect(m.headers["x-churnwatch-schema"]).toBe("risk-score/v1");
      const e = riskScoreEvent.parse(body);
      expect(m.key).toBe(e.customerId);
      expect(e.email).toBeUndefined();
      // Reasons only for at-risk scores, and never a missing-data indicator alone.
      if (e.riskLevel === "low") expect(e.reasons).toEqual([]);
      expect(e.reasons.length === 1 && INDICATORS.test(e.reasons[0]!.text)).toBe(false);
      latest.set(e.customerId, { kind: "risk" });
    }
    expect(latest.size).toBe(told);
    const { rows: stages } = await pool().query<{ customer_id: string; stage: string }>("select customer_id, stage from unscored_customer where stage <> 'prospect'");
    for (const r of stages) expect(latest.get(r.customer_id)).toEqual({ kind: "lifecycle", stage: r.stage });
    const levels = await pool().query("select risk_level, count(*)::int as n from customer_score group by 1");
    expect(levels.rows.length).toBeGreaterThan(1);
  });

  it("refuses a model that does not fit the features and keeps serving, then hot-reloads a good one", async () => {
    const w = workers[0]!;
    const good = await sharedTestArtifact();
    await installModel(modelDir, { ...good, modelVersion: "bad-1", featureNames: good.featureNames.map((n) => (n === "sla_breaches" ? "sla_misses" : n)) }, "bad-1");
    expect(await w.models.refresh()).toBe(false);
    expect(w.models.current().artifact.modelVersion).toBe("test-model-1");
    // A forest without training cover (as ml-random-forest writes it) would fail every reason: refused at load.
    const stripped = JSON.parse(JSON.stringify(good, (k, v) => (k === "cover" || k === "classDistribution" ? undefined : v)));
    await installModel(modelDir, { ...stripped, modelVersion: "no-cover-1" }, "no-cover-1");
    expect(await w.models.refresh()).toBe(false);
    expect(w.models.current().artifact.modelVersion).toBe("test-model-1");
    expect(await w.metrics.registry.getSingleMetricAsString("churnwatch_model_reload_failures_total")).toMatch(/ 2$/m);

    await installModel(modelDir, { ...good, modelVersion: "test-model-2", thresholds: { medium: 0.2, high: 0.5 } }, "test-model-2");
    await waitFor("model reloaded", async () => w.models.current().artifact.modelVersion === "test-model-2", 10_000);
    // The reload triggers one cluster-wide rescoring under the new model.
    await waitFor("everyone rescored with the new model", async () =>
      Number(await one("select count(*) from customer_score where model_version <> 'test-model-2'")) === 0, 20_000);
    // Ingest went on throughout: a new event is stored and its customer scored by the new model.
    const late = { eventId: "late-1", type: "purchase", customerId: "c-late", occurredAt: new Date(NOW).toISOString(), orderId: "L1", amount: 40, currency: "EUR" };
    await produce(kafka, [{ topic: topics.purchases, key: "c-late", value: JSON.stringify(late) }]);
    await waitFor("late customer scored", async () => (await one("select model_version from customer_score where customer_id = 'c-late'")) === "test-model-2");
  });

  it("raises risk for customers who go silent, under the scheduled full rescoring", async () => {
    const start = Date.now();
    await workers[0]!.scheduler.runNow("rescore-all", "test:now", new Date(start));
    const before = Number(await one("select avg(score) from customer_score"));
    const highBefore = Number(await one("select count(*) from customer_score where risk_level = 'high'"));
    const sentBefore = Number(await one("select count(*) from customer_score where published_at is not null"));
    const outcome = await workers[0]!.scheduler.runNow("rescore-all", "test:+90d", new Date(start + 90 * DAY)) as { scored: number; published: number };
    expect(outcome.scored).toBeGreaterThan(0);
    const after = Number(await one("select avg(score) from customer_score"));
    expect(after).toBeGreaterThan(before + 0.1);
    expect(Number(await one("select count(*) from customer_score where risk_level = 'high'"))).toBeGreaterThan(highBefore);
    expect(outcome.published).toBeGreaterThan(0);
    expect(sentBefore).toBeGreaterThan(0);
    expect(Number(await one("select count(*) from score_history"))).toBeGreaterThan(Number(await one("select count(*) from customer_score")));
    // The same slot on another call is not run twice (once per cluster).
    expect(await workers[0]!.scheduler.runNow("rescore-all", "test:+90d", new Date(start + 90 * DAY))).toBeNull();
  });

  it("grades the scores of one horizon ago with the scheduled live-quality job and exports the result", async () => {
    // The rescoring above stored scores at about now; one horizon later they are graded. The
    // simulated history ends today, so every customer counts as churned: one class, no AUC.
    const at = new Date(Date.now() + 90 * DAY + 60_000);
    const outcome = await workers[0]!.scheduler.runNow("live-quality", "test:live", at) as {
      evaluations: { modelVersion: string; customers: number; churned: number; rocAuc: number | null }[]; drift: unknown;
    };
    expect(outcome.evaluations[0]).toMatchObject({ modelVersion: "test-model-2", rocAuc: null });
    expect(outcome.evaluations[0]!.customers).toBeGreaterThan(0);
    expect(outcome.evaluations[0]!.churned).toBe(outcome.evaluations[0]!.customers);
    expect(outcome.drift).toBe("no profile in the model artifact"); // the test fixture is trained without fit.ts
    expect(Number(await one("select count(*) from model_live_quality"))).toBeGreaterThan(0);
    const text = await workers[0]!.metrics.registry.metrics();
    expect(text).toMatch(/churnwatch_model_live_customers\{model_version="test-model-2",outcome="churned"\} [1-9]/);
  });

  it("sends one digest per segment when two workers in one group run the job", async () => {
    workers.push(await startWorker(config, { http: false, schedules: false }));
    const at = new Date(Date.now() + 91 * DAY);
    // Both workers fire the same scheduled slot at once, as their cron timers would.
    const slot = at.toISOString();
    const [a, b] = await Promise.all(workers.map((w) => w.scheduler.runNow("digest", slot, at)));
    expect([a, b].filter((r) => r !== null)).toHaveLength(1);
    const segments = Number(await one("select count(*) from outbox_message where kind = 'digest'"));
    expect(segments).toBeGreaterThan(0);
    // Alerts for customers crossing into high risk go out through the same outbox.
    await waitFor("outbox delivered", async () => Number(await one("select count(*) from outbox_message where status <> 'sent'")) === 0
      && smtp.received.length === Number(await one("select count(*) from outbox_message")), 10_000).catch(async (err) => {
      throw new Error(`${err}: ${JSON.stringify((await pool().query("select status, attempts, last_error from outbox_message")).rows)}`);
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.received).toHaveLength(Number(await one("select count(*) from outbox_message")));
    const ids = smtp.received.map((m) => m.mail.messageId);
    expect(new Set(ids).size).toBe(ids.length);
    const digestIds = (await pool().query<{ id: string }>("select id from outbox_message where kind = 'digest'")).rows.map((r) => r.id);
    expect(smtp.received.filter((m) => digestIds.some((id) => m.mail.messageId?.includes(id)))).toHaveLength(segments);
    const atRisk = smtp.received.find((m) => m.to.includes("retention@example.com"));
    expect(atRisk, "the at-risk digest").toBeDefined();
    expect(atRisk!.mail.subject).toMatch(/At risk/);
    expect(atRisk!.mail.html).toContain("Customer retention rate");
    expect(atRisk!.mail.html).toContain("Net Promoter Score");
    expect(atRisk!.mail.text).toMatch(/no purchase for \d+ days; usually every \d+/i);
    const csv = atRisk!.mail.attachments.find((x) => x.filename?.endsWith(".csv"));
    expect(csv).toBeDefined();
    const rows = csv!.content.toString("utf8").trim().split(/\r?\n/);
    expect(rows.length - 1).toBe(Number(await one("select count(*) from customer_score where risk_level = 'high'")));
  });
});
