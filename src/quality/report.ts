/**
 * The `churnwatch evaluate --live` report: a text summary for the console and a self-contained HTML
 * page (inline CSS and SVG, no scripts), built from the same pieces as the training report
 * (training/svg.ts charts, lib/html.ts escaping). What the model did at T against what it claimed
 * at training, realised churn per level, the stored series, feature drift and the saved KPI.
 * For the CLI only: the worker never imports it (it reaches src/training/svg.ts).
 */
import { describeSavedKpi, type SavedKpi } from "../kpi/saved.js";
import { escapeHtml as e } from "../lib/html.js";
import type { ModelArtifact } from "../model/artifact.js";
import { lineChart, PALETTE } from "../training/svg.js";
import { describeEvaluation } from "./describe.js";
import type { DriftReport } from "./drift.js";
import type { LiveEvaluation } from "./live.js";
import type { LiveMetricValues } from "./metrics.js";

export interface LiveReportInput {
  /** The model the report is about (its horizon, expectations and training profile). */
  artifact: ModelArtifact;
  /** The evaluation at T, one per model version whose scores were in force (most customers first). */
  evaluations: LiveEvaluation[];
  /** Stored evaluations of the daily job, oldest first. */
  series: LiveEvaluation[];
  drift: DriftReport | null;
  saved: SavedKpi | null;
  notes: string[];
  generatedAt?: Date;
}

const f = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(d));
const pct = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? "-" : `${(v * 100).toFixed(1)}%`);
const n = (v: number) => v.toLocaleString("en");

function table(cells: string[][]): string {
  const widths = cells[0]!.map((_, j) => Math.max(...cells.map((r) => (r[j] ?? "").length)));
  return cells.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join("  ")).join("\n");
}

function metricRow(name: string, m: LiveMetricValues): string[] {
  return [name, n(m.rows), n(m.positives), f(m.rocAuc), f(m.precisionTop10), f(m.ece), f(m.brier, 4)];
}

export function liveReportText(r: LiveReportInput): string {
  const out: string[] = [];
  for (const ev of r.evaluations) {
    out.push(
      `model ${ev.modelVersion}: scores in force at ${ev.asOf.slice(0, 10)} (${ev.source === "backtest" ? "backtest: re-scored from raw_event" : "score_history: as published"}), ` +
        `outcomes in the ${ev.horizonDays} days after, read ${ev.evaluatedAt.slice(0, 10)}`,
    );
    const x = ev.expected;
    const rows = [["", "customers", "churned", "ROC AUC", "prec@10%", "ECE", "Brier"], metricRow("live", ev)];
    if (ev.treated > 0) rows.push(metricRow("untreated", ev.untreated));
    if (x) {
      const interval = x.rocAucInterval ? ` [${f(x.rocAucInterval[0])}, ${f(x.rocAucInterval[1])}]` : "";
      rows.push(["at training", "", "", `${f(x.rocAuc)}${interval}`, f(x.precisionTop10), f(x.ece), ""]);
    }
    out.push(table(rows));
    const trained = new Map((x?.bands ?? []).map((b) => [b.level, b.churnRate]));
    out.push(`bands: ${ev.bands.slice().reverse().map((b) =>
      `${b.level} ${pct(b.churnRate)} of ${n(b.rows)} (predicted ${pct(b.meanPredicted)}${trained.has(b.level) ? `, at training ${pct(trained.get(b.level))}` : ""})`).join("; ")}`);
    if (ev.treated > 0) out.push(`${n(ev.treated)} customers were reached by a retention team within the horizon (row "untreated" leaves them out)`);
    if (ev.outsidePopulation > 0) out.push(`${n(ev.outsidePopulation)} scores in force belonged to customers no longer in the model's population at T (lapsed or cancelled): not graded`);
    out.push("");
  }
  if (r.evaluations.length === 0) out.push("no scores to grade at that instant", "");
  if (r.drift && r.drift.rows === 0) {
    out.push("feature drift: nobody is scored now (customer_score is empty): nothing to compare with the training rows", "");
  } else if (r.drift) {
    const d = r.drift;
    out.push(`feature drift: ${n(d.rows)} customers scored now vs ${n(d.trainingRows)} training rows, PSI threshold ${d.threshold}` +
      (d.drifted.length ? `; ${d.drifted.length} above it` : "; none above it"));
    out.push(table([["feature", "PSI", ""], ...d.features.slice(0, 15).map((x) => [x.feature, f(x.psi), x.psi > d.threshold ? "DRIFT" : ""])]));
    out.push("");
  } else {
    out.push(`feature drift: model ${r.artifact.modelVersion} records no training profile (trained before it existed)`, "");
  }
  if (r.saved) out.push(describeSavedKpi(r.saved), "");
  if (r.series.length > 0) {
    out.push(`stored daily evaluations (${r.series.length}):`);
    out.push(table([["scored at", "model", "customers", "churned", "ROC AUC", "prec@10%", "ECE"],
      ...r.series.map((s) => [s.asOf.slice(0, 10), s.modelVersion, n(s.rows), n(s.positives), f(s.rocAuc), f(s.precisionTop10), f(s.ece)])]));
    out.push("");
  }
  for (const note of r.notes) out.push(`note: ${note}`);
  return out.join("\n").trimEnd() + "\n";
}

