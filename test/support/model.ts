/**
 * A small real model for scoring tests: simulated customers, point-in-time features at a few
 * cutoffs, churn labels from the following 90 days, trained with the project's forest trainer.
 */
import { mkdir, mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { FEATURE_NAMES, FEATURE_SET_VERSION } from "../../src/features/index.js";
import { buildDataset, churnDefinitionText, DEFAULT_ACTIVE_DAYS, DEFAULT_HORIZON_DAYS } from "../../src/training/dataset.js";
import { simulate } from "../../src/simulate/index.js";
import { trainRandomForest } from "../../src/training/forest/index.js";
import { ARTIFACT_FORMAT, type ModelArtifact } from "../../src/model/artifact.js";
import { artifactFileName, writePointer } from "../../src/model/registry.js";
import { writeFileAtomic } from "../../src/lib/atomic-write.js";
import { DAY_MS as DAY } from "../../src/lib/time.js";


export async function trainTestArtifact(version = "test-model-1", seed = 3): Promise<ModelArtifact> {
  const now = Date.parse("2026-10-01T00:00:00Z");
  const { events } = simulate({ seed, customers: 700, now: new Date(now), days: 420 });
  // The training code's own point-in-time rows and churn label, so the fixture learns what real models learn.
  const dataset = buildDataset(events, {
    cutoffs: [now - 270 * DAY, now - 200 * DAY, now - 130 * DAY],
    horizonDays: DEFAULT_HORIZON_DAYS,
    activeDays: DEFAULT_ACTIVE_DAYS,
  });
  const X = dataset.rows.map((r) => r.features);
  const y = dataset.rows.map((r) => r.label);
  const trained = await trainRandomForest(X, y, { nEstimators: 30, maxDepth: 7, seed, nJobs: 1, classWeight: "balanced", minSamplesLeaf: 3 });
  const blank = { rows: X.length, positives: y.filter(Boolean).length, rocAuc: 0, prAuc: 0, brier: 0, liftTop10: 0, precisionTop10: 0 };
  return {
    format: ARTIFACT_FORMAT,
    modelVersion: version,
    createdAt: new Date(now).toISOString(),
    description: "test fixture trained on simulated data",
    starter: false,
    featureSetVersion: FEATURE_SET_VERSION,
    featureNames: [...FEATURE_NAMES],
    churnDefinition: { horizonDays: dataset.horizonDays, text: churnDefinitionText(dataset.horizonDays, DEFAULT_ACTIVE_DAYS) },
    trainingWindow: { trainCutoffs: [], validationCutoffs: [] },
    metrics: { validation: blank, baselines: {} },
    calibration: { method: "none" },
    thresholds: { medium: 0.35, high: 0.6 },
    forest: trained.model as unknown as ModelArtifact["forest"],
  };
}

let cached: Promise<ModelArtifact> | null = null;

/** One trained fixture per test process (training takes a second or two). */
export function sharedTestArtifact(): Promise<ModelArtifact> {
  cached ??= trainTestArtifact();
  return cached;
}

/** A fresh models folder holding the shared fixture model. */
export async function testModelDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "churnwatch-models-"));
  await installModel(dir, await sharedTestArtifact(), "test-model-1");
  return dir;
}

/** Writes the artifact and points models/current.json at it (atomically, as the train script does). */
export async function installModel(dir: string, artifact: unknown, version: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Not writeArtifact: refusal tests install artifacts that are deliberately not valid models.
  const file = artifactFileName(version);
  await writeFileAtomic(path.join(dir, file), JSON.stringify(artifact));
  await writePointer(dir, { modelVersion: version, file });
}
