/**
 * Rescoring of customers touched by ingest, off the ingest path: batches hand their customer ids
 * over after their database commit, and a background loop scores them moments later. Ingest speed
 * then does not depend on model size, and a burst of batches for one customer scores it once.
 *
 * Bounded: at most `maxPending` ids wait in memory. Beyond that new ids are dropped and counted,
 * and `onOverflow` asks for one full rescoring (which covers everyone) instead. A customer whose
 * scoring throws does not come back here: rescore() sets it aside in scoring_failure, and this
 * service's retry loop picks it up when its backoff has passed. If the worker dies with ids still
 * queued, the scheduled full rescoring covers them.
 */
import type { Logger } from "../log.js";
import { claimDueFailures } from "./failures.js";
import { addStats, emptyStats, rescore, type RescoreDeps, type RescoreStats } from "./rescore.js";

export interface ScoringServiceOptions {
  /** How often the loop looks for queued ids (default 250 ms). */
  intervalMs?: number;
  /** Ids kept waiting at most (default 100,000); more are dropped and a full rescoring is requested. */
  maxPending?: number;
  /** How often set-aside customers due for a retry are claimed (default 30 s). */
  retryEveryMs?: number;
  /** Called (at most once per minute) when ids were dropped for the bound. */
  onOverflow?: () => void;
}

export interface ScoringService {
  enqueue(customerIds: readonly string[]): void;
  rescoreAll(asOf: Date): Promise<RescoreStats>;
  /** Retries set-aside customers whose backoff has passed; returns how many were retried. */
  retryFailures(now?: Date): Promise<number>;
  /** Resolves once everything enqueued so far has been scored (demo, tests, shutdown). */
  flush(): Promise<void>;
  stop(): Promise<void>;
  totals: RescoreStats;
  /** Ids dropped because the pending set was full. */
  readonly dropped: number;
  readonly pending: number;
}

/** Customers written by a newer model wait this long for this worker to load it, then are retried. */
const STALE_MODEL_RETRY_MS = 5_000;

export function startScoringService(deps: RescoreDeps, logger: Logger, opts: ScoringServiceOptions = {}): ScoringService {
  const log = logger.child({ component: "scoring" });
  const maxPending = opts.maxPending ?? 100_000;
  let pending = new Set<string>();
  let running: Promise<void> | null = null;
  let stopped = false;
  let failures = 0;
  let dropped = 0;
  let lastOverflow = 0;
  const totals = emptyStats();

  function add(ids: Iterable<string>): void {
    let lost = 0;
    for (const id of ids) {
      if (pending.size >= maxPending && !pending.has(id)) lost++;
      else pending.add(id);
    }
    if (lost === 0) return;
    dropped += lost;
    if (Date.now() - lastOverflow > 60_000) {
      lastOverflow = Date.now();
      log.warn({ dropped: lost, maxPending }, "scoring: pending set full; requesting a full rescoring instead");
      opts.onOverflow?.();
    }
  }

  async function drain(): Promise<void> {
    while (pending.size > 0 && !stopped) {
      const ids = [...pending];
      pending = new Set();
      try {
        const r = await rescore(deps, { asOf: new Date(), customerIds: ids });
        addStats(totals, r);
        failures = 0;
        if (r.staleModel.length > 0) {
          // Another worker already scores them with a newer model; this one will reload it shortly.
          const later = setTimeout(() => add(r.staleModel), STALE_MODEL_RETRY_MS);
          later.unref();
        }
      } catch (err) {
        // An outage: the whole set waits (bounded) and is retried with a doubling delay.
        add(ids);
        failures++;
        log.error({ err, customers: ids.length, failures }, "rescoring touched customers failed; will retry");
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** failures)));
      }
    }
  }

  function kick(): void {
    if (running || stopped || pending.size === 0) return;
    running = drain().finally(() => {
      running = null;
    });
  }

  async function retryFailures(now = new Date()): Promise<number> {
    // The lease keeps another worker's loop off these customers while this one scores them.
    const ids = await claimDueFailures(deps.pool, now, 1000, 10 * 60_000);
    add(ids);
    kick();
    return ids.length;
  }

  const timer = setInterval(kick, opts.intervalMs ?? 250);
  timer.unref();
  const retryTimer = setInterval(() => void retryFailures().catch((err) => log.warn({ err }, "scoring: retry of set-aside customers failed")), opts.retryEveryMs ?? 30_000);
  retryTimer.unref();

  return {
    totals,
    get dropped() {
      return dropped;
    },
    get pending() {
      return pending.size;
    },
    enqueue: add,
    async rescoreAll(asOf) {
      const { staleModel: _ids, ...stats } = await rescore(deps, { asOf });
      addStats(totals, stats);
      // The job's outcome is logged and stored: counts only (customers a newer model wrote are in `stale`).
      return stats;
    },
    retryFailures,
    async flush() {
      while ((pending.size > 0 || running) && !stopped) {
        kick();
        await (running ?? new Promise((r) => setTimeout(r, 20)));
      }
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearInterval(retryTimer);
      await running;
    },
  };
}
