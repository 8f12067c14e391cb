import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FEATURE_NAMES, FEATURE_SET_VERSION } from "../src/features/index.js";
import { checkArtifact, populationOf, type ModelArtifact } from "../src/model/artifact.js";
import { simulate } from "../src/simulate/index.js";
import { assessArtifact, HorizonMismatchError } from "../src/training/assess.js";
import { DEFAULT_RISK_BANDS } from "../src/model/risk-levels.js";
import { writeDatasetCsv, writeManifest, manifestPathFor } from "../src/training/dataset-csv.js";
import { makeManifest, type Dataset } from "../src/training/dataset.js";
import { buildDatasetFromEvents } from "../src/training/event-sources.js";
import { fitChurnModel, type FitResult } from "../src/training/fit.js";
import { describeDoubts } from "../src/training/test-period.js";
import { loadInMlRandomForest } from "../src/model/forest/index.js";
import { decidePromotion } from "../src/training/promotion.js";
import { readArtifactFile, readCurrentModel, writeArtifact, writePointer } from "../src/model/registry.js";
import { renderReport } from "../src/training/report.js";
import { DAY_MS } from "../src/lib/time.js";

const run = promisify(execFile);
let dir = "";
let dataset: Dataset;
let good: FitResult;
let weak: FitResult;
let twin: FitResult;

