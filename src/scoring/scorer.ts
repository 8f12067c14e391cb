/**
 * state + "now" -> lifecycle stage -> (inside the model's population) feature vector -> forest ->
 * calibrated probability, risk level, value. Pure: the same inputs always give the same result,
 * so rescoring is testable without servers.
 *
 * Reasons are NOT computed here: TreeSHAP costs a few hundred times a prediction, so the
 * rescoring explains only the customers whose reasons someone will read (scoring/explain.ts).
 */
import { featureRecord, lifecycleAt, type CustomerState, type FeatureName, type Lifecycle } from "../features/index.js";
import { calibrate } from "../model/calibration.js";
import { predictProba } from "../model/forest/index.js";
import type { ServingModel } from "../model/load.js";
import { riskLevel, type RiskLevel, type RiskThresholds } from "../model/risk-levels.js";
import { stageSince } from "./stage-since.js";
import { DAY_MS } from "../lib/time.js";
import { twelveMonthValue, valueAtRisk, valueBefore } from "./value.js";

export interface ScoringContext {
  model: ServingModel;
  /** Risk bands of calibrated probability (RISK_BANDS; the model's own thresholds until configured). */
  bands: RiskThresholds;
}

export interface ScoredAssessment {
  kind: "scored";
  customerId: string;
  stage: Lifecycle;
  /** Calibrated probability of churn within the model's horizon, rounded to 4 decimals. */
  score: number;
  rawScore: number;
  riskLevel: RiskLevel;
  value: number;
  valueAtRisk: number;
  /** Model input, in the model's feature order (TreeSHAP explains this row). */
  vector: number[];
  features: Record<FeatureName, number>;
}

export interface UnscoredAssessment {
  kind: "unscored";
  customerId: string;
  /** Outside the population the model was trained on (prospect, lapsed, cancelled by default). */
  stage: Lifecycle;
  /** When the stage began, as far as the state tells; null when it cannot tell. */
  since: number | null;
  /**
   * Expected 12-month value when the stage began (its start unknown: now), at the rate they bought
   * until then: the win-back priority. 0 when the state cannot give one.
   */
  value: number;
}

export type Assessment = ScoredAssessment | UnscoredAssessment;

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/**
 * Throws when the state cannot be scored (a non-finite feature, a malformed state): the caller
 * sets that customer aside and goes on with everyone else.
 */
export function assess(state: CustomerState, asOf: number, ctx: ScoringContext): Assessment {
  const { model } = ctx;
  const stage = lifecycleAt(state, asOf, model.population);
  const features = featureRecord(state, asOf);
  const value = twelveMonthValue(features);
  // The model's own population: the stages its training rows came from.
  if (!model.population.stages.includes(stage)) {
    const since = stageSince(state, stage, model.population);
    // Win-back priority: the value when the stage began, the same on every later run (value.ts).
    const atStart = since === null ? value : valueBefore(features, (asOf - since) / DAY_MS);
    return { kind: "unscored", customerId: state.customerId, stage, since, value: Number.isFinite(atStart) ? atStart : 0 };
  }
  const vector = Object.values(features);
  for (let i = 0; i < vector.length; i++) {
    if (!Number.isFinite(vector[i])) throw new Error(`feature ${model.artifact.featureNames[i]} is ${vector[i]}`);
  }
  const raw = predictProba(model.forest, [vector])[0]!;
  const score = round4(calibrate(raw, model.artifact.calibration));
  if (!(score >= 0 && score <= 1)) throw new Error(`calibrated score ${score} outside [0, 1]`);
  return {
    kind: "scored",
    customerId: state.customerId,
    stage,
    score,
    rawScore: round4(raw),
    riskLevel: riskLevel(score, ctx.bands),
    value,
    valueAtRisk: valueAtRisk(value, score),
    vector,
    features,
  };
}
