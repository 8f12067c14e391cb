/**
 * The daily live-quality job (once per cluster, through the scheduler): grades the scores in force
 * one horizon ago on what customers did since, measures feature drift of today's scored customers
 * against the model's training rows, and computes the saved KPI; stores all three (store.ts) and
 * exports them as metrics. The outcome it returns is what job_run records.
 *
 * Every worker exports the newest stored results (exportLiveQuality, on a timer), not only the one
 * that ran the job: a scrape of any replica shows them, and a restart does not blank the gauges the
 * alert reads.
 */
import path from "node:path";
import type pg from "pg";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics/metrics.js";
import { FEATURE_NAMES } from "../features/index.js";
import { populationOf, type ModelArtifact } from "../model/artifact.js";
import type { ServingModel } from "../model/load.js";
import { artifactFileName, readArtifactFile } from "../model/registry.js";
import { computeSavedKpi, judgedPeriod, type SavedKpi } from "../kpi/saved.js";
import { DAY_MS } from "../lib/time.js";
import { driftOfScoredCustomers, type DriftReport } from "./drift.js";
import { evaluateLive, type Expected, type LiveEvaluation } from "./live.js";
import { latestLiveQuality, saveDrift, saveEvaluation, saveSavedKpi } from "./store.js";

/** Below this many churners or stayers a live AUC says little: reported, but flagged (and the alert waits). */
export const MIN_CLASS_CUSTOMERS = 30;

export interface LiveQualityDeps {
  pool: pg.Pool;
  /** The model in service: its horizon, population rule, profile and expectations. */
  model: () => ServingModel;
  /** Where older versions' artifacts are, for what they expected (MODEL_DIR). */
  modelsDir?: string;
  /** DRIFT_PSI_THRESHOLD. */
  psiThreshold: number;
  /** Length of the saved KPI's judged period (KPI_PERIOD_DAYS). */
  savedPeriodDays: number;
  /** RETENTION_SCORE_HISTORY_DAYS: the scores graded are one horizon old, so the window must be longer. */
  scoreHistoryDays?: number;
  logger: Logger;
  metrics?: Metrics;
}

export interface LiveQualityOutcome {
  asOf: string;
  evaluations: { modelVersion: string; customers: number; churned: number; rocAuc: number | null; rocAucLowerBound: number | null; ece: number | null }[];
  drift: { customers: number; drifted: string[]; maxPsi: number | null } | "no profile in the model artifact";
  saved: Pick<SavedKpi, "treated" | "saved" | "pending" | "savedRate">;
  notes: string[];
}

/** What the model's artifact claimed on its untouched test period. */
export function expectedOf(artifact: ModelArtifact): Expected | null {
  const t = artifact.metrics.test;
  if (!t) return null;
  const interval = t.model.intervals?.rocAuc;
  return {
    rocAuc: t.model.rocAuc,
    rocAucInterval: interval ? [interval[0], interval[1]] : null,
    ece: t.model.ece ?? null,
    precisionTop10: t.model.precisionTop10,
    bands: t.bands.map((b) => ({ level: b.level, churnRate: b.churnRate })),
  };
}

async function expectedFor(version: string, current: ModelArtifact, modelsDir: string | undefined): Promise<Expected | null> {
  if (version === current.modelVersion) return expectedOf(current);
  if (!modelsDir) return null;
  try {
    const loaded = await readArtifactFile(path.join(modelsDir, artifactFileName(version)));
    return loaded.ok ? expectedOf(loaded.artifact) : null;
  } catch {
    return null; // a version name that cannot be a file name: nothing to compare with
  }
}

