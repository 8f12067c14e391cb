/**
 * Binary-classification metrics for model evaluation. Labels are 0/1 (1 = positive, e.g. churned),
 * scores are any real numbers ordered by confidence in the positive class (probabilities for Brier
 * and log loss).
 */

/**
 * ROC AUC by the rank statistic (Mann-Whitney U): probability that a random positive scores above
 * a random negative, counting ties as one half (average ranks). NaN when a class is missing.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = checkLengths(labels, scores);
  const order = sortedOrder(scores, n, 1);
  let nPos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const averageRank = (i + j) / 2 + 1; // 1-based ranks i+1 .. j+1
    for (let k = i; k <= j; k++) {
      if (labels[order[k]!] === 1) {
        nPos++;
        rankSumPos += averageRank;
      }
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * Area under the precision-recall curve as average precision (scikit-learn's
 * average_precision_score): sum over distinct thresholds, high to low, of
 * (recall gained) x (precision at that threshold). Tied scores enter together. NaN without positives.
 */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = checkLengths(labels, scores);
  const order = sortedOrder(scores, n, -1);
  let nPos = 0;
  for (let i = 0; i < n; i++) if (labels[i] === 1) nPos++;
  if (nPos === 0) return Number.NaN;
  let tp = 0;
  let seen = 0;
  let ap = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    let tpGroup = 0;
    for (let k = i; k <= j; k++) if (labels[order[k]!] === 1) tpGroup++;
    tp += tpGroup;
    seen += j - i + 1;
    ap += (tpGroup / nPos) * (tp / seen);
    i = j + 1;
  }
  return ap;
}

/** Mean squared difference between predicted probability and the 0/1 outcome. */
export function brierScore(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  const n = checkLengths(labels, probabilities);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = probabilities[i]! - labels[i]!;
    s += d * d;
  }
  return s / n;
}

/** Mean negative log-likelihood; probabilities clipped to [eps, 1 - eps] so 0/1 scores stay finite. */
export function logLoss(labels: ArrayLike<number>, probabilities: ArrayLike<number>, eps = 1e-15): number {
  const n = checkLengths(labels, probabilities);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probabilities[i]!));
    s -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return s / n;
}

function checkLengths(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  if (labels.length !== scores.length) throw new RangeError(`${labels.length} labels but ${scores.length} scores`);
  if (labels.length === 0) throw new RangeError('no samples');
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`label at ${i} is ${labels[i]}, expected 0 or 1`);
    if (Number.isNaN(scores[i]!)) throw new RangeError(`score at ${i} is NaN`);
  }
  return labels.length;
}

function sortedOrder(scores: ArrayLike<number>, n: number, direction: 1 | -1): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => direction * (scores[a]! - scores[b]!));
}
