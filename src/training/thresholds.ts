/**
 * Risk bands in training: how the fixed probability bands (src/model/risk-levels.ts) split the
 * evaluated rows, and how many in each band really churned.
 *
 * Training no longer picks thresholds. It used to put "high" where the top 10% of validation rows
 * started and "medium" at the top 30%: levels then meant a rank, not a risk, so a starter model had
 * "high" from 0.971 and scores above 0.9 labelled "medium", and a model on real history had two
 * tiers with the same churn rate. Capacity (how many customers a team can call) is met by ranking
 * on value at risk and by digest limits; the bands say what a probability means.
 *
 * Read these numbers on the test period: calibration was fitted on the validation period, so the
 * realised churn per band is an honest check that "high" customers churn more often than not.
 */
import { bandRanges, riskLevel, type RiskBands, type RiskLevel } from "../model/risk-levels.js";
import { customerBootstrap, percentileInterval, type BootstrapOptions, type Interval } from "./bootstrap.js";

export interface BandOutcome {
  level: RiskLevel;
  /** The band's probability range [from, to). */
  from: number;
  to: number;
  rows: number;
  share: number;
  churned: number;
  /** Realised churn rate in the band (NaN when empty). */
  churnRate: number;
  /** Customer-bootstrap 95% interval of the churn rate, when asked for. */
  churnRateInterval?: Interval;
}

/** Each band's share and realised churn; with `groups` and `bootstrap`, intervals for the churn rate. */
export function bandOutcomes(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  bands: RiskBands,
  uncertainty?: { groups: readonly string[]; bootstrap: BootstrapOptions },
): BandOutcome[] {
  const n = probabilities.length;
  if (n === 0) throw new RangeError("no rows to split into risk bands");
  if (labels.length !== n) throw new RangeError(`${n} probabilities but ${labels.length} labels`);
  const ranges = bandRanges(bands);
  const levelOf = Uint8Array.from({ length: n }, (_, i) => ranges.findIndex((r) => r.level === riskLevel(probabilities[i]!, bands)));
  const tally = (w: ArrayLike<number> | null) => {
    const rows = new Float64Array(ranges.length);
    const churned = new Float64Array(ranges.length);
    for (let i = 0; i < n; i++) {
      const wi = w === null ? 1 : w[i]!;
      rows[levelOf[i]!]! += wi;
      churned[levelOf[i]!]! += wi * labels[i]!;
    }
    return { rows, churned };
  };
  const point = tally(null);
  const samples = uncertainty
    ? customerBootstrap(uncertainty.groups, uncertainty.bootstrap, (w) => {
        const t = tally(w);
        return Array.from(t.rows, (r, b) => (r > 0 ? t.churned[b]! / r : Number.NaN));
      })
    : null;
  return ranges.map((r, b) => {
    const rows = point.rows[b]!;
    const churned = point.churned[b]!;
    return {
      level: r.level,
      from: r.from,
      to: r.to,
      rows,
      share: rows / n,
      churned,
      churnRate: rows > 0 ? churned / rows : Number.NaN,
      ...(samples && rows > 0 ? { churnRateInterval: percentileInterval(samples.map((s) => s[b]!)) } : {}),
    };
  });
}

/** The artifact's form: an empty band's churn rate is null (JSON has no NaN). */
export function storedBands(bands: readonly BandOutcome[]): (Omit<BandOutcome, "churnRate"> & { churnRate: number | null })[] {
  return bands.map((b) => ({ ...b, churnRate: Number.isFinite(b.churnRate) ? b.churnRate : null }));
}
