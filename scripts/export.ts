/** `npm run export -- ...`: `churnwatch export` from source, with the development database fallback. */
import { runCommand } from "../src/cli/args.js";
import { main } from "../src/cli/export.js";
import { enableDevDatabase } from "./lib/database.js";

enableDevDatabase();
runCommand("export", () => main(process.argv.slice(2), "npm run export --"));
