/**
 * Grows trees across worker threads. Each tree's randomness comes only from its own seed, so
 * which thread builds which tree does not matter: nJobs > 1 gives the same forest as nJobs = 1.
 *
 * The binned matrix lives in a SharedArrayBuffer, so workers read it without copies; finished
 * trees come back as transferred typed arrays.
 *
 * Running TypeScript workers: on Node 20 a worker does not get tsx's loader hooks in time, neither
 * inherited from a `tsx` parent nor via `execArgv: ['--import', 'tsx']` (both fail with "Unknown
 * file extension .ts", checked on Node 20.20), and vitest transpiles in-process so there is nothing
 * to inherit. So when this module is .ts, the worker starts from a tiny eval'd bootstrap that calls
 * tsx's `register()` and then imports worker.ts. Compiled .js runs load worker.js directly.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildTree, type FlatTree, type TreeParams, type TreeTrainingData } from './tree.js';

export interface TreeTask {
  readonly treeIndex: number;
  readonly seed: number;
  readonly candidateFeatures: Int32Array;
}

/** What a worker receives once at start-up (structured-cloned; SharedArrayBuffers are shared). */
export interface WorkerInit {
  readonly data: TreeTrainingData;
  readonly params: TreeParams;
}

export interface WorkerResult {
  readonly treeIndex: number;
  readonly tree?: FlatTree;
  readonly error?: string;
}

export async function growTrees(
  data: TreeTrainingData,
  params: TreeParams,
  tasks: readonly TreeTask[],
  nJobs: number,
): Promise<FlatTree[]> {
  const nWorkers = Math.min(nJobs, tasks.length);
  if (nWorkers <= 1) {
    return tasks.map((t) => buildTree(data, params, t.seed, t.candidateFeatures));
  }

  const entry = workerEntry();
  const init: WorkerInit = { data, params };
  const results: FlatTree[] = new Array(tasks.length);
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let done = 0;
      let failed = false;
      const fail = (err: unknown): void => {
        if (failed) return;
        failed = true;
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      const dispatch = (w: Worker): void => {
        if (next < tasks.length) w.postMessage(tasks[next++]);
      };
      for (let i = 0; i < nWorkers; i++) {
        const w = new Worker(entry.code, { eval: entry.eval, workerData: init });
        workers.push(w);
        w.on('message', (msg: WorkerResult) => {
          if (msg.error !== undefined || !msg.tree) {
            fail(new Error(`tree ${msg.treeIndex} failed in worker: ${msg.error}`));
            return;
          }
          results[msg.treeIndex] = msg.tree;
          if (++done === tasks.length) resolve();
          else dispatch(w);
        });
        w.on('error', fail);
        w.on('exit', (code) => {
          if (done < tasks.length) fail(new Error(`forest worker exited with code ${code} before finishing`));
        });
        dispatch(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

function workerEntry(): { code: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { code: new URL('./worker.js', import.meta.url), eval: false };
  const worker = new URL('./worker.ts', import.meta.url).href;
  const bootstrap =
    `import(${JSON.stringify(tsxEsmApiUrl())})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(worker)}); });`;
  return { code: bootstrap, eval: true };
}

/**
 * URL of tsx's ESM API ("tsx/esm/api", import condition). Resolved through tsx's own exports map
 * because createRequire would pick the CommonJS build, whose register() does not work from ESM.
 */
function tsxEsmApiUrl(): string {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as {
    exports: Record<string, string | { import?: { default?: string } }>;
  };
  const entry = pkg.exports['./esm/api'];
  const rel = typeof entry === 'string' ? entry : entry?.import?.default;
  if (!rel) throw new Error('cannot find tsx/esm/api (needed to run the .ts forest worker)');
  return new URL(rel, pathToFileURL(pkgPath)).href;
}
