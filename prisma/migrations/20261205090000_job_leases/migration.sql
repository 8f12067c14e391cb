-- A job slot's claim becomes a lease. Before, a worker that crashed or failed after claiming a
-- (job, slot) row left it claimed for good, so that day's digest or the rescoring after a model
-- promotion never happened. Now the claimer renews claimed_until while the job runs (heartbeat);
-- a slot whose lease expired (its worker died) or whose run failed is run again by any worker once
-- next_attempt_at has passed (exponential backoff), up to a bounded number of attempts.
ALTER TABLE "job_run"
    ADD COLUMN "status" TEXT NOT NULL DEFAULT 'running',
    ADD COLUMN "attempts" INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN "claimed_until" TIMESTAMPTZ(3),
    ADD COLUMN "next_attempt_at" TIMESTAMPTZ(3),
    ADD COLUMN "scheduled_at" TIMESTAMPTZ(3),
    ADD COLUMN "last_error" TEXT,
    ADD COLUMN "duration_ms" INTEGER;

-- Rows from before leases: a finished row succeeded unless its outcome recorded an error. An
-- unfinished one was claimed without a lease, so nobody can tell whether its worker still runs it:
-- it is closed as failed rather than re-run days late (a stale digest is worse than none).
UPDATE "job_run" SET
    "status" = CASE
        WHEN "finished_at" IS NULL THEN 'failed'
        WHEN jsonb_typeof("outcome") = 'object' AND "outcome" ? 'error' THEN 'failed'
        ELSE 'succeeded' END,
    "last_error" = CASE
        WHEN "finished_at" IS NULL THEN 'claimed before job leases existed; not retried'
        WHEN jsonb_typeof("outcome") = 'object' AND "outcome" ? 'error' THEN "outcome"->>'error'
        END,
    "finished_at" = COALESCE("finished_at", now()),
    "scheduled_at" = "started_at";

-- The retry sweep's queue: only slots still open, in the order they fall due.
CREATE INDEX "job_run_open_idx" ON "job_run" ("next_attempt_at") WHERE "status" IN ('running', 'retry');

-- Retention deletes finished slots by age as an index range scan (open slots have no finished_at).
CREATE INDEX "job_run_finished_at_idx" ON "job_run" ("finished_at");

-- One row per job: when it last succeeded and failed and how long its last run took. It outlives
-- job_run's retention window, and every worker exports it as metrics (not only the one that ran it).
CREATE TABLE "job_status" (
    "job" TEXT NOT NULL,
    "last_success_at" TIMESTAMPTZ(3),
    "last_failure_at" TIMESTAMPTZ(3),
    "last_duration_ms" INTEGER,
    "last_slot" TEXT,
    "last_error" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_status_pkey" PRIMARY KEY ("job")
);

INSERT INTO "job_status" ("job", "last_success_at", "last_failure_at")
SELECT "job",
       max("finished_at") FILTER (WHERE "status" = 'succeeded'),
       max("finished_at") FILTER (WHERE "status" = 'failed')
  FROM "job_run"
 GROUP BY "job";
