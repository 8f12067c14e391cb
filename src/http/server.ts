/**
 * Operator endpoints:
 * - /healthz (liveness): 200 while the worker can make progress, 503 when it cannot (the consumer
 *   crashed for good, ...), so an orchestrator restarts it. Without a `health()` provider: 200
 *   while the process serves requests.
 * - /readyz (readiness): 200 when every component is ready, else 503; the body names each one.
 * - /metrics: the Prometheus registry.
 *
 * Neither health endpoint may hang: a probe that times out counts as a failure anyway, and a
 * slow database must show up as "database: timed out", not as a stuck scrape. Every check runs
 * under a timeout (runChecks) and each endpoint answers within `answerWithinMs` (default 1 s).
 */
import http from "node:http";
import { isIP } from "node:net";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { ConfigError } from "../config/config.js";

/** One component's state: ok plus whatever helps an operator (a version, an error, a duration). */
export interface CheckResult {
  ok: boolean;
  [detail: string]: unknown;
}

export interface HealthReport {
  ok: boolean;
  /** Per component: a CheckResult, or the shorter `true`/`false`/"text" (text counts as ok). */
  checks: Record<string, CheckResult | boolean | string>;
}

export interface HealthChecks {
  /** Liveness: `ok: false` when the worker cannot make progress. Should be cheap. */
  health?(): HealthReport | Promise<HealthReport>;
  /** Readiness of each component (database, consumer, model, ...). */
  ready(): HealthReport | Promise<HealthReport>;
}

export interface OpsServerOptions {
  /** Bind address; default HTTP_HOST from the environment, else 0.0.0.0. */
  host?: string;
  /** Each of /healthz and /readyz answers within this (default 1000 ms). */
  answerWithinMs?: number;
}

export interface OpsServer {
  port: number;
  host: string;
  close(): Promise<void>;
}

/** A check: a value, or a promise of one; `true`/"text" mean ok, `false` or a throw mean not ok. */
export type Check = () => CheckResult | boolean | string | Promise<CheckResult | boolean | string>;

/**
 * Runs named checks in parallel, each under `timeoutMs`: a check that throws or does not answer
 * in time is `{ ok: false, error }` and the others still report. This is what a worker's ready()
 * should return.
 */
export async function runChecks(checks: Record<string, Check>, timeoutMs = 800): Promise<HealthReport & { checks: Record<string, CheckResult> }> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, CheckResult]> => {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const value = await Promise.race([
          Promise.resolve().then(check),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, { ...normalise(value), ms: Date.now() - started }];
      } catch (err) {
        return [name, { ok: false, error: err instanceof Error ? err.message : String(err), ms: Date.now() - started }];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const out = Object.fromEntries(entries);
  return { ok: entries.every(([, r]) => r.ok), checks: out };
}

function normalise(value: CheckResult | boolean | string): CheckResult {
  if (typeof value === "boolean") return { ok: value };
  if (typeof value === "string") return { ok: true, value };
  return value;
}

function reportOk(report: HealthReport): boolean {
  return report.ok && Object.values(report.checks).every((c) => (typeof c === "object" ? c.ok : c !== false));
}

/** HTTP_HOST: where the ops endpoints listen (an IP address or a host name). */
export function readHttpHost(env: NodeJS.ProcessEnv = process.env, fallback = "0.0.0.0"): string {
  const raw = env.HTTP_HOST?.trim();
  if (!raw) return fallback;
  const hostname = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
  if (isIP(raw) === 0 && !hostname.test(raw)) {
    throw new ConfigError([`HTTP_HOST: expected an IP address (0.0.0.0, 127.0.0.1, ::) or a host name; got ${JSON.stringify(env.HTTP_HOST)}`]);
  }
  return raw;
}

export async function startOpsServer(port: number, registry: Registry, checks: HealthChecks, options: OpsServerOptions = {}): Promise<OpsServer> {
  const host = options.host ?? readHttpHost();
  const answerWithinMs = options.answerWithinMs ?? 1000;

  /** The provider's report, or a failed one if it throws or overruns answerWithinMs. */
  async function bounded(what: string, get: () => HealthReport | Promise<HealthReport>): Promise<HealthReport & { error?: string }> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        Promise.resolve().then(get),
        new Promise<HealthReport & { error: string }>((resolve) => {
          timer = setTimeout(() => resolve({ ok: false, checks: {}, error: `${what} checks did not answer within ${answerWithinMs} ms` }), answerWithinMs);
        }),
      ]);
    } catch (err) {
      return { ok: false, checks: {}, error: `${what} checks failed: ${err instanceof Error ? err.message : String(err)}` };
    } finally {
      clearTimeout(timer);
    }
  }

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
  };

  const server = http.createServer(async (req, res) => {
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
        return;
      }
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      if (path === "/healthz") {
        const report = checks.health ? await bounded("health", () => checks.health!()) : { ok: true, checks: {} };
        const ok = reportOk(report);
        json(res, ok ? 200 : 503, { status: ok ? "ok" : "failing", ...rest(report) });
      } else if (path === "/readyz") {
        const report = await bounded("readiness", () => checks.ready());
        const ok = reportOk(report);
        json(res, ok ? 200 : 503, { status: ok ? "ready" : "not ready", ...rest(report) });
      } else if (path === "/metrics") {
        res.writeHead(200, { "content-type": registry.contentType }).end(await registry.metrics());
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /healthz, /readyz or /metrics\n");
      }
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`${err instanceof Error ? err.message : String(err)}\n`);
    }
  });
  // A scraper's keep-alive connection must not hold shutdown open; idle ones close at once.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // A request still running (a slow /metrics) gets a moment, then its connection is cut.
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      }),
  };
}

function rest(report: HealthReport & { error?: string }): Record<string, unknown> {
  const { ok: _ok, ...others } = report;
  return others;
}
