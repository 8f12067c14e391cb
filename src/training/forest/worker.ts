/** Worker-thread entry: grows the trees the main thread hands out, one message per tree. */
import { parentPort, workerData } from 'node:worker_threads';
import type { TreeTask, WorkerInit, WorkerResult } from './parallel.js';
import { buildTree, flatTreeBuffers } from './tree.js';

const port = parentPort;
if (!port) throw new Error('forest worker must run in a worker thread');
const { data, params } = workerData as WorkerInit;

port.on('message', (task: TreeTask) => {
  try {
    const tree = buildTree(data, params, task.seed, task.candidateFeatures);
    const msg: WorkerResult = { treeIndex: task.treeIndex, tree };
    port.postMessage(msg, flatTreeBuffers(tree));
  } catch (err) {
    const msg: WorkerResult = { treeIndex: task.treeIndex, error: err instanceof Error ? err.stack ?? err.message : String(err) };
    port.postMessage(msg);
  }
});
