/**
 * Live model quality against a real PostgreSQL, on a history whose answer is worked out by hand:
 * ten customers in the population at T with known scores and known outcomes, customers who must
 * not count (lapsed, cancelled, scored only after T, an older model's scores), one customer a team
 * reached; then the daily job end to end: stored rows, drift against a known training profile,
 * the saved KPI, the exported metrics and the summary a digest footer shows.
 */
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChurnEvent } from "../src/events/schema.js";
import { writeBatch } from "../src/ingest/write/batch-writer.js";
import { DAY_MS as DAY } from "../src/lib/time.js";
import { createMetrics } from "../src/metrics/metrics.js";
import { ARTIFACT_FORMAT, type ModelArtifact } from "../src/model/artifact.js";
import type { ServingModel } from "../src/model/load.js";
import { DEFAULT_LIFECYCLE_RULE } from "../src/features/lifecycle.js";
import { migrate } from "../src/store/migrate.js";
import {
  describeLiveQuality, evaluateLive, latestLiveQuality, psi, readEvaluations, runLiveQuality,
} from "../src/quality/index.js";
import { startTestPostgres, type TestPostgres } from "./support/servers.js";
import { installModel, sharedTestArtifact } from "./support/model.js";
import { main as evaluateMain } from "../src/cli/evaluate.js";
import { backtestNotes, backtestScores } from "../src/quality/backtest.js";
import { prepareServingModel } from "../src/model/load.js";
import { assess } from "../src/scoring/scorer.js";
import { isScored, lifecycleAt } from "../src/features/lifecycle.js";
import { stateAsOf } from "../src/features/index.js";
import { simulate } from "../src/simulate/index.js";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { vi } from "vitest";

let server: TestPostgres;
let pool: pg.Pool;

const T = Date.parse("2026-06-01T00:00:00Z");
const AT = T + 90 * DAY; // the job runs one horizon after the graded scores
const iso = (ms: number) => new Date(ms).toISOString();
let seq = 0;
let offset = 0;

async function ingest(events: ChurnEvent[]): Promise<void> {
  await writeBatch(pool, { groupId: "g", topic: "t", partition: 0 }, { events: events.map((event) => ({ offset: offset++, event })), rejects: [], nextOffset: offset });
}
const purchase = (c: string, at: number): ChurnEvent => ({
  eventId: `e${++seq}`, type: "purchase", customerId: c, occurredAt: iso(at), orderId: `o${seq}`, amount: 25, currency: "EUR",
});
const cancellation = (c: string, at: number): ChurnEvent => ({ eventId: `e${++seq}`, type: "cancellation", customerId: c, occurredAt: iso(at) });
const contacted = (c: string, at: number): ChurnEvent => ({
  eventId: `e${++seq}`, type: "retention_outcome", customerId: c, occurredAt: iso(at), outcome: "contacted", campaign: "q2", channel: "email",
});
async function history(c: string, score: number, level: string, at: number, model = "m1"): Promise<void> {
  await pool.query("insert into score_history (customer_id, score, risk_level, model_version, scored_at) values ($1, $2, $3, $4, $5)", [c, score, level, model, new Date(at)]);
}

// Scores in force at T and outcomes in (T, T + 90 d]: worked out in the comments of the test below.
const COHORT: [id: string, score: number, level: string, churns: boolean][] = [
  ["c01", 0.9, "high", true],
  ["c02", 0.8, "high", true],
  ["c03", 0.7, "high", false],
  ["c04", 0.5, "medium", true],
  ["c05", 0.4, "medium", false],
  ["c06", 0.35, "medium", false],
  ["c07", 0.2, "low", true],
  ["c08", 0.1, "low", false],
  ["c09", 0.1, "low", false],
  ["c10", 0.05, "low", false],
];

