/** `npm run replay -- [options]`: `churnwatch replay` from source, with the development database fallback. */
import { runCommand } from "../src/cli/args.js";
import { main } from "../src/cli/replay.js";
import { enableDevDatabase } from "./lib/database.js";

enableDevDatabase();
runCommand("replay", () => main(process.argv.slice(2), "npm run replay --"));
