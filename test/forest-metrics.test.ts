import { describe, expect, it } from 'vitest';
import { averagePrecision, brierScore, logLoss, rocAuc } from '../src/training/metrics.js';
import { createRng } from '../src/training/forest/random.js';

/** O(n^2) definition of ROC AUC: P(score_pos > score_neg) + 0.5 P(tie). */
function pairwiseAuc(labels: number[], scores: number[]): number {
  let wins = 0;
  let pairs = 0;
  labels.forEach((yi, i) => {
    if (yi !== 1) return;
    labels.forEach((yj, j) => {
      if (yj !== 0) return;
      pairs++;
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('rocAuc', () => {
  it('matches hand-computed values', () => {
    // Pairs (pos, neg): (0.35, 0.1) win, (0.35, 0.4) loss, (0.8, *) two wins -> 3/4.
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
    // A tie between a positive and a negative counts one half: (1 + 0.5 + 1 + 1) / 4.
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9])).toBeCloseTo(0.875, 12);
    expect(rocAuc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3])).toBe(0.5);
    expect(rocAuc([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1])).toBe(1);
    expect(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9])).toBe(0);
  });

  it('is NaN when one class is missing and rejects bad input', () => {
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNaN();
    expect(() => rocAuc([0, 2], [0.1, 0.2])).toThrow(RangeError);
    expect(() => rocAuc([0, 1], [0.1])).toThrow(RangeError);
  });

  it('agrees with the pairwise definition on random data with many ties', () => {
    const rng = createRng(5);
    const labels = Array.from({ length: 300 }, () => (rng.nextFloat() < 0.3 ? 1 : 0));
    const scores = labels.map((y) => Math.round((rng.nextFloat() + 0.3 * y) * 10) / 10); // 11-ish distinct values
    expect(rocAuc(labels, scores)).toBeCloseTo(pairwiseAuc(labels, scores), 12);
  });
});

describe('averagePrecision / brierScore / logLoss', () => {
  it('average precision matches hand-computed values', () => {
    // Descending: 0.8 (pos) P=1 R=.5; 0.4 (neg); 0.35 (pos) P=2/3 R=1 -> 0.5*1 + 0.5*2/3.
    expect(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.5 + 1 / 3, 12);
    // Tied scores enter together: one threshold, precision 2/4, recall 1.
    expect(averagePrecision([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBeCloseTo(0.5, 12);
    expect(averagePrecision([0, 0], [0.1, 0.2])).toBeNaN();
  });

  it('Brier score and log loss match hand-computed values', () => {
    expect(brierScore([0, 1], [0.1, 0.8])).toBeCloseTo((0.01 + 0.04) / 2, 12);
    expect(logLoss([1, 0], [0.8, 0.3])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 12);
    expect(Number.isFinite(logLoss([1, 0], [0, 1]))).toBe(true); // clipped, not Infinity
  });
});
