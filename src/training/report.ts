/**
 * The model report: one self-contained HTML page (inline CSS and SVG, no scripts, no network) that
 * a data scientist or a reviewer opens to decide whether a model is good enough: metrics against
 * the baselines on the same rows, ROC and precision-recall curves, calibration, importance, score
 * distribution, and the exact training window. Pure: returns the HTML string.
 */
import { FEATURE_DESCRIPTIONS, type FeatureName } from "../features/index.js";
import type { MetricSet, ModelArtifact } from "../model/artifact.js";
import type { CutoffCount } from "./dataset.js";
import { prCurve, reliabilityBins, rocCurve, scoreHistogram, type ScoredSeries } from "./evaluate.js";
import { escapeHtml } from "../lib/html.js";
import { barChart, histogramChart, lineChart, PALETTE } from "./svg.js";

export interface ReportInput {
  kind: "training" | "evaluation";
  artifact: ModelArtifact;
  /** The model first, then the baselines, all on the same rows. */
  series: ScoredSeries[];
  /** Probabilities the worker would publish for these rows (score distribution, risk levels). */
  served: ArrayLike<number>;
  labels: ArrayLike<number>;
  perCutoff?: { train: CutoffCount[]; validation: CutoffCount[] };
  /** Where the rows came from (dataset file, simulator...). */
  source: string;
  /** Extra lines shown near the top (promotion decision, warnings). */
  notes?: string[];
  generatedAt?: Date;
}

const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : "–");
const num = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : "–");
const e = escapeHtml;

const METRICS: { key: keyof MetricSet; label: string; better: "high" | "low"; fmt: (v: number) => string; help: string }[] = [
  { key: "rocAuc", label: "ROC AUC", better: "high", fmt: (v) => num(v), help: "chance a random churner ranks above a random stayer (0.5 = guessing)" },
  { key: "prAuc", label: "PR AUC", better: "high", fmt: (v) => num(v), help: "average precision over all cut-offs; compare with the churn rate" },
  { key: "brier", label: "Brier", better: "low", fmt: (v) => num(v, 4), help: "mean squared error of the probability (lower is better)" },
  { key: "liftTop10", label: "Lift top 10%", better: "high", fmt: (v) => `${num(v, 2)}×`, help: "churn rate in the top 10% / overall churn rate" },
  { key: "precisionTop10", label: "Precision top 10%", better: "high", fmt: pct, help: "share of the top 10% who churned" },
];

function metricsTable(series: ScoredSeries[]): string {
  const head = `<tr><th>Scorer</th><th>Rows</th><th>Churned</th>${METRICS.map((m) => `<th title="${e(m.help)}">${m.label}</th>`).join("")}</tr>`;
  const best = new Map(
    METRICS.map((m) => {
      const vals = series.map((s) => s.metrics[m.key] as number).filter(Number.isFinite);
      return [m.key, m.better === "high" ? Math.max(...vals) : Math.min(...vals)] as const;
    }),
  );
  const body = series
    .map((s) => {
      const cells = METRICS.map((m) => {
        const v = s.metrics[m.key] as number;
        return `<td class="${v === best.get(m.key) ? "best" : ""}">${m.fmt(v)}</td>`;
      }).join("");
      return `<tr><th>${e(s.name)}</th><td>${s.metrics.rows.toLocaleString("en")}</td><td>${pct(s.metrics.positives / s.metrics.rows)}</td>${cells}</tr>`;
    })
    .join("");
  return `<table class="metrics">${head}${body}</table>`;
}

