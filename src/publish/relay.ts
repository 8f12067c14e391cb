/**
 * The outbox relay: one loop per worker that moves committed CRM events from event_outbox to
 * Kafka. Claim a batch (a lease in the rows, so relays of several workers share the work and a
 * dead relay's rows come back after the lease), send it, delete it once the broker acknowledged.
 * At least once: a crash between the acknowledgement and the delete sends the batch again, with
 * the same event ids. A failed send gives the rows back and backs off; the retention rule drops
 * rows that stay unsent too long (a broker gone for days must not grow the table for ever).
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import type pg from "pg";
import type { Logger } from "../log.js";
import { ackEvents, claimEvents, pruneEvents, releaseEvents, type ClaimedEvent } from "./event-outbox.js";
import type { EventSender } from "./publisher.js";

export interface RelayOptions {
  pool: pg.Pool;
  sender: EventSender;
  logger: Logger;
  /** Rows per claim (default 2000). */
  batchSize?: number;
  /** How long a claim lasts; longer than the producer's own retries (default 60 s). */
  leaseMs?: number;
  /** Poll interval when the outbox is empty; wake() cuts it short (default 500 ms). */
  idleMs?: number;
  /** Unsent rows older than this are dropped (default 7 days). */
  retentionMs?: number;
  /** Backoff after a failed send: doubling from base to max (defaults 500 ms, 30 s). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** After each acknowledged batch, e.g. to count published events. */
  onPublished?(events: readonly ClaimedEvent[]): void;
  /** Rows dropped by the retention rule, by kind. */
  onDropped?(dropped: Record<string, number>): void;
}

export interface Relay {
  /** New rows were committed: look now rather than at the next poll. */
  wake(): void;
  /** Resolves once the relay has found the outbox empty (everything claimable sent); tests, demo, shutdown. */
  drain(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  readonly stats: { sent: number; failedSends: number; dropped: number };
}

const PRUNE_EVERY_MS = 60_000;

export function startRelay(opts: RelayOptions): Relay {
  const log = opts.logger.child({ component: "relay" });
  const claimant = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const batchSize = opts.batchSize ?? 2000;
  const leaseMs = opts.leaseMs ?? 60_000;
  const idleMs = opts.idleMs ?? 500;
  const retentionMs = opts.retentionMs ?? 7 * 24 * 3600_000;
  const stats = { sent: 0, failedSends: 0, dropped: 0 };
  let stopped = false;
  let wakeUp: (() => void) | null = null;
  let woken = false;
  /** Resolved when a pass finds nothing to send; drain() waits on passes that start after it was called. */
  let emptyWaiters: { after: number; resolve: () => void }[] = [];
  let pass = 0;
  let failures = 0;
  let lastPrune = 0;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken || stopped) {
        woken = false;
        return resolve();
      }
      const timer = setTimeout(() => {
        wakeUp = null;
        resolve();
      }, ms);
      wakeUp = () => {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      };
    });

  async function prune(): Promise<void> {
    if (Date.now() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = Date.now();
    const dropped = await pruneEvents(opts.pool, retentionMs);
    const n = Object.values(dropped).reduce((a, b) => a + b, 0);
    if (n > 0) {
      stats.dropped += n;
      log.error({ dropped, retentionMs }, "outbox: events older than the retention dropped unsent");
      opts.onDropped?.(dropped);
    }
  }

  async function once(): Promise<"sent" | "empty" | "failed"> {
    const current = ++pass;
    await prune();
    const batch = await claimEvents(opts.pool, claimant, batchSize, leaseMs);
    if (batch.length === 0) {
      const ready = emptyWaiters.filter((w) => w.after < current);
      emptyWaiters = emptyWaiters.filter((w) => w.after >= current);
      for (const w of ready) w.resolve();
      return "empty";
    }
    try {
      await opts.sender.send(batch);
    } catch (err) {
      stats.failedSends++;
      log.warn({ err: (err as Error).message, events: batch.length }, "outbox: send failed; the events stay queued");
      await releaseEvents(opts.pool, claimant, batch.map((e) => e.id), (err as Error).message).catch(() => undefined);
      return "failed";
    }
    await ackEvents(opts.pool, claimant, batch.map((e) => e.id));
    stats.sent += batch.length;
    opts.onPublished?.(batch);
    return "sent";
  }

  const loop = (async () => {
    while (!stopped) {
      let outcome: "sent" | "empty" | "failed";
      try {
        outcome = await once();
      } catch (err) {
        // The database is away: nothing was sent that is not still in the outbox.
        log.warn({ err: (err as Error).message }, "outbox: relay pass failed; retrying");
        outcome = "failed";
      }
      if (outcome === "sent") {
        failures = 0;
        continue;
      }
      if (outcome === "empty") {
        failures = 0;
        await sleep(idleMs);
        continue;
      }
      failures++;
      await sleep(Math.min(opts.backoffMaxMs ?? 30_000, (opts.backoffBaseMs ?? 500) * 2 ** (failures - 1)));
    }
  })();

  const wake = () => {
    if (wakeUp) wakeUp();
    else woken = true;
  };

  return {
    stats,
    wake,
    drain(timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`outbox not drained within ${timeoutMs} ms`)), timeoutMs);
        emptyWaiters.push({ after: pass, resolve: () => (clearTimeout(timer), resolve()) });
        wake();
      });
    },
    async stop() {
      stopped = true;
      wakeUp?.();
      await loop;
    },
  };
}
