/**
 * TreeSHAP cost against plain prediction, same forest, same rows, same run: a forest shaped like
 * the starter model (60 trees, depth 8, 39 features, balanced class weights) trained by our
 * trainer on seeded churn-like rows, then every held-out row explained.
 *
 *   npx tsx bench/score/bench-treeshap.ts
 *   MIN_LEAF=1 ROWS=20000 npx tsx bench/score/bench-treeshap.ts     (fuller trees: the worst case)
 *
 * Prints rows/s for TreeSHAP (src/model/forest/treeshap.ts) through explainRows (batches, the way
 * to explain many rows) and through explain (one row at a time); for Algorithm 2 of Lundberg et
 * al. (the O(T L D^2) implementation src used before, kept in test/support as the reference), on
 * fewer rows (ALG2_ROWS) since it is two orders of magnitude slower; for predictProba and the
 * Saabas contributions; then the ratios, per row. Both TreeSHAP implementations must give the
 * same phi on every row they both explain, or the run fails. Each figure is the best of REPEATS
 * passes after a warm-up pass, by wall clock and by this process's CPU time (on a machine shared
 * with other work the CPU figure is the steadier; ratios use it). The methods take turns within
 * each repeat, so a busy spell on the machine does not land on one method only and skew a ratio.
 */
import { shapForestFromCompiled, TreeShapExplainer } from '../../src/model/forest/treeshap.js';
import { compileForest, predictProba, treeContributions } from '../../src/model/forest/index.js';
import { trainRandomForest } from '../../src/training/forest/index.js';
import { Algorithm2Explainer } from '../../test/support/treeshap-algorithm2.js';
import { churnDataset } from '../train/synthetic.js';

const N_TRAIN = Number(process.env.TRAIN_ROWS ?? 40_000);
const N_EXPLAIN = Number(process.env.ROWS ?? 2_000);
const N_ALG2 = Number(process.env.ALG2_ROWS ?? 200);
const N_FEATURES = 39;
const N_TREES = 60;
const MAX_DEPTH = 8;
const MIN_LEAF = Number(process.env.MIN_LEAF ?? 20);
const REPEATS = Number(process.env.REPEATS ?? 3);

const rate = (rows: number, ms: number): string => `${Math.round(rows / (ms / 1000)).toLocaleString('en')} rows/s`;

interface Timing {
  /** Rows per pass. */
  rows: number;
  /** Best wall time, ms. */
  ms: number;
  /** Best CPU time (user + system) of this process, ms. */
  cpuMs: number;
  /** Checksum of one pass. */
  sink: number;
}

/**
 * Best of REPEATS passes of each method after one untimed warm-up of each, the methods taking
 * turns; a method is [rows per pass, pass returning a checksum].
 */
function measure<K extends string>(methods: Record<K, readonly [number, () => number]>): Record<K, Timing> {
  const names = Object.keys(methods) as K[];
  const result = {} as Record<K, Timing>;
  for (const name of names) {
    const [rows, fn] = methods[name];
    result[name] = { rows, ms: Infinity, cpuMs: Infinity, sink: fn() };
  }
  for (let r = 0; r < REPEATS; r++) {
    for (const name of names) {
      const fn = methods[name][1];
      const c = process.cpuUsage();
      const t = performance.now();
      fn();
      const timing = result[name];
      timing.ms = Math.min(timing.ms, performance.now() - t);
      const d = process.cpuUsage(c);
      timing.cpuMs = Math.min(timing.cpuMs, (d.user + d.system) / 1000);
    }
  }
  return result;
}

const line = (name: string, t: Timing): string =>
  `${name.padEnd(32)}${rate(t.rows, t.ms).padStart(18)} (wall)${rate(t.rows, t.cpuMs).padStart(18)} (CPU)`;
/** CPU time per row of a over b's: how many times faster b is. */
const speedUp = (a: Timing, b: Timing): string => (a.cpuMs / a.rows / (b.cpuMs / b.rows)).toFixed(1);

