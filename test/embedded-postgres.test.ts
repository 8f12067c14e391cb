/**
 * src/store/embedded.ts, the development database: the package's signal handlers are removed for
 * callers with their own shutdown (its exit hook stays), a lock file or an orphaned server left by a
 * killed run is recovered on the next start, a server another live run owns is refused, and as root
 * an unreachable folder is explained instead of crashing on spawn EACCES.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recoverStaleLock, startEmbeddedPostgres } from "../src/store/embedded.js";
import { freePort } from "./support/servers.js";
import { processesMentioning, ROOT } from "./support/spawn.js";
import { waitFor } from "./support/kafka.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "churnwatch-embedded-"));
  await chmod(tmp, 0o755);
});
afterAll(async () => {
  for (const pid of processesMentioning(tmp)) {
    try {
      process.kill(pid, "SIGINT");
    } catch {
      // already gone
    }
  }
  await rm(tmp, { recursive: true, force: true });
});

/** A child process that starts a server on `dir` and then does `then` (print, exit, or wait to be killed). */
async function child(dir: string, port: number, ownSignals: boolean, then: "wait" | "exit") {
  const script = path.join(tmp, `child-${port}.mts`);
  await writeFile(script, `
    import { startEmbeddedPostgres } from ${JSON.stringify(path.join(ROOT, "src/store/embedded.ts"))};
    await startEmbeddedPostgres({ dir: ${JSON.stringify(dir)}, port: ${port}, ownSignals: ${ownSignals}, flags: ["-c", "fsync=off"] });
    const listeners = Object.fromEntries(["SIGTERM", "SIGINT", "SIGHUP", "beforeExit", "exit"].map((e) => [e, process.listenerCount(e)]));
    process.stdout.write(JSON.stringify({ started: true, listeners }) + "\\n");
    if (${JSON.stringify(then)} === "exit") process.exit(0);
    setInterval(() => undefined, 1000);
  `);
  const proc = spawn(process.execPath, ["--import", "tsx", script], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const report = await new Promise<{ listeners: Record<string, number> }>((resolve, reject) => {
    proc.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line) as { listeners: Record<string, number> });
    });
    proc.on("exit", (code) => { if (!out.includes("started")) reject(new Error(`child exited ${code}: ${err}`)); });
  });
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  return { proc, report, exited };
}

describe("embedded PostgreSQL", () => {
  it("with ownSignals the package's signal handlers are gone; its exit hook still stops the server on process.exit", async () => {
    const dir = path.join(tmp, "exit-hook");
    const c = await child(dir, await freePort(), true, "exit");
    expect(c.report.listeners).toMatchObject({ SIGTERM: 0, SIGINT: 0, SIGHUP: 0, beforeExit: 0 });
    expect(c.report.listeners.exit).toBeGreaterThan(0);
    expect(await c.exited).toBe(0);
    await waitFor("the server to stop with its parent", async () => processesMentioning(dir).length === 0, 15_000);
  }, 120_000);

  it("recovers an orphaned server left by a killed run, and a lock file whose pid is not its server", async () => {
    const dir = path.join(tmp, "orphan");
    const port = await freePort();
    const c = await child(dir, port, true, "wait");
    const serverPid = processesMentioning(dir)[0]!;
    c.proc.kill("SIGKILL"); // the run dies without stopping anything: the server keeps running
    await c.exited;
    expect(processesMentioning(dir)).toContain(serverPid);

    const notices: string[] = [];
    const again = await startEmbeddedPostgres({ dir, port, onNotice: (m) => notices.push(m) });
    expect(notices.join("\n")).toMatch(new RegExp(`stopping an orphaned PostgreSQL \\(pid ${serverPid}\\)`));
    expect(processesMentioning(dir)).not.toContain(serverPid);

    // A live server owned by a live node process (this one) is another run's: refused, with its pid.
    await expect(recoverStaleLock(dir)).rejects.toThrow(/another embedded PostgreSQL \(pid \d+, started by a running node process\) is using/);
    await again.stop();
    expect(existsSync(path.join(dir, "postmaster.pid"))).toBe(false);

    // A lock naming a live process that is not this folder's server (pid reuse after a crash):
    // PostgreSQL itself would refuse to start; the stale file is removed first.
    await writeFile(path.join(dir, "postmaster.pid"), `${process.pid}\n${dir}\n`);
    const third = await startEmbeddedPostgres({ dir, port, onNotice: (m) => notices.push(m) });
    expect(notices.at(-1)).toMatch(/removed a stale .*postmaster\.pid \(process \d+ is not this folder's PostgreSQL\)/);
    await third.stop();
  }, 180_000);

  it.runIf(process.getuid?.() === 0)("as root, a folder the postgres user cannot enter is explained, not an unhandled spawn EACCES", async () => {
    const locked = path.join(tmp, "locked");
    await mkdir(locked, { mode: 0o700 });
    await chmod(locked, 0o700);
    await expect(startEmbeddedPostgres({ dir: path.join(locked, "data"), port: await freePort() })).rejects.toThrow(
      new RegExp(`runs the server as the \`postgres\` user, which cannot enter ${locked} \\(mode 0700, owner uid 0\\).*chmod o\\+x ${locked}`),
    );
    // Nothing was started or created for the postgres user inside.
    expect(spawnSync("ls", [locked]).stdout.toString()).toBe("");
  });
});
