/** `npm run train -- [options]`: `churnwatch train` from source, with the development database fallback. */
import { runCommand } from "../src/cli/args.js";
import { main } from "../src/cli/train.js";
import { enableDevDatabase } from "./lib/database.js";

enableDevDatabase();
runCommand("train", () => main(process.argv.slice(2), "npm run train --"));