function bandsTable(ev: LiveEvaluation): string {
  const trained = new Map((ev.expected?.bands ?? []).map((b) => [b.level, b.churnRate]));
  const rows = ev.bands.slice().reverse().map((b) => {
    const range = b.from === null ? "-" : b.level === "high" ? `≥ ${f(b.from, 2)}` : b.level === "low" ? `&lt; ${f(b.to, 2)}` : `${f(b.from, 2)} – ${f(b.to, 2)}`;
    return `<tr><th>${e(b.level)}</th><td>${range}</td><td>${n(b.rows)}</td><td>${pct(b.meanPredicted)}</td><td>${pct(b.churnRate)}</td><td>${pct(trained.get(b.level))}</td></tr>`;
  }).join("");
  return `<table><tr><th>Level</th><th>Probability</th><th>Customers</th><th>Predicted (mean)</th><th>Churned</th><th>At training</th></tr>${rows}</table>`;
}

function metricsTableHtml(ev: LiveEvaluation): string {
  const row = (name: string, m: LiveMetricValues) =>
    `<tr><th>${e(name)}</th><td>${n(m.rows)}</td><td>${n(m.positives)}</td><td>${f(m.rocAuc)}</td><td>${pct(m.precisionTop10)}</td><td>${f(m.ece)}</td><td>${f(m.brier, 4)}</td></tr>`;
  const x = ev.expected;
  const trained = x
    ? `<tr><th>at training (test period)</th><td></td><td></td><td>${f(x.rocAuc)}${x.rocAucInterval ? `<br><span class="ci">${f(x.rocAucInterval[0])}–${f(x.rocAucInterval[1])}</span>` : ""}</td><td>${pct(x.precisionTop10)}</td><td>${f(x.ece)}</td><td></td></tr>`
    : "";
  return `<table class="metrics"><tr><th></th><th>Customers</th><th>Churned</th><th>ROC AUC</th><th>Precision top 10%</th><th>ECE</th><th>Brier</th></tr>` +
    row("live", ev) + (ev.treated > 0 ? row("live, untreated", ev.untreated) : "") + trained + `</table>`;
}

