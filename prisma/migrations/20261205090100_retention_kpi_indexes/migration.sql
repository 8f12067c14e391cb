-- Indexes for the retention job and the KPI queries, so neither reads a whole table.
-- (Plain CREATE INDEX: migrations run in one transaction each. On a large raw_event the build
-- blocks ingest writes for its duration, once, at the upgrade.)

-- Retention: each bounded delete ("older than the window, at most N rows") is an index range scan.
CREATE INDEX "score_history_scored_at_idx" ON "score_history" ("scored_at");

-- Only mail that is done (sent or given up on) is ever deleted; pending mail stays out of the index.
CREATE INDEX "outbox_message_done_created_at_idx" ON "outbox_message" ("created_at") WHERE "status" IN ('sent', 'failed');

-- Only dead letters the topic acknowledged are deleted; unsent ones are kept whatever their age.
CREATE INDEX "dead_letter_sent_at_idx" ON "dead_letter" ("sent_at") WHERE "sent_at" IS NOT NULL;

-- KPIs read one period (plus the active window before it) of raw_event by occurred_at; type and
-- customer_id in the index let the customer-base query run as an index-only scan (raw_event is
-- append-only, so the visibility map stays current). The same index serves raw-event retention
-- when RETENTION_RAW_EVENT_DAYS is set.
CREATE INDEX "raw_event_occurred_at_idx" ON "raw_event" ("occurred_at", "type") INCLUDE ("customer_id");
