-- Dead letters can be sent back to their source topic once the producer's bug is fixed, at most
-- once each: redriven_at is set before the send (and cleared again if the send fails).
ALTER TABLE "dead_letter" ADD COLUMN "redriven_at" TIMESTAMPTZ(3);
CREATE INDEX "dead_letter_code_created_at_idx" ON "dead_letter" ("code", "created_at");
