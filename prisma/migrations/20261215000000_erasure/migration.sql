-- Erasure and access (GDPR Art. 17 and 15, src/admin/): the audit of erasures, the erasure requests
-- that arrive as events, the salt of the audit's customer hash, tombstones in the event outbox, and
-- the index that finds a customer's outreach listings.

-- One row per erasure, without personal data: the customer id only as a salted SHA-256.
CREATE TABLE "customer_erasure" (
    "id" BIGSERIAL NOT NULL,
    "customer_hash" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "requested_by" TEXT NOT NULL,
    "reason" TEXT,
    "requested_at" TIMESTAMPTZ(3) NOT NULL,
    "erased_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "removed" JSONB NOT NULL,

    CONSTRAINT "customer_erasure_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "customer_erasure_customer_hash_idx" ON "customer_erasure"("customer_hash");

-- Scoring pages ask whether anyone was erased since they were read (store/erasure-barrier.ts).
CREATE INDEX "customer_erasure_erased_at_idx" ON "customer_erasure"("erased_at");

-- Requests that arrived as events: written by the batch transaction, executed right after commit
-- or by the sweep; the erasure deletes them in its own transaction.
CREATE TABLE "erasure_request" (
    "event_id" TEXT NOT NULL,
    "customer_id" TEXT NOT NULL,
    "requested_at" TIMESTAMPTZ(3) NOT NULL,
    "source_topic" TEXT NOT NULL,
    "source_partition" INTEGER NOT NULL,
    "source_offset" BIGINT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,

    CONSTRAINT "erasure_request_pkey" PRIMARY KEY ("event_id")
);

CREATE INDEX "erasure_request_customer_id_idx" ON "erasure_request"("customer_id");

CREATE INDEX "erasure_request_next_attempt_at_idx" ON "erasure_request"("next_attempt_at");

-- The audit hash's salt: one row, random at creation. Without it a table of hashes of plausible
-- ids ("c-1" ... "c-9999999") computed anywhere else would read the audit back.
CREATE TABLE "erasure_salt" (
    "singleton" BOOLEAN NOT NULL DEFAULT true,
    "salt" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "erasure_salt_pkey" PRIMARY KEY ("singleton"),
    CONSTRAINT "erasure_salt_singleton" CHECK ("singleton")
);
INSERT INTO "erasure_salt" ("singleton", "salt") VALUES (true, md5(gen_random_uuid()::text) || md5(gen_random_uuid()::text));

-- A tombstone (kind 'tombstone') has no payload: the CRM topic gets the key and a null value.
ALTER TABLE "event_outbox" ALTER COLUMN "payload" DROP NOT NULL;

-- Erasure and export find a customer's listings in every segment (the key starts with the segment).
CREATE INDEX "outreach_listing_customer_id_idx" ON "outreach_listing"("customer_id");
