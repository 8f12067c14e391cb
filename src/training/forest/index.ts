/**
 * Fast random-forest trainer writing ml-random-forest's model format; see forest.ts. Prediction and
 * the JSON format live in src/model/forest (shared with serving).
 */
export {
  trainRandomForest,
  ML_RANDOM_FOREST_LIKE,
  resolveForestOptions,
  meanDecreaseImpurity,
  prebin,
  type PreBinned,
  type ForestTrainOptions,
  type ResolvedForestOptions,
  type TrainedForest,
} from './forest.js';
