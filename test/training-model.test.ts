import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FEATURE_NAMES, FEATURE_SET_VERSION } from "../src/features/index.js";
import { checkArtifact, type ModelArtifact } from "../src/model/artifact.js";
import { simulate } from "../src/simulate/index.js";
import { assessArtifact } from "../src/training/assess.js";
import { writeDatasetCsv, writeManifest, manifestPathFor } from "../src/training/dataset-csv.js";
import { makeManifest, type Dataset } from "../src/training/dataset.js";
import { buildDatasetFromEvents } from "../src/training/event-sources.js";
import { fitChurnModel, type FitResult } from "../src/training/fit.js";
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

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "cw-train-"));
  const { events } = simulate({ seed: 17, customers: 900, now: "2025-06-01T00:00:00Z", days: 420 });
  const built = buildDatasetFromEvents(events, { everyDays: 14, horizonDays: 90, activeDays: 180 });
  dataset = built.dataset;
  const csv = path.join(dir, "ds.csv");
  await writeDatasetCsv(csv, dataset);
  await writeManifest(manifestPathFor(csv), makeManifest({
    dataset, plan: built.plan, source: "simulator (test)", activeDays: 180, everyDays: 14,
    dataStart: built.bounds.start, dataEnd: built.bounds.end, customers: built.customers, events: built.events,
  }));
  const common = { validationCutoffs: 3, nJobs: 2, seed: 1 } as const;
  good = await fitChurnModel(dataset, { ...common, modelVersion: "good", trees: 25, maxDepth: 7 });
  weak = await fitChurnModel(dataset, { ...common, modelVersion: "weak", trees: 1, maxDepth: 1, minSamplesLeaf: 500 });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("fit", () => {
  it("writes an artifact the worker's loader accepts and ml-random-forest can load", () => {
    const a = checkArtifact(JSON.parse(JSON.stringify(good.artifact)), { featureNames: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION });
    expect(a.format).toBe("churnwatch-model/1");
    expect(a.featureImportance).toHaveLength(FEATURE_NAMES.length);
    expect(a.thresholds.medium).toBeLessThanOrEqual(a.thresholds.high);
    const rf = loadInMlRandomForest(good.artifact.forest as never);
    expect(rf.predict(good.validation.rows.slice(0, 5).map((r) => r.features))).toHaveLength(5);
  });

  it("records the time split: validation cutoffs are the newest, training ones a horizon earlier", () => {
    const w = good.artifact.trainingWindow;
    expect(w.validationCutoffs).toHaveLength(3);
    const lastTrain = Date.parse(w.trainCutoffs.at(-1)!);
    expect(lastTrain + 90 * DAY_MS).toBeLessThanOrEqual(Date.parse(w.validationCutoffs[0]!));
    expect(new Set(good.validation.rows.map((r) => new Date(r.cutoff).toISOString()))).toEqual(new Set(w.validationCutoffs));
  });

  it("computes metrics for the model and both baselines on the same validation rows", () => {
    const m = good.artifact.metrics;
    expect(Object.keys(m.baselines).sort()).toEqual(["recency", "rfm"]);
    for (const s of [m.validation, m.baselines.recency!, m.baselines.rfm!]) {
      expect(s.rows).toBe(good.validation.rows.length);
      expect(s.positives).toBe(good.validation.labels.reduce((x, y) => x + y, 0));
      for (const v of [s.rocAuc, s.prAuc, s.brier, s.liftTop10, s.precisionTop10]) expect(Number.isFinite(v)).toBe(true);
      expect(s.rocAuc).toBeGreaterThan(0.5);
    }
    expect(m.validation.rocAuc).toBeGreaterThan(weak.artifact.metrics.validation.rocAuc);
  });

  it("refuses a dataset built with another feature set", async () => {
    const other = { ...dataset, featureSetVersion: "fs-0-00000000" };
    await expect(fitChurnModel(other, { modelVersion: "x", trees: 1 })).rejects.toThrow(/rebuild it/);
  });

  it("renders a self-contained report with the five plots and the metric table", () => {
    const html = renderReport({
      kind: "training", artifact: good.artifact, series: good.series, served: good.validation.calibrated, labels: good.validation.labels,
      perCutoff: good.perCutoff, source: "test",
    });
    expect(html.match(/<svg /g)).toHaveLength(5);
    for (const label of ["ROC curve", "Precision-recall curve", "Reliability", "Feature importance", "Score distribution", "recency", "rfm"]) {
      expect(html).toContain(label);
    }
    expect(html).not.toMatch(/NaN|undefined|<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it("evaluates any artifact on a dataset and warns when it was trained on those cutoffs", () => {
    const a = assessArtifact(good.artifact, dataset, { validationCutoffs: 3 });
    expect(a.series.map((s) => s.name)).toEqual(["model", "recency", "rfm"]);
    expect(a.series[0]!.metrics.rocAuc).toBeCloseTo(good.artifact.metrics.validation.rocAuc, 10);
    expect(a.notes.join(" ")).toMatch(/validation cutoffs/);
    const all = assessArtifact(good.artifact, dataset, { validationCutoffs: 0 });
    expect(all.notes.join(" ")).toMatch(/used to TRAIN/);
  });
});

describe("promotion", () => {
  const decide = (candidate: ModelArtifact, current: ModelArtifact | null, force = false) =>
    decidePromotion({
      candidate,
      current: current ? { kind: "ok", pointer: { modelVersion: current.modelVersion, file: "x.json" }, artifact: current } : { kind: "none" },
      validationRows: good.validation.rows,
      featureNames: dataset.featureNames,
      force,
    });

  it("promotes when there is no current model, or the new one ranks the same rows better", () => {
    expect(decide(good.artifact, null).promote).toBe(true);
    const d = decide(good.artifact, weak.artifact);
    expect(d).toMatchObject({ promote: true, forced: false });
    expect(d.candidateRocAuc!).toBeGreaterThan(d.currentRocAuc!);
    expect(d.reason).toMatch(/better/);
  });

  it("does not promote a worse (or equal) model unless forced", () => {
    expect(decide(weak.artifact, good.artifact)).toMatchObject({ promote: false, forced: false });
    expect(decide(good.artifact, good.artifact).promote).toBe(false);
    expect(decide(weak.artifact, good.artifact, true)).toMatchObject({ promote: true, forced: true });
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
      validationRows: good.validation.rows, featureNames: dataset.featureNames, force: false,
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

  it("train.ts --promote moves current.json only for a better model", async () => {
    const models = path.join(dir, "cli-models");
    const reports = path.join(dir, "cli-reports");
    const train = (...args: string[]) =>
      run(process.execPath, ["--import", "tsx", "scripts/train.ts", "--dataset", path.join(dir, "ds.csv"), "--models-dir", models, "--reports-dir", reports,
        "--validation-cutoffs", "3", "--jobs", "2", "--quiet", "--promote", ...args]);
    const first = await train("--version", "first", "--trees", "12", "--max-depth", "6");
    expect(first.stdout).toMatch(/promotion: PROMOTED/);
    expect(JSON.parse(await readFile(path.join(models, "current.json"), "utf8"))).toEqual({ modelVersion: "first", file: "churn-first.json" });
    const second = await train("--version", "stump", "--trees", "1", "--max-depth", "1", "--min-leaf", "500");
    expect(second.stdout).toMatch(/promotion: not promoted\. ROC AUC on the new validation rows/);
    expect(JSON.parse(await readFile(path.join(models, "current.json"), "utf8")).modelVersion).toBe("first");
    expect((await readdir(reports)).sort()).toEqual(["first.html", "stump.html"]);
    await expect(train("--version", "first", "--trees", "1")).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/already exists/) });
  });
});