function artifact(): ModelArtifact {
  const blank = { rows: 1, positives: 1, rocAuc: 0.8, prAuc: 0.5, brier: 0.2, liftTop10: 2, precisionTop10: 0.6 };
  return {
    format: ARTIFACT_FORMAT, modelVersion: "m1", createdAt: iso(T - 30 * DAY), description: "hand-made", starter: false,
    featureSetVersion: "x", featureNames: ["purchase_count"], churnDefinition: { horizonDays: 90, text: "t" },
    trainingWindow: { trainCutoffs: [], validationCutoffs: [] },
    metrics: {
      validation: blank, baselines: {},
      test: {
        cutoffs: [], rows: 1000, customers: 400, positives: 300,
        model: { ...blank, rocAuc: 0.9, ece: 0.03, intervals: { rocAuc: [0.86, 0.93] } },
        baselines: {}, bands: [{ level: "high", from: 0.6, to: 1, rows: 100, share: 0.1, churned: 80, churnRate: 0.8 }],
        bootstrap: { replicates: 100, seed: 1, unit: "customer" }, doubts: [],
      },
    },
    calibration: { method: "none" },
    thresholds: { medium: 0.3, high: 0.6 },
    // purchase_count on the training rows: half had at most 1 purchase, a quarter 2, a quarter more;
    // refund_count was always 0 (one bin).
    featureProfile: {
      source: "training period rows", rows: 1000,
      features: [
        { name: "purchase_count", edges: [1, 2], shares: [0.5, 0.25, 0.25] },
        { name: "refund_count", edges: [], shares: [1] },
      ],
    },
    forest: { name: "RFClassifier", baseModel: {} },
  };
}
const model = { artifact: artifact() } as unknown as ServingModel;

beforeAll(async () => {
  server = await startTestPostgres();
  pool = new pg.Pool({ connectionString: server.url, max: 4 });
  pool.on("error", () => undefined);
  await migrate(pool);

  for (const [id, score, level, churns] of COHORT) {
    // In the population at T: bought 100 and 30 days before it.
    const events = [purchase(id, T - 100 * DAY), purchase(id, T - 30 * DAY)];
    if (!churns) events.push(purchase(id, T + 40 * DAY));
    await ingest(events);
    await history(id, score, level, T - 2 * DAY);
  }
  // c03's score moved up before T (the newer row is in force) and down after T (ignored).
  await history("c03", 0.2, "low", T - 20 * DAY);
  await history("c03", 0.1, "low", T + 3 * DAY);
  // c07 bought after T but cancelled later in the window: churned by the label.
  await ingest([purchase("c07", T + 10 * DAY), cancellation("c07", T + 50 * DAY)]);
  // c02 was reached by a team after T (and churned anyway).
  await ingest([contacted("c02", T + 5 * DAY)]);

  // Not in the population at T: lapsed (last purchase 200 days before), cancelled after the last purchase.
  await ingest([purchase("lapsed", T - 200 * DAY)]);
  await history("lapsed", 0.95, "high", T - 3 * DAY);
  await ingest([purchase("cancelled", T - 60 * DAY), cancellation("cancelled", T - 10 * DAY)]);
  await history("cancelled", 0.3, "medium", T - 3 * DAY);
  // Scored only after T: not a prediction at T.
  await ingest([purchase("late", T - 50 * DAY)]);
  await history("late", 0.6, "high", T + DAY);
  // An older model's scores in force at T for two customers (stayed; churned).
  await ingest([purchase("old-a", T - 20 * DAY), purchase("old-a", T + 20 * DAY), purchase("old-b", T - 20 * DAY)]);
  await history("old-a", 0.3, "medium", T - 5 * DAY, "m0");
  await history("old-b", 0.6, "high", T - 5 * DAY, "m0");

  // Today's scored customers (for drift): the six who stayed, each with 3 purchases now.
  for (const [id, score, level, churns] of COHORT) {
    if (churns) continue;
    await pool.query(
      `insert into customer_score (customer_id, score, risk_level, reasons, value, value_at_risk, segments, model_version, scored_at)
       values ($1, $2, $3, '[]', 100, 10, '{}', 'm1', $4)`,
      [id, score, level, new Date(AT)],
    );
  }
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await server?.stop();
});

