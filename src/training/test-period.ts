/**
 * The test-period verdict that `train` (fit.ts) stores in the artifact and `evaluate` (assess.ts)
 * reports for any rows: the model next to the baselines with customer-bootstrap intervals, realised
 * churn per risk band, and the plain sentences that say where the figures leave real doubt. One
 * definition, so the two cannot disagree about the same rows.
 */
import type { TestMetrics } from "../model/artifact.js";
import type { RiskBands } from "../model/risk-levels.js";
import type { BootstrapOptions } from "./bootstrap.js";
import { compareWithBaselines, type ScoredSeries } from "./evaluate.js";
import { bandOutcomes, storedBands, type BandOutcome } from "./thresholds.js";

export interface TestPeriodInput {
  /** The evaluated cutoffs, ISO dates. */
  cutoffs: string[];
  labels: Uint8Array;
  /** Customer of each row: the bootstrap resamples customers. */
  groups: readonly string[];
  model: { rankScores: Float64Array; probabilities: Float64Array };
  baselines: readonly { name: string; rankScores: Float64Array; probabilities: Float64Array }[];
  bands: RiskBands;
  bootstrap: BootstrapOptions;
}

export function testPeriodMetrics(input: TestPeriodInput): { series: ScoredSeries[]; bands: BandOutcome[]; testMetrics: TestMetrics } {
  const { labels, groups, bootstrap } = input;
  const { series, rocAucGain } = compareWithBaselines(labels, input.model, input.baselines, groups, bootstrap);
  const bands = bandOutcomes(input.model.probabilities, labels, input.bands, { groups, bootstrap });
  let positives = 0;
  for (const v of labels) positives += v;
  const testMetrics: TestMetrics = {
    cutoffs: input.cutoffs,
    rows: labels.length,
    customers: new Set(groups).size,
    positives,
    model: series[0]!.metrics,
    baselines: Object.fromEntries(series.slice(1).map((s) => [s.name, s.metrics])),
    rocAucGain,
    bands: storedBands(bands),
    bootstrap: { replicates: bootstrap.replicates, seed: bootstrap.seed, unit: "customer" },
    doubts: [],
  };
  testMetrics.doubts = describeDoubts(testMetrics);
  return { series, bands, testMetrics };
}

const f3 = (v: number) => v.toFixed(3);
const pct = (v: number) => `${(v * 100).toFixed(0)}%`;

/**
 * Plain sentences where the test period leaves real doubt. The thresholds are rules of thumb: below
 * about 100 churners a ROC AUC interval is several points wide; a band with fewer than 30 rows
 * says little about its churn rate.
 */
export function describeDoubts(t: Pick<TestMetrics, "positives" | "rows" | "customers" | "model" | "rocAucGain" | "bands">): string[] {
  const out: string[] = [];
  if (t.positives < 100) out.push(`Only ${t.positives} churners in the test period: every metric below is uncertain; read the intervals, not the point values.`);
  if (t.customers < 300) out.push(`Only ${t.customers} distinct customers in the test period: intervals resample customers, and few customers mean wide intervals.`);
  const auc = t.model.intervals?.rocAuc;
  if (auc && auc[1] - auc[0] > 0.05) out.push(`The model's ROC AUC is only known to within ${f3(auc[0])}–${f3(auc[1])} (95%).`);
  for (const [name, g] of Object.entries(t.rocAucGain ?? {})) {
    if (!(g.interval[0] > 0)) {
      out.push(`The model is not clearly better than the ${name} baseline: ROC AUC gain ${f3(g.estimate)}, 95% interval ${f3(g.interval[0])} to ${f3(g.interval[1])} includes no gain.`);
    }
  }
  const ece = t.model.ece;
  if (ece !== undefined && ece > 0.05) out.push(`Probabilities are off by ${f3(ece)} on average on the test period (ECE): the calibration fitted on the validation period has drifted.`);
  for (const b of t.bands) {
    const rate = b.churnRate ?? Number.NaN;
    if (b.rows > 0 && b.rows < 30) out.push(`Band ${b.level} holds only ${b.rows} test rows: its realised churn (${pct(rate)}) is a rough guide.`);
    const ci = b.churnRateInterval;
    if (ci && b.rows >= 30 && (ci[1] < b.from || ci[0] >= b.to)) {
      out.push(`Customers rated ${b.level} churned at ${pct(rate)} (95% ${pct(ci[0])}–${pct(ci[1])}) on the test period, outside the band's ${pct(b.from)}–${pct(b.to)}: calibration and reality disagree there.`);
    }
  }
  return out;
}
