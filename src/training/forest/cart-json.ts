/** Converts the trainer's flat trees into ml-cart's nested node JSON (the format serving reads). */
import type { CartNodeJson, CartOptionsJson, DecisionTreeClassifierJson } from '../../model/forest/json.js';
import type { FlatTree } from './tree.js';

/**
 * Builds ml-cart's nested node JSON from a flat tree. `localColumn` maps an original column to
 * the tree's input column (its position in indexes[tree]).
 */
export function flatTreeToCartJson(
  tree: FlatTree,
  options: CartOptionsJson,
  localColumn: (originalColumn: number) => number,
  compact: boolean,
): DecisionTreeClassifierJson {
  const K = tree.nClasses;
  const o = options;
  const fractions = (id: number): number[] => Array.from(tree.value.subarray(id * K, id * K + K));

  // Children are always created after their parent, so building in reverse index order lets each
  // node pick up finished children without recursion (depth is unbounded when maxDepth = Infinity).
  // Object literals of fixed shape (not spreads): there are ~10^5 nodes per model.
  // `cover` goes on leaves only: a split's is the sum of its children's, which compileForest
  // derives, and with class weights each is a 17-digit number (9% of the starter artifact,
  // bench/train/starter-artifact-size.ts).
  const built: CartNodeJson[] = new Array(tree.nNodes);
  for (let id = tree.nNodes - 1; id >= 0; id--) {
    const f = tree.feature[id]!;
    if (f < 0) {
      const distribution = [fractions(id)];
      const cover = tree.cover[id]!;
      built[id] = compact
        ? { distribution, cover }
        : {
            kind: 'classifier',
            gainFunction: o.gainFunction,
            splitFunction: o.splitFunction,
            minNumSamples: o.minNumSamples,
            maxDepth: o.maxDepth,
            gainThreshold: o.gainThreshold,
            distribution,
            cover,
          };
      continue;
    }
    const splitValue = tree.threshold[id]!;
    const splitColumn = localColumn(f);
    const gain = tree.gain[id]!;
    const numberSamples = tree.numberSamples[id]!;
    const classDistribution = fractions(id);
    const left = built[tree.left[id]!]!;
    const right = built[tree.right[id]!]!;
    built[id] = compact
      ? { splitValue, splitColumn, gain, numberSamples, classDistribution, left, right }
      : {
          kind: 'classifier',
          gainFunction: o.gainFunction,
          splitFunction: o.splitFunction,
          minNumSamples: o.minNumSamples,
          maxDepth: o.maxDepth,
          gainThreshold: o.gainThreshold,
          splitValue,
          splitColumn,
          gain,
          numberSamples,
          classDistribution,
          left,
          right,
        };
  }
  return {
    options: { ...options, kind: 'classifier' },
    root: built[0]!,
    name: 'DTClassifier',
  };
}
