-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "customer_state" (
    "customer_id" TEXT NOT NULL,
    "state" JSON NOT NULL,
    "last_event_at" TIMESTAMPTZ(3) NOT NULL,
    "event_count" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "customer_state_pkey" PRIMARY KEY ("customer_id")
);

-- CreateTable
CREATE TABLE "raw_event" (
    "event_id" TEXT NOT NULL,
    "customer_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "payload" JSON NOT NULL,
    "source_topic" TEXT NOT NULL,
    "source_partition" INTEGER NOT NULL,
    "source_offset" BIGINT NOT NULL,
    "ingested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "raw_event_pkey" PRIMARY KEY ("event_id")
);

-- CreateTable
CREATE TABLE "consumer_offset" (
    "group_id" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "next_offset" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "consumer_offset_pkey" PRIMARY KEY ("group_id","topic","partition")
);

-- CreateTable
CREATE TABLE "dead_letter" (
    "id" BIGSERIAL NOT NULL,
    "source_topic" TEXT NOT NULL,
    "source_partition" INTEGER NOT NULL,
    "source_offset" BIGINT NOT NULL,
    "code" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dead_letter_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "raw_event_customer_id_occurred_at_idx" ON "raw_event"("customer_id", "occurred_at");

-- CreateIndex
CREATE UNIQUE INDEX "dead_letter_source_topic_source_partition_source_offset_key" ON "dead_letter"("source_topic", "source_partition", "source_offset");


-- Keep customer states (a few KB, rewritten every batch) inline and uncompressed: TOAST
-- compression on every rewrite costs more CPU than the space it saves.
ALTER TABLE "customer_state" SET (toast_tuple_target = 8160, fillfactor = 70);
