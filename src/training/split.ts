/**
 * Train/validation split by time, never at random: rows of one customer at neighbouring cutoffs
 * are near copies, and a random split would let the model see the validation period's customers
 * (and future behaviour) in training. The newest cutoffs validate, older ones train.
 *
 * A gap keeps training labels from peeking into the validation period: a training row at cutoff c
 * is labelled with what happened up to c + horizon, so only cutoffs with c + horizon <= the first
 * validation cutoff are used. That is also the real situation at deployment: on the day you train,
 * the newest labels you can have are one horizon old.
 */
import { DAY_MS, type DatasetRow } from "./dataset.js";

export interface TimeSplitOptions {
  /** How many of the newest cutoffs validate (default 4). */
  validationCutoffs: number;
  /** Days between a training cutoff and the first validation cutoff; default = the horizon. */
  gapDays: number;
}

export interface TimeSplit<R extends { cutoff: number } = DatasetRow> {
  train: R[];
  validation: R[];
  trainCutoffs: number[];
  validationCutoffs: number[];
  /** Cutoffs dropped because their labels would overlap the validation period. */
  gapCutoffs: number[];
}

export function distinctCutoffs(rows: readonly { cutoff: number }[]): number[] {
  return [...new Set(rows.map((r) => r.cutoff))].sort((a, b) => a - b);
}

export function timeSplit<R extends { cutoff: number }>(rows: readonly R[], opts: TimeSplitOptions): TimeSplit<R> {
  const cutoffs = distinctCutoffs(rows);
  const nVal = opts.validationCutoffs;
  if (!Number.isInteger(nVal) || nVal < 1) throw new RangeError("validationCutoffs must be a whole number >= 1");
  if (cutoffs.length <= nVal) {
    throw new RangeError(`the dataset has ${cutoffs.length} cutoff(s); ${nVal} validate, so at least ${nVal + 1} are needed`);
  }
  const validationCutoffs = cutoffs.slice(-nVal);
  const firstValidation = validationCutoffs[0]!;
  const latestTrain = firstValidation - opts.gapDays * DAY_MS;
  const trainCutoffs = cutoffs.slice(0, -nVal).filter((c) => c <= latestTrain);
  const gapCutoffs = cutoffs.slice(0, -nVal).filter((c) => c > latestTrain);
  if (trainCutoffs.length === 0) {
    throw new RangeError(
      `no training cutoff is at least ${opts.gapDays} days before the first validation cutoff ` +
        `(${new Date(firstValidation).toISOString()}): use a longer history, fewer validation cutoffs or a smaller --gap-days`,
    );
  }
  const isTrain = new Set(trainCutoffs);
  const isVal = new Set(validationCutoffs);
  return {
    train: rows.filter((r) => isTrain.has(r.cutoff)),
    validation: rows.filter((r) => isVal.has(r.cutoff)),
    trainCutoffs,
    validationCutoffs,
    gapCutoffs,
  };
}
