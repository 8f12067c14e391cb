/** Spawning the real entry points (npm start, npm run dev, node dist/...) and reading their JSON logs. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));

export interface Spawned {
  child: ChildProcess;
  /** stdout split into lines, as they arrive. */
  stdout: string[];
  stderr: () => string;
  /** Resolves with the first stdout line (parsed as JSON) for which `match` holds. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** Kill it (SIGKILL) if it is still running: cleanup for failed tests. */
  kill(): void;
}

export function spawnEntry(command: string, args: string[], env: Record<string, string>, cwd = ROOT): Spawned {
  // Only what the test passes, plus PATH and HOME for npm: the caller's DATABASE_URL and the like must not leak in.
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  let err = "";
  let partial = "";
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  const started = Date.now();
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    for (const line of parts) {
      stdout.push(line);
      let parsed: Record<string, unknown> | null = null;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      for (const w of [...waiters]) {
        if (w.match(parsed)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) => {
    child.on("exit", (code, signal) => {
      if (partial) stdout.push(partial);
      resolve({ code, signal, ms: Date.now() - started });
    });
  });
  return {
    child,
    stdout,
    stderr: () => err,
    waitForLog(match, what, timeoutMs = 60_000) {
      for (const line of stdout) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (match(parsed)) return Promise.resolve(parsed);
        } catch {
          // not JSON
        }
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no log line with ${what} within ${timeoutMs} ms; stderr: ${err.slice(-2000)}; stdout tail: ${stdout.slice(-5).join("\n")}`)), timeoutMs);
        waiters.push({ match, resolve: (l) => { clearTimeout(timer); resolve(l); } });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`exited before a log line with ${what}; stderr: ${err.slice(-2000)}; stdout tail: ${stdout.slice(-5).join("\n")}`));
        });
      });
    },
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** Process ids whose parent is `pid` (Linux /proc). */
export function childPids(pid: number): number[] {
  const out = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
  return out.stdout.split("\n").map((s) => Number(s.trim())).filter((n) => n > 0);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Processes whose command line contains `text` (Linux /proc), e.g. a data folder. */
export function processesMentioning(text: string): number[] {
  const out = spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return out.stdout.split("\n").filter((l) => l.includes(text) && !l.includes("ps -eo")).map((l) => Number(l.trim().split(/\s+/)[0]));
}

/** Builds dist/ (incremental: a few seconds when nothing changed). */
export function buildDist(): void {
  const res = spawnSync("npm", ["run", "build", "--silent"], { cwd: ROOT, encoding: "utf8" });
  if (res.status !== 0) throw new Error(`npm run build failed:\n${res.stdout}\n${res.stderr}`);
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, "utf8")) as T;
}
