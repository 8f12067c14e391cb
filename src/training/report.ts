/**
 * The model report: one self-contained HTML page (inline CSS and SVG, no scripts, no network) that
 * a data scientist or a reviewer opens to decide whether a model is good enough: test-period metrics
 * with 95% intervals against both baselines on the same rows, where doubt is large, ROC and
 * precision-recall curves, the calibration plot, each risk band's share and realised churn, how the
 * hyperparameters were chosen, importance, and the exact population and time split. Pure: returns
 * the HTML string.
 */
import { FEATURE_DESCRIPTIONS, type FeatureName } from "../features/index.js";
import { populationOf, type ModelArtifact, type TestMetrics } from "../model/artifact.js";
import { formatRiskBands, type RiskBands } from "../model/risk-levels.js";
import type { MetricKey } from "./bootstrap.js";
import type { CutoffCount } from "./dataset.js";
import { prCurve, reliabilityBins, rocCurve, scoreHistogram, type ScoredSeries } from "./evaluate.js";
import type { BandOutcome } from "./thresholds.js";
import { escapeHtml } from "../lib/html.js";
import { barChart, histogramChart, lineChart, PALETTE } from "./svg.js";

export interface ReportInput {
  kind: "training" | "evaluation";
  artifact: ModelArtifact;
  /** Test-period series: the model first, then the baselines, all on the same rows, with intervals. */
  series: ScoredSeries[];
  /** Probabilities the worker would publish for these rows (score distribution, bands). */
  served: ArrayLike<number>;
  labels: ArrayLike<number>;
  /** Share and realised churn of each risk band on these rows. */
  bands: BandOutcome[];
  bandsUsed: RiskBands;
  testMetrics: TestMetrics;
  perCutoff?: { train: CutoffCount[]; validation: CutoffCount[]; test?: CutoffCount[] };
  /** Where the rows came from (dataset file, simulator...). */
  source: string;
  /** Extra lines shown near the top (promotion decision, warnings). */
  notes?: string[];
  generatedAt?: Date;
}

const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : "–");
const num = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : "–");
const e = escapeHtml;

const METRICS: { key: MetricKey; label: string; better: "high" | "low"; fmt: (v: number) => string; help: string }[] = [
  { key: "rocAuc", label: "ROC AUC", better: "high", fmt: (v) => num(v), help: "chance a random churner ranks above a random stayer (0.5 = guessing)" },
  { key: "prAuc", label: "PR AUC", better: "high", fmt: (v) => num(v), help: "average precision over all cut-offs; compare with the churn rate" },
  { key: "brier", label: "Brier", better: "low", fmt: (v) => num(v, 4), help: "mean squared error of the published probability (lower is better)" },
  { key: "liftTop10", label: "Lift top 10%", better: "high", fmt: (v) => `${num(v, 2)}×`, help: "churn rate in the top 10% / overall churn rate" },
  { key: "precisionTop10", label: "Precision top 10%", better: "high", fmt: pct, help: "share of the top 10% who churned" },
  { key: "ece", label: "ECE", better: "low", fmt: (v) => num(v, 3), help: "expected calibration error: mean |predicted - observed| over ten probability bins (lower is better)" },
];

function metricsTable(series: ScoredSeries[]): string {
  const head = `<tr><th>Scorer</th><th>Rows</th><th>Churned</th>${METRICS.map((m) => `<th title="${e(m.help)}">${m.label}</th>`).join("")}</tr>`;
  const value = (s: ScoredSeries, k: MetricKey) => (s.metrics[k] as number | undefined) ?? Number.NaN;
  const best = new Map(
    METRICS.map((m) => {
      const vals = series.map((s) => value(s, m.key)).filter(Number.isFinite);
      return [m.key, m.better === "high" ? Math.max(...vals) : Math.min(...vals)] as const;
    }),
  );
  const body = series
    .map((s) => {
      const cells = METRICS.map((m) => {
        const v = value(s, m.key);
        const ci = s.metrics.intervals?.[m.key];
        const interval = ci ? `<br><span class="ci">${m.fmt(ci[0])}–${m.fmt(ci[1])}</span>` : "";
        return `<td class="${v === best.get(m.key) ? "best" : ""}">${m.fmt(v)}${interval}</td>`;
      }).join("");
      return `<tr><th>${e(s.name)}</th><td>${s.metrics.rows.toLocaleString("en")}</td><td>${pct(s.metrics.positives / s.metrics.rows)}</td>${cells}</tr>`;
    })
    .join("");
  return `<table class="metrics">${head}${body}</table>`;
}

