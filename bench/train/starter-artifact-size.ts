/**
 * Size of the starter artifact with the forest's `cover` on leaves only (what the trainer
 * writes), on every node (what it wrote before), and nowhere (no TreeSHAP), against the budget
 * STARTER.maxBytes. Trains exactly as `npm run train:starter` does (same dataset, options and
 * serialisation) but writes no file: models/ is left alone.
 *
 *   npx tsx bench/train/starter-artifact-size.ts
 *
 * Also checks that ml-random-forest's RandomForestClassifier.load reads the leaf-only forest and
 * votes as predictClass does, and that the worker's artifact check accepts it.
 */
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../src/features/index.js';
import { checkArtifact } from '../../src/model/artifact.js';
import { compileForest, isLeaf, loadInMlRandomForest, predictClass, type CartNodeJson, type RandomForestClassifierJson } from '../../src/model/forest/index.js';
import { DEFAULT_FIT, fitChurnModel } from '../../src/training/fit.js';
import { buildStarterDataset, STARTER, starterVersion } from '../../src/training/starter.js';

/** Bytes of the file registry.writeArtifact would write. */
const fileBytes = (artifact: unknown): number => Buffer.byteLength(JSON.stringify(artifact) + '\n');

function eachNode(forest: RandomForestClassifierJson, fn: (n: CartNodeJson) => void): void {
  for (const est of forest.baseModel.estimators) {
    const stack: CartNodeJson[] = [est.root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      fn(n);
      if (!isLeaf(n)) stack.push(n.left, n.right);
    }
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const { dataset } = buildStarterDataset();
  const { artifact } = await fitChurnModel(dataset, {
    modelVersion: starterVersion(),
    starter: true,
    description: STARTER.description,
    trees: STARTER.trees,
    maxDepth: STARTER.maxDepth,
    minSamplesLeaf: STARTER.minSamplesLeaf,
    seed: DEFAULT_FIT.seed,
    validationCutoffs: DEFAULT_FIT.validationCutoffs,
    calibration: 'auto',
    createdAt: new Date(STARTER.now),
  });
  const forest = artifact.forest as unknown as RandomForestClassifierJson;
  let leaves = 0;
  let splits = 0;
  eachNode(forest, (n) => (isLeaf(n) ? leaves++ : splits++));
  console.log(
    `starter: ${STARTER.trees} trees, depth ${STARTER.maxDepth}, min leaf ${STARTER.minSamplesLeaf}, ${dataset.rows.length.toLocaleString('en')} rows; ` +
      `${splits.toLocaleString('en')} splits, ${leaves.toLocaleString('en')} leaves (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
  );

  // Every node, as before: a split's cover is the sum of its children's (what compileForest derives).
  const everyNode = JSON.parse(JSON.stringify(artifact)) as typeof artifact;
  const everyForest = everyNode.forest as unknown as RandomForestClassifierJson;
  const fill = (n: CartNodeJson): number => {
    if (isLeaf(n)) return n.cover!;
    n.cover = fill(n.left) + fill(n.right);
    return n.cover;
  };
  for (const est of everyForest.baseModel.estimators) fill(est.root);
  const none = JSON.parse(JSON.stringify(artifact), (k, v: unknown) => (k === 'cover' ? undefined : v)) as typeof artifact;

  const budget = STARTER.maxBytes;
  const sizes = [
    ['no cover (no TreeSHAP)', fileBytes(none)],
    ['cover on every node (before)', fileBytes(everyNode)],
    ['cover on leaves only (now)', fileBytes(artifact)],
  ] as const;
  const base = sizes[0][1];
  for (const [name, bytes] of sizes) {
    console.log(
      `${name.padEnd(30)} ${(bytes / 1e6).toFixed(3).padStart(6)} MB  ${((100 * bytes) / budget).toFixed(1).padStart(5)}% of the ${budget / 1e6} MB budget  ` +
        `+${((100 * (bytes - base)) / base).toFixed(1)}% over no cover`,
    );
  }

  // The leaf-only artifact must still be a model every consumer reads.
  checkArtifact(JSON.parse(JSON.stringify(artifact)), { featureNames: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION });
  const rows = dataset.rows.slice(0, 2000).map((r) => r.features);
  const loaded = loadInMlRandomForest(forest);
  const same = JSON.stringify(loaded.predict(rows)) === JSON.stringify(Array.from(predictClass(forest, rows)));
  const compiled = compileForest(forest);
  console.log(
    `ml-random-forest RandomForestClassifier.load: ${same ? 'reads it, same votes as predictClass' : 'DIFFERENT VOTES'} on ${rows.length} rows; ` +
      `compileForest: hasCover ${compiled.hasCover}`,
  );
  if (!same || !compiled.hasCover) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
