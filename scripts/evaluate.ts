/** `npm run evaluate -- [options]`: `churnwatch evaluate` from source. */
import { runCommand } from "../src/cli/args.js";
import { main } from "../src/cli/evaluate.js";

runCommand("evaluate", () => main(process.argv.slice(2), "npm run evaluate --"));
