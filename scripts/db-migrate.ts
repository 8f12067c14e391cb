/** `npm run db:migrate`: applies prisma/migrations to DATABASE_URL (or the embedded database). */
import { ConfigError, loadConfig } from "../src/config/config.js";
import { createLogger } from "../src/log.js";
import { openDatabase } from "../src/worker.js";

try {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  // openDatabase applies pending migrations under an advisory lock and logs what it applied.
  const { db, embedded } = await openDatabase(config, logger);
  const { rows } = await db.pool.query<{ migration_name: string }>(
    `select migration_name from "_prisma_migrations" where finished_at is not null order by migration_name`,
  );
  console.log(`database is up to date: ${rows.map((r) => r.migration_name).join(", ")}`);
  await db.close();
  await embedded?.stop();
} catch (err) {
  console.error(err instanceof ConfigError ? `churnwatch: ${err.message}` : err);
  process.exit(1);
}
