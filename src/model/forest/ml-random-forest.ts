/**
 * Loads a trained model into ml-random-forest, the inference the worker keeps using. Only a type
 * bridge: ml-random-forest's typings describe the loaded model as holding estimator instances,
 * while load() actually takes (and toJSON() actually returns) plain JSON like ours.
 */
import { RandomForestClassifier } from 'ml-random-forest';
import type { RandomForestClassifierJson } from './json.js';

export function loadInMlRandomForest(model: RandomForestClassifierJson): RandomForestClassifier {
  return RandomForestClassifier.load(model as unknown as Parameters<typeof RandomForestClassifier.load>[0]);
}
