/** `npm run erase -- ...`: `churnwatch erase` from source, with the development database fallback. */
import { runCommand } from "../src/cli/args.js";
import { main } from "../src/cli/erase.js";
import { enableDevDatabase } from "./lib/database.js";

enableDevDatabase();
runCommand("erase", () => main(process.argv.slice(2), "npm run erase --"));