// Small and fast: 540 days, fortnightly cutoffs (26), three test and three validation cutoffs.
const split = { testCutoffs: 3, validationCutoffs: 3 } as const;
const bootstrap = { replicates: 200, seed: 9 } as const;
const tinyGrid = { maxDepth: [4, 7], minSamplesLeaf: [20], maxFeatures: ["sqrt" as const], classWeight: ["balanced" as const] };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "cw-train-"));
  const { events } = simulate({ seed: 17, customers: 900, now: "2025-06-01T00:00:00Z", days: 540 });
  const built = buildDatasetFromEvents(events, { everyDays: 14, horizonDays: 90, activeDays: 180 });
  dataset = built.dataset;
  const csv = path.join(dir, "ds.csv");
  await writeDatasetCsv(csv, dataset);
  await writeManifest(manifestPathFor(csv), makeManifest({
    dataset, plan: built.plan, source: "simulator (test)", activeDays: 180, everyDays: 14,
    dataStart: built.bounds.start, dataEnd: built.bounds.end, customers: built.customers, events: built.events,
  }));
  const common = { ...split, nJobs: 1, seed: 1, bootstrap } as const;
  good = await fitChurnModel(dataset, { ...common, modelVersion: "good", trees: 25, grid: tinyGrid, searchTrees: 8 });
  weak = await fitChurnModel(dataset, { ...common, modelVersion: "weak", search: false, trees: 1, maxDepth: 1, minSamplesLeaf: 500 });
  // Same settings as good, another seed: a model that differs from it only by noise.
  twin = await fitChurnModel(dataset, { ...common, modelVersion: "twin", search: false, trees: 25, ...good.artifact.hyperparameters!.chosen, seed: 2 });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("fit", () => {
  it("writes an artifact the worker's loader accepts and ml-random-forest can load", () => {
    const a = checkArtifact(JSON.parse(JSON.stringify(good.artifact)), { featureNames: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION });
    expect(a.format).toBe("churnwatch-model/1");
    expect(a.featureImportance).toHaveLength(FEATURE_NAMES.length);
    const rf = loadInMlRandomForest(good.artifact.forest as never);
    expect(rf.predict(good.test.rows.slice(0, 5).map((r) => r.features))).toHaveLength(5);
  });

  it("records the training rows' feature profile for drift: every feature, decile bins that hold the training rows' shares", () => {
    const profile = checkArtifact(JSON.parse(JSON.stringify(good.artifact)), { featureNames: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION }).featureProfile!;
    expect(profile.features.map((f) => f.name)).toEqual([...FEATURE_NAMES]);
    expect(profile.rows).toBe((good.artifact.metrics as unknown as { train: { rows: number } }).train.rows);
    for (const f of profile.features) {
      expect(f.shares.reduce((a, b) => a + b, 0), f.name).toBeCloseTo(1, 5);
      expect(f.edges.length, f.name).toBeLessThanOrEqual(9);
      expect(Math.max(...f.shares), f.name).toBeGreaterThan(0);
    }
    const tenure = profile.features.find((f) => f.name === "tenure_days")!;
    expect(tenure.edges.length).toBe(9); // continuous: ten bins of about a tenth each
    for (const share of tenure.shares) expect(share).toBeGreaterThan(0.05);
  });

  it("records the population rule, the bands its report used, and a default population for old artifacts", () => {
    expect(good.artifact.population).toEqual({ stages: ["new", "active"], activeDays: 180, newDays: 90 });
    expect(good.artifact.thresholds).toEqual(DEFAULT_RISK_BANDS);
    const { population: _p, ...old } = good.artifact;
    const parsed = checkArtifact(JSON.parse(JSON.stringify({ ...old, trainingWindow: { trainCutoffs: [], validationCutoffs: [] } })), { featureNames: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION });
    expect(populationOf(parsed)).toEqual({ stages: ["new", "active"], activeDays: 180, newDays: 90 });
  });

  it("splits by time: train | gap | validation | gap | test, and fits nothing on the test period", () => {
    const w = good.artifact.trainingWindow;
    expect(w.validationCutoffs).toHaveLength(3);
    expect(w.testCutoffs).toHaveLength(3);
    const t = (s: string) => Date.parse(s);
    expect(t(w.trainCutoffs.at(-1)!) + 90 * DAY_MS).toBeLessThanOrEqual(t(w.validationCutoffs[0]!));
    expect(t(w.validationCutoffs.at(-1)!) + 90 * DAY_MS).toBeLessThanOrEqual(t(w.testCutoffs![0]!));
    expect(new Set(good.test.rows.map((r) => new Date(r.cutoff).toISOString()))).toEqual(new Set(w.testCutoffs));
    expect(new Set(good.validation.rows.map((r) => new Date(r.cutoff).toISOString()))).toEqual(new Set(w.validationCutoffs));
    expect(good.artifact.metrics.calibration).toMatchObject({ fittedOn: "validation period" });
  });

  it("chooses hyperparameters on the validation period and records the search", () => {
    const h = good.artifact.hyperparameters!;
    expect(h.method).toBe("grid");
    expect(h.candidates).toHaveLength(2);
    const best = h.candidates!.reduce((a, b) => (b.validationRocAuc > a.validationRocAuc ? b : a));
    expect(h.chosen.maxDepth).toBe(best.maxDepth);
    expect(h).toMatchObject({ trees: 25, searchTrees: 8, selectedBy: expect.stringMatching(/validation/) });
    expect(weak.artifact.hyperparameters).toMatchObject({ method: "fixed", chosen: { maxDepth: 1, minSamplesLeaf: 500 } });
  });

  it("test-period metrics with customer-bootstrap intervals for the model and both baselines on the same rows", () => {
    const t = good.artifact.metrics.test!;
    expect(Object.keys(t.baselines).sort()).toEqual(["recency", "rfm"]);
    expect(t.rows).toBe(good.test.rows.length);
    expect(t.customers).toBe(new Set(good.test.rows.map((r) => r.customerId)).size);
    expect(t.bootstrap).toEqual({ ...bootstrap, unit: "customer" });
    for (const s of [t.model, t.baselines.recency!, t.baselines.rfm!]) {
      expect(s.rows).toBe(good.test.rows.length);
      for (const k of ["rocAuc", "prAuc", "brier", "liftTop10", "precisionTop10", "ece"] as const) {
        const v = s[k]!;
        const [lo, hi] = s.intervals![k]!;
        expect(Number.isFinite(v) && lo <= v && v <= hi, `${k} ${v} in [${lo}, ${hi}]`).toBe(true);
      }
      expect(s.rocAuc).toBeGreaterThan(0.5);
    }
    expect(t.rocAucGain!.recency!.interval[0]).toBeLessThanOrEqual(t.rocAucGain!.recency!.estimate);
    expect(t.model.rocAuc).toBeGreaterThan(weak.artifact.metrics.test!.model.rocAuc);
    // Published probabilities on the test period never claim certainty.
    for (const p of good.test.calibrated) expect(p > 0 && p < 1).toBe(true);
  });

  it("reports each band's share and realised churn on the test period", () => {
    const bands = good.artifact.metrics.test!.bands;
    expect(bands.map((b) => b.level)).toEqual(["low", "medium", "high"]);
    expect(bands.reduce((s, b) => s + b.rows, 0)).toBe(good.test.rows.length);
    const rate = (level: string) => bands.find((b) => b.level === level)!.churnRate!;
    expect(rate("high")).toBeGreaterThan(rate("low"));
  });

  it("refuses a dataset built with another feature set", async () => {
    const other = { ...dataset, featureSetVersion: "fs-0-00000000" };
    await expect(fitChurnModel(other, { modelVersion: "x", trees: 1 })).rejects.toThrow(/rebuild it/);
  });

  it("renders a self-contained report: intervals, doubts, bands, calibration plot, search", () => {
    const html = renderReport({
      kind: "training", artifact: good.artifact, series: good.series, served: good.test.calibrated, labels: good.test.labels,
      bands: good.bands, bandsUsed: DEFAULT_RISK_BANDS, testMetrics: good.testMetrics, perCutoff: good.perCutoff, source: "test",
    });
    expect(html.match(/<svg /g)).toHaveLength(5);
    for (const label of ["ROC curve", "Precision-recall curve", "Reliability", "Feature importance", "Score distribution", "recency", "rfm",
      "95% interval", "Risk bands", "Realised churn", "Hyperparameters", "All candidates", "Test cutoffs", "Population"]) {
      expect(html).toContain(label);
    }
    expect(html).toMatch(/Where doubt is large|No large doubts/);
    expect(html).not.toMatch(/NaN|undefined|<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it("says plainly where doubt is large", () => {
    const few = describeDoubts({
      positives: 12, rows: 80, customers: 40,
      model: { rows: 80, positives: 12, rocAuc: 0.7, prAuc: 0.3, brier: 0.1, liftTop10: 2, precisionTop10: 0.3, ece: 0.08, intervals: { rocAuc: [0.55, 0.85] } },
      rocAucGain: { recency: { estimate: 0.02, interval: [-0.05, 0.09] } },
      bands: [{ level: "high", from: 0.6, to: 1, rows: 9, share: 0.1, churned: 3, churnRate: 1 / 3 }],
    });
    expect(few.join("\n")).toMatch(/Only 12 churners/);
    expect(few.join("\n")).toMatch(/only known to within 0\.550–0\.850/);
    expect(few.join("\n")).toMatch(/not clearly better than the recency baseline/);
    expect(few.join("\n")).toMatch(/Band high holds only 9 test rows/);
    expect(few.join("\n")).toMatch(/ECE/);
  });

  it("evaluate gives train's numbers on the same rows (one split, one RFM, one bootstrap) and warns when it trained on them", () => {
    const a = assessArtifact(good.artifact, dataset, { ...split, bootstrap });
    expect(a.series.map((s) => s.name)).toEqual(["model", "recency", "rfm"]);
    expect(a.testMetrics.cutoffs).toEqual(good.artifact.trainingWindow.testCutoffs);
    expect(a.testMetrics.model).toEqual(good.testMetrics.model);
    expect(a.testMetrics.baselines).toEqual(good.testMetrics.baselines);
    expect(a.testMetrics.bands).toEqual(good.testMetrics.bands);
    expect(a.notes).toEqual([]);
    const all = assessArtifact(good.artifact, dataset, { testCutoffs: 0, bootstrap });
    expect(all.notes.join(" ")).toMatch(/used to TRAIN/);
  });

  it("evaluate refuses a horizon mismatch unless allowed, then warns", () => {
    const other = { ...dataset, horizonDays: 60 };
    expect(() => assessArtifact(good.artifact, other, { ...split, bootstrap })).toThrow(HorizonMismatchError);
    expect(() => assessArtifact(good.artifact, other, { ...split, bootstrap })).toThrow(/--horizon 90d.*--allow-horizon-mismatch/);
    const allowed = assessArtifact(good.artifact, other, { ...split, bootstrap, allowHorizonMismatch: true });
    expect(allowed.notes[0]).toMatch(/HORIZON MISMATCH: model good predicts churn within 90 days, but the dataset's labels use a 60-day horizon/);
  });
});

describe("promotion", () => {
  const decide = (candidate: ModelArtifact, current: ModelArtifact | null, force = false, minGain?: number) =>
    decidePromotion({
      candidate,
      current: current ? { kind: "ok", pointer: { modelVersion: current.modelVersion, file: "x.json" }, artifact: current } : { kind: "none" },
      testRows: good.test.rows,
      featureNames: dataset.featureNames,
      force,
      bootstrap,
      ...(minGain !== undefined ? { minGain } : {}),
    });

  it("promotes when there is no current model, or the new one ranks the same test rows better by more than noise", () => {
    expect(decide(good.artifact, null).promote).toBe(true);
    const d = decide(good.artifact, weak.artifact);
    expect(d).toMatchObject({ promote: true, forced: false, gain: { rule: "bootstrap" } });
    expect(d.candidateRocAuc!).toBeGreaterThan(d.currentRocAuc!);
    expect(d.gain!.interval[0]).toBeGreaterThan(0);
    expect(d.reason).toMatch(/better by more than noise/);
  });

  it("refuses a model whose gain is inside the noise (same settings, another seed), and a worse or equal one", () => {
    const d = decide(twin.artifact, good.artifact);
    expect(Math.abs(d.gain!.estimate)).toBeLessThan(0.03);
    expect(d.gain!.interval[0]).toBeLessThanOrEqual(0);
    expect(d).toMatchObject({ promote: false, forced: false });
    expect(d.reason).toMatch(/within the noise.*Not promoted/);
    expect(decide(weak.artifact, good.artifact)).toMatchObject({ promote: false, forced: false });
    expect(decide(good.artifact, good.artifact).promote).toBe(false);
    expect(decide(weak.artifact, good.artifact, true)).toMatchObject({ promote: true, forced: true });
  });

  it("--min-gain replaces the bootstrap rule with a margin on the measured gain", () => {
    const gain = decide(good.artifact, weak.artifact).gain!.estimate;
    expect(decide(good.artifact, weak.artifact, false, gain + 0.01)).toMatchObject({ promote: false, gain: { rule: "min-gain" } });
    expect(decide(good.artifact, weak.artifact, false, gain - 0.01)).toMatchObject({ promote: true });
    expect(decide(good.artifact, weak.artifact, false, gain + 0.01).reason).toMatch(/does not exceed the required margin/);
  });

  it("refuses to compare models of different horizons", () => {
    const other: ModelArtifact = { ...weak.artifact, churnDefinition: { ...weak.artifact.churnDefinition, horizonDays: 30 } };
    expect(decide(good.artifact, other).reason).toMatch(/within 30 days .* within 90.*different questions/);
  });

  it("refuses to compare with a model on another feature set, and says why", () => {
    const old: ModelArtifact = { ...weak.artifact, featureSetVersion: "fs-0-deadbeef", featureNames: weak.artifact.featureNames.slice(0, -1) };
    const d = decide(good.artifact, old);
    expect(d.promote).toBe(false);
    expect(d.reason).toMatch(/feature set fs-0-deadbeef .* no fair comparison/);
    expect(decide(good.artifact, old, true)).toMatchObject({ promote: true, forced: true });
  });

  it("refuses when the current model cannot be read", () => {
    const d = decidePromotion({
      candidate: good.artifact, current: { kind: "broken", pointer: null, problem: "models/x.json does not exist" },
      testRows: good.test.rows, featureNames: dataset.featureNames, force: false,
    });
    expect(d.promote).toBe(false);
    expect(d.reason).toMatch(/cannot be read/);
  });

  it("registry: atomic pointer, artifacts read back, no temporary files left", async () => {
    const models = path.join(dir, "reg");
    expect(await readCurrentModel(models)).toEqual({ kind: "none" });
    await writeArtifact(models, good.artifact);
    await writePointer(models, { modelVersion: "good", file: "churn-good.json" });
    const current = await readCurrentModel(models);
    expect(current.kind).toBe("ok");
    expect(current.kind === "ok" && current.artifact.modelVersion).toBe("good");
    expect((await readdir(models)).sort()).toEqual(["churn-good.json", "current.json"]);
    await writePointer(models, { modelVersion: "gone", file: "churn-gone.json" });
    expect((await readCurrentModel(models)).kind).toBe("broken");
    await writeFile(path.join(models, "bad.json"), "{\"format\":1}");
    expect((await readArtifactFile(path.join(models, "bad.json"))).ok).toBe(false);
  });

  it("train.ts --promote moves current.json only for a model better by more than noise; evaluate.ts refuses a horizon mismatch", async () => {
    const models = path.join(dir, "cli-models");
    const reports = path.join(dir, "cli-reports");
    const csv = path.join(dir, "ds.csv");
    const train = (...args: string[]) =>
      run(process.execPath, ["--import", "tsx", "scripts/train.ts", "--dataset", csv, "--models-dir", models, "--reports-dir", reports,
        "--test-cutoffs", "3", "--validation-cutoffs", "3", "--bootstrap", "200", "--jobs", "1", "--quiet", "--promote", "--no-search", ...args]);
    const first = await train("--version", "first", "--trees", "12", "--max-depth", "6");
    expect(first.stdout).toMatch(/promotion: PROMOTED/);
    expect(first.stdout).toMatch(/ROC AUC gain over recency: -?\d\.\d{3} \[/);
    expect(first.stdout).toMatch(/bands: high \(>= 0\.6\)/);
    expect(JSON.parse(await readFile(path.join(models, "current.json"), "utf8"))).toEqual({ modelVersion: "first", file: "churn-first.json" });
    const second = await train("--version", "stump", "--trees", "1", "--max-depth", "1", "--min-leaf", "500");
    expect(second.stdout).toMatch(/promotion: not promoted\. ROC AUC on the new test rows/);
    expect(JSON.parse(await readFile(path.join(models, "current.json"), "utf8")).modelVersion).toBe("first");
    expect((await readdir(reports)).sort()).toEqual(["first.html", "stump.html"]);
    await expect(train("--version", "first", "--trees", "1")).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/already exists/) });
    await expect(train("--version", "old", "--high-top", "0.1")).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--high-top was removed: risk levels are now fixed bands/) });
    await expect(train("--version", "bands", "--risk-bands", "medium=0.7,high=0.2")).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--risk-bands: .*medium \(0\.7\) must be below high/) });

    // The same CSV labelled with another horizon (manifest says 60 days).
    const csv60 = path.join(dir, "ds60.csv");
    await writeFile(csv60, await readFile(csv, "utf8"));
    const manifest = JSON.parse(await readFile(manifestPathFor(csv), "utf8"));
    await writeFile(manifestPathFor(csv60), JSON.stringify({ ...manifest, horizonDays: 60 }));
    const evaluate = (...args: string[]) =>
      run(process.execPath, ["--import", "tsx", "scripts/evaluate.ts", "--model", path.join(models, "churn-first.json"), "--test-cutoffs", "3", "--validation-cutoffs", "3", "--bootstrap", "100", ...args]);
    await expect(evaluate("--dataset", csv60)).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/predicts churn within 90 days.*60-day horizon.*--allow-horizon-mismatch/) });
    const allowed = await evaluate("--dataset", csv60, "--allow-horizon-mismatch");
    expect(allowed.stderr).toMatch(/WARNING: HORIZON MISMATCH/);
    const same = await evaluate("--dataset", csv);
    expect(same.stdout).toMatch(/model first on .*: [\d,]+ rows of [\d,]+ customers/);
    expect(same.stderr).not.toMatch(/WARNING/);
  });
});
