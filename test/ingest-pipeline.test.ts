import { describe, expect, it } from "vitest";
import { PartitionPipeline } from "../src/ingest/pipeline.js";

const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));

describe("PartitionPipeline", () => {
  it("keeps order per key, runs keys in parallel up to the limit", async () => {
    const log: string[] = [];
    let running = 0;
    let peak = 0;
    const p = new PartitionPipeline<number>({
      concurrency: 2,
      run: async (key, n) => {
        running++;
        peak = Math.max(peak, running);
        await tick(2);
        log.push(`${key}:${n}`);
        running--;
      },
      onError: () => undefined,
    });
    for (let i = 0; i < 4; i++) for (const k of ["a", "b", "c"]) p.push(k, i, 10);
    expect(p.size).toBe(120 - 20); // two keys started at once and took their first item
    await p.idle();
    expect(peak).toBe(2);
    for (const k of ["a", "b", "c"]) expect(log.filter((l) => l.startsWith(k))).toEqual([0, 1, 2, 3].map((i) => `${k}:${i}`));
    expect(p.size).toBe(0);
  });

  it("drops a key's queued items after a failure and reports it; other keys go on", async () => {
    const done: string[] = [];
    const failed: [string, number][] = [];
    const p = new PartitionPipeline<number>({
      concurrency: 4,
      run: async (key, n) => {
        await tick();
        if (key === "a" && n === 1) throw new Error("db down");
        done.push(`${key}:${n}`);
      },
      onError: (key, n) => failed.push([key, n]),
    });
    for (let i = 0; i < 4; i++) for (const k of ["a", "b"]) p.push(k, i, 1);
    await p.idle();
    expect(failed).toEqual([["a", 1]]);
    expect(done.filter((d) => d.startsWith("a"))).toEqual(["a:0"]);
    expect(done.filter((d) => d.startsWith("b"))).toEqual(["b:0", "b:1", "b:2", "b:3"]);
  });

  it("makes producers wait while too much is queued", async () => {
    const p = new PartitionPipeline<number>({ concurrency: 1, run: async () => void (await tick(5)), onError: () => undefined });
    for (let i = 0; i < 5; i++) p.push("a", i, 100);
    let ticks = 0;
    await p.waitBelow(150, () => false, async () => void ticks++);
    expect(p.size).toBeLessThanOrEqual(150);
    expect(ticks).toBeGreaterThan(0);
    await p.idle();
  });
});
