/**
 * Keeps `npm run bench:score` alive: a tiny run (2,000 customers, the fixture model) must finish
 * and print sane figures. Speed targets live in the full benchmark, never in a timed test.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { testModelDir } from "./support/model.js";

const run = promisify(execFile);

interface BenchRun {
  name: string;
  perSecond: number;
  ratio: number;
  postgresCpuSeconds: number;
  nodeCpuSeconds: number;
  scored: number;
  published: number;
  explained: number;
  lifecycleEvents: number;
}

describe("bench:score", () => {
  it("runs at a tiny size and prints customers/s, the reference, the ratio, peak RSS and Postgres CPU", async () => {
    const modelDir = await testModelDir();
    const { stdout } = await run("node_modules/.bin/tsx", ["bench/score/bench-score.ts"], {
      env: { ...process.env, CUSTOMERS: "2000", MODEL_DIR: modelDir, THREADS: "2" },
      timeout: 240_000,
      maxBuffer: 1 << 20,
    });
    expect(stdout).toMatch(/\(ref\) model only, one thread: [\d,]+ customers\/s/);
    expect(stdout).toMatch(/\(e2e\) first rescoring: +[\d,]+ customers\/s/);
    expect(stdout).toMatch(/ratio end-to-end \/ model-only reference: first [\d.]+x/);
    expect(stdout).toMatch(/peak RSS [\d,]+ MiB/);
    const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
    expect(line, stdout).toBeDefined();
    const result = JSON.parse(line!.slice("RESULT ".length)) as { customers: number; referencePerSecond: number; peakRssMiB: number; runs: BenchRun[] };
    expect(result.customers).toBe(2000);
    expect(result.referencePerSecond).toBeGreaterThan(0);
    expect(result.peakRssMiB).toBeGreaterThan(50);
    expect(result.peakRssMiB).toBeLessThan(4096);
    expect(result.runs.map((r) => r.name)).toEqual(["first rescoring", "hourly run (+1 h)", "catch-up run (+14 days)"]);
    const [first, hourly] = result.runs;
    for (const r of result.runs) {
      expect(r.perSecond).toBeGreaterThan(0);
      expect(Number.isFinite(r.ratio) && r.ratio > 0).toBe(true);
      expect(r.postgresCpuSeconds).toBeGreaterThan(0);
      expect(r.nodeCpuSeconds).toBeGreaterThan(0);
    }
    // The first run publishes everyone it scores and explains its at-risk customers; an hour later little is news.
    expect(first!.scored).toBeGreaterThan(0);
    expect(first!.published).toBe(first!.scored);
    expect(first!.explained).toBeGreaterThan(0);
    expect(hourly!.published).toBeLessThan(first!.published);
  });
});
