/**
 * Per-prediction feature contributions by the Saabas method: follow the row's path in each tree
 * and credit the change in the class fraction at every split to the split's feature. Per tree,
 * leaf value = root value + sum of the changes along the path, so averaged over trees:
 *
 *     predictProba(row) = bias + sum(contributions)
 *
 * where bias is the mean root class fraction (the weighted training base rate). This is what the
 * scoring stage turns into "reasons". It needs class fractions at split nodes, which only models
 * from our trainer carry (`classDistribution`); ml-random-forest's own models do not.
 */
import { checkRowWidth, compileForest, type ForestModel } from './predict.js';

export interface Contributions {
  /** Mean over trees of the root's class fraction. */
  readonly bias: number;
  /** Per input column, summed over trees / nTrees. */
  readonly contributions: Float64Array;
  /** bias + sum(contributions) = predictProba(row). */
  readonly prediction: number;
}

export function treeContributions(model: ForestModel, row: ArrayLike<number>, classIndex = 1): Contributions {
  const forest = compileForest(model);
  if (!forest.hasNodeDistributions) {
    throw new Error(
      'treeContributions needs class distributions at split nodes (classDistribution); ' +
        'retrain the model with the churnwatch forest trainer',
    );
  }
  checkRowWidth(forest, row);
  const K = forest.nClasses;
  const nInputs = row.length;
  const contributions = new Float64Array(nInputs);
  let bias = 0;
  let prediction = 0;
  for (const tree of forest.trees) {
    let node = 0;
    let v = tree.value[classIndex]!;
    bias += v;
    while (tree.feature[node]! >= 0) {
      const f = tree.feature[node]!;
      node = row[f]! < tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
      const next = tree.value[node * K + classIndex]!;
      contributions[f]! += next - v;
      v = next;
    }
    prediction += v;
  }
  const nTrees = forest.trees.length;
  for (let f = 0; f < nInputs; f++) contributions[f]! /= nTrees;
  return { bias: bias / nTrees, contributions, prediction: prediction / nTrees };
}
