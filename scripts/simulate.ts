/**
 * `npm run simulate -- [options]`: `churnwatch simulate` from source. Re-exports the command's
 * pieces for tests that drive it in-process.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runCommand } from "../src/cli/args.js";
import { main } from "../src/cli/simulate.js";

export { main, parseCliArgs, run, usage, UsageError, type CliOptions } from "../src/cli/simulate.js";

// Run only when executed, so tests can import parseCliArgs/run without side effects.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runCommand("simulate", () => main(process.argv.slice(2), "npx tsx scripts/simulate.ts"));
}
