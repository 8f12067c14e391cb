/**
 * `npm run bench:score`: rescoring of N stored customers end to end (read states from Postgres,
 * assess and score, explain the published at-risk scores with TreeSHAP, write scores, history,
 * lifecycle stages and outbox events per page, with the relay sending the events to Kafka at the
 * same time, as in the worker) against the model-only reference measured in the same run: the same
 * states scored in memory on one thread, with reasons for the same customers, no database, no Kafka.
 *
 *   CUSTOMERS=100000 MODEL_DIR=./models npm run bench:score
 *
 * Prints customers/s for a first rescoring (nobody has a score: everyone is written, historised
 * and published), an hourly run (one hour on: little moves) and a catch-up run (two weeks on), the
 * reference, the ratio, peak RSS and Postgres's own CPU seconds per run (from /proc), and a last
 * line `RESULT {json}` for scripts. THREADS (default 2) scoring threads; 0 computes pages on the
 * main thread.
 */
import { readdirSync, readFileSync } from "node:fs";
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
import { assess, type ScoredAssessment } from "../../src/scoring/scorer.js";
import { inlineExplainer } from "../../src/scoring/explain.js";
import { inlineComputer, startScoringThreads } from "../../src/scoring/threads.js";
import { rescore, type RescoreDeps, type RescoreResult } from "../../src/scoring/rescore.js";
import { startEventSender } from "../../src/publish/publisher.js";
import { startRelay } from "../../src/publish/relay.js";
import { loadSegments } from "../../src/outreach/segments.js";
import { createLogger } from "../../src/log.js";
import { startLocalBroker } from "../../scripts/kafka-broker/broker.js";
import { freePort } from "../../test/support/servers.js";
import { DAY_MS as DAY, HOUR_MS as HOUR } from "../../src/lib/time.js";

const CUSTOMERS = Number(process.env.CUSTOMERS ?? 100_000);
const MODEL_DIR = process.env.MODEL_DIR ?? "./models";
const THREADS = Number(process.env.THREADS ?? 2);
/** Pages in flight at once (default: threads + 1). */
const CONCURRENCY = Number(process.env.CONCURRENCY ?? THREADS + 1);
const NOW = Date.parse("2026-11-01T00:00:00Z");
const TARGET = 25_000;

/** Realistic states: 5,000 simulated histories (or fewer for small runs), cloned under new ids up to CUSTOMERS. */
function buildStates(): CustomerState[] {
  const { events } = simulate({ seed: 9, customers: Math.min(5000, CUSTOMERS), now: new Date(NOW), days: 540 });
  const byCustomer = new Map<string, CustomerState>();
  for (const e of events) byCustomer.set(e.customerId, applyEvent(byCustomer.get(e.customerId) ?? emptyState(e.customerId), e));
  const templates = [...byCustomer.values()];
  return Array.from({ length: CUSTOMERS }, (_, i) => ({ ...templates[i % templates.length]!, customerId: `b-${String(i).padStart(7, "0")}` }));
}

const fmt = (n: number) => Math.round(n).toLocaleString("en");
const perSecond = (n: number, ms: number) => n / (ms / 1000);

/** CPU seconds used so far by a PostgreSQL server: the postmaster (with its reaped children) and its live children. */
function postgresCpuSeconds(dataDir: string): number {
  const postmaster = Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const ticks = 100; // USER_HZ, 100 on every Linux Node supports
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    // Fields after the parenthesised command name, which may itself contain spaces.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const pid = Number(entry);
    const ppid = Number(f[1]);
    if (pid !== postmaster && ppid !== postmaster) continue;
    total += Number(f[11]) + Number(f[12]);
    if (pid === postmaster) total += Number(f[13]) + Number(f[14]);
  }
  return total / ticks;
}

interface Run {
  name: string;
  perSecond: number;
  seconds: number;
  postgresCpuSeconds: number;
  nodeCpuSeconds: number;
  result: RescoreResult;
  relayDrainSeconds: number;
}

