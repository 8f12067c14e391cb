/**
 * Train / validation / test split by time, never at random: rows of one customer at neighbouring
 * cutoffs are near copies, and a random split would let the model see the evaluated customers (and
 * their future behaviour) in training.
 *
 *   train cutoffs  | gap | validation cutoffs | gap | test cutoffs (the newest)
 *
 * - train: the forest is grown here (and each hyperparameter candidate);
 * - validation: hyperparameters are chosen, the calibration is fitted and the bands are read here;
 * - test: untouched until the end. Every reported metric, every band's realised churn and the
 *   promotion decision come from here, so none of them grades something fitted on the same rows.
 *
 * The gaps keep labels from leaking forward: a row at cutoff c is labelled with what happened up
 * to c + horizon, so a period may only use cutoffs with c + gap <= the next period's first cutoff
 * (gap = the horizon by default). That is also the situation on the day you deploy: the newest
 * labels you can have are one horizon old.
 */
import { DAY_MS, type DatasetRow } from "./dataset.js";

export interface TimeSplitOptions {
  /** How many of the newest cutoffs form the untouched test period (default 4). */
  testCutoffs: number;
  /** How many cutoffs (before the test gap) form the validation period (default 4). */
  validationCutoffs: number;
  /** Days between the periods; default = the horizon. */
  gapDays: number;
}

export const DEFAULT_SPLIT = { testCutoffs: 4, validationCutoffs: 4 } as const;

export interface TimeSplit<R extends { cutoff: number } = DatasetRow> {
  train: R[];
  validation: R[];
  test: R[];
  trainCutoffs: number[];
  validationCutoffs: number[];
  testCutoffs: number[];
  /** Cutoffs left out because their labels would reach into the next period. */
  gapCutoffs: number[];
}

export function distinctCutoffs(rows: readonly { cutoff: number }[]): number[] {
  return [...new Set(rows.map((r) => r.cutoff))].sort((a, b) => a - b);
}

export class SplitError extends RangeError {
  override name = "SplitError";
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function timeSplit<R extends { cutoff: number }>(rows: readonly R[], opts: TimeSplitOptions): TimeSplit<R> {
  const cutoffs = distinctCutoffs(rows);
  const { testCutoffs: nTest, validationCutoffs: nVal, gapDays } = opts;
  if (!Number.isInteger(nTest) || nTest < 1) throw new SplitError("testCutoffs must be a whole number >= 1");
  if (!Number.isInteger(nVal) || nVal < 1) throw new SplitError("validationCutoffs must be a whole number >= 1");
  if (!(gapDays >= 0)) throw new SplitError("gapDays must be >= 0");
  const gapMs = gapDays * DAY_MS;
  const advice = "use a longer history, more frequent cutoffs (--every), fewer --test-cutoffs / --validation-cutoffs, or a smaller --gap-days";
  const span = cutoffs.length ? `${cutoffs.length} cutoff(s) ${day(cutoffs[0]!)} … ${day(cutoffs.at(-1)!)}` : "no cutoffs";
  if (cutoffs.length <= nTest) throw new SplitError(`the dataset has ${span}: the ${nTest} newest are the test period, nothing is left to train on; ${advice}`);

  const testCutoffs = cutoffs.slice(-nTest);
  const firstTest = testCutoffs[0]!;
  const beforeTest = cutoffs.slice(0, -nTest).filter((c) => c + gapMs <= firstTest);
  if (beforeTest.length <= nVal) {
    throw new SplitError(
      `the dataset has ${span}: after ${nTest} test cutoff(s) and a ${gapDays}-day gap, ${beforeTest.length} remain, ` +
        `but ${nVal} validation cutoff(s) plus at least one training cutoff ${gapDays} days earlier are needed; ${advice}`,
    );
  }
  const validationCutoffs = beforeTest.slice(-nVal);
  const firstVal = validationCutoffs[0]!;
  const trainCutoffs = beforeTest.slice(0, -nVal).filter((c) => c + gapMs <= firstVal);
  if (trainCutoffs.length === 0) {
    throw new SplitError(
      `the dataset has ${span}: no training cutoff is at least ${gapDays} days before the first validation cutoff (${day(firstVal)}); ${advice}`,
    );
  }
  const isTrain = new Set(trainCutoffs);
  const isVal = new Set(validationCutoffs);
  const isTest = new Set(testCutoffs);
  const train: R[] = [];
  const validation: R[] = [];
  const test: R[] = [];
  for (const r of rows) {
    if (isTrain.has(r.cutoff)) train.push(r);
    else if (isVal.has(r.cutoff)) validation.push(r);
    else if (isTest.has(r.cutoff)) test.push(r);
  }
  return {
    train,
    validation,
    test,
    trainCutoffs,
    validationCutoffs,
    testCutoffs,
    gapCutoffs: cutoffs.filter((c) => !isTrain.has(c) && !isVal.has(c) && !isTest.has(c)),
  };
}
