/**
 * The worker's outbox sender: one drain at a time, started by a timer or on request, with the
 * outbox gauges refreshed alongside.
 *
 * Drains used to start every OUTBOX_DRAIN_SECONDS whether or not the previous one had finished,
 * so a slow relay stacked them up, each holding a pool connection. Now a tick starts a drain only
 * when none is running, and a request made during a drain (the digest job's, on the job's clock)
 * runs once right after it, on the latest clock asked for. Other workers drain at the same time;
 * leases keep them from sending one message twice (outbox.ts).
 */
import type pg from "pg";
import type { Logger } from "../log.js";
import { drainOutbox, pendingByKind, type DrainOptions, type DrainResult, type OutboxMetrics } from "./outbox.js";
import type { MailTransport } from "./transport.js";

export interface OutboxSenderOptions extends Omit<DrainOptions, "now" | "signal" | "logger" | "metrics"> {
  logger: Logger;
  metrics?: OutboxMetrics;
}

export interface OutboxSender {
  /**
   * Sends what is due at `now` (default: the current time). Never overlaps another drain of this
   * worker: during one, the request waits for it and then runs (requests made meanwhile share
   * that run, on the latest clock among them).
   */
  drain(now?: Date): Promise<DrainResult>;
  /** The periodic tick: refreshes the gauges and starts a drain unless one is running or waiting. */
  tick(): void;
  /** True while a drain runs or waits to run. */
  readonly busy: boolean;
  /** Sets outboxPending and outboxOldestPendingAge per kind from the table. */
  refreshMetrics(now?: Date): Promise<void>;
  /** Aborts the running drain (its untried claims are given back) and waits for it to end. */
  stop(): Promise<void>;
}

const EMPTY: DrainResult = { sent: 0, retrying: 0, failed: 0, released: 0 };

export function startOutboxSender(pool: pg.Pool, transport: MailTransport, options: OutboxSenderOptions): OutboxSender {
  const { logger: log, metrics, ...drainOpts } = options;
  const abort = new AbortController();
  let loop: Promise<void> | null = null;
  let wanted: Date | null = null;
  let waiters: { resolve(r: DrainResult): void; reject(e: unknown): void }[] = [];
  let refreshing: Promise<void> | null = null;
  // Kinds this sender has set a gauge for: a kind whose last message went out must drop to 0, and
  // kinds of other outboxes sharing the gauges (risk events) are not ours to reset.
  const kinds = new Set<string>();

  async function run(): Promise<void> {
    while (wanted !== null && !abort.signal.aborted) {
      const now = wanted;
      const batch = waiters;
      wanted = null;
      waiters = [];
      const started = Date.now();
      let outcome: { ok: true; result: DrainResult } | { ok: false; err: unknown };
      try {
        const result = await drainOutbox(pool, transport, { ...drainOpts, now, signal: abort.signal, logger: log, ...(metrics ? { metrics } : {}) });
        if (result.sent + result.retrying + result.failed + result.released > 0) {
          log.info({ ...result, ms: Date.now() - started }, "outbox: drain finished");
        }
        outcome = { ok: true, result };
      } catch (err) {
        log.error({ err, ms: Date.now() - started }, "outbox: drain failed");
        outcome = { ok: false, err };
      }
      // Gauges first, so whoever awaited the drain reads them up to date (not at shutdown: a
      // frozen database would hold stop() for a statement timeout).
      if (!abort.signal.aborted) await refreshMetrics().catch(() => undefined);
      for (const w of batch) {
        if (outcome.ok) w.resolve(outcome.result);
        else w.reject(outcome.err);
      }
    }
    // Stopped with requests still waiting: they get an empty result rather than hanging.
    for (const w of waiters.splice(0)) w.resolve(EMPTY);
    wanted = null;
    loop = null;
  }

  function drain(now = new Date()): Promise<DrainResult> {
    if (abort.signal.aborted) return Promise.resolve(EMPTY);
    wanted = wanted === null || now > wanted ? now : wanted;
    const result = new Promise<DrainResult>((resolve, reject) => waiters.push({ resolve, reject }));
    loop ??= run();
    return result;
  }

  async function refreshMetrics(now = new Date()): Promise<void> {
    if (!metrics) return;
    // One refresh at a time: with a frozen database, ticks must not pile up queries.
    refreshing ??= (async () => {
      try {
        const rows = await pendingByKind(pool, now);
        const seen = new Set<string>();
        for (const r of rows) {
          seen.add(r.kind);
          kinds.add(r.kind);
          metrics.outboxPending.set({ kind: r.kind }, r.pending);
          metrics.outboxOldestPendingAge.set({ kind: r.kind }, r.oldestAgeSeconds);
        }
        for (const k of kinds) {
          if (seen.has(k)) continue;
          metrics.outboxPending.set({ kind: k }, 0);
          metrics.outboxOldestPendingAge.set({ kind: k }, 0);
        }
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  return {
    drain,
    tick() {
      if (abort.signal.aborted) return;
      void refreshMetrics().catch((err) => log.warn({ err }, "outbox: could not read the outbox for its metrics"));
      // The result is logged by run(); a rejection here has been logged already.
      if (loop === null) drain().catch(() => undefined);
    },
    get busy() {
      return loop !== null;
    },
    refreshMetrics,
    async stop() {
      abort.abort();
      await loop;
      await refreshing?.catch(() => undefined);
    },
  };
}
