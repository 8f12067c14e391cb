-- Live model quality (src/quality/): the model graded on what happened, one row per graded instant
-- T (the scores in force at T, from score_history) and model version. Written by the daily
-- live-quality job; every worker exports the newest row as metrics, and the digest footer and
-- `churnwatch evaluate --live` read the series. Small: one row a day per model version.
CREATE TABLE "model_live_quality" (
    "as_of" TIMESTAMPTZ(3) NOT NULL,
    "model_version" TEXT NOT NULL,
    "evaluated_at" TIMESTAMPTZ(3) NOT NULL,
    "horizon_days" INTEGER NOT NULL,
    "customers" INTEGER NOT NULL,
    "churned" INTEGER NOT NULL,
    "roc_auc" DOUBLE PRECISION,
    "precision_top10" DOUBLE PRECISION,
    "ece" DOUBLE PRECISION,
    "brier" DOUBLE PRECISION,
    "roc_auc_lower_bound" DOUBLE PRECISION,
    "bands" JSONB NOT NULL,
    "details" JSONB NOT NULL,
    "computed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "model_live_quality_pkey" PRIMARY KEY ("as_of","model_version")
);

-- The newest evaluation, and the series for reports, by when it was made.
CREATE INDEX "model_live_quality_evaluated_at_idx" ON "model_live_quality"("evaluated_at");

-- Feature drift: population stability index per feature between the model's training rows (bins
-- recorded in the artifact) and the customers scored at measured_at.
CREATE TABLE "feature_drift" (
    "measured_at" TIMESTAMPTZ(3) NOT NULL,
    "model_version" TEXT NOT NULL,
    "feature" TEXT NOT NULL,
    "psi" DOUBLE PRECISION NOT NULL,
    "customers" INTEGER NOT NULL,
    "threshold" DOUBLE PRECISION NOT NULL,
    "bins" JSONB NOT NULL,

    CONSTRAINT "feature_drift_pkey" PRIMARY KEY ("measured_at","model_version","feature")
);

-- The saved KPI (src/kpi/saved.ts) per judged period of treatments, as the job computed it.
CREATE TABLE "saved_kpi" (
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "period_end" TIMESTAMPTZ(3) NOT NULL,
    "horizon_days" INTEGER NOT NULL,
    "values" JSONB NOT NULL,
    "computed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "saved_kpi_pkey" PRIMARY KEY ("period_start","period_end","horizon_days")
);
