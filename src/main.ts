/** Entry point: read config, start the worker, stop cleanly on SIGINT/SIGTERM. Wiring only. */
import { ConfigError, loadConfig, type Config } from "./config/config.js";
import { createLogger } from "./log.js";
import { startWorker } from "./worker.js";

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`churnwatch: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  let brokers: string[] | undefined;
  let stopBroker: (() => Promise<void>) | undefined;
  if (config.kafka.brokers === "embedded") {
    // Development default only: an in-memory Kafka-protocol broker (librdkafka's mock cluster).
    const { startLocalBroker } = await import("../scripts/kafka-broker/broker.js");
    const t = config.kafka.topics;
    const broker = await startLocalBroker({
      topics: [t.purchases, t.support, t.dlq].map((name) => ({ name, partitions: 6 })),
    });
    brokers = broker.brokers;
    stopBroker = () => broker.stop();
    logger.warn({ bootstrap: broker.bootstrap }, "KAFKA_BROKERS unset: using the in-memory local broker (data is lost on exit)");
  }
  const worker = await startWorker(config, { logger, ...(brokers ? { brokers } : {}) });
  logger.info({ groupId: config.kafka.groupId }, "churnwatch worker running");
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    await worker.stop();
    await stopBroker?.();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((err) => {
  process.stderr.write(`churnwatch: fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
