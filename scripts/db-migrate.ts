/** `npm run db:migrate`: applies prisma/migrations to DATABASE_URL (or the embedded database). */
import { defineCli, runCli } from "./lib/cli.js";
import { openScriptDatabase, scriptConfig } from "./lib/database.js";

const cli = defineCli({
  name: "db:migrate",
  usage: "npm run db:migrate -- [--database-url URL]",
  summary: "Applies the pending SQL migrations in prisma/migrations (bookkept in Prisma's _prisma_migrations table) and lists what was applied.",
  options: {
    "database-url": { type: "string", value: "URL", description: "postgresql:// URL", defaultText: "DATABASE_URL, else the embedded PostgreSQL under ./data" },
  },
  epilogue: "Several workers may run this at once: migrations are applied under an advisory lock.",
});

runCli(cli, async () => {
  const v = cli.parse();
  const opened = await openScriptDatabase(scriptConfig(v["database-url"]));
  try {
    const { rows } = await opened.db.pool.query<{ migration_name: string }>(
      `select migration_name from "_prisma_migrations" where finished_at is not null and rolled_back_at is null order by migration_name`,
    );
    if (opened.applied.length) process.stdout.write(`applied ${opened.applied.length} migration(s): ${opened.applied.join(", ")}\n`);
    process.stdout.write(`database is up to date: ${rows.length} migration(s) applied in all, latest ${rows.at(-1)?.migration_name ?? "none"}\n`);
  } finally {
    await opened.close();
  }
});