function verdict(t: TestMetrics, series: ScoredSeries[]): string {
  const model = series[0];
  if (!model) return "";
  const lines = Object.entries(t.rocAucGain ?? {}).map(([name, g]) => {
    const b = series.find((s) => s.name === name);
    const clear = g.interval[0] > 0;
    const word = clear ? "beats" : g.estimate > 0 ? "is NOT clearly better than" : "does NOT beat";
    return `<li>The model <b>${word}</b> the <b>${e(name)}</b> baseline: ROC AUC gain ${num(g.estimate)} ` +
      `(paired bootstrap 95% interval ${num(g.interval[0])} to ${num(g.interval[1])})` +
      (b ? `; lift in the top 10%: ${num(model.metrics.liftTop10, 2)}× vs ${num(b.metrics.liftTop10, 2)}×` : "") + `.</li>`;
  });
  return `<ul class="verdict">${lines.join("")}</ul>`;
}

function cutoffTable(title: string, counts: CutoffCount[]): string {
  if (counts.length === 0) return "";
  const rows = counts.map((c) => `<tr><td>${c.cutoff.slice(0, 10)}</td><td>${c.rows.toLocaleString("en")}</td><td>${c.churned.toLocaleString("en")}</td><td>${pct(c.churned / (c.rows || 1))}</td></tr>`).join("");
  return `<details><summary>${e(title)} (${counts.length} cutoffs)</summary><table><tr><th>Cutoff</th><th>Rows</th><th>Churned</th><th>Rate</th></tr>${rows}</table></details>`;
}

function range(list: readonly string[]): string {
  if (list.length === 0) return "none";
  return `${list[0]!.slice(0, 10)} … ${list[list.length - 1]!.slice(0, 10)} (${list.length} cutoffs)`;
}

function doubtBox(t: TestMetrics): string {
  if (t.doubts.length === 0) {
    return `<p class="ok">No large doubts: ${t.positives.toLocaleString("en")} churners among ${t.customers.toLocaleString("en")} customers in the test period, the model beats both baselines by more than noise, and every band's realised churn agrees with its range.</p>`;
  }
  return `<div class="doubt"><b>Where doubt is large</b><ul>${t.doubts.map((d) => `<li>${e(d)}</li>`).join("")}</ul></div>`;
}

function bandTable(bands: BandOutcome[]): string {
  const rows = bands
    .slice()
    .reverse()
    .map((b) => {
      const ci = b.churnRateInterval ? `${pct(b.churnRateInterval[0])}–${pct(b.churnRateInterval[1])}` : "–";
      const range = b.level === "high" ? `≥ ${num(b.from, 2)}` : b.level === "low" ? `&lt; ${num(b.to, 2)}` : `${num(b.from, 2)} – ${num(b.to, 2)}`;
      return `<tr><th>${b.level}</th><td>${range}</td><td>${b.rows.toLocaleString("en")}</td><td>${pct(b.share)}</td><td>${pct(b.churnRate)}</td><td>${ci}</td></tr>`;
    })
    .join("");
  return `<table><tr><th>Level</th><th>Calibrated probability</th><th>Rows</th><th>Share of rows</th><th>Realised churn</th><th>95% interval</th></tr>${rows}</table>`;
}

function hyperparameterSection(a: ModelArtifact): string {
  const h = a.hyperparameters;
  if (!h) return "<p>This artifact does not record how its settings were chosen (trained before the grid search).</p>";
  const chosen = `max depth <b>${h.chosen.maxDepth}</b>, min leaf <b>${h.chosen.minSamplesLeaf}</b>, features per split <b>${e(String(h.chosen.maxFeatures))}</b>, class weight <b>${h.chosen.classWeight}</b>; ${h.trees} trees`;
  if (h.method === "fixed") return `<p>Fixed on the command line (<code>--no-search</code>): ${chosen}.</p>`;
  const rows = (h.candidates ?? [])
    .slice()
    .sort((x, y) => y.validationRocAuc - x.validationRocAuc)
    .map((c) => {
      const isChosen = c.maxDepth === h.chosen.maxDepth && c.minSamplesLeaf === h.chosen.minSamplesLeaf && c.maxFeatures === h.chosen.maxFeatures && c.classWeight === h.chosen.classWeight;
      return `<tr class="${isChosen ? "chosen" : ""}"><td>${c.maxDepth}</td><td>${c.minSamplesLeaf}</td><td>${e(String(c.maxFeatures))}</td><td>${c.classWeight}</td><td>${num(c.validationRocAuc, 4)}</td><td>${num(c.seconds, 1)} s</td></tr>`;
    })
    .join("");
  return `<p>Chosen by time-split validation: ${h.candidates?.length ?? 0} candidates of ${h.searchTrees ?? "?"} trees grown on the training period and ranked by ${e(h.selectedBy ?? "validation ROC AUC")} (the test period was not looked at); the winner refitted on the training period: ${chosen}.${h.seconds !== undefined ? ` Search time ${num(h.seconds, 1)} s.` : ""}</p>
<details><summary>All candidates</summary><table><tr><th>Max depth</th><th>Min leaf</th><th>Features/split</th><th>Class weight</th><th>Validation ROC AUC</th><th>Time</th></tr>${rows}</table></details>`;
}

