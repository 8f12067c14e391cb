/**
 * Model artifact: the ml-random-forest JSON plus everything needed to use and audit it.
 * Written by scripts/train.ts, read by the worker's model registry. An artifact whose feature
 * names or feature-set version differ from the code's is refused (training/serving skew).
 */
import { z } from "zod";

export const ARTIFACT_FORMAT = "churnwatch-model/1";

const metricSet = z.object({
  rows: z.number().int().nonnegative(),
  positives: z.number().int().nonnegative(),
  rocAuc: z.number(),
  prAuc: z.number(),
  brier: z.number(),
  /** Churn rate in the top 10% by score divided by the overall churn rate. */
  liftTop10: z.number(),
  precisionTop10: z.number(),
});
export type MetricSet = z.infer<typeof metricSet>;

export const calibrationSchema = z.discriminatedUnion("method", [
  z.object({ method: z.literal("none") }),
  z.object({ method: z.literal("platt"), a: z.number(), b: z.number() }),
  z.object({
    method: z.literal("isotonic"),
    /** Increasing raw-score knots and their calibrated probabilities (linear between knots). */
    x: z.array(z.number()).min(1),
    y: z.array(z.number().min(0).max(1)).min(1),
  }).refine((c) => c.x.length === c.y.length, "x and y must have the same length"),
]);
export type Calibration = z.infer<typeof calibrationSchema>;

export const artifactSchema = z.object({
  format: z.literal(ARTIFACT_FORMAT),
  modelVersion: z.string().min(1),
  createdAt: z.string(),
  description: z.string(),
  /** True for the starter model trained on simulated data (README says so too). */
  starter: z.boolean().default(false),
  featureSetVersion: z.string(),
  featureNames: z.array(z.string()).min(1),
  churnDefinition: z.object({
    horizonDays: z.number().int().positive(),
    text: z.string(),
  }),
  trainingWindow: z.object({
    trainCutoffs: z.array(z.string()),
    validationCutoffs: z.array(z.string()),
  }),
  metrics: z.object({
    validation: metricSet,
    baselines: z.record(z.string(), metricSet),
  }).loose(),
  calibration: calibrationSchema,
  /** Calibrated-probability thresholds for the risk levels: >= high is high, >= medium is medium. */
  thresholds: z.object({ medium: z.number().min(0).max(1), high: z.number().min(0).max(1) })
    .refine((t) => t.medium <= t.high, "thresholds.medium must not exceed thresholds.high"),
  featureImportance: z.array(z.number()).optional(),
  /** RandomForestClassifier.toJSON() output. */
  forest: z.object({ name: z.literal("RFClassifier"), baseModel: z.record(z.string(), z.unknown()) }),
});
export type ModelArtifact = z.infer<typeof artifactSchema>;

export class ArtifactError extends Error {
  override name = "ArtifactError";
}

/** Validates an artifact's shape and that it was trained on the code's feature set. */
export function checkArtifact(raw: unknown, expected: { featureNames: readonly string[]; featureSetVersion: string }): ModelArtifact {
  const parsed = artifactSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ArtifactError(`not a ${ARTIFACT_FORMAT} artifact: ${issues.join("; ")}`);
  }
  const a = parsed.data;
  const problems = describeFeatureMismatch(a.featureNames, expected.featureNames);
  if (problems.length > 0 || a.featureSetVersion !== expected.featureSetVersion) {
    throw new ArtifactError(
      `model ${a.modelVersion} does not fit this worker's feature set: artifact has ${a.featureSetVersion} ` +
        `(${a.featureNames.length} features), code has ${expected.featureSetVersion} (${expected.featureNames.length} features)` +
        (problems.length ? `; ${problems.join("; ")}` : ""),
    );
  }
  return a;
}

/** Names which features are missing, extra or out of order, so a data scientist can fix the right side. */
export function describeFeatureMismatch(artifact: readonly string[], code: readonly string[]): string[] {
  const problems: string[] = [];
  const missing = code.filter((n) => !artifact.includes(n));
  const extra = artifact.filter((n) => !code.includes(n));
  if (missing.length) problems.push(`missing from the artifact: ${missing.join(", ")}`);
  if (extra.length) problems.push(`unknown to the code: ${extra.join(", ")}`);
  if (!missing.length && !extra.length) {
    const firstMoved = code.findIndex((n, i) => artifact[i] !== n);
    if (firstMoved >= 0) problems.push(`same features in another order, first at position ${firstMoved} (${code[firstMoved]} vs ${artifact[firstMoved]})`);
  }
  return problems;
}
