/**
 * Applies the SQL migrations in prisma/migrations in name order, bookkept in Prisma's own
 * _prisma_migrations table (same columns, sha256 checksums of migration.sql) so that
 * `prisma migrate deploy` and `prisma migrate status` agree wherever Prisma's engine runs.
 * We apply them ourselves because `migrate deploy` through adapter-pg fails on Prisma 6.19
 * (prisma/orm#27403: "Column type 'name' could not be deserialized").
 */
import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { withClient } from "./tx.js";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));

// Any constant works; it only has to be the same for every worker of this application.
const MIGRATION_LOCK_KEY = 0x63776d67; // "cwmg"

const BOOKKEEPING_DDL = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum"            VARCHAR(64) NOT NULL,
  "finished_at"         TIMESTAMPTZ,
  "migration_name"      VARCHAR(255) NOT NULL,
  "logs"                TEXT,
  "rolled_back_at"      TIMESTAMPTZ,
  "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    }),
  );
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

/** Applies pending migrations; safe to call from several workers at once (advisory lock). */
export async function migrate(pool: pg.Pool, dir = MIGRATIONS_DIR): Promise<MigrateResult> {
  const migrations = await loadMigrations(dir);
  // withClient: a connection lost while the lock is held (a restart) fails the run, not the process.
  return withClient(pool, async (client) => {
    try {
      // A migration may rebuild a large table, and other workers wait here for the first one: the
      // pool's statement timeout is for the hot paths, not for this session.
      await client.query("set statement_timeout = 0");
      await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
      await client.query(BOOKKEEPING_DDL);
      const { rows } = await client.query<{ migration_name: string; checksum: string }>(
        `select migration_name, checksum from "_prisma_migrations"
          where finished_at is not null and rolled_back_at is null`,
      );
      const done = new Map(rows.map((r) => [r.migration_name, r.checksum]));
      const applied: string[] = [];
      for (const m of migrations) {
        const previous = done.get(m.name);
        if (previous !== undefined) {
          if (previous !== m.checksum) {
            throw new Error(
              `migration ${m.name} was changed after it was applied (checksum differs); ` +
                "add a new migration instead of editing an applied one",
            );
          }
          continue;
        }
        await client.query("begin");
        try {
          const id = randomUUID();
          await client.query(
            `insert into "_prisma_migrations" (id, checksum, migration_name, started_at) values ($1, $2, $3, now())`,
            [id, m.checksum, m.name],
          );
          await client.query(m.sql);
          await client.query(
            `update "_prisma_migrations" set finished_at = now(), applied_steps_count = 1 where id = $1`,
            [id],
          );
          await client.query("commit");
        } catch (err) {
          await client.query("rollback");
          throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push(m.name);
      }
      return { applied, alreadyApplied: migrations.length - applied.length };
    } finally {
      await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
      await client.query("reset statement_timeout").catch(() => undefined);
    }
  });
}
