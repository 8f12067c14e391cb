/**
 * Risk-level thresholds on the calibrated probability, picked on the validation rows.
 *
 * Default rule, by capacity: "high" starts at the score where the top 10% of customers begin and
 * "medium" where the top 30% begin. Retention teams plan outreach by how many customers they can
 * call, so a share is easier to staff than a probability cut; and because thresholds are stored
 * as probabilities, the share moves with reality (more churn next quarter -> more "high").
 * Alternative for "high": a precision target (`highPrecision`, e.g. 0.6 = at least 60% of the
 * customers flagged high really churn), taking the lowest threshold that still meets it, i.e. the
 * most customers at that precision.
 */
import { riskLevel } from "../model/risk-levels.js";
export interface ThresholdRule {
  /** Share of validation rows at or above "high" (default 0.10). */
  highTop: number;
  /** Share at or above "medium" (default 0.30). */
  mediumTop: number;
  /** If set, "high" is chosen by precision instead of share. */
  highPrecision?: number;
  /** A precision target needs at least this many rows above it to count (default 30). */
  minSupport?: number;
}

export const DEFAULT_THRESHOLD_RULE: ThresholdRule = { highTop: 0.1, mediumTop: 0.3 };

export interface PickedThresholds {
  medium: number;
  high: number;
  /** How "high" was chosen; "share" when a precision target was asked for but never met. */
  highRule: "share" | "precision";
  note?: string;
  /** Share of validation rows and churn rate in each level, with these thresholds. */
  shares: { high: number; medium: number; low: number };
  precision: { high: number; medium: number; low: number };
}

function scoreAtTopShare(sortedDesc: readonly number[], share: number): number {
  const k = Math.max(1, Math.ceil(share * sortedDesc.length));
  return sortedDesc[Math.min(k, sortedDesc.length) - 1]!;
}

export function pickThresholds(probabilities: ArrayLike<number>, labels: ArrayLike<number>, rule: ThresholdRule = DEFAULT_THRESHOLD_RULE): PickedThresholds {
  const n = probabilities.length;
  if (n === 0) throw new RangeError("no validation rows to pick thresholds on");
  if (!(rule.highTop > 0 && rule.highTop <= 1 && rule.mediumTop > 0 && rule.mediumTop <= 1)) {
    throw new RangeError("threshold shares must be in (0, 1]");
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probabilities[b]! - probabilities[a]!);
  const sorted = order.map((i) => probabilities[i]!);
  let high = scoreAtTopShare(sorted, rule.highTop);
  let highRule: PickedThresholds["highRule"] = "share";
  let note: string | undefined;
  if (rule.highPrecision !== undefined) {
    const minSupport = rule.minSupport ?? 30;
    let tp = 0;
    let found: number | null = null;
    for (let i = 0; i < n; ) {
      const v = sorted[i]!;
      while (i < n && sorted[i] === v) tp += labels[order[i++]!]!;
      if (i >= minSupport && tp / i >= rule.highPrecision) found = v; // keep going: lowest qualifying threshold wins
    }
    if (found !== null) {
      high = found;
      highRule = "precision";
    } else {
      note = `no threshold reached precision ${rule.highPrecision} with >= ${minSupport} rows; used the top ${rule.highTop * 100}% instead`;
    }
  }
  const medium = Math.min(high, scoreAtTopShare(sorted, Math.max(rule.mediumTop, rule.highTop)));

  const tally = { high: [0, 0], medium: [0, 0], low: [0, 0] } as Record<"high" | "medium" | "low", [number, number]>;
  for (let i = 0; i < n; i++) {
    const p = probabilities[i]!;
    const level = riskLevel(p, { medium, high });
    tally[level][0]++;
    tally[level][1] += labels[i]!;
  }
  const share = (k: "high" | "medium" | "low") => tally[k][0] / n;
  const prec = (k: "high" | "medium" | "low") => (tally[k][0] ? tally[k][1] / tally[k][0] : Number.NaN);
  return {
    medium,
    high,
    highRule,
    ...(note ? { note } : {}),
    shares: { high: share("high"), medium: share("medium"), low: share("low") },
    precision: { high: prec("high"), medium: prec("medium"), low: prec("low") },
  };
}
