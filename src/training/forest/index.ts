/** Fast random-forest trainer writing ml-random-forest's model format; see forest.ts. */
export {
  trainRandomForest,
  ML_RANDOM_FOREST_LIKE,
  resolveForestOptions,
  meanDecreaseImpurity,
  type ForestTrainOptions,
  type ResolvedForestOptions,
  type TrainedForest,
} from './forest.js';
export { compileForest, predictProba, predictVoteFraction, predictClass, type CompiledForest, type ForestModel } from './predict.js';
export { treeContributions, type Contributions } from './contributions.js';
export type {
  RandomForestClassifierJson,
  RandomForestBaseModelJson,
  DecisionTreeClassifierJson,
  CartNodeJson,
  CartSplitNodeJson,
  CartLeafJson,
  CartOptionsJson,
} from './model-json.js';
export { loadInMlRandomForest } from './load.js';
