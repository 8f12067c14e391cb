/** src/lifecycle.ts: stop order, exit codes, the deadline, signals during start-up, one-line errors. */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/config/config.js";
import { describeError, EXIT, Lifecycle, readShutdownTimeout, ShuttingDown } from "../src/lifecycle.js";
import { createLogger } from "../src/log.js";

function setup(timeoutMs = 2000) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger("debug", {}, { destination: destination as never });
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolveExit = r));
  const life = new Lifecycle({ logger, timeoutMs, exit: (code) => resolveExit(code) });
  return { life, lines, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Lifecycle", () => {
  it("stops components in reverse start order, then exits 0", async () => {
    const { life, lines, exited } = setup();
    const order: string[] = [];
    await life.start("database", async () => "db", async () => void order.push("database"));
    await life.start("worker", async () => "w", async () => {
      await sleep(20);
      order.push("worker");
    });
    void life.shutdown("SIGTERM");
    expect(await exited).toBe(EXIT.ok);
    expect(order).toEqual(["worker", "database"]);
    expect(lines.map((l) => l.msg)).toEqual(["stopping", "stopped component", "stopped component", "stopped"]);
    expect(lines[0]).toMatchObject({ component: "lifecycle", reason: "SIGTERM", level: "info" });
  });

  it("exits 124 when the stop sequence overruns the deadline, naming what was stopping", async () => {
    const { life, lines, exited } = setup(200);
    await life.start("stuck", async () => null, () => new Promise<void>(() => undefined));
    const started = Date.now();
    void life.shutdown("SIGTERM");
    expect(await exited).toBe(EXIT.deadline);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(lines.at(-1)).toMatchObject({ level: "error", stoppingNow: "stuck", exitCode: 124 });
  });

  it("exits 1 when a component fails to stop, after stopping the others", async () => {
    const { life, exited } = setup();
    const stopped: string[] = [];
    await life.start("a", async () => null, async () => void stopped.push("a"));
    await life.start("b", async () => null, async () => {
      throw new Error("close failed");
    });
    void life.shutdown("SIGTERM");
    expect(await exited).toBe(EXIT.failure);
    expect(stopped).toEqual(["a"]);
  });

  it("a fatal error stops everything and exits 1", async () => {
    const { life, lines, exited } = setup();
    let stopped = false;
    await life.start("worker", async () => null, async () => void (stopped = true));
    life.fail("the worker cannot make progress", new Error("consumer crashed"));
    expect(await exited).toBe(EXIT.failure);
    expect(stopped).toBe(true);
    expect(lines[0]).toMatchObject({ level: "fatal", msg: "the worker cannot make progress" });
  });

  it("a signal during start-up waits for the start, stops what it produced and refuses further starts", async () => {
    const { life, exited } = setup();
    const stopped: string[] = [];
    const starting = life.start("worker", async () => {
      await sleep(100);
      return "w";
    }, async (w) => void stopped.push(w));
    await sleep(10);
    void life.shutdown("SIGTERM");
    await expect(starting).rejects.toBeInstanceOf(ShuttingDown);
    await expect(life.start("later", async () => "x", async () => undefined)).rejects.toBeInstanceOf(ShuttingDown);
    expect(await exited).toBe(EXIT.ok);
    expect(stopped).toEqual(["w"]);
  });

  it("a second shutdown request does not start a second stop sequence", async () => {
    const { life, lines, exited } = setup();
    let stops = 0;
    await life.start("worker", async () => null, async () => {
      stops++;
      await sleep(50);
    });
    void life.shutdown("SIGTERM");
    void life.shutdown("SIGTERM");
    await exited;
    expect(stops).toBe(1);
    expect(lines.some((l) => l.msg === "already stopping")).toBe(true);
  });
});

describe("SHUTDOWN_TIMEOUT_MS", () => {
  it("defaults to 25 s and names the variable when wrong", () => {
    expect(readShutdownTimeout({})).toBe(25_000);
    expect(readShutdownTimeout({ SHUTDOWN_TIMEOUT_MS: "5000" })).toBe(5000);
    expect(() => readShutdownTimeout({ SHUTDOWN_TIMEOUT_MS: "5s" })).toThrow(ConfigError);
    expect(() => readShutdownTimeout({ SHUTDOWN_TIMEOUT_MS: "10" })).toThrow(/SHUTDOWN_TIMEOUT_MS: expected a whole number of milliseconds from 1000/);
  });
});

describe("describeError", () => {
  it("gives one line without a stack, and the stack with LOG_LEVEL=debug", () => {
    const err = new Error("could not connect", { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }) });
    const line = describeError(err, {});
    expect(line).toBe("could not connect: connect ECONNREFUSED 127.0.0.1:5432 (LOG_LEVEL=debug shows the stack)");
    expect(line).not.toContain("\n");
    const debug = describeError(err, { LOG_LEVEL: "debug" });
    expect(debug).toContain("at ");
    expect(debug).toContain("caused by: Error: connect ECONNREFUSED");
  });
});