function calibrationText(a: ModelArtifact, m: Record<string, unknown>): string {
  const c = a.calibration;
  const calib = m.calibration as { method?: string; outOfFoldBrier?: Record<string, number> } | undefined;
  const range = (lo: number, hi: number) => `its probabilities range from ${num(lo, 3)} to ${num(hi, 3)}`;
  let detail = "";
  if (c.method === "isotonic") {
    const n = c.rows;
    detail = `${c.x.length} knots; ${range(c.y[0]!, c.y[c.y.length - 1]!)}` +
      (n ? ` (the lowest backed by ${n[0]!.toLocaleString("en")} validation rows, the highest by ${n[n.length - 1]!.toLocaleString("en")})` : "") +
      (c.prior ? `; block rates smoothed with a Beta(${num(c.prior.a, 2)}, ${num(c.prior.b, 2)}) prior, so no probability is 0 or 1` : "");
  } else if (c.method === "platt") {
    detail = `sigmoid a=${num(c.a, 3)}, b=${num(c.b, 3)}${c.bounds ? `; clamped to ${num(c.bounds[0], 3)}–${num(c.bounds[1], 3)}, what the validation rows support` : ""}`;
  }
  return `<p>Calibration: <b>${e(c.method)}</b>, fitted on the validation period${detail ? `: ${e(detail)}` : ""}.` +
    (calib?.outOfFoldBrier ? ` Out-of-fold Brier on the validation period: ${Object.entries(calib.outOfFoldBrier).map(([k, v]) => `${e(k)} ${num(v, 4)}`).join(", ")}; predicting the churn rate for everyone scores ${num(Number(m.brierNoSkill), 4)}.` : "") +
    `</p>`;
}

