import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, redactUrlCredentials } from "../src/log.js";

function capture(): { stream: Writable & { write(chunk: string): boolean }; lines: () => Record<string, unknown>[]; raw: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString("utf8"));
      done();
    },
  });
  const raw = () => chunks.join("").split("\n").filter(Boolean);
  return { stream: stream as never, raw, lines: () => raw().map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("logger", () => {
  it("writes JSON lines with the level as a word and a component on every line, once", () => {
    const out = capture();
    const log = createLogger("debug", {}, { destination: out.stream });
    log.info("root");
    log.child({ component: "ingest" }).warn({ topic: "purchases" }, "child");
    log.child({ component: "ingest" }).child({ partition: 1 }).debug("grandchild");
    log.child({ job: "digest" }).error("child without component");
    log.info({ component: "explicit" }, "own field");
    const lines = out.lines();
    expect(lines.map((l) => [l.level, l.component, l.msg])).toEqual([
      ["info", "worker", "root"],
      ["warn", "ingest", "child"],
      ["debug", "ingest", "grandchild"],
      ["error", "worker", "child without component"],
      ["info", "explicit", "own field"],
    ]);
    // JSON.parse keeps the last of duplicate keys; the raw line must hold the key exactly once.
    for (const line of out.raw()) expect(line.match(/"component":/g)).toHaveLength(1);
    expect(lines[0]).toMatchObject({ service: "churnwatch" });
    expect(typeof lines[0]!.time).toBe("string");
  });

  it("takes the root component from the caller", () => {
    const out = capture();
    createLogger("info", { component: "cli" }, { destination: out.stream }).info("x");
    createLogger("info", {}, { component: "dev", destination: out.stream }).info("y");
    expect(out.lines().map((l) => l.component)).toEqual(["cli", "dev"]);
  });

  it("redacts passwords, e-mail addresses and the credentials in connection URLs", () => {
    const out = capture();
    const log = createLogger("info", {}, { destination: out.stream });
    log.info({
      config: {
        database: { url: "postgresql://app:s3cret@db:5432/churnwatch" },
        outreach: { smtpUrl: "smtps://mailer:hunter2@mail.example.com:465" },
        kafka: { sasl: { mechanism: "plain", username: "u", password: "p4ss" } },
      },
      customer: { customerId: "c-1", email: "ann@example.com", name: "Ann Example" },
      email: "bob@example.com",
      auth: { user: "x", pass: "y" },
    }, "configuration");
    const line = out.raw()[0]!;
    for (const secret of ["s3cret", "hunter2", "p4ss", "ann@example.com", "bob@example.com", "Ann Example", '"pass":"y"']) {
      expect(line).not.toContain(secret);
    }
    const parsed = out.lines()[0] as { config: { database: { url: string }; outreach: { smtpUrl: string } }; customer: Record<string, string> };
    expect(parsed.config.database.url).toBe("postgresql://[redacted]@db:5432/churnwatch");
    expect(parsed.config.outreach.smtpUrl).toBe("smtps://[redacted]@mail.example.com:465");
    expect(parsed.customer.customerId).toBe("c-1");
  });

  it("keeps URLs without credentials and redacts unparseable ones whole", () => {
    expect(redactUrlCredentials("postgresql://db:5432/x")).toBe("postgresql://db:5432/x");
    expect(redactUrlCredentials("postgresql://u:p@[bad")).toBe("[redacted]");
    expect(redactUrlCredentials(undefined)).toBeUndefined();
  });
});
