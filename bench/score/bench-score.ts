/**
 * `npm run bench:score`: rescoring of N stored customers end to end (read states from Postgres,
 * score, write latest scores and history, publish changed risk-score events to Kafka, mark them
 * published) against model-only scoring of the same states in memory, measured in the same run.
 *
 *   CUSTOMERS=100000 MODEL_DIR=./models npm run bench:score
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { applyEvent, emptyState, type CustomerState } from "../../src/features/index.js";
import { simulate } from "../../src/simulate/index.js";
import { startEmbeddedPostgres } from "../../src/store/embedded.js";
import { openDb } from "../../src/store/db.js";
import { migrate } from "../../src/store/migrate.js";
import { loadServingModel } from "../../src/model/load.js";
import { scoreState } from "../../src/scoring/scorer.js";
import { rescore } from "../../src/scoring/rescore.js";
import { startRiskPublisher } from "../../src/publish/publisher.js";
import { loadSegments } from "../../src/outreach/segments.js";
import { createLogger } from "../../src/log.js";
import { startLocalBroker } from "../../scripts/kafka-broker/broker.js";
import { freePort } from "../../test/support/servers.js";
import { DAY_MS as DAY } from "../../src/lib/time.js";

const CUSTOMERS = Number(process.env.CUSTOMERS ?? 100_000);
const MODEL_DIR = process.env.MODEL_DIR ?? "./models";
const NOW = Date.parse("2026-11-01T00:00:00Z");

/** Realistic states: 5,000 simulated histories, each cloned under new ids up to CUSTOMERS. */
function buildStates(): CustomerState[] {
  const { events } = simulate({ seed: 9, customers: 5000, now: new Date(NOW), days: 540 });
  const byCustomer = new Map<string, CustomerState>();
  for (const e of events) byCustomer.set(e.customerId, applyEvent(byCustomer.get(e.customerId) ?? emptyState(e.customerId), e));
  const templates = [...byCustomer.values()].filter((s) => s.cancelledAt === null);
  return Array.from({ length: CUSTOMERS }, (_, i) => ({ ...templates[i % templates.length]!, customerId: `b-${String(i).padStart(7, "0")}` }));
}

const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000)).toLocaleString("en")} customers/s`;

async function main() {
  const model = await loadServingModel(MODEL_DIR);
  console.log(`model ${model.artifact.modelVersion}: ${(model.artifact.forest.baseModel as { estimators: unknown[] }).estimators.length} trees`);
  let t = performance.now();
  const states = buildStates();
  console.log(`built ${states.length.toLocaleString("en")} customer states in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Reference: model-only scoring (features, forest, calibration, reasons) in memory.
  t = performance.now();
  let sink = 0;
  for (const s of states) sink += scoreState(model, s, NOW).score;
  const modelMs = performance.now() - t;
  console.log(`(ref) model-only scoring: ${rate(states.length, modelMs)} (${(modelMs / 1000).toFixed(2)} s, mean score ${(sink / states.length).toFixed(3)})`);

  const dir = await mkdtemp(path.join(os.tmpdir(), "churnwatch-bench-score-"));
  await chmod(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dir: path.join(dir, "pg"), port: await freePort() });
  const broker = await startLocalBroker({ topics: [{ name: "churn.risk-scores", partitions: 6 }] });
  const db = openDb(pg.url);
  try {
    await migrate(db.pool);
    for (let i = 0; i < states.length; i += 5000) {
      const rows = states.slice(i, i + 5000).map((s) => ({ i: s.customerId, s, l: new Date(s.lastEventAt ?? NOW).toISOString(), n: s.eventCount }));
      await db.pool.query(
        `insert into customer_state (customer_id, state, last_event_at, event_count)
         select x.i, x.s, x.l, x.n from json_to_recordset($1::json) as x(i text, s json, l timestamptz, n int)`,
        [JSON.stringify(rows)],
      );
    }
    const kafka = new Kafka({ clientId: "bench-score", brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const publisher = await startRiskPublisher(kafka, "churn.risk-scores");
    const deps = {
      pool: db.pool, model: () => model, segments: await loadSegments(), publisher,
      publishRule: { minDelta: 0.05 }, includePii: false, alerts: null, logger: createLogger("warn"),
    };
    // Run 1: nobody has a score yet, so every customer is written, historised and published.
    t = performance.now();
    const first = await rescore(deps, { asOf: new Date(NOW) });
    const firstMs = performance.now() - t;
    console.log(`(e2e) first rescoring:  ${rate(first.scored, firstMs)} (${(firstMs / 1000).toFixed(1)} s; ${first.published.toLocaleString("en")} events published)`);
    // Run 2: two weeks of silence later; only customers whose score moved are published.
    t = performance.now();
    const second = await rescore(deps, { asOf: new Date(NOW + 14 * DAY) });
    const secondMs = performance.now() - t;
    console.log(`(e2e) hourly-style rescoring two weeks on: ${rate(second.scored, secondMs)} (${(secondMs / 1000).toFixed(1)} s; ${second.published.toLocaleString("en")} changed events published)`);
    await publisher.stop();
    const worst = Math.min(first.scored / (firstMs / 1000), second.scored / (secondMs / 1000));
    console.log(`ratio end-to-end / model-only: ${(Math.min(firstMs, secondMs) > 0 ? (modelMs / Math.max(firstMs, secondMs)) : 0).toFixed(2)}x`);
    console.log(`target: >= 5,000 customers/s end to end: ${worst >= 5000 ? "met" : "NOT met"} (slower run ${Math.round(worst).toLocaleString("en")}/s)`);
  } finally {
    await db.close();
    await broker.stop();
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
