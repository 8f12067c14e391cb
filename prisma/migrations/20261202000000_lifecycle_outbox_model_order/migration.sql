-- Scoring: lifecycle outside the model's population, model order, transactional event outbox, failures set aside (issues 8, 9, 11).
-- AlterTable
ALTER TABLE "customer_score" ADD COLUMN     "lifecycle" TEXT,
ADD COLUMN     "model_seq" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "reasons_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "unscored_customer" (
    "customer_id" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "since" TIMESTAMPTZ(3),
    "value" DOUBLE PRECISION NOT NULL,
    "model_seq" INTEGER NOT NULL,
    "observed_at" TIMESTAMPTZ(3) NOT NULL,
    "state_event_count" INTEGER NOT NULL,
    "state_updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "unscored_customer_pkey" PRIMARY KEY ("customer_id")
);

-- CreateTable
CREATE TABLE "served_model" (
    "model_version" TEXT NOT NULL,
    "seq" SERIAL NOT NULL,
    "artifact_created_at" TIMESTAMPTZ(3),
    "first_served_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "served_model_pkey" PRIMARY KEY ("model_version")
);

-- CreateTable
CREATE TABLE "event_outbox" (
    "id" BIGSERIAL NOT NULL,
    "event_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "customer_id" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "claimed_by" TEXT,
    "claimed_until" TIMESTAMPTZ(3),
    "last_error" TEXT,

    CONSTRAINT "event_outbox_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "scoring_failure" (
    "customer_id" TEXT NOT NULL,
    "error" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 1,
    "model_version" TEXT,
    "first_failed_at" TIMESTAMPTZ(3) NOT NULL,
    "last_failed_at" TIMESTAMPTZ(3) NOT NULL,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "scoring_failure_pkey" PRIMARY KEY ("customer_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "served_model_seq_key" ON "served_model"("seq");

-- CreateIndex
CREATE INDEX "scoring_failure_next_attempt_at_idx" ON "scoring_failure"("next_attempt_at");


-- Customers with rows under a live claim, which other relays must leave alone to keep each
-- customer's events in order (publish/event-outbox.ts). Partial: only claimed rows are in it.
-- (Prisma's schema language cannot state a partial index; it lives here only.)
CREATE INDEX "event_outbox_claimed_customer_idx" ON "event_outbox"("customer_id") WHERE "claimed_until" IS NOT NULL;

-- The relay claims the oldest rows first and deletes them once acknowledged: keep pages for new
-- rows compact after the deletes.
ALTER TABLE "event_outbox" SET (autovacuum_vacuum_scale_factor = 0.02);
