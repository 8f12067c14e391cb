/** `churnwatch migrate`: applies prisma/migrations to DATABASE_URL (or --database-url). */
import { defineCli } from "./args.js";
import { cliConfig, openCliDatabase } from "./database.js";

const cli = defineCli({
  name: "migrate",
  usage: "$0 [--database-url URL]",
  summary: "Applies the pending SQL migrations in prisma/migrations (bookkept in Prisma's _prisma_migrations table) and lists what was applied.",
  options: {
    "database-url": { type: "string", value: "URL", description: "postgresql:// URL", defaultText: "DATABASE_URL" },
  },
  epilogue: "Several workers may run this at once: migrations are applied under an advisory lock. The worker also applies\nthem at start; this command lets a deployment run them as a separate step first.",
});

export async function main(argv: string[], prog = "churnwatch migrate"): Promise<number> {
  const v = cli.parse(argv, prog);
  const opened = await openCliDatabase(cliConfig(v["database-url"]));
  try {
    const { rows } = await opened.db.pool.query<{ migration_name: string }>(
      `select migration_name from "_prisma_migrations" where finished_at is not null and rolled_back_at is null order by migration_name`,
    );
    if (opened.applied.length) process.stdout.write(`applied ${opened.applied.length} migration(s): ${opened.applied.join(", ")}\n`);
    process.stdout.write(`database is up to date: ${rows.length} migration(s) applied in all, latest ${rows.at(-1)?.migration_name ?? "none"}\n`);
  } finally {
    await opened.close();
  }
  return 0;
}