describe("live evaluation of the scores in force at T", () => {
  it("grades the population's scores against the model's own label (hand-computed numbers)", async () => {
    const [m1, m0, ...rest] = await evaluateLive(pool, new Date(T), {
      horizonDays: 90, rule: DEFAULT_LIFECYCLE_RULE, bands: { medium: 0.3, high: 0.6 }, evaluatedAt: new Date(AT),
    });
    expect(rest).toEqual([]);
    expect(m1).toMatchObject({ modelVersion: "m1", rows: 10, positives: 4, treated: 1, source: "score_history", asOf: iso(T), horizonDays: 90 });
    // AUC: churners c01 (above all 6 stayers), c02 (6), c04 (above 5: not c03), c07 (above c08, c09, c10) = 20 of 4 x 6.
    expect(m1!.rocAuc).toBeCloseTo(20 / 24, 12);
    // Top 10% = one customer, c01, who churned.
    expect(m1!.precisionTop10).toBeCloseTo(1, 12);
    // ECE: |0.9-1| + |0.8-1| + 0.7 + |0.5-1| + 0.4 + 0.35 + |0.2-1| + (0.1+0.1) + 0.05 = 3.3, over 10 customers.
    expect(m1!.ece).toBeCloseTo(0.33, 12);
    expect(m1!.brier).toBeCloseTo(1.735 / 10, 12);
    expect(m1!.bands).toEqual([
      { level: "low", from: 0, to: 0.3, rows: 4, churned: 1, churnRate: 0.25, meanPredicted: expect.closeTo(0.1125, 12) },
      { level: "medium", from: 0.3, to: 0.6, rows: 3, churned: 1, churnRate: 1 / 3, meanPredicted: expect.closeTo(1.25 / 3, 12) },
      { level: "high", from: 0.6, to: 1, rows: 3, churned: 2, churnRate: 2 / 3, meanPredicted: expect.closeTo(0.8, 12) },
    ]);
    // Without c02 (reached after T): churners c01 6, c04 5, c07 3 = 14 of 3 x 6.
    expect(m1!.untreated).toMatchObject({ rows: 9, positives: 3 });
    expect(m1!.untreated.rocAuc).toBeCloseTo(14 / 18, 12);
    // Lapsed and cancelled customers had scores in force but were not in the population at T.
    expect(m1!.outsidePopulation).toBe(2);
    expect(m0).toMatchObject({ modelVersion: "m0", rows: 2, positives: 1, rocAuc: 1 });
  });

  it("gives the same answer page by page (pages split the customers anywhere)", async () => {
    const opts = { horizonDays: 90, rule: DEFAULT_LIFECYCLE_RULE, bands: { medium: 0.3, high: 0.6 }, evaluatedAt: new Date(AT) };
    const whole = await evaluateLive(pool, new Date(T), opts);
    for (const size of [1, 3, 7]) expect(await evaluateLive(pool, new Date(T), opts, size), `page size ${size}`).toEqual(whole);
  });
});

