/**
 * Production entry point: read config, start the worker, stop cleanly on SIGINT/SIGTERM. Wiring
 * only. It refuses to guess: without DATABASE_URL and KAFKA_BROKERS it stops and names them, and it
 * never starts the development stand-ins (`npm run dev` does).
 */
import { ConfigError, loadConfig, type Config } from "./config/config.js";
import { stopOnSignal } from "./lifecycle.js";
import { createLogger } from "./log.js";
import { startWorker, type Worker } from "./worker.js";

function productionConfig(): Config {
  const config = loadConfig(process.env);
  const missing: string[] = [];
  if (!("url" in config.database)) missing.push("DATABASE_URL: required, a postgresql:// connection URL");
  if (config.kafka.brokers === "embedded") missing.push("KAFKA_BROKERS: required, host:port[,host:port...]");
  if (missing.length) {
    throw new ConfigError([...missing, "(for a local try-out with an embedded database and an in-memory broker, run `npm run dev`)"]);
  }
  return config;
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = productionConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`churnwatch: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  let worker: Worker | undefined;
  const worker_ = await startWorker(config, {
    logger,
    // An orchestrator restarts a worker that exits non-zero; one that cannot consume must not linger.
    onFatal: (err) => {
      logger.fatal({ err }, "the Kafka consumer crashed for good; stopping");
      void (worker?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
    },
  });
  worker = worker_;
  logger.info({ groupId: config.kafka.groupId }, "churnwatch worker running");
  stopOnSignal(logger, () => worker_.stop());
}

main().catch((err) => {
  process.stderr.write(`churnwatch: fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
