-- CreateTable
CREATE TABLE "customer_score" (
    "customer_id" TEXT NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,
    "risk_level" TEXT NOT NULL,
    "reasons" JSON NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "priority" DOUBLE PRECISION NOT NULL,
    "segments" TEXT[],
    "model_version" TEXT NOT NULL,
    "scored_at" TIMESTAMPTZ(3) NOT NULL,
    "published_score" DOUBLE PRECISION,
    "published_risk_level" TEXT,
    "published_at" TIMESTAMPTZ(3),

    CONSTRAINT "customer_score_pkey" PRIMARY KEY ("customer_id")
);

-- CreateTable
CREATE TABLE "score_history" (
    "id" BIGSERIAL NOT NULL,
    "customer_id" TEXT NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,
    "risk_level" TEXT NOT NULL,
    "model_version" TEXT NOT NULL,
    "scored_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "score_history_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbox_message" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "dedupe_key" TEXT NOT NULL,
    "recipients" TEXT[],
    "subject" TEXT NOT NULL,
    "raw" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMPTZ(3),

    CONSTRAINT "outbox_message_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outreach_listing" (
    "segment" TEXT NOT NULL,
    "customer_id" TEXT NOT NULL,
    "listed_at" TIMESTAMPTZ(3) NOT NULL,
    "listed_score" DOUBLE PRECISION NOT NULL,
    "listed_level" TEXT NOT NULL,

    CONSTRAINT "outreach_listing_pkey" PRIMARY KEY ("segment","customer_id")
);

-- CreateTable
CREATE TABLE "job_run" (
    "job" TEXT NOT NULL,
    "slot" TEXT NOT NULL,
    "claimed_by" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    "outcome" JSONB,

    CONSTRAINT "job_run_pkey" PRIMARY KEY ("job","slot")
);

-- CreateTable
CREATE TABLE "kpi_snapshot" (
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "period_end" TIMESTAMPTZ(3) NOT NULL,
    "values" JSONB NOT NULL,
    "computed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "kpi_snapshot_pkey" PRIMARY KEY ("period_start","period_end")
);

-- CreateIndex
CREATE INDEX "score_history_customer_id_scored_at_idx" ON "score_history"("customer_id", "scored_at");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_message_dedupe_key_key" ON "outbox_message"("dedupe_key");

-- CreateIndex
CREATE INDEX "outbox_message_status_next_attempt_at_idx" ON "outbox_message"("status", "next_attempt_at");


-- Room on each page for in-place (HOT) updates: every rescoring rewrites every score row.
ALTER TABLE "customer_score" SET (fillfactor = 80);
