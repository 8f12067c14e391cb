/** `npm run db:migrate -- [options]`: `churnwatch migrate` from source, with the development database fallback. */
import { runCommand } from "../src/cli/args.js";
import { main } from "../src/cli/migrate.js";
import { enableDevDatabase } from "./lib/database.js";

enableDevDatabase();
runCommand("db:migrate", () => main(process.argv.slice(2), "npm run db:migrate --"));