async function main(): Promise<void> {
  const { rows, labels } = churnDataset(N_TRAIN + N_EXPLAIN, N_FEATURES, 20_260_101);
  const t0 = performance.now();
  const trained = await trainRandomForest(rows.slice(0, N_TRAIN), labels.slice(0, N_TRAIN), {
    nEstimators: N_TREES,
    maxDepth: MAX_DEPTH,
    minSamplesLeaf: MIN_LEAF,
    classWeight: 'balanced',
    seed: 5,
    nJobs: 2,
  });
  const forest = compileForest(trained.model);
  const trees = shapForestFromCompiled(forest);
  const explainer = new TreeShapExplainer(trees);
  const reference = new Algorithm2Explainer(trees);
  const test = rows.slice(N_TRAIN);
  const alg2Rows = test.slice(0, N_ALG2);
  console.log(
    `forest: ${N_TREES} trees, max depth ${explainer.maxDepth}, ${N_FEATURES} features, min leaf ${MIN_LEAF}, ` +
      `${(trained.stats.leaves / N_TREES).toFixed(0)} leaves per tree on average, ${explainer.quadratureSize} quadrature nodes ` +
      `(trained on ${N_TRAIN.toLocaleString('en')} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  console.log(
    `explaining ${test.length.toLocaleString('en')} held-out rows (Algorithm 2: the first ${alg2Rows.length.toLocaleString('en')}), ` +
      `batches of ${explainer.batchSize}, best of ${REPEATS} after a warm-up, node ${process.version}`,
  );

  const alg2Phi = new Float64Array(alg2Rows.length * N_FEATURES);
  const phi = new Float64Array(test.length * N_FEATURES);
  const predictions = new Float64Array(test.length);
  const one = new Float64Array(N_FEATURES);
  const { predict, saabas, alg2, batched, single } = measure({
    predict: [
      test.length,
      () => {
        const p = predictProba(forest, test);
        let s = 0;
        for (let i = 0; i < p.length; i++) s += p[i]!;
        return s;
      },
    ],
    saabas: [
      test.length,
      () => {
        let s = 0;
        for (const row of test) s += treeContributions(forest, row).prediction;
        return s;
      },
    ],
    alg2: [
      alg2Rows.length,
      () => {
        let s = 0;
        alg2Rows.forEach((row, i) => {
          s += reference.explain(row, alg2Phi.subarray(i * N_FEATURES, (i + 1) * N_FEATURES)).prediction;
        });
        return s;
      },
    ],
    batched: [
      test.length,
      () => {
        explainer.explainRows(test, phi, predictions);
        let s = 0;
        for (let i = 0; i < predictions.length; i++) s += predictions[i]!;
        return s;
      },
    ],
    single: [
      test.length,
      () => {
        let s = 0;
        for (const row of test) s += explainer.explain(row, one).prediction;
        return s;
      },
    ],
  });

  // The speed-up only counts if the numbers are the same.
  let maxDiff = 0;
  for (let i = 0; i < alg2Phi.length; i++) maxDiff = Math.max(maxDiff, Math.abs(phi[i]! - alg2Phi[i]!));
  let maxGap = 0;
  for (let i = 0; i < test.length; i++) {
    let total = explainer.expectedValue;
    for (let f = 0; f < N_FEATURES; f++) total += phi[i * N_FEATURES + f]!;
    maxGap = Math.max(maxGap, Math.abs(total - predictions[i]!));
  }

  console.log(line('(ref) predictProba', predict));
  console.log(line('(ref) Saabas contributions', saabas));
  console.log(line('(ref) TreeSHAP Algorithm 2', alg2));
  console.log(line('TreeSHAP, explainRows', batched));
  console.log(line('TreeSHAP, explain (one row)', single));
  console.log(
    `speed-up over Algorithm 2 (CPU per row): explainRows ${speedUp(alg2, batched)}x, explain ${speedUp(alg2, single)}x; ` +
      `TreeSHAP takes ${speedUp(batched, predict)}x the CPU time of predictProba (explainRows), ${speedUp(single, predict)}x (explain)`,
  );
  console.log(`max |phi - phi(Algorithm 2)| over ${alg2Rows.length} rows: ${maxDiff.toExponential(2)}`);
  console.log(`max |expectedValue + sum(phi) - prediction| over all rows: ${maxGap.toExponential(2)}`);
  if (!(maxDiff < 1e-9)) throw new Error('TreeSHAP and Algorithm 2 disagree');
  // Same predictions from both paths, or the comparison is meaningless.
  if (Math.abs(predict.sink - batched.sink) > 1e-6 * test.length) throw new Error('TreeSHAP and predictProba disagree');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