export function renderReport(input: ReportInput): string {
  const a = input.artifact;
  const series = input.series;
  const model = series[0]!;
  const t = input.testMetrics;
  const colors = series.map((_, i) => PALETTE[i % PALETTE.length]!);

  const roc = lineChart({
    title: "ROC curve",
    series: series.map((s, i) => ({ name: `${s.name} (AUC ${num(s.metrics.rocAuc)})`, points: rocCurve(s.labels, s.rankScores), color: colors[i]!, dashed: i > 0 })),
    xLabel: "false positive rate (stayers flagged)",
    yLabel: "true positive rate (churners caught)",
    x: [0, 1],
    y: [0, 1],
    diagonal: true,
  });
  const base = model.metrics.positives / model.metrics.rows;
  const pr = lineChart({
    title: "Precision-recall curve",
    series: [
      ...series.map((s, i) => ({ name: `${s.name} (AP ${num(s.metrics.prAuc)})`, points: prCurve(s.labels, s.rankScores), color: colors[i]!, dashed: i > 0 })),
      { name: `churn rate ${pct(base)}`, points: [{ x: 0, y: base }, { x: 1, y: base }], color: "#999", dashed: true },
    ],
    xLabel: "recall (share of churners caught)",
    yLabel: "precision",
    x: [0, 1],
    y: [0, 1],
    legendCorner: "tr",
  });
  const bins = reliabilityBins(model.labels, model.probabilities).filter((b) => b.count > 0);
  const reliability = lineChart({
    title: "Reliability (calibration plot)",
    series: [
      { name: `model on the test period (ECE ${num(model.metrics.ece ?? Number.NaN)})`, points: bins.map((b) => ({ x: b.meanPredicted, y: b.observedRate })), color: colors[0]!, markers: true },
    ],
    xLabel: "published churn probability (bin mean)",
    yLabel: "observed churn rate",
    x: [0, 1],
    y: [0, 1],
    diagonal: true,
    legendCorner: "tl",
  });
  const binRows = bins.map((b) => `<tr><td>${num(b.lo, 1)}–${num(b.hi, 1)}</td><td>${b.count.toLocaleString("en")}</td><td>${num(b.meanPredicted)}</td><td>${num(b.observedRate)}</td></tr>`).join("");
  const importance = (a.featureImportance ?? [])
    .map((value, i) => ({ label: a.featureNames[i] ?? `#${i}`, value }))
    .sort((x, y) => y.value - x.value);
  const importanceSvg = importance.length
    ? barChart({ title: "Feature importance", bars: importance, xLabel: "mean decrease in Gini impurity (share of total)" })
    : "<p>No feature importance stored in this artifact.</p>";
  const hist = scoreHistogram(input.labels, input.served);
  const distribution = histogramChart({
    title: "Score distribution",
    edges: hist.edges,
    groups: [
      { name: "churned", counts: hist.churned, color: PALETTE[1]! },
      { name: "stayed", counts: hist.retained, color: PALETTE[0]! },
    ],
    xLabel: "calibrated churn probability",
    yLabel: "customers (rows)",
    markers: [
      { x: input.bandsUsed.medium, label: "medium" },
      { x: input.bandsUsed.high, label: "high" },
    ],
  });

  const m = a.metrics as Record<string, unknown>;
  const forest = m.forest as Record<string, unknown> | undefined;
  const timing = m.timing as { searchSeconds?: number; forestSeconds?: number; totalSeconds?: number } | undefined;
  const population = populationOf(a);
  const topFeatures = importance.slice(0, 12).map((f) => {
    const desc = FEATURE_DESCRIPTIONS[f.label as FeatureName] ?? "";
    return `<tr><td><code>${e(f.label)}</code></td><td>${pct(f.value)}</td><td class="text">${e(desc)}</td></tr>`;
  }).join("");
  const validationRows = [["model", a.metrics.validation] as const, ...Object.entries(a.metrics.baselines)]
    .map(([name, v]) => `<tr><th>${e(name)}</th><td>${v.rows.toLocaleString("en")}</td><td>${num(v.rocAuc)}</td><td>${num(v.prAuc)}</td><td>${num(v.brier, 4)}</td></tr>`)
    .join("");

  const title = `${input.kind === "training" ? "Model report" : "Evaluation"}: ${a.modelVersion}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#1b1f24}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#555}.badge{display:inline-block;background:#e9a03b;color:#fff;border-radius:4px;padding:1px 6px;font-size:12px;margin-left:6px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th:first-child,td:first-child,td.text{text-align:left}
table.metrics th{background:#f6f8fa}td.best{font-weight:700;background:#e6f4ea}
.ci{color:#666;font-size:11px;font-weight:400}.doubt{background:#fff4e5;border:1px solid #e9a03b;border-radius:4px;padding:6px 12px;margin:8px 0}.ok{background:#e6f4ea;padding:6px 12px;border-radius:4px}tr.chosen td{font-weight:700;background:#e6f4ea}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(430px,1fr));gap:16px}
figure{margin:0}figcaption{color:#555;font-size:13px;max-width:420px}
svg .tick{font-size:10px;fill:#555}svg .axis{font-size:11px;fill:#333}svg .legend{font-size:11px;fill:#333}
.notes li,.verdict li{margin:4px 0}code{background:#f6f8fa;padding:0 3px}dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px}dt{color:#555}dd{margin:0}
</style></head><body>
<h1>${e(title)}${a.starter ? '<span class="badge">starter</span>' : ""}</h1>
<div class="sub">${e(a.description)} · created ${e(a.createdAt)} · report generated ${(input.generatedAt ?? new Date()).toISOString()}</div>
${input.notes?.length ? `<ul class="notes">${input.notes.map((n) => `<li>${e(n)}</li>`).join("")}</ul>` : ""}

<h2>${input.kind === "training" ? "Test period" : "Evaluated rows"}: model vs baselines on the same rows, with 95% intervals</h2>
<p class="sub">${t.rows.toLocaleString("en")} rows of ${t.customers.toLocaleString("en")} customers at the cutoffs ${e(range(t.cutoffs))}, ${t.positives.toLocaleString("en")} churned.
${input.kind === "training" ? "This period was not used to grow the forest, choose its settings, fit its calibration or read its bands." : ""}
Intervals: ${t.bootstrap.replicates.toLocaleString("en")} bootstrap replicates resampling <b>customers</b> (all rows of a drawn customer together), since one customer's rows at neighbouring cutoffs are not independent.</p>
${doubtBox(t)}
${metricsTable(series)}
${verdict(t, series)}
<p class="sub">Ranking metrics use each scorer's raw score (calibration is monotone and keeps the ranking). Brier and ECE use
published probabilities: ${input.kind === "training" ? "the model's calibration fitted on the validation period;" : "the artifact's own calibration for the model;"}
isotonic maps fitted the same way for the baselines. Baselines: <b>recency</b> = days since the last purchase; <b>rfm</b> = classic
recency/frequency/monetary quintiles, cut among the customers of each cutoff, summed and reversed so higher means riskier.</p>

<div class="grid">
<figure>${roc}<figcaption>ROC: how well each scorer separates churners from stayers at every cut-off.</figcaption></figure>
<figure>${pr}<figcaption>Precision-recall: of the customers flagged, how many really churn, as more are flagged.</figcaption></figure>
<figure>${reliability}<figcaption>Calibration: when the model says 30%, about 30% should churn (points near the diagonal). Bins with few rows wander.</figcaption></figure>
<figure>${distribution}<figcaption>Calibrated probabilities the worker would publish, by outcome, with the risk bands.</figcaption></figure>
</div>
<details><summary>Calibration plot as a table</summary><table><tr><th>Probability bin</th><th>Rows</th><th>Mean predicted</th><th>Observed churn</th></tr>${binRows}</table></details>

<h2>Risk bands</h2>
<p>Levels are bands of the calibrated probability: high from ${num(input.bandsUsed.high, 2)}, medium from ${num(input.bandsUsed.medium, 2)}
(<code>${e(formatRiskBands(input.bandsUsed))}</code>). A larger score never gets a lower level. Realised churn is read on the ${input.kind === "training" ? "test period" : "evaluated rows"}:
each band's customers should churn at a rate inside its range.</p>
${bandTable(input.bands)}
${calibrationText(a, m)}

<h2>Hyperparameters</h2>
${hyperparameterSection(a)}
${validationRows ? `<details><summary>Validation-period metrics (where the settings were chosen; optimistic)</summary><table><tr><th>Scorer</th><th>Rows</th><th>ROC AUC</th><th>PR AUC</th><th>Brier (out of fold)</th></tr>${validationRows}</table></details>` : ""}

<h2>Feature importance</h2>
<figure>${importanceSvg}</figure>
${topFeatures ? `<details open><summary>What the top features mean</summary><table><tr><th>Feature</th><th>Importance</th><th>Definition</th></tr>${topFeatures}</table></details>` : ""}

<h2>Data and training window</h2>
<dl>
<dt>Rows from</dt><dd>${e(input.source)}</dd>
<dt>Population</dt><dd>lifecycle stages ${population.stages.map((s) => `<b>${e(s)}</b>`).join(", ")} at each cutoff (bought within ${population.activeDays} days, not cancelled since; "new" = first purchase within ${population.newDays} days). The worker scores exactly these customers.</dd>
<dt>Churn definition</dt><dd>${e(a.churnDefinition.text)} (horizon ${a.churnDefinition.horizonDays} days)</dd>
<dt>Feature set</dt><dd><code>${e(a.featureSetVersion)}</code>, ${a.featureNames.length} features</dd>
<dt>Training cutoffs</dt><dd>${range(a.trainingWindow.trainCutoffs)}: the forest</dd>
<dt>Validation cutoffs</dt><dd>${range(a.trainingWindow.validationCutoffs)}: hyperparameters, calibration</dd>
<dt>Test cutoffs</dt><dd>${range(a.trainingWindow.testCutoffs ?? [])}: metrics, bands, promotion</dd>
${Array.isArray(m.gapCutoffs) ? `<dt>Gaps (unused)</dt><dd>${(m.gapCutoffs as string[]).length} cutoffs: their labels would reach into the next period</dd>` : ""}
${forest ? `<dt>Forest</dt><dd>${Object.entries(forest).map(([k, v]) => `${e(k)} ${e(String(v))}`).join(", ")}</dd>` : ""}
${timing ? `<dt>Training time</dt><dd>${num(timing.totalSeconds ?? Number.NaN, 1)} s in all (search ${num(timing.searchSeconds ?? Number.NaN, 1)} s, final forest ${num(timing.forestSeconds ?? Number.NaN, 1)} s)</dd>` : ""}
</dl>
${input.perCutoff ? cutoffTable("Training rows per cutoff", input.perCutoff.train) + cutoffTable("Validation rows per cutoff", input.perCutoff.validation) + cutoffTable("Test rows per cutoff", input.perCutoff.test ?? []) : ""}
</body></html>
`;
}