export function renderLiveReport(r: LiveReportInput): string {
  const a = r.artifact;
  const sections: string[] = [];
  for (const ev of r.evaluations) {
    const reliability = lineChart({
      title: "Predicted vs realised churn per risk level",
      series: [{ name: `${ev.modelVersion} at ${ev.asOf.slice(0, 10)}`, points: ev.bands.filter((b) => b.rows > 0).map((b) => ({ x: b.meanPredicted ?? 0, y: b.churnRate ?? 0 })), color: PALETTE[0]!, markers: true }],
      xLabel: "mean predicted churn probability of the level",
      yLabel: "realised churn rate",
      x: [0, 1],
      y: [0, 1],
      diagonal: true,
      legendCorner: "tl",
    });
    sections.push(`<h2>Model ${e(ev.modelVersion)}: scores in force at ${e(ev.asOf.slice(0, 10))}</h2>
<p class="sub">${ev.source === "backtest" ? "Backtest: scores re-computed from the event history as of that instant with this model (not what the worker published)." : "The scores the worker had published at that instant (score_history)."}
Outcomes: churned = no purchase or a cancellation in the ${ev.horizonDays} days after, read ${e(ev.evaluatedAt.slice(0, 10))}.</p>
<ul>${describeEvaluation(ev).map((l) => `<li>${e(l)}</li>`).join("")}</ul>
${metricsTableHtml(ev)}
<div class="grid"><figure>${reliability}<figcaption>Points near the diagonal: customers rated at x% churned about x% of the time.</figcaption></figure>
<div>${bandsTable(ev)}</div></div>`);
  }
  if (r.evaluations.length === 0) sections.push("<p>No scores to grade at that instant.</p>");

  const versions = [...new Set(r.series.map((s) => s.modelVersion))];
  if (r.series.length > 1) {
    const t0 = Date.parse(r.series[0]!.asOf);
    const day = (s: LiveEvaluation) => (Date.parse(s.asOf) - t0) / 86_400_000;
    const lines = versions.map((v, i) => ({
      name: `${v} ROC AUC`,
      points: r.series.filter((s) => s.modelVersion === v && s.rocAuc !== null).map((s) => ({ x: day(s), y: s.rocAuc! })),
      color: PALETTE[i % PALETTE.length]!,
      markers: true,
    }));
    const bounds = versions.flatMap((v, i) => {
      const lower = r.series.find((s) => s.modelVersion === v)?.expected?.rocAucInterval?.[0];
      const xs = r.series.filter((s) => s.modelVersion === v).map(day);
      return lower === undefined ? [] : [{ name: `${v} validated lower bound`, points: [{ x: Math.min(...xs), y: lower }, { x: Math.max(...xs), y: lower }], color: PALETTE[i % PALETTE.length]!, dashed: true }];
    });
    sections.push(`<h2>Over time</h2><figure>${lineChart({
      title: "Live ROC AUC by the day the scores were made",
      series: [...lines, ...bounds],
      xLabel: `days since ${r.series[0]!.asOf.slice(0, 10)}`,
      yLabel: "ROC AUC",
      legendCorner: "br",
    })}</figure>`);
  }
  if (r.series.length > 0) {
    sections.push(`<details${r.series.length <= 14 ? " open" : ""}><summary>Stored daily evaluations (${r.series.length})</summary><table><tr><th>Scores at</th><th>Model</th><th>Customers</th><th>Churned</th><th>ROC AUC</th><th>Precision top 10%</th><th>ECE</th></tr>${r.series
      .map((s) => `<tr><td>${e(s.asOf.slice(0, 10))}</td><td>${e(s.modelVersion)}</td><td>${n(s.rows)}</td><td>${n(s.positives)}</td><td>${f(s.rocAuc)}</td><td>${pct(s.precisionTop10)}</td><td>${f(s.ece)}</td></tr>`).join("")}</table></details>`);
  }

  if (r.drift && r.drift.rows === 0) {
    sections.push("<h2>Feature drift</h2><p>Nobody is scored now (customer_score is empty): nothing to compare with the training rows.</p>");
  } else if (r.drift) {
    const d = r.drift;
    const max = Math.max(d.threshold * 2, ...d.features.map((x) => x.psi));
    const rows = d.features.map((x) => `<tr class="${x.psi > d.threshold ? "drift" : ""}"><td><code>${e(x.feature)}</code></td><td>${f(x.psi)}</td>` +
      `<td class="bar"><span style="width:${((Math.min(x.psi, max) / max) * 100).toFixed(1)}%"></span></td></tr>`).join("");
    sections.push(`<h2>Feature drift</h2><p>Population stability index of each feature: ${n(d.trainingRows)} training rows (the bins recorded in the artifact) against the ${n(d.rows)} customers scored now.
Above ${d.threshold} (highlighted) a feature's values have shifted enough that the model scores customers unlike those it learned from.</p>
<table class="psi"><tr><th>Feature</th><th>PSI</th><th></th></tr>${rows}</table>`);
  } else {
    sections.push(`<h2>Feature drift</h2><p>Model ${e(a.modelVersion)} records no training profile (trained before it existed): retrain it to measure drift.</p>`);
  }
  if (r.saved) sections.push(`<h2>Saved customers</h2><p>${e(describeSavedKpi(r.saved))} Not a causal estimate: teams choose whom to call.</p>`);

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Live quality: ${e(a.modelVersion)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#1b1f24}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}.sub{color:#555}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
table.metrics th{background:#f6f8fa}.ci{color:#666;font-size:11px}.notes li{margin:4px 0}code{background:#f6f8fa;padding:0 3px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(430px,1fr));gap:16px;align-items:start}figure{margin:0}figcaption{color:#555;font-size:13px}
svg .tick{font-size:10px;fill:#555}svg .axis{font-size:11px;fill:#333}svg .legend{font-size:11px;fill:#333}
tr.drift td{background:#fff4e5;font-weight:700}td.bar{width:260px}td.bar span{display:block;height:10px;background:#1f6feb}
</style></head><body>
<h1>Live model quality: ${e(a.modelVersion)}${a.starter ? " (starter)" : ""}</h1>
<div class="sub">${e(a.description)} · horizon ${a.churnDefinition.horizonDays} days · report generated ${(r.generatedAt ?? new Date()).toISOString()}</div>
${r.notes.length ? `<ul class="notes">${r.notes.map((x) => `<li>${e(x)}</li>`).join("")}</ul>` : ""}
${sections.join("\n")}
</body></html>
`;
}
