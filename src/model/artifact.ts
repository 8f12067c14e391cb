/**
 * Model artifact: the ml-random-forest JSON plus everything needed to use and audit it.
 * Written by scripts/train.ts, read by the worker's model registry. An artifact whose feature
 * names or feature-set version differ from the code's is refused (training/serving skew).
 */
import { z } from "zod";
import { DEFAULT_LIFECYCLE_RULE, LIFECYCLE_STAGES, SCORED_STAGES } from "../features/lifecycle.js";
import { featureProfileSchema } from "./feature-profile.js";

export const ARTIFACT_FORMAT = "churnwatch-model/1";

/** A 95% interval [low, high]. */
const interval = z.tuple([z.number(), z.number()]);

const metricSet = z.object({
  rows: z.number().int().nonnegative(),
  positives: z.number().int().nonnegative(),
  rocAuc: z.number(),
  prAuc: z.number(),
  brier: z.number(),
  /** Churn rate in the top 10% by score divided by the overall churn rate. */
  liftTop10: z.number(),
  precisionTop10: z.number(),
  /** Expected calibration error: row-weighted mean |predicted - observed| over ten probability bins. */
  ece: z.number().optional(),
  /** Bootstrap 95% intervals per metric (customers resampled), when computed. */
  intervals: z.record(z.string(), interval).optional(),
});
export type MetricSet = z.infer<typeof metricSet>;

/** Share and realised churn of one risk band on the test period. */
const bandOutcome = z.object({
  level: z.string(),
  from: z.number(),
  to: z.number(),
  rows: z.number().int().nonnegative(),
  share: z.number(),
  churned: z.number().int().nonnegative(),
  /** Null when the band holds no row. */
  churnRate: z.number().nullable(),
  /** Bootstrap 95% interval of the churn rate (customers resampled). */
  churnRateInterval: interval.optional(),
});

/** Metrics on the untouched test period (newest cutoffs, never used for fitting or choosing). */
const testMetrics = z.object({
  cutoffs: z.array(z.string()),
  rows: z.number().int().nonnegative(),
  customers: z.number().int().nonnegative(),
  positives: z.number().int().nonnegative(),
  model: metricSet,
  baselines: z.record(z.string(), metricSet),
  /** Paired bootstrap interval of model minus baseline ROC AUC, per baseline. */
  rocAucGain: z.record(z.string(), z.object({ estimate: z.number(), interval })).optional(),
  bands: z.array(bandOutcome),
  bootstrap: z.object({ replicates: z.number().int().positive(), seed: z.number().int(), unit: z.literal("customer") }),
  /** Plain-language warnings where doubt is large (few positives, wide intervals). */
  doubts: z.array(z.string()).default([]),
});
export type TestMetrics = z.infer<typeof testMetrics>;

export const calibrationSchema = z.discriminatedUnion("method", [
  z.object({ method: z.literal("none") }),
  z.object({
    method: z.literal("platt"),
    a: z.number(),
    b: z.number(),
    /** [lowest, highest] probability the calibration rows support (new artifacts); applied as a clamp. */
    bounds: z.tuple([z.number().gt(0).lt(1), z.number().gt(0).lt(1)]).optional(),
  }),
  z.object({
    method: z.literal("isotonic"),
    /** Increasing raw-score knots and their calibrated probabilities (linear between knots). */
    x: z.array(z.number()).min(1),
    /** Old artifacts may hold 0 or 1 here; new ones are smoothed rates strictly inside (0, 1). */
    y: z.array(z.number().min(0).max(1)).min(1),
    /** Calibration rows behind each knot (new artifacts): the evidence that bounds its probability. */
    rows: z.array(z.number().int().nonnegative()).optional(),
    /** Beta prior pseudo-counts added to each block: y = (churned + a) / (rows + a + b). */
    prior: z.object({ a: z.number().positive(), b: z.number().positive() }).optional(),
  }).refine((c) => c.x.length === c.y.length, "x and y must have the same length")
    .refine((c) => c.rows === undefined || c.rows.length === c.x.length, "rows must have one entry per knot"),
]);
export type Calibration = z.infer<typeof calibrationSchema>;

