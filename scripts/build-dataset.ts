/** `npm run dataset -- [options]`: `churnwatch dataset` from source, with the development database fallback. */
import { runCommand } from "../src/cli/args.js";
import { main } from "../src/cli/dataset.js";
import { enableDevDatabase } from "./lib/database.js";

enableDevDatabase();
runCommand("build-dataset", () => main(process.argv.slice(2), "npm run dataset --"));
