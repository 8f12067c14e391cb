/**
 * Scoring dataset rows with a model artifact, offline. Columns are matched by NAME, not position,
 * so an artifact can be scored on any dataset that has its features; a missing one is an error
 * that names it.
 */
import type { ModelArtifact } from "../model/artifact.js";
import { predictProba, type RandomForestClassifierJson } from "../model/forest/index.js";
import { applyCalibration } from "./calibration.js";
import type { DatasetRow } from "./dataset.js";

export class FeatureColumnsError extends Error {
  override name = "FeatureColumnsError";
}

/** Positions of the artifact's features in the dataset's columns. */
export function columnsFor(modelFeatures: readonly string[], datasetFeatures: readonly string[]): number[] {
  const index = new Map(datasetFeatures.map((n, i) => [n, i]));
  const missing = modelFeatures.filter((n) => !index.has(n));
  if (missing.length) {
    throw new FeatureColumnsError(`the dataset lacks ${missing.length} feature(s) the model needs: ${missing.join(", ")}`);
  }
  return modelFeatures.map((n) => index.get(n)!);
}

export function selectColumns(rows: readonly DatasetRow[], columns: readonly number[]): number[][] {
  const identity = columns.every((c, i) => c === i) && rows.every((r) => r.features.length === columns.length);
  if (identity) return rows.map((r) => r.features);
  return rows.map((r) => columns.map((c) => r.features[c]!));
}

/** The forest's churn score (mean leaf churn fraction), before calibration. */
export function rawScores(artifact: Pick<ModelArtifact, "featureNames" | "forest">, rows: readonly DatasetRow[], datasetFeatures: readonly string[]): Float64Array {
  const X = selectColumns(rows, columnsFor(artifact.featureNames, datasetFeatures));
  return predictProba(artifact.forest as unknown as RandomForestClassifierJson, X);
}

/** What the worker would publish: calibrated churn probabilities. */
export function calibratedScores(artifact: ModelArtifact, rows: readonly DatasetRow[], datasetFeatures: readonly string[]): Float64Array {
  return applyCalibration(rawScores(artifact, rows, datasetFeatures), artifact.calibration);
}
