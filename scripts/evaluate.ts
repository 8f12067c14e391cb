/** `npm run evaluate -- [options]`: `churnwatch evaluate` from source, with the development database fallback (for --live). */
import { runCommand } from "../src/cli/args.js";
import { main } from "../src/cli/evaluate.js";
import { enableDevDatabase } from "./lib/database.js";

enableDevDatabase();
runCommand("evaluate", () => main(process.argv.slice(2), "npm run evaluate --"));
