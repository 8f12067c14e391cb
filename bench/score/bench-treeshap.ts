/**
 * TreeSHAP cost against plain prediction, same forest, same rows, same run: a forest shaped like
 * the starter model (60 trees, depth 8, 39 features, balanced class weights) trained by our
 * trainer on seeded churn-like rows, then every held-out row explained.
 *
 *   npx tsx bench/score/bench-treeshap.ts
 *   MIN_LEAF=1 ROWS=20000 npx tsx bench/score/bench-treeshap.ts     (fuller trees: the worst case)
 *
 * Prints rows/s for TreeSHAP, for predictProba and for the Saabas contributions it replaces, and
 * the ratios. Each figure is the best of REPEATS passes after a warm-up pass, by wall clock and by
 * this process's CPU time (on a machine shared with other work the CPU figure is the steadier).
 */
import { shapForestFromCompiled, TreeShapExplainer } from '../../src/model/forest/treeshap.js';
import { compileForest, predictProba, treeContributions } from '../../src/model/forest/index.js';
import { trainRandomForest } from '../../src/training/forest/index.js';
import { churnDataset } from '../train/synthetic.js';

const N_TRAIN = Number(process.env.TRAIN_ROWS ?? 40_000);
const N_EXPLAIN = Number(process.env.ROWS ?? 2_000);
const N_FEATURES = 39;
const N_TREES = 60;
const MAX_DEPTH = 8;
const MIN_LEAF = Number(process.env.MIN_LEAF ?? 20);
const REPEATS = Number(process.env.REPEATS ?? 3);

const rate = (rows: number, ms: number): string => `${Math.round(rows / (ms / 1000)).toLocaleString('en')} rows/s`;

interface Timing {
  /** Best wall time, ms. */
  ms: number;
  /** Best CPU time (user + system) of this process, ms. */
  cpuMs: number;
  sink: number;
}

/** Best of REPEATS runs of fn after one untimed warm-up; fn returns a checksum of one pass. */
function best(fn: () => number): Timing {
  const sink = fn();
  let ms = Infinity;
  let cpuMs = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const c = process.cpuUsage();
    const t = performance.now();
    fn();
    ms = Math.min(ms, performance.now() - t);
    const d = process.cpuUsage(c);
    cpuMs = Math.min(cpuMs, (d.user + d.system) / 1000);
  }
  return { ms, cpuMs, sink };
}

const line = (name: string, n: number, t: Timing): string =>
  `${name.padEnd(28)}${rate(n, t.ms).padStart(18)} (wall)${rate(n, t.cpuMs).padStart(18)} (CPU)`;

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
  const test = rows.slice(N_TRAIN);
  console.log(
    `forest: ${N_TREES} trees, max depth ${explainer.maxDepth}, ${N_FEATURES} features, min leaf ${MIN_LEAF}, ` +
      `${(trained.stats.leaves / N_TREES).toFixed(0)} leaves per tree on average ` +
      `(trained on ${N_TRAIN.toLocaleString('en')} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  console.log(`explaining ${test.length.toLocaleString('en')} held-out rows, best of ${REPEATS} after a warm-up, node ${process.version}`);

  const predict = best(() => {
    const p = predictProba(forest, test);
    let s = 0;
    for (let i = 0; i < p.length; i++) s += p[i]!;
    return s;
  });
  const phi = new Float64Array(N_FEATURES);
  let maxGap = 0;
  const shap = best(() => {
    let s = 0;
    for (const row of test) {
      const r = explainer.explain(row, phi);
      let total = r.expectedValue;
      for (let f = 0; f < N_FEATURES; f++) total += phi[f]!;
      maxGap = Math.max(maxGap, Math.abs(total - r.prediction));
      s += r.prediction;
    }
    return s;
  });
  const saabas = best(() => {
    let s = 0;
    for (const row of test) s += treeContributions(forest, row).prediction;
    return s;
  });

  console.log(line('(ref) predictProba', test.length, predict));
  console.log(line('(ref) Saabas contributions', test.length, saabas));
  console.log(line('TreeSHAP (path-dependent)', test.length, shap));
  console.log(
    `ratio TreeSHAP / predictProba: ${(predict.ms / shap.ms).toFixed(4)} wall, ${(predict.cpuMs / shap.cpuMs).toFixed(4)} CPU ` +
      `(TreeSHAP takes ${(shap.cpuMs / predict.cpuMs).toFixed(0)}x the CPU time); ` +
      `TreeSHAP / Saabas: ${(saabas.cpuMs / shap.cpuMs).toFixed(4)} CPU`,
  );
  console.log(`max |expectedValue + sum(phi) - prediction| over all rows: ${maxGap.toExponential(2)}`);
  // Same predictions from both paths, or the comparison is meaningless.
  if (Math.abs(predict.sink - shap.sink) > 1e-6 * test.length) throw new Error('TreeSHAP and predictProba disagree');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
