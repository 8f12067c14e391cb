/**
 * Training benchmark: churnwatch's forest trainer vs scikit-learn (and vs ml-random-forest's own
 * trainer on a small subset, since that one is O(n^2) per feature per node).
 *
 *   npx tsx bench/train/bench-train.ts            (about 1-3 minutes on 2 cores)
 *   BENCH_ROWS=20000 npx tsx bench/train/bench-train.ts   (quicker)
 *   BENCH_SKIP_MLRF=1 ...                           (skip the ml-random-forest comparison)
 *
 * Targets: our train time within 3x of scikit-learn's and under 60 s; held-out ROC AUC within 0.01
 * of scikit-learn's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RandomForestClassifier } from 'ml-random-forest';
import { loadInMlRandomForest, predictProba, predictVoteFraction } from '../../src/model/forest/index.js';
import { ML_RANDOM_FOREST_LIKE, trainRandomForest } from '../../src/training/forest/index.js';
import { rocAuc } from '../../src/training/metrics.js';
import { churnDataset } from './synthetic.js';

const N_ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const N_FEATURES = 30;
const N_TREES = 100;
const MAX_DEPTH = 10;
const N_JOBS = 2;
const SEED = 20240601;
const PYTHON = '/usr/bin/python3';

const fmt = (x: number, d = 3): string => x.toFixed(d);

async function main(): Promise<void> {
  console.log(`data: ${N_ROWS} rows x ${N_FEATURES} features (seeded churn-like), 80/20 split`);
  const { rows, labels } = churnDataset(N_ROWS, N_FEATURES, SEED);
  const nTrain = Math.floor(N_ROWS * 0.8);
  const xTrain = rows.slice(0, nTrain);
  const yTrain = labels.slice(0, nTrain);
  const xTest = rows.slice(nTrain);
  const yTest = labels.slice(nTrain);
  let positives = 0;
  for (const v of labels) positives += v;
  console.log(`positives: ${fmt((100 * positives) / N_ROWS, 1)}%`);

  // --- ours -------------------------------------------------------------------------------------
  const settings = { nEstimators: N_TREES, maxDepth: MAX_DEPTH, nJobs: N_JOBS, maxFeatures: 'sqrt' as const, seed: 7 };
  const t0 = performance.now();
  const trained = await trainRandomForest(xTrain, yTrain, settings);
  const ourSeconds = (performance.now() - t0) / 1000;
  const tPredict = performance.now();
  const ourScores = predictProba(trained.model, xTest);
  const predictSeconds = (performance.now() - tPredict) / 1000;
  const ourAuc = rocAuc(yTest, ourScores);
  const voteAuc = rocAuc(yTest, predictVoteFraction(trained.model, xTest));
  const s = trained.stats;
  console.log(
    `\nchurnwatch forest: ${N_TREES} trees, maxDepth ${MAX_DEPTH}, maxFeatures sqrt, nJobs ${N_JOBS}\n` +
      `  train ${fmt(ourSeconds, 2)} s (binning ${fmt(s.binningSeconds, 2)} s, growing ${fmt(s.growSeconds, 2)} s, ` +
      `${s.nodes} nodes)\n  held-out ROC AUC ${fmt(ourAuc, 4)} (mean leaf probability), ${fmt(voteAuc, 4)} (vote fraction)\n` +
      `  predictProba on ${xTest.length} rows (compile + score): ${fmt(predictSeconds, 2)} s`,
  );

  // The artifact as the worker will use it: JSON text -> ml-random-forest.
  const json = JSON.stringify(trained.model);
  const t1 = performance.now();
  const loaded = RandomForestClassifier.load(JSON.parse(json));
  const mlrfScores = loaded.predictProbability(xTest.map((r) => Array.from(r)), 1);
  const inferMs = performance.now() - t1;
  console.log(
    `  JSON ${fmt(json.length / 1e6, 1)} MB (compactJson: ~${fmt(compactSize(trained.model) / 1e6, 1)} MB); ml-random-forest load + predictProbability on ${xTest.length} rows: ` +
      `${fmt(inferMs / 1000, 2)} s, ROC AUC ${fmt(rocAuc(yTest, mlrfScores), 4)}`,
  );

  // --- scikit-learn -----------------------------------------------------------------------------
  const sk = runSklearn(xTrain, yTrain, xTest, yTest);
  if (sk) {
    const ratio = ourSeconds / sk.train_seconds;
    const aucGap = ourAuc - sk.auc;
    console.log(
      `\nscikit-learn ${sk.sklearn}: RandomForestClassifier(n_estimators=${N_TREES}, max_depth=${MAX_DEPTH}, ` +
        `n_jobs=${N_JOBS}, max_features='sqrt')\n  train ${fmt(sk.train_seconds, 2)} s, held-out ROC AUC ${fmt(sk.auc, 4)}`,
    );
    console.log(`\nratio ours / sklearn train time: ${fmt(ratio, 2)}x; AUC ours - sklearn: ${aucGap >= 0 ? '+' : ''}${fmt(aucGap, 4)}`);
    console.log(`target time (<= 3x sklearn and < 60 s): ${ratio <= 3 && ourSeconds < 60 ? 'MET' : 'NOT MET'}`);
    console.log(`target AUC (within 0.01 of sklearn):   ${Math.abs(aucGap) <= 0.01 ? 'MET' : 'NOT MET'}`);
  } else {
    console.log(`\ntarget time (< 60 s): ${ourSeconds < 60 ? 'MET' : 'NOT MET'} (no scikit-learn to compare with)`);
  }

  if (process.env.BENCH_SKIP_MLRF !== '1') await compareWithMlRandomForest(xTrain, yTrain, xTest, yTest);
}

/** Size of the JSON without ml-cart's option fields repeated on every node (the compactJson option). */
function compactSize(model: unknown): number {
  const nodeOptionKeys = new Set(['kind', 'gainFunction', 'splitFunction', 'minNumSamples', 'maxDepth', 'gainThreshold']);
  return JSON.stringify(model, function (this: Record<string, unknown>, key, value: unknown) {
    const isNode = 'distribution' in this || 'splitColumn' in this;
    return isNode && nodeOptionKeys.has(key) ? undefined : value;
  }).length;
}