describe("the daily live-quality job", () => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const metrics = createMetrics(false);

  it("stores the evaluation, drift and saved KPI, warns, and exports metrics", async () => {
    const outcome = await runLiveQuality({ pool, model: () => model, psiThreshold: 0.2, savedPeriodDays: 30, logger, metrics }, new Date(AT));
    expect(outcome.asOf).toBe(iso(T));
    expect(outcome.evaluations[0]).toMatchObject({ modelVersion: "m1", customers: 10, churned: 4, rocAucLowerBound: 0.86 });
    // Drift: today's six customers all have 3 purchases (bin "> 2"): shares [0, 0, 1] against [0.5, 0.25, 0.25].
    const expectedPsi = (1e-4 - 0.5) * Math.log(1e-4 / 0.5) + (1e-4 - 0.25) * Math.log(1e-4 / 0.25) + (1 - 0.25) * Math.log(1 / 0.25);
    expect(psi([0.5, 0.25, 0.25], [0, 0, 1])).toBeCloseTo(expectedPsi, 12);
    expect(outcome.drift).toEqual({ customers: 6, drifted: ["purchase_count"], maxPsi: expect.closeTo(expectedPsi, 9) });
    expect(outcome.notes.join(" ")).toMatch(/only 4 churned and 6 stayed/);

    const stored = await readEvaluations(pool, new Date(AT - DAY));
    expect(stored.map((e) => [e.modelVersion, e.rows, e.positives])).toEqual([["m0", 2, 1], ["m1", 10, 4]]);
    expect(stored.find((e) => e.modelVersion === "m1")!.rocAuc).toBeCloseTo(20 / 24, 12);
    const latest = await latestLiveQuality(pool);
    expect(latest.evaluations[0]!.expected).toMatchObject({ rocAuc: 0.9, rocAucInterval: [0.86, 0.93] });
    expect(latest.drift).toMatchObject({ modelVersion: "m1", drifted: ["purchase_count"] });
    expect(latest.drift!.features.map((f) => f.feature)).toEqual(["purchase_count", "refund_count"]);
    expect(latest.drift!.features[1]!.psi).toBe(0);
    expect(latest.saved).toMatchObject({ treated: 0, horizonDays: 90 });

    // Warnings: the drifted feature; the live AUC 0.83 is below 0.86, but 4 churners are too few to say so.
    expect(lines.filter((l) => l.msg === "feature drift: today's scored customers differ from the model's training rows").map((l) => l.feature)).toEqual(["purchase_count"]);
    expect(lines.some((l) => String(l.msg).includes("too few customers"))).toBe(true);

    const text = await metrics.registry.metrics();
    expect(text).toContain('churnwatch_model_live_roc_auc{model_version="m1"} 0.8333333333333334');
    expect(text).toContain('churnwatch_model_test_roc_auc_lower{model_version="m1"} 0.86');
    expect(text).toContain('churnwatch_model_live_band_churn_ratio{model_version="m1",level="high"} 0.6666666666666666');
    expect(text).toContain('churnwatch_model_live_customers{model_version="m1",outcome="churned"} 4');
    expect(text).toContain('churnwatch_model_live_ece{model_version="m1"} 0.33');
    expect(text).toMatch(/churnwatch_feature_drift_psi\{feature="purchase_count"\} 7\.25/);
    expect(text).toContain('churnwatch_feature_drift_psi{feature="refund_count"} 0');
    expect(text).toContain("churnwatch_feature_drift_psi_threshold 0.2");
    // The older model has no artifact here: no bound for it, and no alert can compare.
    expect(text).not.toContain('churnwatch_model_test_roc_auc_lower{model_version="m0"}');
  });

  it("is idempotent for a retried slot, and summarises in plain sentences", async () => {
    await runLiveQuality({ pool, model: () => model, psiThreshold: 0.2, savedPeriodDays: 30, logger, metrics }, new Date(AT));
    const { rows } = await pool.query<{ n: number }>("select count(*)::int as n from model_live_quality");
    expect(rows[0]!.n).toBe(2);
    const sentences = describeLiveQuality(await latestLiveQuality(pool));
    expect(sentences[0]).toBe("Of the 10 customers scored on 2026-06-01 by model m1, 4 (40%) churned within 90 days; the model had predicted 41% on average.");
    expect(sentences[1]).toBe("Realised churn by risk level: high 67% of 3, medium 33% of 3, low 25% of 4.");
    expect(sentences[2]).toBe("Ranking: ROC AUC 0.83 (at training 0.90, 95% 0.86-0.93); 100% of the top 10% churned. Calibration error 0.33 (at training 0.03).");
    expect(sentences[3]).toMatch(/worse than the model was validated for \(below 0\.86\)/);
    expect(sentences[4]).toBe("1 of these customers were reached by a retention team within the horizon; without them ROC AUC is 0.78.");
    expect(sentences.find((l) => l.startsWith("Feature drift"))).toBe(
      "Feature drift: 1 feature(s) differ from the training data (PSI above 0.20): purchase_count 7.25. Scores for these customers are less tested.",
    );
    expect(sentences.at(-1)).toMatch(/^Saved: no at-risk customer reached between/);
  });

  it("without a feature profile measures no drift, and says so", async () => {
    const { featureProfile: _p, ...old } = artifact();
    const outcome = await runLiveQuality({ pool, model: () => ({ artifact: old }) as unknown as ServingModel, psiThreshold: 0.2, savedPeriodDays: 30, logger }, new Date(AT + DAY));
    expect(outcome.drift).toBe("no profile in the model artifact");
    expect(outcome.evaluations[0]).toMatchObject({ modelVersion: "m1" });
    expect(outcome.notes.join(" ")).toMatch(/records no feature profile/);
    const short = await runLiveQuality({ pool, model: () => model, psiThreshold: 0.2, savedPeriodDays: 30, scoreHistoryDays: 60, logger }, new Date(AT + DAY));
    expect(short.notes.join(" ")).toMatch(/RETENTION_SCORE_HISTORY_DAYS \(60\) is not longer than the model's horizon \(90 days\)/);
  });
});

