/**
 * Feature drift: do today's scored customers still look like the rows the model was trained on?
 * Population stability index per feature, over the bins the artifact recorded at training time
 * (src/model/feature-profile.ts):
 *
 *   PSI = sum over bins of (actual - expected) x ln(actual / expected)
 *
 * with shares floored at PSI_FLOOR so an empty bin gives a large but finite term. Conventional
 * reading: below 0.1 stable, 0.1-0.2 a moderate shift, above 0.2 a shift worth a look (the default
 * DRIFT_PSI_THRESHOLD). Drift is not an error by itself (tenure grows as a business ages, a sale
 * moves spend): it says where the model now scores customers unlike those it learned from, and so
 * where its probabilities are least tested.
 */
import type pg from "pg";
import { featureVector, type CustomerState } from "../features/index.js";
import { isScored, lifecycleAt, type LifecycleRule } from "../features/lifecycle.js";
import { binIndex, type FeatureProfile } from "../model/feature-profile.js";

/** Smallest share used in the logarithm (0.01%): an empty bin must not make PSI infinite. */
export const PSI_FLOOR = 1e-4;
export const DEFAULT_PSI_THRESHOLD = 0.2;

export function psi(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw new RangeError(`${expected.length} expected shares but ${actual.length} actual`);
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(PSI_FLOOR, expected[i]!);
    const a = Math.max(PSI_FLOOR, actual[i]!);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

export interface FeatureDrift {
  feature: string;
  psi: number;
  /** Training shares per bin, and today's. */
  expected: number[];
  actual: number[];
  edges: number[];
}

export interface DriftReport {
  /** Customers whose features were compared. */
  rows: number;
  trainingRows: number;
  threshold: number;
  /** Every profiled feature, largest PSI first. */
  features: FeatureDrift[];
  /** Features above the threshold. */
  drifted: string[];
}

/**
 * Accumulates today's feature vectors into the profile's bins without keeping the vectors (a
 * million customers cost one counter per bin). The vectors must be in `featureNames` order.
 */
export class DriftAccumulator {
  private readonly counts: number[][];
  private readonly columns: (number | null)[];
  rows = 0;

  constructor(private readonly profile: FeatureProfile, featureNames: readonly string[]) {
    const at = new Map(featureNames.map((n, i) => [n, i]));
    this.columns = profile.features.map((f) => at.get(f.name) ?? null);
    this.counts = profile.features.map((f) => new Array<number>(f.edges.length + 1).fill(0));
  }

  add(vector: readonly number[]): void {
    this.rows++;
    this.profile.features.forEach((f, j) => {
      const col = this.columns[j];
      if (col === null || col === undefined) return;
      this.counts[j]![binIndex(f.edges, vector[col]!)]!++;
    });
  }

  report(threshold = DEFAULT_PSI_THRESHOLD): DriftReport {
    const features = this.profile.features.flatMap((f, j) => {
      // A profiled feature the code no longer computes cannot be compared (the artifact would be refused anyway).
      if (this.columns[j] === null || this.rows === 0) return [];
      const actual = this.counts[j]!.map((c) => c / this.rows);
      return [{ feature: f.name, psi: psi(f.shares, actual), expected: [...f.shares], actual, edges: [...f.edges] }];
    }).sort((a, b) => b.psi - a.psi);
    return {
      rows: this.rows,
      trainingRows: this.profile.rows,
      threshold,
      features,
      drifted: features.filter((f) => f.psi > threshold).map((f) => f.feature),
    };
  }
}

/**
 * Today's scored customers through the profile: customer_score rows (who the worker scores) with
 * their state, features as of `at`, only customers the model's population rule scores at `at`.
 * Paged by customer id like the rescoring, so memory holds one page.
 */
export async function driftOfScoredCustomers(
  pool: pg.Pool,
  profile: FeatureProfile,
  featureNames: readonly string[],
  at: Date,
  rule: LifecycleRule,
  opts: { threshold?: number; pageSize?: number } = {},
): Promise<DriftReport> {
  const acc = new DriftAccumulator(profile, featureNames);
  const pageSize = opts.pageSize ?? 2000;
  const asOf = at.getTime();
  let after = "";
  for (;;) {
    const { rows } = await pool.query<{ customer_id: string; state: CustomerState }>(
      `select s.customer_id, c.state from customer_score s join customer_state c on c.customer_id = s.customer_id
        where s.customer_id > $1 order by s.customer_id limit $2`,
      [after, pageSize],
    );
    for (const r of rows) {
      if (!isScored(lifecycleAt(r.state, asOf, rule))) continue;
      let vector: number[];
      try {
        vector = featureVector(r.state, asOf);
      } catch {
        continue; // a state the scorer could not score either (it is counted as a scoring failure there)
      }
      acc.add(vector);
    }
    if (rows.length < pageSize) break;
    after = rows[rows.length - 1]!.customer_id;
  }
  return acc.report(opts.threshold);
}
