/**
 * `churnwatch worker` (and `node dist/main.js`): the production worker. It refuses to guess:
 * without DATABASE_URL and KAFKA_BROKERS it stops at once and names them (exit 2); the
 * development stand-ins (embedded PostgreSQL, in-memory broker) are started only by
 * `npm run dev` and the demo, never imported from here.
 *
 * Runs until SIGTERM/SIGINT/SIGHUP or a fatal error, then stops the worker within
 * SHUTDOWN_TIMEOUT_MS (src/lifecycle.ts has the exit codes).
 */
import { ConfigError, loadConfig, type Config } from "../config/config.js";
import { readHttpHost } from "../http/server.js";
import { EXIT, Lifecycle, readShutdownTimeout, ShuttingDown } from "../lifecycle.js";
import { createLogger, type Logger } from "../log.js";
import { startWorker, type WorkerOptions } from "../worker.js";
import { defineCli, errorLine } from "./args.js";

const cli = defineCli({
  name: "worker",
  usage: "$0",
  summary: "Runs the churnwatch worker: Kafka events -> Postgres -> risk scores -> CRM events and digests. Configured by environment variables only.",
  options: {},
  epilogue: `Required: DATABASE_URL (postgresql://...) and KAFKA_BROKERS (host:port[,host:port]); every other
variable has a default (README, "Configuration"). Also read here: SHUTDOWN_TIMEOUT_MS (default 25000),
HTTP_HOST (default 0.0.0.0) and HTTP_PORT (default 9464) for /healthz, /readyz and /metrics.

Exit codes: 0 stopped cleanly after SIGTERM/SIGINT/SIGHUP; 1 failed to start, or a fatal error while
running (e.g. the Kafka consumer crashed for good); 2 wrong usage or configuration; 124 the stop
sequence did not finish within SHUTDOWN_TIMEOUT_MS.`,
});

/** The configuration a production start accepts: real database and brokers, nothing embedded. */
export function productionConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = loadConfig(env);
  const missing: string[] = [];
  if (!("url" in config.database)) missing.push("DATABASE_URL: required, a postgresql:// connection URL");
  if (config.kafka.brokers === "embedded") missing.push("KAFKA_BROKERS: required, host:port[,host:port...]");
  if (missing.length) {
    throw new ConfigError([...missing, "(for a local try-out with an embedded database and an in-memory broker, run `npm run dev`)"]);
  }
  // Settings read outside config.ts are checked here too, so a typo stops the start, not the stop.
  readShutdownTimeout(env);
  readHttpHost(env);
  return config;
}

/**
 * Starts the worker and returns once it runs (undefined: the process stays up until a signal).
 * Start-up errors reject; the caller turns them into one line and exit code 1 (2 for ConfigError).
 */
export async function main(argv: string[], prog = "churnwatch worker"): Promise<undefined> {
  cli.parse(argv, prog);
  const config = productionConfig();
  const logger = createLogger(config.logLevel);
  const life = new Lifecycle({ logger, timeoutMs: readShutdownTimeout() }).installSignalHandlers();
  const options: WorkerOptions = {
    logger,
    // The consumer crashed for good: stop everything and exit 1, so an orchestrator restarts us.
    onFatal: (err) => life.fail("the Kafka consumer crashed for good; stopping", err),
  };
  try {
    await life.start("worker", () => startWorker(config, options), (worker) => worker.stop());
  } catch (err) {
    startFailed(life, logger, prog, err);
    return undefined;
  }
  logger.info({ groupId: config.kafka.groupId, pid: process.pid }, "churnwatch worker running");
  return undefined;
}

/**
 * A start-up failure: one line on stderr for whoever started it (the stack only with
 * LOG_LEVEL=debug), a fatal line for the log pipeline, then whatever did start is stopped and the
 * process exits 1. A signal during start-up (ShuttingDown) is already being handled.
 */
export function startFailed(life: Lifecycle, logger: Logger, prog: string, err: unknown): void {
  if (err instanceof ShuttingDown) return;
  process.stderr.write(`${errorLine(prog, err)}\n`);
  const e = err instanceof Error ? err : new Error(String(err));
  // pino's err serializer adds the stack; operators get it only when debugging.
  logger.fatal(logger.isLevelEnabled("debug") ? { err: e } : { error: e.message, errorType: e.name }, "start-up failed");
  void life.shutdown("start-up failed", EXIT.failure);
}
