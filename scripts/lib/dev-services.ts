/**
 * Development stand-ins for the two servers a worker needs: embedded PostgreSQL (real binaries
 * from npm) and the in-memory local Kafka broker (librdkafka's mock cluster). Only the demo, the
 * dev command and the data-science scripts start them, and only when the configuration asks
 * (DATABASE_URL / KAFKA_BROKERS unset or "embedded"); the production entry (src/main.ts) refuses
 * to guess and never imports this file.
 */
import type { Config } from "../../src/config/config.js";
import type { Logger } from "../../src/log.js";
import { startEmbeddedPostgres } from "../../src/store/embedded.js";
import { startLocalBroker } from "../kafka-broker/broker.js";

/** A configuration whose database and brokers are real addresses. */
export type ResolvedConfig = Config & { database: { url: string }; kafka: Config["kafka"] & { brokers: string[] } };

export interface DevServices {
  config: ResolvedConfig;
  stop(): Promise<void>;
}

/** `ownSignals`: the caller stops the server on SIGINT/SIGTERM itself (see src/store/embedded.ts). */
export async function startEmbeddedDatabase(config: Config, logger: Logger, ownSignals = false): Promise<{ url: string; stop(): Promise<void> }> {
  if ("url" in config.database) return { url: config.database.url, stop: async () => undefined };
  const server = await startEmbeddedPostgres({
    ...config.database.embedded,
    ownSignals,
    onNotice: (message) => logger.warn({ component: "embedded-postgres" }, message),
  });
  logger.info({ dir: config.database.embedded.dir, port: config.database.embedded.port }, "embedded PostgreSQL started");
  return server;
}

/** Starts whatever the configuration leaves to the embedded stand-ins and returns real addresses. */
export async function startDevServices(config: Config, logger: Logger, partitions = 6, ownSignals = false): Promise<DevServices> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    let brokers: string[];
    if (config.kafka.brokers === "embedded") {
      const t = config.kafka.topics;
      const broker = await startLocalBroker({
        topics: [t.purchases, t.support, t.dlq, t.riskScores].map((name) => ({ name, partitions })),
      });
      stops.push(() => broker.stop());
      brokers = broker.brokers;
      logger.warn({ bootstrap: broker.bootstrap }, "using the in-memory local Kafka broker (development only: data is lost on exit)");
    } else {
      brokers = config.kafka.brokers;
    }
    const db = await startEmbeddedDatabase(config, logger, ownSignals);
    stops.push(() => db.stop());
    return { config: { ...config, database: { url: db.url }, kafka: { ...config.kafka, brokers } }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
