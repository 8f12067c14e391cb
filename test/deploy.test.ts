/**
 * What can be checked of the deployment files without a Docker engine:
 * - docker-compose.yml against the Compose Specification's JSON Schema (the copy dclint ships) and
 *   dclint's rules, plus what this stack promises: pinned images, health-gated start order,
 *   restart policies, one-shot jobs, volumes, the monitoring profile;
 * - the Dockerfile with dockerfile-utils (the VS Code Docker language server's validator), plus
 *   the runtime stage's promises: non-root, tini, a HEALTHCHECK, only dist/ and runtime files;
 * - deploy/compose/create-topics.sh against a stand-in kafka-topics.sh;
 * - the alert rules with promtool (check rules, and the unit tests in alerts.test.yml) where
 *   Debian's prometheus package is installed; the Prometheus config with promtool check config;
 * - the Grafana dashboard's structure, and that dashboard, rules and README use only the metric
 *   names the worker defines.
 */
import { spawnSync } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile, copyFile, mkdir } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { Ajv } from "ajv";
import { parse, parseDocument } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./support/spawn.js";

import { CHURNWATCH_METRICS, HISTOGRAMS, OTHER_SERIES } from "./support/metric-families.js";

const require = createRequire(import.meta.url);
// dclint's package exports only its API; its schema and CLI are read from the package folder.
const DCLINT = path.join(ROOT, "node_modules", "dclint");

/** Metric names in a PromQL expression: identifiers followed by `{`, `[` or `)`/space, minus functions and keywords. */
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, "{}");
  const words = withoutStrings.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return [...new Set(words.filter((w) => /^(churnwatch_|process_|nodejs_|up$)/.test(w)))];
}

function allowed(name: string): boolean {
  if (CHURNWATCH_METRICS.includes(name) || OTHER_SERIES.includes(name)) return true;
  return HISTOGRAMS.some((h) => name === `${h}_bucket` || name === `${h}_sum` || name === `${h}_count`);
}

