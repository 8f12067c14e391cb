/**
 * Risk levels: the one definition used by scoring, segments, alerts, CRM events and training
 * reports. A level is a band of the calibrated probability given by the model's thresholds.
 */
export const RISK_LEVELS = ["low", "medium", "high"] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export interface RiskThresholds {
  /** Calibrated probability from which a customer is "medium". */
  medium: number;
  /** Calibrated probability from which a customer is "high". */
  high: number;
}

export function riskLevel(p: number, t: RiskThresholds): RiskLevel {
  return p >= t.high ? "high" : p >= t.medium ? "medium" : "low";
}

/** Order of the levels, for "did the risk rise?" (unknown strings rank lowest). */
export function levelRank(level: string | null | undefined): number {
  const i = (RISK_LEVELS as readonly string[]).indexOf(level ?? "");
  return i < 0 ? 0 : i;
}