export const populationSchema = z.object({
  stages: z.array(z.enum(LIFECYCLE_STAGES)).min(1),
  activeDays: z.number().int().positive(),
  newDays: z.number().int().nonnegative(),
});
export type Population = z.infer<typeof populationSchema>;

const forestParams = z.object({
  maxDepth: z.number().int().positive(),
  minSamplesLeaf: z.number().int().positive(),
  maxFeatures: z.union([z.literal("sqrt"), z.literal("log2"), z.literal("all"), z.number().positive()]),
  classWeight: z.enum(["balanced", "none"]),
});
export type ForestParams = z.infer<typeof forestParams>;

export const hyperparametersSchema = z.object({
  /** "grid": chosen by time-split validation; "fixed": given on the command line (--no-search). */
  method: z.enum(["grid", "fixed"]),
  chosen: forestParams,
  /** Trees in the final forest (refitted on the training period with the chosen settings). */
  trees: z.number().int().positive(),
  /** For "grid": trees per candidate fit, the metric, and every candidate's validation score. */
  searchTrees: z.number().int().positive().optional(),
  selectedBy: z.string().optional(),
  candidates: z.array(forestParams.extend({ validationRocAuc: z.number(), seconds: z.number() })).optional(),
  seconds: z.number().optional(),
});
export type Hyperparameters = z.infer<typeof hyperparametersSchema>;

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
  /**
   * Who the model is for: the lifecycle stages its training rows came from, with the lifecycle rule
   * (src/features/lifecycle.ts) that decided them. The worker gives a probability only to customers
   * in these stages. Older artifacts have no field: read it through populationOf(), which gives
   * the default rule they were trained on.
   */
  population: populationSchema.optional(),
  trainingWindow: z.object({
    trainCutoffs: z.array(z.string()),
    /** The validation period: hyperparameter choice, calibration fit. */
    validationCutoffs: z.array(z.string()),
    /** The untouched test period (new artifacts): metrics.test, promotion. */
    testCutoffs: z.array(z.string()).optional(),
  }),
  metrics: z.object({
    /** Validation-period metrics (ranking on raw scores; Brier out-of-fold calibrated). */
    validation: metricSet,
    /** Validation-period baselines. The test period's are under metrics.test. */
    baselines: z.record(z.string(), metricSet),
    test: testMetrics.optional(),
  }).loose(),
  calibration: calibrationSchema,
  /** How the forest's settings were chosen (new artifacts). */
  hyperparameters: hyperparametersSchema.optional(),
  /**
   * Risk-level bands on the calibrated probability: >= high is high, >= medium is medium. New
   * artifacts record the bands their report used (DEFAULT_RISK_BANDS or the deployment's
   * RISK_BANDS); older ones hold thresholds picked by rank share.
   */
  thresholds: z.object({ medium: z.number().min(0).max(1), high: z.number().min(0).max(1) })
    .refine((t) => t.medium <= t.high, "thresholds.medium must not exceed thresholds.high"),
  featureImportance: z.array(z.number()).optional(),
  /**
   * Per-feature bins and shares on the training rows (new artifacts), for feature drift: the
   * worker compares today's scored customers with them (src/quality/drift.ts). Older artifacts have
   * none and get no drift report.
   */
  featureProfile: featureProfileSchema.optional(),
  /** RandomForestClassifier.toJSON() output. */
  forest: z.object({ name: z.literal("RFClassifier"), baseModel: z.record(z.string(), z.unknown()) }),
});
export type ModelArtifact = z.infer<typeof artifactSchema>;

/** The population rule a model was trained on; older artifacts (no field) used the default rule. */
export function populationOf(artifact: Pick<ModelArtifact, "population">): Population {
  return artifact.population ?? { stages: [...SCORED_STAGES], ...DEFAULT_LIFECYCLE_RULE };
}

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
