/** `npm run dead-letters -- ...`: `churnwatch dead-letters` from source, with the development database fallback. */
import { runCommand } from "../src/cli/args.js";
import { main } from "../src/cli/dead-letters.js";
import { enableDevDatabase } from "./lib/database.js";

enableDevDatabase();
runCommand("dead-letters", () => main(process.argv.slice(2), "npm run dead-letters --"));
