/**
 * Risk levels: the one definition used by scoring, segments, alerts, CRM events and training
 * reports. A level is a band of the calibrated churn probability:
 *
 *   low     p < medium
 *   medium  medium <= p < high
 *   high    p >= high
 *
 * Bands are fixed probabilities, not rank shares, so a level always means the same thing ("high" =
 * more likely than not to leave) and a larger score can never get a lower level than a smaller one.
 * How many customers a team can contact is met by ranking (value at risk) and limits in the
 * digests, not by moving these lines.
 */
export const RISK_LEVELS = ["low", "medium", "high"] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export interface RiskBands {
  /** Calibrated probability from which a customer is "medium". */
  medium: number;
  /** Calibrated probability from which a customer is "high". */
  high: number;
}
/** The artifact's older name for the same two numbers. */
export type RiskThresholds = RiskBands;

/**
 * Defaults chosen to read naturally next to the probability shown beside them:
 *  - high from 0.60: "more likely than not to leave" (with some margin over a coin toss, so a
 *    customer does not flip between medium and high on noise around 0.5);
 *  - medium from 0.30: roughly one in three like this customer leave, worth a retention touch; below
 *    that, most businesses' base churn rate over a 90-day horizon lies, so "low" means "no more
 *    at risk than customers usually are".
 * A deployment whose base rate is far from this (say 5% or 60% churn per horizon) should set its
 * own bands (RISK_BANDS="medium=0.1,high=0.3"); the training report shows each band's realised
 * churn on the untouched test period to check them against.
 */
export const DEFAULT_RISK_BANDS: Readonly<RiskBands> = Object.freeze({ medium: 0.3, high: 0.6 });

export function riskLevel(p: number, bands: RiskBands): RiskLevel {
  return p >= bands.high ? "high" : p >= bands.medium ? "medium" : "low";
}

/** Order of the levels, for "did the risk rise?" (unknown strings rank lowest). */
export function levelRank(level: string | null | undefined): number {
  const i = (RISK_LEVELS as readonly string[]).indexOf(level ?? "");
  return i < 0 ? 0 : i;
}

export class RiskBandsError extends RangeError {
  override name = "RiskBandsError";
}

/** Throws RiskBandsError unless 0 < medium < high < 1 (every band non-empty, none reaching certainty). */
export function checkRiskBands(bands: RiskBands): RiskBands {
  const { medium, high } = bands;
  for (const [k, v] of [["medium", medium], ["high", high]] as const) {
    if (!Number.isFinite(v) || v <= 0 || v >= 1) throw new RiskBandsError(`risk band ${k} must be a probability strictly between 0 and 1, got ${v}`);
  }
  if (!(medium < high)) throw new RiskBandsError(`risk band medium (${medium}) must be below high (${high})`);
  return { medium, high };
}

/**
 * Parses a deployment setting such as "medium=0.3,high=0.6" (spaces allowed; either key may be left
 * out and keeps its default). Throws RiskBandsError with a message that says what is expected.
 */
export function parseRiskBands(text: string, defaults: RiskBands = DEFAULT_RISK_BANDS): RiskBands {
  const expected = `expected "medium=P,high=P" with 0 < medium < high < 1, e.g. "medium=${DEFAULT_RISK_BANDS.medium},high=${DEFAULT_RISK_BANDS.high}"`;
  const out: RiskBands = { ...defaults };
  const seen = new Set<string>();
  const parts = text.split(",").map((p) => p.trim()).filter((p) => p !== "");
  if (parts.length === 0) throw new RiskBandsError(`risk bands are empty: ${expected}`);
  for (const part of parts) {
    const m = /^(medium|high)\s*=\s*([0-9]*\.?[0-9]+)$/i.exec(part);
    if (!m) throw new RiskBandsError(`cannot read "${part}" in risk bands "${text}": ${expected}`);
    const key = m[1]!.toLowerCase() as keyof RiskBands;
    if (seen.has(key)) throw new RiskBandsError(`risk band ${key} is given twice in "${text}"`);
    seen.add(key);
    out[key] = Number(m[2]);
  }
  try {
    return checkRiskBands(out);
  } catch (err) {
    throw new RiskBandsError(`${(err as Error).message} (from "${text}"): ${expected}`);
  }
}

/** "medium=0.3,high=0.6": the form parseRiskBands reads. */
export function formatRiskBands(bands: RiskBands): string {
  return `medium=${bands.medium},high=${bands.high}`;
}

/** Each level's probability range [from, to) under the bands, for reports and docs. */
export function bandRanges(bands: RiskBands): { level: RiskLevel; from: number; to: number }[] {
  return [
    { level: "low", from: 0, to: bands.medium },
    { level: "medium", from: bands.medium, to: bands.high },
    { level: "high", from: bands.high, to: 1 },
  ];
}
