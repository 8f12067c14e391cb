/**
 * Which risk bands score a customer: the deployment's (RISK_BANDS, passed in as `bands`), else
 * DEFAULT_RISK_BANDS. Levels are bands of calibrated probability (model/risk-levels.ts), the same
 * in CRM events, digests, alerts and the training report, whatever the model.
 */
import { DEFAULT_RISK_BANDS, type RiskBands } from "../model/risk-levels.js";

export function bandsFor(configured: RiskBands | undefined): RiskBands {
  return configured ?? DEFAULT_RISK_BANDS;
}
