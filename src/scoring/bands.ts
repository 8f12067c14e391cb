/**
 * Which risk bands score a customer: the deployment's (RISK_BANDS, passed in as `bands`), else the
 * default. Levels are bands of calibrated probability (model/risk-levels.ts), the same in CRM
 * events, digests and alerts. Until the default bands exist in model/risk-levels.ts, the model's
 * own thresholds stand in; switching is the one line below.
 */
import type { ServingModel } from "../model/load.js";
import type { RiskThresholds } from "../model/risk-levels.js";

export function bandsFor(model: ServingModel, configured: RiskThresholds | undefined): RiskThresholds {
  return configured ?? model.artifact.thresholds;
}
