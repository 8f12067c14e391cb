/** The lease and backoff rules of scheduled jobs (src/schedule/policy.ts), without a database. */
import { describe, expect, it } from "vitest";
import { DEFAULT_JOB_POLICY, afterFailure, leaseTerms, resolvePolicy, retryDelayMs } from "../src/schedule/policy.js";

const p = resolvePolicy({ leaseMs: 60_000, heartbeatMs: 15_000, maxAttempts: 4, retryBaseMs: 1_000, retryMaxMs: 3_000, sweepMs: 500 });

describe("job backoff", () => {
  it("doubles from the base after each attempt and stops at the cap", () => {
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(a, p))).toEqual([1_000, 2_000, 3_000, 3_000, 3_000]);
  });

  it("stays finite for absurd attempt numbers", () => {
    expect(retryDelayMs(10_000, p)).toBe(3_000);
  });

  it("refuses attempt numbers that cannot exist", () => {
    expect(() => retryDelayMs(0, p)).toThrow(RangeError);
    expect(() => retryDelayMs(1.5, p)).toThrow(RangeError);
  });

  it("retries until the attempt limit, then gives up", () => {
    expect(afterFailure(1, p)).toEqual({ kind: "retry", delayMs: 1_000 });
    expect(afterFailure(3, p)).toEqual({ kind: "retry", delayMs: 3_000 });
    expect(afterFailure(4, p)).toEqual({ kind: "give-up" });
    expect(afterFailure(9, p)).toEqual({ kind: "give-up" });
  });

  it("a single attempt policy never retries", () => {
    expect(afterFailure(1, resolvePolicy({ maxAttempts: 1 }))).toEqual({ kind: "give-up" });
  });
});

describe("job leases", () => {
  it("a dead worker's slot is taken over after its lease plus the backoff for the attempt that died", () => {
    expect(leaseTerms(1, p)).toEqual({ leaseMs: 60_000, takeoverMs: 61_000 });
    expect(leaseTerms(2, p)).toEqual({ leaseMs: 60_000, takeoverMs: 62_000 });
  });

  it("the last attempt has no takeover: when its worker dies the slot is failed for good", () => {
    expect(leaseTerms(4, p)).toEqual({ leaseMs: 60_000, takeoverMs: null });
  });

  it("defaults: a dead worker's job runs again within 100 s, six attempts over about half an hour", () => {
    const d = resolvePolicy();
    expect(d).toEqual(DEFAULT_JOB_POLICY);
    expect(leaseTerms(1, d).takeoverMs! + d.sweepMs).toBeLessThanOrEqual(100_000);
    const totalBackoff = Array.from({ length: d.maxAttempts - 1 }, (_, i) => retryDelayMs(i + 1, d)).reduce((a, b) => a + b, 0);
    expect(totalBackoff).toBe(31 * 60_000);
  });

  it("refuses a heartbeat that one late renewal would turn into a lost lease", () => {
    expect(() => resolvePolicy({ leaseMs: 10_000, heartbeatMs: 6_000 })).toThrow(/at most half/);
    expect(resolvePolicy({ leaseMs: 10_000, heartbeatMs: 5_000 }).heartbeatMs).toBe(5_000);
  });

  it("refuses zero, negative and fractional settings and a cap below the base", () => {
    expect(() => resolvePolicy({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => resolvePolicy({ sweepMs: -1 })).toThrow(/sweepMs/);
    expect(() => resolvePolicy({ leaseMs: 1.5 })).toThrow(/leaseMs/);
    expect(() => resolvePolicy({ retryBaseMs: 10_000, retryMaxMs: 5_000 })).toThrow(/retryMaxMs/);
  });
});