describe("churnwatch evaluate --live", () => {
  let dir = "";
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("prints the graded scores per level next to what the artifact claimed, and writes an HTML report", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "cw-live-"));
    await installModel(dir, artifact(), "m1");
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (out.push(String(chunk)), true));
    const errWrite = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const report = path.join(dir, "live.html");
    try {
      const code = await evaluateMain(["--live", "--models-dir", dir, "--as-of", iso(T), "--database-url", server.url, "--report", report]);
      expect(code).toBe(0);
    } finally {
      write.mockRestore();
      errWrite.mockRestore();
    }
    const text = out.join("");
    expect(text).toContain("model m1: scores in force at 2026-06-01 (score_history: as published)");
    expect(text).toMatch(/live\s+10\s+4\s+0\.833\s+1\.000\s+0\.330\s+0\.1735/);
    expect(text).toMatch(/untreated\s+9\s+3\s+0\.778/);
    expect(text).toMatch(/at training\s+0\.900 \[0\.860, 0\.930\]/);
    expect(text).toContain("bands: high 66.7% of 3 (predicted 80.0%, at training 80.0%); medium 33.3% of 3 (predicted 41.7%); low 25.0% of 4 (predicted 11.3%)");
    expect(text).toContain("model m0: scores in force at 2026-06-01");
    expect(text).toContain("note: m1: only 4 churned and 6 stayed");
    const html = await readFile(report, "utf8");
    expect(html).toContain("<h1>Live model quality: m1</h1>");
    expect(html).toContain("Predicted vs realised churn per risk level");
    expect(html).not.toMatch(/<script/i);
  });

  it("refuses --as-of without --live, and --dataset with it", async () => {
    await expect(evaluateMain(["--current", "--dataset", "x.csv", "--as-of", "2026-01-01"])).rejects.toThrow(/--as-of needs --live/);
    await expect(evaluateMain(["--live", "--dataset", "x.csv"])).rejects.toThrow(/leave out --dataset/);
  });
});

describe("backtest: scores as of T re-computed from the event history", () => {
  it("gives every customer in the population at T the score the worker's scorer gives their state as of T", async () => {
    const url = await server.createDatabase("backtest");
    const db = new pg.Pool({ connectionString: url, max: 2 });
    db.on("error", () => undefined);
    try {
      await migrate(db);
      const now = Date.parse("2026-03-01T00:00:00Z");
      const { events } = simulate({ seed: 21, customers: 120, now: new Date(now), days: 300 });
      await writeBatch(db, { groupId: "g", topic: "t", partition: 0 }, { events: events.map((event, i) => ({ offset: i, event })), rejects: [], nextOffset: events.length });
      const served = prepareServingModel(JSON.parse(JSON.stringify(await sharedTestArtifact())));
      const at = new Date(now - 120 * DAY);
      const scores = await backtestScores(db, served.artifact, at, { pageSize: 25 });
      const byCustomer = new Map<string, ChurnEvent[]>();
      for (const e of events) byCustomer.set(e.customerId, [...(byCustomer.get(e.customerId) ?? []), e]);
      const expected = [...byCustomer].flatMap(([id, list]) => {
        const state = stateAsOf(id, list, at);
        if (!isScored(lifecycleAt(state, at.getTime(), DEFAULT_LIFECYCLE_RULE))) return [];
        // The backtest levels by the artifact's own bands (quality/backtest.ts).
        const sc = assess(state, at.getTime(), { model: served, bands: served.artifact.thresholds });
        return sc.kind === "scored" ? [[id, sc.score, sc.riskLevel]] : [];
      }).sort();
      expect(scores.length).toBeGreaterThan(40);
      expect(scores.map((x) => [x.customerId, x.score, x.riskLevel]).sort()).toEqual(expected);
      expect(new Set(scores.map((x) => x.modelVersion))).toEqual(new Set([served.artifact.modelVersion]));
      expect(backtestNotes(served.artifact, at, new Date(now))).toEqual([]);
      expect(backtestNotes(served.artifact, new Date(now - 10 * DAY), new Date(now))[0]).toMatch(/horizon after .* has not ended/);
      expect(backtestNotes({ ...served.artifact, trainingWindow: { trainCutoffs: [iso(now - 200 * DAY)], validationCutoffs: [] } }, at, new Date(now))[0])
        .toMatch(/inside model .* training window/);
    } finally {
      await db.end();
    }
  });
});
