/**
 * Production entry point (`node dist/main.js`, the same as `churnwatch worker`): wiring only, no
 * development tooling. See src/cli/worker.ts: it refuses to guess (DATABASE_URL and
 * KAFKA_BROKERS are required) and stops cleanly on SIGTERM/SIGINT/SIGHUP.
 */
import { runCommand } from "./cli/args.js";
import { main } from "./cli/worker.js";

runCommand("churnwatch", () => main(process.argv.slice(2), "node dist/main.js"));
