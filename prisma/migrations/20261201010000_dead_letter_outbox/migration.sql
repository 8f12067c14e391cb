-- Dead letters become a transactional outbox: the batch transaction stores the original message
-- (key, value, headers) with the reason, and a relay publishes it to the dead-letter topic after
-- commit. A retried batch therefore never sends its rejects again, an unwritable dead-letter
-- topic never holds ingest up, and the stored bytes allow a redrive once the producer is fixed.
ALTER TABLE "dead_letter"
    ADD COLUMN "message_key" BYTEA,
    ADD COLUMN "message_value" BYTEA,
    ADD COLUMN "message_headers" JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN "sent_at" TIMESTAMPTZ(3),
    ADD COLUMN "claimed_until" TIMESTAMPTZ(3);

-- Rows written before this migration were sent to the topic before their transaction committed.
UPDATE "dead_letter" SET "sent_at" = "created_at";

-- The relay's queue: only unsent rows, in id order.
CREATE INDEX "dead_letter_unsent_idx" ON "dead_letter" ("id") WHERE "sent_at" IS NULL;
