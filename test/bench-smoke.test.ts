/**
 * The benchmarks must not rot: a tiny run of each prints every figure it promises (rates, the
 * same-run reference, the ratio, CPU of both processes, peak RSS, the verdict on the targets).
 * The figures themselves are not judged here: speed lives in the benchmarks, not in timed tests.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

function run(script: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

describe("benchmarks at tiny size", () => {
  it("bench:ingest prints rates, ratio, CPU split, peak RSS and the target verdicts", async () => {
    const { code, out } = await run("bench/ingest/bench-ingest.ts", ["--events", "3000", "--customers", "300", "--partitions", "2"]);
    expect(code, out).toBe(0);
    expect(out).toMatch(/\(a\) bare kafkajs consumer: [\d,]+ events\/s/);
    expect(out).toMatch(/\(b\) worker -> Postgres, exactly once: [\d,]+ events\/s \([\d.]+ s, 3,000 events stored/);
    expect(out).toMatch(/CPU during \(b\): worker process [\d.]+ s \([\d.]+ µs\/event\), PostgreSQL [\d.]+ s/);
    expect(out).toMatch(/peak RSS of the worker process: \d+ MiB/);
    expect(out).toMatch(/ratio \(b\)\/\(a\): [\d.]+x/);
    expect(out).toMatch(/targets: \(b\) >= 50,000 events\/s: (met|NOT met); \(b\) >= 0.3x \(a\): (met|NOT met)/);
  });
});
