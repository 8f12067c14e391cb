/**
 * Live model quality and drift: the model graded on what happened (live.ts), feature drift against
 * its training rows (drift.ts), the daily job and its metrics (job.ts), the stored series and the
 * latest summary (store.ts), plain sentences for digests and reports (describe.ts).
 *
 * For a digest footer: `describeLiveQuality(await latestLiveQuality(pool))`.
 */
export { bandChurn, liveMetrics, type LiveBand, type LiveMetricValues } from "./metrics.js";
export { DEFAULT_PSI_THRESHOLD, DriftAccumulator, driftOfScoredCustomers, psi, PSI_FLOOR, type DriftReport, type FeatureDrift } from "./drift.js";
export {
  churned, CohortColumns, evaluateCohort, evaluateLive, gradeScores, outcomeFacts, scoresInForce, stageAt,
  type Cohort, type EvaluateOptions, type Expected, type GradedScore, type LiveEvaluation, type ScoreAt, type WindowFacts,
} from "./live.js";
export { expectedOf, exportLiveQuality, MIN_CLASS_CUSTOMERS, runLiveQuality, type LiveQualityDeps, type LiveQualityOutcome } from "./job.js";
export { latestLiveQuality, readEvaluations, saveDrift, saveEvaluation, saveSavedKpi, type DriftRow, type LiveQualitySummary } from "./store.js";
export { describeEvaluation, describeLiveQuality } from "./describe.js";