function verdict(series: ScoredSeries[]): string {
  const [model, ...baselines] = series;
  if (!model) return "";
  const lines = baselines.map((b) => {
    const d = model.metrics.rocAuc - b.metrics.rocAuc;
    const word = d > 0 ? "beats" : "does NOT beat";
    return `<li>The model <b>${word}</b> the <b>${e(b.name)}</b> baseline on ROC AUC by ${num(d)} ` +
      `(lift in the top 10%: ${num(model.metrics.liftTop10, 2)}× vs ${num(b.metrics.liftTop10, 2)}×).</li>`;
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

export function renderReport(input: ReportInput): string {
  const a = input.artifact;
  const series = input.series;
  const model = series[0]!;
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
    title: "Reliability",
    series: [
      { name: input.kind === "training" ? "model (out-of-fold calibrated)" : "model (artifact calibration)", points: bins.map((b) => ({ x: b.meanPredicted, y: b.observedRate })), color: colors[0]!, markers: true },
    ],
    xLabel: "predicted churn probability (bin mean)",
    yLabel: "observed churn rate",
    x: [0, 1],
    y: [0, 1],
    diagonal: true,
    legendCorner: "tl",
  });
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
      { x: a.thresholds.medium, label: "medium" },
      { x: a.thresholds.high, label: "high" },
    ],
  });

  const m = a.metrics as Record<string, unknown>;
  const levels = m.levels as { shares?: Record<string, number>; churnRate?: Record<string, number>; highRule?: string; note?: string } | undefined;
  const calib = m.calibration as { method?: string; outOfFoldBrier?: Record<string, number> } | undefined;
  const forest = m.forest as Record<string, unknown> | undefined;
  const topFeatures = importance.slice(0, 12).map((f) => {
    const desc = FEATURE_DESCRIPTIONS[f.label as FeatureName] ?? "";
    return `<tr><td><code>${e(f.label)}</code></td><td>${pct(f.value)}</td><td class="text">${e(desc)}</td></tr>`;
  }).join("");

  const levelRows = levels?.shares
    ? (["high", "medium", "low"] as const).map((k) => `<tr><th>${k}</th><td>${k === "high" ? `≥ ${num(a.thresholds.high)}` : k === "medium" ? `≥ ${num(a.thresholds.medium)}` : `< ${num(a.thresholds.medium)}`}</td><td>${pct(levels.shares![k]!)}</td><td>${pct(levels.churnRate?.[k] ?? Number.NaN)}</td></tr>`).join("")
    : "";

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
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(430px,1fr));gap:16px}
figure{margin:0}figcaption{color:#555;font-size:13px;max-width:420px}
svg .tick{font-size:10px;fill:#555}svg .axis{font-size:11px;fill:#333}svg .legend{font-size:11px;fill:#333}
.notes li,.verdict li{margin:4px 0}code{background:#f6f8fa;padding:0 3px}dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px}dt{color:#555}dd{margin:0}
</style></head><body>
<h1>${e(title)}${a.starter ? '<span class="badge">starter</span>' : ""}</h1>
<div class="sub">${e(a.description)} · created ${e(a.createdAt)} · report generated ${(input.generatedAt ?? new Date()).toISOString()}</div>
${input.notes?.length ? `<ul class="notes">${input.notes.map((n) => `<li>${e(n)}</li>`).join("")}</ul>` : ""}

<h2>${input.kind === "training" ? "Validation" : "Evaluation"}: model vs baselines on the same rows</h2>
${metricsTable(series)}
${verdict(series)}
<p class="sub">Ranking metrics use each scorer's raw score (calibration is monotone and keeps the ranking). Brier uses
probabilities: ${input.kind === "training" ? "out-of-fold calibrated for the model, so the calibration never grades rows it was fitted on;" : "the artifact's own calibration for the model;"}
out-of-fold isotonic maps for the baselines. Baselines: <b>recency</b> = days since the last purchase; <b>rfm</b> = classic
recency/frequency/monetary quintiles (cut on the training rows) summed, reversed so higher means riskier.</p>

<div class="grid">
<figure>${roc}<figcaption>ROC: how well each scorer separates churners from stayers at every cut-off.</figcaption></figure>
<figure>${pr}<figcaption>Precision-recall: of the customers flagged, how many really churn, as more are flagged.</figcaption></figure>
<figure>${reliability}<figcaption>Calibration: when the model says 30%, about 30% should churn (points near the diagonal).</figcaption></figure>
<figure>${distribution}<figcaption>Calibrated probabilities the worker would publish, by outcome, with the risk-level thresholds.</figcaption></figure>
</div>

<h2>Risk levels</h2>
<p>Thresholds on the calibrated probability: high ≥ ${num(a.thresholds.high)}, medium ≥ ${num(a.thresholds.medium)}
${levels?.highRule ? ` (high chosen by ${e(levels.highRule)})` : ""}.${levels?.note ? ` ${e(levels.note)}` : ""}</p>
${levelRows ? `<table><tr><th>Level</th><th>Probability</th><th>Share of rows</th><th>Churn rate</th></tr>${levelRows}</table>` : ""}
${calib ? `<p>Calibration: <b>${e(String(calib.method ?? a.calibration.method))}</b>${calib.outOfFoldBrier ? ` (out-of-fold Brier: ${Object.entries(calib.outOfFoldBrier).map(([k, v]) => `${e(k)} ${num(v, 4)}`).join(", ")}; predicting the churn rate for everyone scores ${num(Number(m.brierNoSkill), 4)})` : ""}.</p>` : ""}

<h2>Feature importance</h2>
<figure>${importanceSvg}</figure>
${topFeatures ? `<details open><summary>What the top features mean</summary><table><tr><th>Feature</th><th>Importance</th><th>Definition</th></tr>${topFeatures}</table></details>` : ""}

<h2>Data and training window</h2>
<dl>
<dt>Rows from</dt><dd>${e(input.source)}</dd>
<dt>Churn definition</dt><dd>${e(a.churnDefinition.text)} (horizon ${a.churnDefinition.horizonDays} days)</dd>
<dt>Feature set</dt><dd><code>${e(a.featureSetVersion)}</code>, ${a.featureNames.length} features</dd>
<dt>Training cutoffs</dt><dd>${range(a.trainingWindow.trainCutoffs)}</dd>
${Array.isArray(m.gapCutoffs) ? `<dt>Gap (unused)</dt><dd>${range(m.gapCutoffs as string[])}: their labels would reach into the validation period</dd>` : ""}
<dt>Validation cutoffs</dt><dd>${range(a.trainingWindow.validationCutoffs)}</dd>
${forest ? `<dt>Forest</dt><dd>${Object.entries(forest).map(([k, v]) => `${e(k)} ${e(String(v))}`).join(", ")}</dd>` : ""}
</dl>
${input.perCutoff ? cutoffTable("Training rows per cutoff", input.perCutoff.train) + cutoffTable("Validation rows per cutoff", input.perCutoff.validation) : ""}
</body></html>
`;
}
