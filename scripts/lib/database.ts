/**
 * The data scientists' convenience for the npm scripts of a source checkout: an unset
 * DATABASE_URL means the embedded PostgreSQL under ./data (started for the command, stopped
 * after it). The compiled `churnwatch` never registers this (src/cli/database.ts).
 */
import { allowDevDatabase } from "../../src/cli/database.js";
import { startEmbeddedDatabase } from "./dev-services.js";

export function enableDevDatabase(): void {
  allowDevDatabase(startEmbeddedDatabase);
}
