/**
 * A trained forest as serving and training both use it: ml-random-forest's JSON, compiled for fast
 * prediction and per-feature contributions. Tree growth lives in src/training/forest and is never
 * imported from here, so the worker does not load the trainer.
 */
export { compileForest, predictProba, predictVoteFraction, predictClass, type CompiledForest, type CompiledTree, type ForestModel } from './predict.js';
export { treeContributions, type Contributions } from './contributions.js';
export {
  isLeaf,
  type RandomForestClassifierJson,
  type RandomForestBaseModelJson,
  type DecisionTreeClassifierJson,
  type CartNodeJson,
  type CartSplitNodeJson,
  type CartLeafJson,
  type CartOptionsJson,
} from './json.js';
export { loadInMlRandomForest } from './ml-random-forest.js';
