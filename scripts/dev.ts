/**
 * `npm run dev`: the worker for local development. Whatever the environment leaves unset is
 * started here: embedded PostgreSQL under ./data/postgres (kept across restarts) for an unset
 * DATABASE_URL, the in-memory local Kafka broker for an unset KAFKA_BROKERS. Real addresses in
 * the environment are used as they are. The ops endpoints listen on 127.0.0.1 unless HTTP_HOST
 * says otherwise.
 *
 * Stops like the production worker (src/lifecycle.ts): on SIGTERM/SIGINT/SIGHUP the worker stops
 * first (batches, commit, group leave, pool), then the embedded PostgreSQL and the broker.
 */
import { loadConfig } from "../src/config/config.js";
import { runCommand } from "../src/cli/args.js";
import { readHttpHost } from "../src/http/server.js";
import { startFailed } from "../src/cli/worker.js";
import { Lifecycle, readShutdownTimeout } from "../src/lifecycle.js";
import { createLogger } from "../src/log.js";
import { startWorker, type WorkerOptions } from "../src/worker.js";
import { startDevServices } from "./lib/dev-services.js";

async function main(): Promise<undefined> {
  // Loopback by default: a development worker has no business answering the network.
  if (!process.env.HTTP_HOST) process.env.HTTP_HOST = "127.0.0.1";
  const config = loadConfig(process.env);
  readHttpHost(process.env);
  const logger = createLogger(config.logLevel);
  const life = new Lifecycle({ logger, timeoutMs: readShutdownTimeout() }).installSignalHandlers();
  try {
    const services = await life.start("development services", () => startDevServices(config, logger, 6, true), (s) => s.stop());
    const options: WorkerOptions = { logger, onFatal: (err) => life.fail("the Kafka consumer crashed for good; stopping", err) };
    await life.start("worker", () => startWorker(services.config, options), (w) => w.stop());
    logger.info({ groupId: config.kafka.groupId, brokers: services.config.kafka.brokers, pid: process.pid }, "churnwatch worker running (development)");
  } catch (err) {
    // Stops the embedded PostgreSQL and the broker if they started, then exits 1.
    startFailed(life, logger, "npm run dev", err);
  }
  return undefined;
}

// A configuration error exits 2 before anything starts.
runCommand("npm run dev", main);
