-- Mail is no longer sent inside a transaction that holds the row lock and a pool connection: a
-- drainer claims due rows with a lease (claimed_until) in one autocommit statement, sends them
-- outside any transaction and records the outcome in another. Other drainers skip a row while its
-- lease holds; a drainer that died mid-send leaves the lease to expire and the row is sent again
-- (same bytes, same Message-ID). claim_token names the claim, so a drainer whose lease ran out
-- cannot overwrite the bookkeeping of the drainer that claimed the row after it.
ALTER TABLE "outbox_message"
    ADD COLUMN "claimed_until" TIMESTAMPTZ(3),
    ADD COLUMN "claim_token" TEXT;
