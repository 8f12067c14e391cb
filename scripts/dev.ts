/**
 * `npm run dev`: the worker for local development. Whatever the environment leaves unset is
 * started here: embedded PostgreSQL under ./data/postgres (kept across restarts) for an unset
 * DATABASE_URL, the in-memory local Kafka broker for an unset KAFKA_BROKERS. Real addresses in
 * the environment are used as they are.
 */
import { ConfigError, loadConfig } from "../src/config/config.js";
import { stopOnSignal } from "../src/lifecycle.js";
import { createLogger } from "../src/log.js";
import { startWorker } from "../src/worker.js";
import { startDevServices } from "./lib/dev-services.js";

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  const services = await startDevServices(config, logger);
  try {
    const worker = await startWorker(services.config, { logger });
    logger.info({ groupId: config.kafka.groupId, brokers: services.config.kafka.brokers }, "churnwatch worker running (development)");
    stopOnSignal(logger, async () => {
      await worker.stop();
      await services.stop();
    });
  } catch (err) {
    await services.stop();
    throw err;
  }
}

main().catch((err) => {
  process.stderr.write(err instanceof ConfigError ? `churnwatch: ${err.message}\n` : `churnwatch: fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
