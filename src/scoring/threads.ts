/**
 * Scoring on worker threads. A page's CPU work (parsing the states, features, the forest,
 * TreeSHAP for the published at-risk scores, building events and statements) is pure
 * (scoring/compute-page.ts), so it can run off the main thread: while threads compute pages, the
 * main thread reads the next page and writes finished ones, and a second core works too. Each
 * thread builds the model once from its artifact; pages go as rows with the states as JSON text,
 * and come back as statement JSON and a few small arrays.
 *
 * Small pages (a few touched customers after an ingest batch) are computed on the calling thread:
 * the messages would cost more than they save. A thread that fails hands its page back to the
 * calling thread.
 */
import os from "node:os";
import { Worker } from "node:worker_threads";
import { workerEntry } from "../lib/worker-entry.js";
import type { ModelArtifact } from "../model/artifact.js";
import type { ServingModel } from "../model/load.js";
import { computePage, type ComputeContext, type ComputedPage, type RawPageRow } from "./compute-page.js";
import { inlineExplainer, type ExplainRow, type Explainer } from "./explain.js";
import type { Reason } from "./reasons.js";

export interface PageComputer {
  compute(model: ServingModel, rows: readonly RawPageRow[], ctx: ComputeContext): Promise<ComputedPage>;
}

/** On the calling thread. */
export function inlineComputer(explainer: Explainer = inlineExplainer()): PageComputer {
  return { compute: (model, rows, ctx) => computePage(model, rows, ctx, explainer) };
}

export type ThreadRequest =
  | { type: "model"; key: string; artifact: ModelArtifact }
  | { type: "page"; id: number; key: string; rows: readonly RawPageRow[]; ctx: ComputeContext }
  | { type: "explain"; id: number; key: string; rows: readonly ExplainRow[] };

export type ThreadReply =
  | { id: number; page: ComputedPage; reasons?: undefined; error?: undefined }
  | { id: number; reasons: Reason[][]; page?: undefined; error?: undefined }
  | { id: number; error: string; page?: undefined; reasons?: undefined };

export interface ScoringThreadsOptions {
  /** Worker threads (default: CPUs, at most 4). */
  threads?: number;
  /** Pages with fewer rows are computed on the calling thread (default 200). */
  minPageRows?: number;
  /** Explain batches with fewer rows run on the calling thread (default 64 per thread). */
  minExplainRows?: number;
  /**
   * Young-generation size of each thread, MB (default 64; 0: Node's default). A page allocates
   * megabytes of short-lived objects (parsed states, events); with Node's default young generation
   * a fifth of a page's CPU went to garbage collection. Costs at most this much memory per thread.
   */
  youngGenerationMb?: number;
}

export interface ScoringThreads extends PageComputer {
  /** TreeSHAP reasons on the same threads (digest rows). */
  explainer: Explainer;
  readonly size: number;
  close(): Promise<void>;
}

interface Thread {
  worker: Worker;
  models: Set<string>;
  busy: number;
}

export function startScoringThreads(opts: ScoringThreadsOptions = {}): ScoringThreads {
  const size = Math.max(1, opts.threads ?? Math.min(4, os.availableParallelism?.() ?? os.cpus().length));
  const minPageRows = opts.minPageRows ?? 200;
  const minExplainRows = opts.minExplainRows ?? 64;
  const youngMb = opts.youngGenerationMb ?? 64;
  const inline = inlineExplainer();
  const entry = workerEntry(import.meta.url, "scoring-worker");
  const keys = new WeakMap<ServingModel, string>();
  let nextKey = 0;
  let nextId = 0;
  let closed = false;
  const pending = new Map<number, { thread: Thread; resolve: (r: ThreadReply) => void; reject: (err: Error) => void }>();
  let threads: Thread[] | null = null;

  const start = (): Thread[] => {
    if (threads) return threads;
    const started: Thread[] = Array.from({ length: size }, () => {
      const worker = new Worker(entry.code, { eval: entry.eval, ...(youngMb > 0 ? { resourceLimits: { maxYoungGenerationSizeMb: youngMb } } : {}) });
      // Idle threads must not keep a finished process (a script, a test) alive.
      worker.unref();
      const thread: Thread = { worker, models: new Set(), busy: 0 };
      worker.on("message", (m: ThreadReply) => {
        const p = pending.get(m.id);
        if (!p) return;
        pending.delete(m.id);
        if (--thread.busy === 0) worker.unref();
        released();
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m);
      });
      const fail = (err: Error) => {
        for (const [id, p] of pending) {
          if (p.thread !== thread) continue;
          pending.delete(id);
          p.reject(err);
        }
        // Start afresh on the next call (a crashed thread is not reused); whoever waits for a thread retries.
        if (threads === started) threads = null;
        while (waiting.length > 0) released();
      };
      worker.on("error", fail);
      worker.on("exit", (code) => fail(new Error(`scoring thread exited with code ${code}`)));
      return thread;
    });
    threads = started;
    return started;
  };

  const keyOf = (model: ServingModel): string => {
    let k = keys.get(model);
    if (!k) {
      k = `${model.artifact.modelVersion}#${nextKey++}`;
      keys.set(model, k);
    }
    return k;
  };

  // Work goes to a thread only when it is free: pages differ in cost (how many are explained), and
  // a page queued behind a long one on a busy thread would leave the other thread idle.
  const waiting: (() => void)[] = [];
  const freeThread = async (): Promise<Thread> => {
    for (;;) {
      const idle = start().find((t) => t.busy === 0);
      if (idle) {
        // Reserved at once: another caller looking in the same tick must not pick it too.
        if (idle.busy++ === 0) idle.worker.ref();
        return idle;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
  const released = () => waiting.shift()?.();

  /** A free thread, given the model if it does not have it yet. */
  const send = async (model: ServingModel, request: (key: string, id: number) => ThreadRequest): Promise<ThreadReply> => {
    const thread = await freeThread();
    const key = keyOf(model);
    if (!thread.models.has(key)) {
      thread.worker.postMessage({ type: "model", key, artifact: model.artifact } satisfies ThreadRequest);
      thread.models.add(key);
    }
    const id = nextId++;
    return new Promise<ThreadReply>((resolve, reject) => {
      pending.set(id, { thread, resolve, reject });
      thread.worker.postMessage(request(key, id));
    });
  };

  const explainer: Explainer = {
    async reasons(model, rows) {
      if (closed || rows.length < minExplainRows * 2) return inline.reasons(model, rows);
      const per = Math.ceil(rows.length / size);
      const parts = Array.from({ length: size }, (_, i) => rows.slice(i * per, (i + 1) * per)).filter((p) => p.length > 0);
      const results = await Promise.all(parts.map(async (part) => {
        try {
          const reply = await send(model, (key, id) => ({ type: "explain", id, key, rows: part.map((r) => ({ vector: r.vector, features: r.features })) }));
          return reply.reasons!;
        } catch {
          return inline.reasons(model, part);
        }
      }));
      return results.flat();
    },
    async close() {},
  };

  return {
    size,
    explainer,
    async compute(model, rows, ctx) {
      if (closed || rows.length < minPageRows) return computePage(model, rows, ctx, inline);
      try {
        const reply = await send(model, (key, id) => ({ type: "page", id, key, rows, ctx }));
        return reply.page!;
      } catch {
        return computePage(model, rows, ctx, inline);
      }
    },
    async close() {
      closed = true;
      const t = threads;
      threads = null;
      if (t) await Promise.all(t.map((x) => x.worker.terminate()));
    },
  };
}
