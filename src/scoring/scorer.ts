/**
 * state + "now" -> feature vector -> forest -> calibrated probability, risk level, reasons, value.
 * Pure: the same inputs always give the same score, so rescoring is testable without servers.
 */
import { featureRecord, featureVector, type CustomerState, type FeatureName } from "../features/index.js";
import { treeContributions } from "../model/forest/index.js";
import type { ServingModel } from "../model/load.js";
import { calibrate } from "../model/calibration.js";
import { riskLevel, type RiskLevel } from "../model/risk-levels.js";
import { explain, themeIndex, type Reason, type ReasonCode } from "./reasons.js";
import { twelveMonthValue, valueAtRisk } from "./value.js";

// Reason themes resolved once per model (feature positions do not change within a model).
const themesByModel = new WeakMap<ServingModel, [ReasonCode, number[]][]>();
function themesOf(model: ServingModel): [ReasonCode, number[]][] {
  let themes = themesByModel.get(model);
  if (!themes) {
    themes = themeIndex(model.artifact.featureNames);
    themesByModel.set(model, themes);
  }
  return themes;
}

export interface CustomerScore {
  customerId: string;
  /** Calibrated probability of churn within the model's horizon. */
  score: number;
  rawScore: number;
  riskLevel: RiskLevel;
  reasons: Reason[];
  value: number;
  valueAtRisk: number;
  features: Record<FeatureName, number>;
  modelVersion: string;
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

export function scoreState(model: ServingModel, state: CustomerState, asOf: number): CustomerScore {
  const vector = featureVector(state, asOf);
  const features = featureRecord(state, asOf);
  // One walk per tree gives both the prediction and the per-feature contributions.
  const c = treeContributions(model.forest, vector);
  const score = round4(calibrate(c.prediction, model.artifact.calibration));
  const value = twelveMonthValue(features);
  return {
    customerId: state.customerId,
    score,
    rawScore: round4(c.prediction),
    riskLevel: riskLevel(score, model.artifact.thresholds),
    reasons: explain(c.contributions, features, themesOf(model)),
    value,
    valueAtRisk: valueAtRisk(value, score),
    features,
    modelVersion: model.artifact.modelVersion,
  };
}