async function main() {
  const model = await loadServingModel(MODEL_DIR);
  const trees = model.forest.trees.length;
  console.log(`model ${model.artifact.modelVersion}: ${trees} trees, max depth ${model.explainer.maxDepth}; ${os.cpus().length} CPUs, node ${process.version}, ${THREADS} scoring threads`);
  let t = performance.now();
  const states = buildStates();
  console.log(`built ${fmt(states.length)} customer states in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Reference: the same model work in memory on one thread. Every customer assessed (lifecycle,
  // features, forest, calibration, level); reasons for the at-risk ones, which a first rescoring
  // publishes and therefore explains.
  const ctx = { model, bands: model.artifact.thresholds };
  const explainer = inlineExplainer();
  t = performance.now();
  let atRisk: ScoredAssessment[] = [];
  for (const s of states) {
    const a = assess(s, NOW, ctx);
    if (a.kind === "scored" && a.riskLevel !== "low") atRisk.push(a);
  }
  const assessMs = performance.now() - t;
  for (let i = 0; i < atRisk.length; i += 2000) await explainer.reasons(model, atRisk.slice(i, i + 2000));
  const refMs = performance.now() - t;
  const explainedRef = atRisk.length;
  atRisk = [];
  const refRate = perSecond(states.length, refMs);
  console.log(`(ref) model only, one thread: ${fmt(refRate)} customers/s (${(refMs / 1000).toFixed(1)} s: assess ${(assessMs / 1000).toFixed(1)} s ` +
    `= ${fmt(perSecond(states.length, assessMs))}/s, TreeSHAP reasons for ${fmt(explainedRef)} at-risk ${((refMs - assessMs) / 1000).toFixed(1)} s ` +
    `= ${fmt(perSecond(explainedRef, refMs - assessMs))}/s)`);

  const dir = await mkdtemp(path.join(os.tmpdir(), "churnwatch-bench-score-"));
  await chmod(dir, 0o755);
  const dataDir = path.join(dir, "pg");
  const pg = await startEmbeddedPostgres({ dir: dataDir, port: await freePort() });
  const broker = await startLocalBroker({ topics: [{ name: "churn.risk-scores", partitions: 6 }] });
  const db = openDb(pg.url);
  const threads = startScoringThreads({ threads: Math.max(1, THREADS) });
  const runs: Run[] = [];
  try {
    await migrate(db.pool);
    for (let i = 0; i < states.length; i += 5000) {
      const rows = states.slice(i, i + 5000).map((s) => ({ i: s.customerId, s, l: new Date(s.lastEventAt ?? NOW).toISOString(), n: Math.max(1, s.eventCount) }));
      await db.pool.query(
        `insert into customer_state (customer_id, state, last_event_at, event_count)
         select x.i, x.s, x.l, x.n from json_to_recordset($1::json) as x(i text, s json, l timestamptz, n int)`,
        [JSON.stringify(rows)],
      );
    }
    await db.pool.query("vacuum analyze customer_state");
    const kafka = new Kafka({ clientId: "bench-score", brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const sender = await startEventSender(kafka, "churn.risk-scores");
    const logger = createLogger("warn");
    const relay = startRelay({ pool: db.pool, sender, logger, idleMs: 50 });
    const deps: RescoreDeps = {
      pool: db.pool, model: () => model, segments: await loadSegments(), publish: true, publishRule: { minDelta: 0.05 },
      includePii: false, alerts: null, computer: THREADS > 0 ? threads : inlineComputer(explainer), onEvents: () => relay.wake(), logger,
    };
    const measure = async (name: string, asOf: number) => {
      const pg0 = postgresCpuSeconds(dataDir);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const result = await rescore(deps, { asOf: new Date(asOf), concurrency: CONCURRENCY });
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const run: Run = {
        name, perSecond: perSecond(states.length, ms), seconds: ms / 1000, postgresCpuSeconds: postgresCpuSeconds(dataDir) - pg0,
        nodeCpuSeconds: (cpu.user + cpu.system) / 1e6, result, relayDrainSeconds: 0,
      };
      const d0 = performance.now();
      await relay.drain(600_000);
      run.relayDrainSeconds = (performance.now() - d0) / 1000;
      runs.push(run);
      const r = result;
      console.log(`(e2e) ${name.padEnd(28)} ${fmt(run.perSecond)} customers/s (${run.seconds.toFixed(1)} s; scored ${fmt(r.scored)}, ` +
        `outside the population ${fmt(r.unscored)}, history ${fmt(r.historyRows)}, risk events ${fmt(r.published)}, lifecycle events ${fmt(r.lifecycleEvents)}, ` +
        `explained ${fmt(r.explained)}; CPU: node ${run.nodeCpuSeconds.toFixed(1)} s, postgres ${run.postgresCpuSeconds.toFixed(1)} s; ` +
        `relay finished ${run.relayDrainSeconds.toFixed(1)} s later)`);
    };
    // A first rescoring: nobody has a score yet, so everyone is written, historised and published.
    await measure("first rescoring:", NOW);
    // The hourly job an hour later: scores move a little, few are news.
    await measure("hourly run (+1 h):", NOW + HOUR);
    // Catching up after two weeks of silence: many scores are news.
    await measure("catch-up run (+14 days):", NOW + 14 * DAY);
    await relay.stop();
    await sender.stop();
  } finally {
    await threads.close();
    await db.close();
    await broker.stop();
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const first = runs[0]!;
  const hourly = runs[1]!;
  const worst = Math.min(first.perSecond, hourly.perSecond);
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(`ratio end-to-end / model-only reference: first ${(first.perSecond / refRate).toFixed(2)}x, hourly ${(hourly.perSecond / refRate).toFixed(2)}x, catch-up ${(runs[2]!.perSecond / refRate).toFixed(2)}x`);
  console.log(`peak RSS ${fmt(rssMiB)} MiB (this process, scoring threads included)`);
  console.log(`target >= ${fmt(TARGET)} customers/s end to end (first and hourly): ${worst >= TARGET ? "met" : "NOT met"} (slower run ${fmt(worst)}/s)`);
  console.log(`RESULT ${JSON.stringify({
    customers: states.length, trees, referencePerSecond: Math.round(refRate), peakRssMiB: Math.round(rssMiB),
    runs: runs.map((r) => ({ name: r.name.replace(/:$/, ""), perSecond: Math.round(r.perSecond), seconds: r.seconds, ratio: r.perSecond / refRate,
      postgresCpuSeconds: r.postgresCpuSeconds, nodeCpuSeconds: r.nodeCpuSeconds, relayDrainSeconds: r.relayDrainSeconds,
      scored: r.result.scored, published: r.result.published, explained: r.result.explained, lifecycleEvents: r.result.lifecycleEvents })),
  })}`);
}

await main();