interface SklearnResult {
  sklearn: string;
  train_seconds: number;
  auc: number;
}

function runSklearn(
  xTrain: Float64Array[],
  yTrain: Uint8Array,
  xTest: Float64Array[],
  yTest: Uint8Array,
): SklearnResult | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'churnwatch-bench-'));
  try {
    const toCsv = (x: Float64Array[], y: Uint8Array): string =>
      x.map((r, i) => `${Array.from(r).join(',')},${y[i]}`).join('\n') + '\n';
    const trainCsv = join(dir, 'train.csv');
    const testCsv = join(dir, 'test.csv');
    writeFileSync(trainCsv, toCsv(xTrain, yTrain));
    writeFileSync(testCsv, toCsv(xTest, yTest));
    const script = fileURLToPath(new URL('./sklearn_ref.py', import.meta.url));
    const args = [script, trainCsv, testCsv, String(N_TREES), String(MAX_DEPTH), String(N_JOBS), 'sqrt', '0'];
    const run = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
    const line = run.stdout?.trim().split('\n').pop() ?? '';
    if (run.error || run.status !== 0) {
      console.log(`\nscikit-learn reference not run (${run.error?.message ?? line ?? run.stderr}).`);
      console.log('  Install it for the system Python: apt-get install python3-sklearn (then rerun; uses /usr/bin/python3).');
      return undefined;
    }
    return JSON.parse(line) as SklearnResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ml-random-forest's own trainer on a small subset (it is O(n^2) per feature per node). */
async function compareWithMlRandomForest(
  xTrain: Float64Array[],
  yTrain: Uint8Array,
  xTest: Float64Array[],
  yTest: Uint8Array,
): Promise<void> {
  const n = 2000;
  const p = 20;
  const trees = 10;
  const x = xTrain.slice(0, n).map((r) => Array.from(r.subarray(0, p)));
  const y = Array.from(yTrain.subarray(0, n));
  const xt = xTest.slice(0, 5000).map((r) => Array.from(r.subarray(0, p)));
  const yt = yTest.subarray(0, 5000);

  const t0 = performance.now();
  const mlrf = new RandomForestClassifier({ nEstimators: trees, noOOB: true, seed: 3 });
  mlrf.train(x, y);
  const mlrfSeconds = (performance.now() - t0) / 1000;
  const mlrfAuc = rocAuc(yt, mlrf.predictProbability(xt, 1));

  // Same tree settings as ml-random-forest's defaults, one thread.
  const t1 = performance.now();
  const ours = await trainRandomForest(x, y, { ...ML_RANDOM_FOREST_LIKE, nEstimators: trees, seed: 3 });
  const ourSeconds = (performance.now() - t1) / 1000;
  const ourAuc = rocAuc(yt, loadInMlRandomForest(ours.model).predictProbability(xt, 1));
  console.log(
    `\nml-random-forest's own trainer, ${n} x ${p}, ${trees} trees, ml-cart defaults, noOOB:\n` +
      `  ml-random-forest ${fmt(mlrfSeconds, 2)} s (AUC ${fmt(mlrfAuc, 4)}, predictProbability)\n` +
      `  churnwatch       ${fmt(ourSeconds, 3)} s (AUC ${fmt(ourAuc, 4)}, same settings, 1 thread)\n` +
      `  speed-up ${fmt(mlrfSeconds / ourSeconds, 0)}x`,
  );
}

await main();