export async function runLiveQuality(deps: LiveQualityDeps, at: Date): Promise<LiveQualityOutcome> {
  const log = deps.logger;
  const artifact = deps.model().artifact;
  const horizonDays = artifact.churnDefinition.horizonDays;
  const rule = populationOf(artifact);
  const asOf = new Date(at.getTime() - horizonDays * DAY_MS);
  const notes: string[] = [];
  if (deps.scoreHistoryDays !== undefined && deps.scoreHistoryDays <= horizonDays) {
    // The retention job deletes score_history rows older than its window: the scores one horizon
    // ago are gone (or about to be) before they can be graded.
    notes.push(`RETENTION_SCORE_HISTORY_DAYS (${deps.scoreHistoryDays}) is not longer than the model's horizon (${horizonDays} days): the scores to grade are deleted first`);
    log.warn({ scoreHistoryDays: deps.scoreHistoryDays, horizonDays }, "live model quality: score history is kept for less than the horizon; raise RETENTION_SCORE_HISTORY_DAYS");
  }

  // 1. The scores in force one horizon ago, graded.
  const evaluations: LiveEvaluation[] = await evaluateLive(deps.pool, asOf, {
    horizonDays, rule, bands: artifact.thresholds, evaluatedAt: at,
  });
  for (const e of evaluations) {
    e.expected = await expectedFor(e.modelVersion, artifact, deps.modelsDir);
    await saveEvaluation(deps.pool, e);
    const lower = e.expected?.rocAucInterval?.[0] ?? null;
    const stayed = e.rows - e.positives;
    const fields = { modelVersion: e.modelVersion, asOf: e.asOf, customers: e.rows, churned: e.positives, rocAuc: e.rocAuc, rocAucLowerBound: lower, ece: e.ece };
    if (e.positives < MIN_CLASS_CUSTOMERS || stayed < MIN_CLASS_CUSTOMERS) {
      notes.push(`${e.modelVersion}: only ${e.positives} churned and ${stayed} stayed; the live metrics are rough`);
      log.info(fields, "live model quality: too few customers to judge the model firmly");
    } else if (lower !== null && e.rocAuc !== null && e.rocAuc < lower) {
      log.warn(fields, "live model quality: ROC AUC below the model's validated interval; consider retraining");
    } else {
      log.info(fields, "live model quality");
    }
  }
  if (evaluations.length === 0) {
    notes.push(`no scores in force at ${asOf.toISOString()} (score_history starts later, or nobody was scored one horizon ago)`);
    log.info({ asOf: asOf.toISOString() }, "live model quality: nothing to grade yet");
  }

  // 2. Feature drift of today's scored customers against the training rows.
  let drift: DriftReport | null = null;
  if (artifact.featureProfile) {
    drift = await driftOfScoredCustomers(deps.pool, artifact.featureProfile, FEATURE_NAMES, at, rule, { threshold: deps.psiThreshold });
    await saveDrift(deps.pool, at, artifact.modelVersion, drift);
    for (const f of drift.features.filter((x) => x.psi > deps.psiThreshold)) {
      log.warn({ feature: f.feature, psi: Math.round(f.psi * 1000) / 1000, threshold: deps.psiThreshold, customers: drift.rows, modelVersion: artifact.modelVersion },
        "feature drift: today's scored customers differ from the model's training rows");
    }
  } else {
    notes.push(`model ${artifact.modelVersion} records no feature profile (trained before it existed): no drift measured`);
  }

  // 3. The saved KPI of the treatments whose horizon has just ended.
  const period = judgedPeriod(at, horizonDays, deps.savedPeriodDays);
  const saved = await computeSavedKpi(deps.pool, { ...period, horizonDays, asOf: at });
  await saveSavedKpi(deps.pool, saved);

  if (deps.metrics) await exportLiveQuality(deps.pool, deps.metrics, deps.psiThreshold);
  return {
    asOf: asOf.toISOString(),
    evaluations: evaluations.map((e) => ({
      modelVersion: e.modelVersion, customers: e.rows, churned: e.positives, rocAuc: e.rocAuc,
      rocAucLowerBound: e.expected?.rocAucInterval?.[0] ?? null, ece: e.ece,
    })),
    drift: drift === null ? "no profile in the model artifact" : { customers: drift.rows, drifted: drift.drifted, maxPsi: drift.features[0]?.psi ?? null },
    saved: { treated: saved.treated, saved: saved.saved, pending: saved.pending, savedRate: saved.savedRate },
    notes,
  };
}

/** Sets the live-quality gauges from the newest stored results (any worker, any time). */
export async function exportLiveQuality(db: pg.Pool, metrics: Metrics, psiThreshold: number): Promise<void> {
  const latest = await latestLiveQuality(db);
  // Reset first: a model version or feature that is no longer in the newest results must not linger.
  for (const g of [metrics.modelLiveRocAuc, metrics.modelLivePrecisionTop10, metrics.modelLiveEce, metrics.modelLiveBrier,
    metrics.modelLiveBandChurn, metrics.modelLiveCustomers, metrics.modelLiveScoredAt, metrics.modelTestRocAucLower, metrics.featureDriftPsi]) g.reset();
  for (const e of latest.evaluations) {
    const v = { model_version: e.modelVersion };
    if (e.rocAuc !== null) metrics.modelLiveRocAuc.set(v, e.rocAuc);
    if (e.precisionTop10 !== null) metrics.modelLivePrecisionTop10.set(v, e.precisionTop10);
    if (e.ece !== null) metrics.modelLiveEce.set(v, e.ece);
    if (e.brier !== null) metrics.modelLiveBrier.set(v, e.brier);
    for (const b of e.bands) if (b.churnRate !== null) metrics.modelLiveBandChurn.set({ ...v, level: b.level }, b.churnRate);
    metrics.modelLiveCustomers.set({ ...v, outcome: "churned" }, e.positives);
    metrics.modelLiveCustomers.set({ ...v, outcome: "stayed" }, e.rows - e.positives);
    metrics.modelLiveScoredAt.set(v, Date.parse(e.asOf) / 1000);
    const lower = e.expected?.rocAucInterval?.[0];
    if (lower !== undefined) metrics.modelTestRocAucLower.set(v, lower);
  }
  for (const f of latest.drift?.features ?? []) metrics.featureDriftPsi.set({ feature: f.feature }, f.psi);
  metrics.featureDriftThreshold.set(psiThreshold);
  if (latest.saved) {
    metrics.savedCustomers.set(latest.saved.saved);
    metrics.treatedCustomers.set(latest.saved.treated);
  }
}
