/**
 * The live-quality time series in Postgres (migration 20261210000000_live_quality): evaluations,
 * feature drift and the saved KPI, and the reads that metrics, reports and the digest footer use.
 * Writes are upserts keyed by what they describe, so a retried job slot writes the same rows again.
 */
import type { Queryable } from "../store/queryable.js";
import type { SavedKpi } from "../kpi/saved.js";
import type { DriftReport } from "./drift.js";
import type { LiveEvaluation } from "./live.js";

export async function saveEvaluation(db: Queryable, e: LiveEvaluation): Promise<void> {
  const { bands, ...rest } = e;
  const details = {
    untreated: rest.untreated, treated: rest.treated, outsidePopulation: rest.outsidePopulation, source: rest.source,
    expected: rest.expected, meanPredicted: rest.meanPredicted, churnRate: rest.churnRate,
  };
  await db.query(
    `insert into model_live_quality (as_of, model_version, evaluated_at, horizon_days, customers, churned, roc_auc, precision_top10, ece, brier,
                                     roc_auc_lower_bound, bands, details, computed_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, now())
     on conflict (as_of, model_version) do update set evaluated_at = excluded.evaluated_at, horizon_days = excluded.horizon_days,
       customers = excluded.customers, churned = excluded.churned, roc_auc = excluded.roc_auc, precision_top10 = excluded.precision_top10,
       ece = excluded.ece, brier = excluded.brier, roc_auc_lower_bound = excluded.roc_auc_lower_bound, bands = excluded.bands,
       details = excluded.details, computed_at = excluded.computed_at`,
    [
      e.asOf, e.modelVersion, e.evaluatedAt, e.horizonDays, e.rows, e.positives, e.rocAuc, e.precisionTop10, e.ece, e.brier,
      e.expected?.rocAucInterval?.[0] ?? null, JSON.stringify(bands), JSON.stringify(details),
    ],
  );
}

export async function saveDrift(db: Queryable, measuredAt: Date, modelVersion: string, report: DriftReport): Promise<void> {
  if (report.features.length === 0) return;
  await db.query(
    `insert into feature_drift (measured_at, model_version, feature, psi, customers, threshold, bins)
     select $1, $2, d.feature, d.psi, $3, $4, d.bins
       from json_to_recordset($5::json) as d(feature text, psi float8, bins jsonb)
     on conflict (measured_at, model_version, feature) do update
       set psi = excluded.psi, customers = excluded.customers, threshold = excluded.threshold, bins = excluded.bins`,
    [
      measuredAt, modelVersion, report.rows, report.threshold,
      JSON.stringify(report.features.map((f) => ({ feature: f.feature, psi: f.psi, bins: { edges: f.edges, expected: f.expected, actual: f.actual } }))),
    ],
  );
}

export async function saveSavedKpi(db: Queryable, k: SavedKpi): Promise<void> {
  await db.query(
    `insert into saved_kpi (period_start, period_end, horizon_days, values, computed_at) values ($1, $2, $3, $4, now())
     on conflict (period_start, period_end, horizon_days) do update set values = excluded.values, computed_at = excluded.computed_at`,
    [k.periodStart, k.periodEnd, k.horizonDays, JSON.stringify(k)],
  );
}

interface EvaluationRow {
  as_of: Date;
  model_version: string;
  evaluated_at: Date;
  horizon_days: number;
  customers: number;
  churned: number;
  roc_auc: number | null;
  precision_top10: number | null;
  ece: number | null;
  brier: number | null;
  bands: LiveEvaluation["bands"];
  details: Pick<LiveEvaluation, "untreated" | "treated" | "outsidePopulation" | "source" | "expected" | "meanPredicted" | "churnRate">;
}

function toEvaluation(r: EvaluationRow): LiveEvaluation {
  return {
    asOf: r.as_of.toISOString(),
    evaluatedAt: r.evaluated_at.toISOString(),
    horizonDays: r.horizon_days,
    modelVersion: r.model_version,
    rows: r.customers,
    positives: r.churned,
    rocAuc: r.roc_auc,
    precisionTop10: r.precision_top10,
    ece: r.ece,
    brier: r.brier,
    meanPredicted: r.details.meanPredicted ?? null,
    churnRate: r.details.churnRate ?? null,
    bands: r.bands,
    treated: r.details.treated ?? 0,
    untreated: r.details.untreated,
    outsidePopulation: r.details.outsidePopulation ?? 0,
    source: r.details.source ?? "score_history",
    expected: r.details.expected ?? null,
  };
}

/** Evaluations made since `since` (all model versions), oldest first: the series a report plots. */
export async function readEvaluations(db: Queryable, since: Date): Promise<LiveEvaluation[]> {
  const { rows } = await db.query<EvaluationRow>(
    "select * from model_live_quality where evaluated_at >= $1 order by evaluated_at, model_version",
    [since],
  );
  return rows.map(toEvaluation);
}

export interface DriftRow {
  feature: string;
  psi: number;
  threshold: number;
  customers: number;
}

export interface LiveQualitySummary {
  /** The newest evaluation of each model version made at the newest evaluation time (most rows first). */
  evaluations: LiveEvaluation[];
  /** The newest drift measurement: its time, model and every feature (largest PSI first). */
  drift: { measuredAt: string; modelVersion: string; features: DriftRow[]; drifted: string[] } | null;
  saved: SavedKpi | null;
}

/**
 * The latest live-quality results in one read: what the metrics exporter sets and what a digest
 * footer can show (describeLiveQuality turns it into sentences). Null parts were never computed.
 */
export async function latestLiveQuality(db: Queryable): Promise<LiveQualitySummary> {
  const evals = await db.query<EvaluationRow>(
    `select * from model_live_quality
      where evaluated_at = (select max(evaluated_at) from model_live_quality)
      order by customers desc, model_version`,
  );
  const drift = await db.query<{ measured_at: Date; model_version: string; feature: string; psi: number; threshold: number; customers: number }>(
    `select measured_at, model_version, feature, psi, threshold, customers from feature_drift
      where (measured_at, model_version) = (select measured_at, model_version from feature_drift order by measured_at desc, model_version limit 1)
      order by psi desc, feature`,
  );
  const saved = await db.query<{ values: SavedKpi }>("select values from saved_kpi order by period_end desc, computed_at desc limit 1");
  const first = drift.rows[0];
  return {
    evaluations: evals.rows.map(toEvaluation),
    drift: first === undefined ? null : {
      measuredAt: first.measured_at.toISOString(),
      modelVersion: first.model_version,
      features: drift.rows.map((r) => ({ feature: r.feature, psi: r.psi, threshold: r.threshold, customers: r.customers })),
      drifted: drift.rows.filter((r) => r.psi > r.threshold).map((r) => r.feature),
    },
    saved: saved.rows[0]?.values ?? null,
  };
}
