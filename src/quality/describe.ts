/**
 * Live quality in plain sentences, for a retention team (a digest footer) or an operator (the
 * `evaluate --live` text report). Pure.
 */
import { describeSavedKpi } from "../kpi/saved.js";
import type { LiveEvaluation } from "./live.js";
import type { LiveQualitySummary } from "./store.js";

const pct = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(0)}%`);
const f2 = (v: number | null | undefined) => (v === null || v === undefined ? "–" : v.toFixed(2));
const n = (v: number) => v.toLocaleString("en");

/** "Of the 2,345 customers scored on 2026-09-02 by m1, 612 (26%) churned within 90 days. ..." */
export function describeEvaluation(e: LiveEvaluation): string[] {
  const day = e.asOf.slice(0, 10);
  const lines = [
    `Of the ${n(e.rows)} customers scored on ${day} by model ${e.modelVersion}${e.source === "backtest" ? " (re-scored from the event history)" : ""}, ` +
      `${n(e.positives)} (${pct(e.churnRate)}) churned within ${e.horizonDays} days; the model had predicted ${pct(e.meanPredicted)} on average.`,
  ];
  const bands = e.bands.filter((b) => b.rows > 0).slice().reverse()
    .map((b) => `${b.level} ${pct(b.churnRate)} of ${n(b.rows)}`);
  if (bands.length) lines.push(`Realised churn by risk level: ${bands.join(", ")}.`);
  const x = e.expected;
  const interval = x?.rocAucInterval ? `, 95% ${f2(x.rocAucInterval[0])}-${f2(x.rocAucInterval[1])}` : "";
  lines.push(
    `Ranking: ROC AUC ${f2(e.rocAuc)}${x ? ` (at training ${f2(x.rocAuc)}${interval})` : ""}; ` +
      `${pct(e.precisionTop10)} of the top 10% churned. Calibration error ${f2(e.ece)}${x?.ece != null ? ` (at training ${f2(x.ece)})` : ""}.`,
  );
  const lower = x?.rocAucInterval?.[0];
  if (lower !== undefined && e.rocAuc !== null && e.rocAuc < lower) {
    lines.push(`The ranking is worse than the model was validated for (below ${f2(lower)}): it is time to retrain.`);
  }
  if (e.treated > 0) {
    lines.push(`${n(e.treated)} of these customers were reached by a retention team within the horizon; without them ROC AUC is ${f2(e.untreated.rocAuc)}.`);
  }
  return lines;
}

/** Everything the latest summary holds, a few sentences each; empty when nothing was computed yet. */
export function describeLiveQuality(s: LiveQualitySummary, opts: { maxDriftFeatures?: number } = {}): string[] {
  const lines: string[] = [];
  const main = s.evaluations[0];
  if (main) lines.push(...describeEvaluation(main));
  if (s.drift) {
    if (s.drift.drifted.length === 0) {
      lines.push(`Feature drift: today's customers look like the training data (every feature's PSI at most ${f2(s.drift.features[0]?.threshold)}).`);
    } else {
      const top = s.drift.features.filter((f) => s.drift!.drifted.includes(f.feature)).slice(0, opts.maxDriftFeatures ?? 5);
      lines.push(
        `Feature drift: ${s.drift.drifted.length} feature(s) differ from the training data (PSI above ${f2(top[0]?.threshold)}): ` +
          `${top.map((f) => `${f.feature} ${f2(f.psi)}`).join(", ")}. Scores for these customers are less tested.`,
      );
    }
  }
  if (s.saved) lines.push(describeSavedKpi(s.saved));
  return lines;
}