describe("docker-compose.yml", () => {
  const text = readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8");
  const doc = parseDocument(text, { merge: true });
  const compose = doc.toJS({ maxAliasCount: 100 }) as {
    services: Record<string, Record<string, unknown> & { image?: string; depends_on?: Record<string, { condition: string }>; restart?: string; profiles?: string[]; volumes?: string[]; healthcheck?: unknown; command?: string[]; environment?: Record<string, string>; deploy?: { replicas?: number }; stop_grace_period?: string; build?: unknown }>;
    volumes: Record<string, unknown>;
  };
  const s = compose.services;

  it("is valid against the Compose Specification's JSON Schema", () => {
    expect(doc.errors).toEqual([]);
    const schema = JSON.parse(readFileSync(path.join(DCLINT, "schemas/compose.schema.json"), "utf8")) as Record<string, unknown>;
    // The schema names its draft as https://json-schema.org/draft-07/schema, which ajv knows under
    // its http://...# id; the draft itself is what ajv's default class implements.
    delete schema.$schema;
    const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // The validator does reject what the specification does not allow.
    expect(validate({ services: { x: { image: "a:1", restart_policy: "always" } } })).toBe(false);
    expect(validate({ services: { x: { image: "a:1", depends_on: { y: { condition: "service_ready" } } } } })).toBe(false);
  });

  it("passes dclint (schema and rules; the key- and service-ordering style rules are off: the file reads in start order)", () => {
    const res = spawnSync(process.execPath, [path.join(DCLINT, "bin/dclint.cjs"), "docker-compose.yml", "--max-warnings", "0", "--color", "false",
      "--disable-rule", "service-keys-order", "services-alphabetical-order", "top-level-properties-order"], { cwd: ROOT, encoding: "utf8" });
    expect(res.stdout + res.stderr).not.toMatch(/error|warning/i);
    expect(res.status).toBe(0);
  });

  it("pins every image to a version", () => {
    for (const [name, svc] of Object.entries(s)) {
      const image = String(svc.image);
      if (image === "churnwatch:local") {
        expect(svc.build, `${name} builds the local image`).toBeDefined();
        continue;
      }
      expect(image, name).toMatch(/:v?\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$/);
    }
  });

  it("starts in a health-gated order: topics and migrations before three restarting workers", () => {
    expect(s.kafka!.healthcheck).toBeDefined();
    expect(s.postgres!.healthcheck).toBeDefined();
    expect(s.kafka!.volumes).toContain("kafka-data:/var/lib/kafka/data");
    expect(s.postgres!.volumes).toContain("postgres-data:/var/lib/postgresql/data");
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(["kafka-data", "postgres-data"]));
    expect(s.topics!.depends_on).toEqual({ kafka: { condition: "service_healthy" } });
    expect(s.migrate!.depends_on).toEqual({ postgres: { condition: "service_healthy" } });
    expect(s.worker!.depends_on).toMatchObject({
      kafka: { condition: "service_healthy" },
      postgres: { condition: "service_healthy" },
      topics: { condition: "service_completed_successfully" },
      migrate: { condition: "service_completed_successfully" },
    });
    expect(s.worker!.deploy?.replicas).toBe(3);
    expect(s.worker!.restart).toBe("unless-stopped");
    for (const oneShot of ["topics", "migrate", "simulator"]) expect(s[oneShot]!.restart, oneShot).toBe("no");
    expect(s.migrate!.command).toEqual(["migrate"]);
    expect(s.simulator!.command?.slice(0, 3)).toEqual(["simulate", "--kafka", "kafka:9092"]);
    expect(s.simulator!.depends_on).toMatchObject({ topics: { condition: "service_completed_successfully" } });
    // docker stop must wait longer than the worker's own deadline.
    const grace = Number(String(s.worker!.stop_grace_period).replace(/s$/, "")) * 1000;
    expect(grace).toBeGreaterThan(Number(s.worker!.environment?.SHUTDOWN_TIMEOUT_MS));
    expect(s.worker!.environment).toMatchObject({ DATABASE_URL: expect.stringMatching(/@postgres:5432\//), KAFKA_BROKERS: "kafka:9092", SMTP_URL: "smtp://mailpit:1025" });
    // The mailbox must get a digest soon after the stream is scored, not the next morning.
    expect(s.worker!.environment?.DIGEST_CRON).toBe("*/5 * * * *");
  });

  it("keeps Prometheus and Grafana in the monitoring profile, provisioned from deploy/", () => {
    for (const name of ["prometheus", "grafana"]) expect(s[name]!.profiles).toEqual(["monitoring"]);
    for (const name of Object.keys(s).filter((n) => !["prometheus", "grafana"].includes(n))) expect(s[name]!.profiles, name).toBeUndefined();
    const mounts = [...(s.prometheus!.volumes ?? []), ...(s.grafana!.volumes ?? []), ...(s.topics!.volumes ?? [])]
      .filter((v) => v.startsWith("./")).map((v) => v.split(":")[0]!);
    expect(mounts.length).toBeGreaterThanOrEqual(5);
    for (const m of mounts) expect(existsSync(path.join(ROOT, m)), m).toBe(true);
  });
});

describe("Dockerfile", () => {
  const text = readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
  const { validate } = require("dockerfile-utils") as { validate(content: string, settings?: object): { message: string; range: { start: { line: number } } }[] };
  const stages = text.split(/^FROM /m).slice(1).map((s) => `FROM ${s}`);
  const runtime = stages.find((s) => / AS runtime/.test(s.split("\n")[0]!))!;

  it("has no problems dockerfile-utils can find (and that validator does report broken files)", () => {
    expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    expect(validate("FROM node:24\nEXPOSE port\nHEALTHCHECK CMD\nCOPY x\n").length).toBeGreaterThan(0);
  });

  it("builds on a pinned Node LTS in three stages; the runtime stage is small, non-root, under tini, with a health check", () => {
    expect(text).toMatch(/^ARG NODE_IMAGE=node:24\.\d+\.\d+-bookworm-slim$/m);
    expect(stages.map((s) => s.split("\n")[0])).toEqual(["FROM ${NODE_IMAGE} AS build", "FROM ${NODE_IMAGE} AS deps", "FROM ${NODE_IMAGE} AS runtime"]);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK [\s\S]*?\/healthz/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "dist\/cli\/index.js"\]$/m);
    expect(runtime).toMatch(/^CMD \["worker"\]$/m);
    expect(runtime).toMatch(/apt-get install -y --no-install-recommends tini/);
    const instructions = text.split("\n").filter((l) => !l.startsWith("#")).join("\n");
    expect(instructions).not.toMatch(/gcc|librdkafka|libc6-dev|tsx|npx/);
    expect(stages.find((s) => / AS deps/.test(s))).toMatch(/npm ci --omit=dev/);
    // What the runtime stage copies: production node_modules, dist/, and the files the worker reads.
    const copies = [...runtime.matchAll(/^COPY (?:--from=(\w+) )?(.+) \S+$/gm)].map((m) => `${m[1] ? `${m[1]}:` : ""}${m[2]}`);
    expect(copies).toEqual(["package.json package-lock.json", "deps:/app/node_modules", "build:/app/dist", "prisma/migrations", "models", "examples"]);
  });

  it(".dockerignore keeps host installs, data and secrets out of the build context", () => {
    const ignore = readFileSync(path.join(ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
    for (const entry of ["node_modules", "dist", "data", "outbox", ".env", ".git", "scripts/kafka-broker/bin"]) expect(ignore, entry).toContain(entry);
  });
});

describe("deploy/compose/create-topics.sh", () => {
  let bin: string;
  beforeAll(async () => {
    bin = await mkdtemp(path.join(os.tmpdir(), "churnwatch-topics-"));
    // A stand-in kafka-topics.sh: records --create calls, describes topics from a state file.
    await writeFile(path.join(bin, "kafka-topics.sh"), `#!/bin/bash
state="${bin}/state"; touch "$state"
args="$*"
topic=$(echo "$args" | sed -n 's/.*--topic \\([^ ]*\\).*/\\1/p')
if [[ "$args" == *--create* ]]; then
  parts=$(echo "$args" | sed -n 's/.*--partitions \\([0-9]*\\).*/\\1/p')
  echo "create $args" >> "${bin}/calls"
  grep -q "^$topic " "$state" || echo "$topic $parts" >> "$state"
else
  parts=$(grep "^$topic " "$state" | cut -d' ' -f2)
  echo "Topic: $topic	TopicId: x	PartitionCount: $parts	ReplicationFactor: 1	Configs: "
fi
`);
    await chmod(path.join(bin, "kafka-topics.sh"), 0o755);
  });
  afterAll(async () => rm(bin, { recursive: true, force: true }));

  const run = (env: Record<string, string>) => spawnSync("bash", [path.join(ROOT, "deploy/compose/create-topics.sh")], {
    encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", KAFKA_BIN: bin, ...env },
  });

  it("creates the four topics, purchases and support with equal partition counts, and is safe to re-run", async () => {
    const first = run({ BOOTSTRAP: "kafka:9092", INPUT_PARTITIONS: "6" });
    expect(first.status, first.stderr).toBe(0);
    const state = (await readFile(path.join(bin, "state"), "utf8")).trim().split("\n");
    expect(state).toEqual(["purchases 6", "support 6", "churn.dlq 1", "churn.risk-scores 6"]);
    const calls = await readFile(path.join(bin, "calls"), "utf8");
    expect(calls).toContain("--bootstrap-server kafka:9092 --create --if-not-exists --topic purchases --partitions 6 --replication-factor 1");
    expect(run({ INPUT_PARTITIONS: "6" }).status).toBe(0);
  });

  it("refuses an existing input topic with another partition count", () => {
    const res = run({ INPUT_PARTITIONS: "12" });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain("purchases has 6 partitions, expected 12");
  });
});

describe("Prometheus rules and configuration, Grafana dashboard", () => {
  const rulesText = readFileSync(path.join(ROOT, "deploy/prometheus/alerts.yml"), "utf8");
  const rules = parse(rulesText) as { groups: { rules: { alert: string; expr: string; labels: { severity: string }; annotations: Record<string, string> }[] }[] };
  const alerts = rules.groups.flatMap((g) => g.rules);
  const dashboard = JSON.parse(readFileSync(path.join(ROOT, "deploy/grafana/dashboards/churnwatch.json"), "utf8")) as {
    uid: string; templating: { list: { name: string }[] };
    panels: { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { uid: string }; targets?: { expr: string }[] }[];
  };

  it("has an alert for each condition operators asked for", () => {
    expect(alerts.map((a) => a.alert)).toEqual(expect.arrayContaining([
      "ChurnwatchConsumerLagGrowing", "ChurnwatchDeadLetterRate", "ChurnwatchRescoringOverdue", "ChurnwatchDigestFailed",
      "ChurnwatchOutboxMessageTooOld", "ChurnwatchModelReloadFailed", "ChurnwatchConsumerDown", "ChurnwatchWorkerDown",
    ]));
    for (const a of alerts) {
      expect(["warning", "critical"], a.alert).toContain(a.labels.severity);
      expect(a.annotations.summary, a.alert).toBeTruthy();
      expect(a.annotations.description, a.alert).toBeTruthy();
    }
  });

  it("passes promtool check rules and the rule unit tests", () => {
    const check = spawnSync("promtool", ["check", "rules", "alerts.yml"], { cwd: path.join(ROOT, "deploy/prometheus"), encoding: "utf8" });
    expect(check.stdout + check.stderr).toContain("SUCCESS");
    expect(check.status).toBe(0);
    const tests = spawnSync("promtool", ["test", "rules", "alerts.test.yml"], { cwd: path.join(ROOT, "deploy/prometheus"), encoding: "utf8" });
    expect(tests.stdout + tests.stderr).toContain("SUCCESS");
    expect(tests.status, tests.stdout + tests.stderr).toBe(0);
  });

  it("passes promtool check config (with the rule file where the container mounts it)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "churnwatch-prom-"));
    try {
      await mkdir(path.join(dir, "etc"), { recursive: true });
      await copyFile(path.join(ROOT, "deploy/prometheus/alerts.yml"), path.join(dir, "etc/alerts.yml"));
      const config = readFileSync(path.join(ROOT, "deploy/prometheus/prometheus.yml"), "utf8").replace("/etc/prometheus/alerts.yml", path.join(dir, "etc/alerts.yml"));
      await writeFile(path.join(dir, "prometheus.yml"), config);
      const res = spawnSync("promtool", ["check", "config", path.join(dir, "prometheus.yml")], { encoding: "utf8" });
      expect(res.stdout + res.stderr).toContain("SUCCESS");
      expect(res.status).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rules and dashboard use only metric names the worker defines", () => {
    const used = [...alerts.map((a) => a.expr), ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr))].flatMap(metricNames);
    expect(used.filter((n) => !allowed(n))).toEqual([]);
    // Every family is on the dashboard somewhere.
    const onDashboard = new Set(dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(t.expr))).map((n) => n.replace(/_(bucket|sum|count)$/, "")));
    expect(CHURNWATCH_METRICS.filter((m) => !onDashboard.has(m))).toEqual([]);
  });

  it("the dashboard has unique panel ids, no overlapping panels, and queries the selected datasource", () => {
    expect(dashboard.uid).toBe("churnwatch");
    expect(dashboard.templating.list.map((v) => v.name)).toContain("datasource");
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const key = `${x},${y}`;
          expect(cells.has(key), `${p.title} overlaps at ${key}`).toBe(false);
          cells.add(key);
        }
      }
      if (p.type !== "row") expect(p.datasource?.uid, p.title).toBe("${datasource}");
    }
  });

  it("the README's metrics table lists every family, and its alert list every rule", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    for (const m of CHURNWATCH_METRICS) expect(readme, m).toMatch(new RegExp(`^\\| \`${m}(\\{[^\`]*\\})?\` \\|`, "m"));
    for (const a of alerts) expect(readme, a.alert).toContain(`\`${a.alert}\``);
  });
});
