import { afterEach, describe, expect, it } from "vitest";
import { Counter, Registry } from "prom-client";
import { readHttpHost, runChecks, startOpsServer, type HealthChecks, type OpsServer } from "../src/http/server.js";

let server: OpsServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(checks: HealthChecks, answerWithinMs = 1000): Promise<string> {
  const registry = new Registry();
  new Counter({ name: "churnwatch_test_total", help: "a test counter", registers: [registry] }).inc(3);
  server = await startOpsServer(0, registry, checks, { host: "127.0.0.1", answerWithinMs });
  return `http://127.0.0.1:${server.port}`;
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const started = Date.now();
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, body: res.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) as Record<string, unknown> : { text }, ms: Date.now() - started };
}

const never = () => new Promise<never>(() => undefined);

describe("ops endpoints", () => {
  it("/healthz is 200 while the worker can make progress and 503 once it cannot", async () => {
    let consumerCrashed = false;
    const base = await start({
      health: () => ({ ok: !consumerCrashed, checks: { consumer: consumerCrashed ? { ok: false, error: "crashed, not restarting" } : { ok: true } } }),
      ready: () => ({ ok: true, checks: {} }),
    });
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, body: { status: "ok" } });
    consumerCrashed = true;
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 503, body: { status: "failing", checks: { consumer: { ok: false, error: "crashed, not restarting" } } } });
  });

  it("/healthz without a health provider answers 200 while the process serves", async () => {
    const base = await start({ ready: () => ({ ok: false, checks: {} }) });
    expect((await get(`${base}/healthz`)).status).toBe(200);
  });

  it("/readyz names each component and is 503 when one is not ready", async () => {
    const base = await start({
      ready: () => runChecks({ database: async () => true, consumer: () => false, model: () => "churn-20260101" }),
    });
    const r = await get(`${base}/readyz`);
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ status: "not ready", checks: { database: { ok: true }, consumer: { ok: false }, model: { ok: true, value: "churn-20260101" } } });
  });

  it("/readyz answers within its timeout when a check hangs, naming the one that did", async () => {
    const base = await start({ ready: () => runChecks({ database: never, consumer: () => true }, 300) });
    const r = await get(`${base}/readyz`);
    expect(r.status).toBe(503);
    expect(r.ms).toBeLessThan(1000);
    expect(r.body).toMatchObject({ checks: { database: { ok: false, error: "timed out after 300 ms" }, consumer: { ok: true } } });
  });

  it("/readyz and /healthz answer within a second even when the provider itself hangs or throws", async () => {
    const base = await start({ health: never, ready: never }, 400);
    const [h, r] = await Promise.all([get(`${base}/healthz`), get(`${base}/readyz`)]);
    expect(h).toMatchObject({ status: 503, body: { error: "health checks did not answer within 400 ms" } });
    expect(r).toMatchObject({ status: 503, body: { status: "not ready", error: "readiness checks did not answer within 400 ms" } });
    expect(Math.max(h.ms, r.ms)).toBeLessThan(1000);
    await server!.close();
    const base2 = await start({ ready: () => { throw new Error("boom"); } });
    expect(await get(`${base2}/readyz`)).toMatchObject({ status: 503, body: { error: "readiness checks failed: boom" } });
  });

  it("a check that throws is reported as not ok with the error, and the others still answer", async () => {
    const report = await runChecks({ a: () => { throw new Error("no connection"); }, b: async () => ({ ok: true, version: "x" }) });
    expect(report).toMatchObject({ ok: false, checks: { a: { ok: false, error: "no connection" }, b: { ok: true, version: "x" } } });
  });

  it("/metrics serves the registry; other paths 404; other methods 405", async () => {
    const base = await start({ ready: () => ({ ok: true, checks: {} }) });
    const m = await fetch(`${base}/metrics?x=1`);
    expect(m.status).toBe(200);
    expect(await m.text()).toContain("churnwatch_test_total 3");
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/readyz`, { method: "POST" })).status).toBe(405);
  });

  it("close() does not wait for an idle keep-alive connection", async () => {
    const base = await start({ ready: () => ({ ok: true, checks: {} }) });
    await fetch(`${base}/healthz`).then((r) => r.text()); // fetch keeps the connection alive
    const started = Date.now();
    await server!.close();
    server = null;
    expect(Date.now() - started).toBeLessThan(500);
  });

  it("binds where HTTP_HOST says, validated", async () => {
    expect(readHttpHost({})).toBe("0.0.0.0");
    expect(readHttpHost({}, "127.0.0.1")).toBe("127.0.0.1");
    expect(readHttpHost({ HTTP_HOST: "::1" })).toBe("::1");
    expect(readHttpHost({ HTTP_HOST: "ops.internal" })).toBe("ops.internal");
    expect(() => readHttpHost({ HTTP_HOST: "http://x" })).toThrow(/HTTP_HOST: expected an IP address/);
    const registry = new Registry();
    server = await startOpsServer(0, registry, { ready: () => ({ ok: true, checks: {} }) }, { host: "127.0.0.1" });
    expect(server.host).toBe("127.0.0.1");
  });
});
