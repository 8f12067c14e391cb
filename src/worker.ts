/**
 * Composes the stages into one running worker: database (embedded or external) with migrations,
 * Kafka ingest, and the operator HTTP endpoints. main.ts, the demo and the tests all start the
 * worker through here, so they exercise the same wiring.
 */
import type { Config } from "./config/config.js";
import { createLogger, type Logger } from "./log.js";
import { createMetrics, type Metrics } from "./http/metrics.js";
import { startOpsServer, type OpsServer } from "./http/server.js";
import { openDb, type Db } from "./store/db.js";
import { migrate } from "./store/migrate.js";
import { startEmbeddedPostgres, type EmbeddedPg } from "./store/embedded.js";
import { createKafka } from "./ingest/kafka.js";
import { startIngest, type Ingest, type IngestOptions } from "./ingest/consumer.js";

export interface WorkerOptions {
  logger?: Logger;
  /** Resolved broker list when config.kafka.brokers is "embedded" (the caller started the broker). */
  brokers?: string[];
  afterDbCommit?: IngestOptions["afterDbCommit"];
  /** Serve /healthz, /readyz, /metrics (default true; tests running several workers turn it off). */
  http?: boolean;
}

export interface Worker {
  db: Db;
  ingest: Ingest;
  metrics: Metrics;
  logger: Logger;
  httpPort: number | null;
  stop(): Promise<void>;
}

/** Starts the configured database (embedded when DATABASE_URL is unset) and applies migrations. */
export async function openDatabase(config: Config, logger: Logger): Promise<{ db: Db; embedded: EmbeddedPg | null }> {
  let embedded: EmbeddedPg | null = null;
  let url: string;
  if ("url" in config.database) {
    url = config.database.url;
  } else {
    embedded = await startEmbeddedPostgres(config.database.embedded);
    url = embedded.url;
    logger.info({ dir: config.database.embedded.dir, port: config.database.embedded.port }, "embedded PostgreSQL started");
  }
  const db = openDb(url);
  const result = await migrate(db.pool);
  if (result.applied.length) logger.info({ applied: result.applied }, "database migrations applied");
  return { db, embedded };
}

export async function startWorker(config: Config, options: WorkerOptions = {}): Promise<Worker> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const brokers = config.kafka.brokers === "embedded" ? options.brokers : config.kafka.brokers;
  if (!brokers || brokers.length === 0) throw new Error("KAFKA_BROKERS is \"embedded\" but no local broker address was given");
  const metrics = createMetrics(options.http !== false);
  const { db, embedded } = await openDatabase(config, logger);
  const kafka = createKafka({ ...config.kafka, brokers }, logger);
  const ingest = await startIngest({
    kafka,
    pool: db.pool,
    logger,
    metrics,
    groupId: config.kafka.groupId,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
    topics: [config.kafka.topics.purchases, config.kafka.topics.support],
    dlqTopic: config.kafka.topics.dlq,
    parse: { maxBytes: config.ingest.maxEventBytes, baseCurrency: config.ingest.baseCurrency, rates: config.ingest.rates },
    ...(options.afterDbCommit ? { afterDbCommit: options.afterDbCommit } : {}),
  });
  let ops: OpsServer | null = null;
  if (options.http !== false) {
    ops = await startOpsServer(config.httpPort, metrics.registry, {
      async ready() {
        const dbOk = await db.pool.query("select 1").then(() => true, () => false);
        const consumerOk = ingest.isReady();
        return { ok: dbOk && consumerOk, checks: { database: dbOk, consumer: consumerOk } };
      },
    });
    logger.info({ port: ops.port }, "ops endpoints listening (/healthz, /readyz, /metrics)");
  }
  return {
    db, ingest, metrics, logger,
    httpPort: ops?.port ?? null,
    async stop() {
      await ingest.stop();
      await ops?.close();
      await db.close();
      await embedded?.stop();
    },
  };
}
