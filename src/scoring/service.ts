/**
 * Rescoring of customers touched by ingest, off the ingest path: batches hand their customer ids
 * over after their database commit, and a background loop scores them moments later. Ingest speed
 * then does not depend on model size, and a burst of batches for one customer scores it once.
 * If the worker dies with ids still queued, the scheduled full rescoring covers them.
 */
import type { Logger } from "../log.js";
import { rescore, type RescoreDeps, type RescoreStats } from "./rescore.js";

export interface ScoringService {
  enqueue(customerIds: readonly string[]): void;
  rescoreAll(asOf: Date): Promise<RescoreStats>;
  /** Resolves once everything enqueued so far has been scored (demo, tests, shutdown). */
  flush(): Promise<void>;
  stop(): Promise<void>;
  totals: RescoreStats;
}

export function startScoringService(deps: RescoreDeps, logger: Logger, intervalMs = 250): ScoringService {
  const log = logger.child({ component: "scoring" });
  let pending = new Set<string>();
  let running: Promise<void> | null = null;
  let stopped = false;
  let failures = 0;
  const totals: RescoreStats = { scored: 0, published: 0, skippedCancelled: 0, historyRows: 0 };

  const add = (s: RescoreStats) => {
    totals.scored += s.scored;
    totals.published += s.published;
    totals.skippedCancelled += s.skippedCancelled;
    totals.historyRows += s.historyRows;
  };

  async function drain(): Promise<void> {
    while (pending.size > 0) {
      const ids = [...pending];
      pending = new Set();
      try {
        add(await rescore(deps, { asOf: new Date(), customerIds: ids }));
        failures = 0;
      } catch (err) {
        for (const id of ids) pending.add(id);
        failures++;
        log.error({ err, customers: ids.length, failures }, "rescoring touched customers failed; will retry");
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** failures)));
        if (stopped) return;
      }
    }
  }

  function kick(): void {
    if (running || stopped || pending.size === 0) return;
    running = drain().finally(() => {
      running = null;
    });
  }

  const timer = setInterval(kick, intervalMs);
  timer.unref();

  return {
    totals,
    enqueue(ids) {
      for (const id of ids) pending.add(id);
    },
    async rescoreAll(asOf) {
      const stats = await rescore(deps, { asOf });
      add(stats);
      return stats;
    },
    async flush() {
      while (pending.size > 0 || running) {
        kick();
        await (running ?? new Promise((r) => setTimeout(r, 20)));
      }
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
