/**
 * Reasons for the customers someone will read them for: published medium/high scores during
 * rescoring, and digest rows before the digest (scoring/refresh-reasons.ts). TreeSHAP costs a few
 * hundred predictions per row, so it runs only on that subset, and on worker threads when the
 * batch is large enough to pay for the messages: the main thread stays free for reading pages,
 * scoring and writing, and a second core explains in parallel.
 */
import os from "node:os";
import { Worker } from "node:worker_threads";
import type { FeatureName } from "../features/index.js";
import { workerEntry } from "../lib/worker-entry.js";
import type { ShapTree } from "../model/forest/treeshap.js";
import type { ServingModel } from "../model/load.js";
import { explainReasons, resolveThemes, type Reason, type ReasonThemes } from "./reasons.js";

export interface ExplainRow {
  vector: readonly number[];
  features: Readonly<Record<FeatureName, number>>;
}

export interface Explainer {
  /** Reasons per row, in the order given. */
  reasons(model: ServingModel, rows: readonly ExplainRow[]): Promise<Reason[][]>;
  close(): Promise<void>;
}

const themesByModel = new WeakMap<ServingModel, ReasonThemes>();
export function themesOf(model: ServingModel): ReasonThemes {
  let t = themesByModel.get(model);
  if (!t) {
    t = resolveThemes(model.artifact.featureNames, model.population.newDays);
    themesByModel.set(model, t);
  }
  return t;
}

function width(model: ServingModel): number {
  return Math.max(model.explainer.nFeatures, model.artifact.featureNames.length);
}

/** On the calling thread, with the model's own explainer. */
export function inlineExplainer(): Explainer {
  return {
    async reasons(model, rows) {
      const phi = new Float64Array(width(model));
      const themes = themesOf(model);
      return rows.map((r) => {
        model.explainer.explain(r.vector, phi);
        return explainReasons(phi, r.features, themes);
      });
    },
    async close() {},
  };
}

export type ExplainRequest =
  | { type: "model"; key: string; trees: ShapTree[] }
  | { type: "rows"; id: number; key: string; rows: Float64Array; width: number; n: number };

export type ExplainReply = { id: number; phi: Float64Array; error?: undefined } | { id: number; error: string; phi?: undefined };

export interface ThreadedExplainerOptions {
  /** Worker threads (default: CPUs, at most 4). */
  threads?: number;
  /** Smaller batches are explained on the calling thread: the messages would cost more than they save. */
  minRowsPerThread?: number;
}

/**
 * TreeSHAP on worker threads. Each thread gets the model's trees once (typed arrays, copied) and
 * then row batches as one transferred Float64Array; contributions come back the same way and the
 * sentences are built here. A thread that fails takes its batch back to the calling thread.
 */
export function threadedExplainer(opts: ThreadedExplainerOptions = {}): Explainer {
  const n = Math.max(1, opts.threads ?? Math.min(4, os.availableParallelism?.() ?? os.cpus().length));
  const minRows = opts.minRowsPerThread ?? 64;
  const inline = inlineExplainer();
  const entry = workerEntry(import.meta.url, "explain-worker");
  const keys = new WeakMap<ServingModel, string>();
  let nextKey = 0;
  let nextId = 0;
  const pending = new Map<number, { resolve: (phi: Float64Array) => void; reject: (err: Error) => void }>();

  interface Thread {
    worker: Worker;
    models: Set<string>;
  }
  let threads: Thread[] | null = null;
  const start = (): Thread[] => {
    threads ??= Array.from({ length: n }, () => {
      const worker = new Worker(entry.code, { eval: entry.eval });
      // Idle explain threads must not keep a finished process (a script, a test) alive.
      worker.unref();
      worker.on("message", (m: ExplainReply) => {
        const p = pending.get(m.id);
        if (!p) return;
        pending.delete(m.id);
        if (m.phi) p.resolve(m.phi);
        else p.reject(new Error(m.error));
      });
      const failAll = (err: Error) => {
        for (const [id, p] of pending) {
          pending.delete(id);
          p.reject(err);
        }
        threads = null;
      };
      worker.on("error", failAll);
      worker.on("exit", (code) => failAll(new Error(`explain thread exited with code ${code}`)));
      return { worker, models: new Set<string>() };
    });
    return threads;
  };

  const keyOf = (model: ServingModel): string => {
    let k = keys.get(model);
    if (!k) {
      k = `${model.artifact.modelVersion}#${nextKey++}`;
      keys.set(model, k);
    }
    return k;
  };

  const run = (t: Thread, model: ServingModel, rows: readonly ExplainRow[], w: number): Promise<Float64Array> => {
    const key = keyOf(model);
    if (!t.models.has(key)) {
      t.worker.postMessage({ type: "model", key, trees: model.shapTrees } satisfies ExplainRequest);
      t.models.add(key);
    }
    const data = new Float64Array(rows.length * w);
    rows.forEach((r, i) => data.set(r.vector, i * w));
    const id = nextId++;
    return new Promise<Float64Array>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      t.worker.ref();
      t.worker.postMessage({ type: "rows", id, key, rows: data, width: w, n: rows.length } satisfies ExplainRequest, [data.buffer]);
    }).finally(() => {
      if (![...pending.keys()].length) t.worker.unref();
    });
  };

  return {
    async reasons(model, rows) {
      if (rows.length < minRows * 2) return inline.reasons(model, rows);
      const w = width(model);
      const pool = start();
      const per = Math.ceil(rows.length / pool.length);
      const chunks = pool.map((t, i) => ({ t, part: rows.slice(i * per, (i + 1) * per) })).filter((c) => c.part.length > 0);
      const themes = themesOf(model);
      const results = await Promise.all(chunks.map(async ({ t, part }) => {
        let phi: Float64Array;
        try {
          phi = await run(t, model, part, w);
        } catch {
          return inline.reasons(model, part);
        }
        return part.map((r, i) => explainReasons(phi.subarray(i * w, (i + 1) * w), r.features, themes));
      }));
      return results.flat();
    },
    async close() {
      const t = threads;
      threads = null;
      if (t) await Promise.all(t.map((x) => x.worker.terminate()));
    },
  };
}
