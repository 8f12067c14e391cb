/** Plain-text tables for the console: metrics of the model next to the baselines, with intervals when known. */
import type { MetricSet } from "../model/artifact.js";
import type { BandOutcome } from "../training/thresholds.js";

type Key = "rocAuc" | "prAuc" | "brier" | "liftTop10" | "precisionTop10" | "ece";

const COLUMNS: [Key, string, (v: number) => string][] = [
  ["rocAuc", "ROC AUC", (v) => v.toFixed(3)],
  ["prAuc", "PR AUC", (v) => v.toFixed(3)],
  ["brier", "Brier", (v) => v.toFixed(4)],
  ["liftTop10", "lift@10%", (v) => v.toFixed(2)],
  ["precisionTop10", "prec@10%", (v) => v.toFixed(3)],
  ["ece", "ECE", (v) => v.toFixed(3)],
];

export function metricsTable(rows: [string, MetricSet][]): string {
  const cell = (m: MetricSet, k: Key, f: (v: number) => string): string => {
    const v = m[k];
    if (v === undefined || !Number.isFinite(v)) return "n/a";
    const ci = m.intervals?.[k];
    return ci ? `${f(v)} [${f(ci[0])}, ${f(ci[1])}]` : f(v);
  };
  const cells = [
    ["", "rows", "churned", ...COLUMNS.map((c) => c[1])],
    ...rows.map(([name, m]) => [name, m.rows.toLocaleString("en"), m.positives.toLocaleString("en"), ...COLUMNS.map(([k, , f]) => cell(m, k, f))]),
  ];
  const widths = cells[0]!.map((_, j) => Math.max(...cells.map((r) => r[j]!.length)));
  return cells.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join("  ")).join("\n");
}

const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : "-");

/** "high (>= 0.6) 12.0% of rows, churned 71.3% [66.0%, 76.1%]; ..." */
export function bandsLine(bands: readonly BandOutcome[]): string {
  return bands
    .slice()
    .reverse()
    .map((b) => {
      const range = b.level === "high" ? `>= ${b.from}` : b.level === "low" ? `< ${b.to}` : `${b.from}-${b.to}`;
      const ci = b.churnRateInterval ? ` [${pct(b.churnRateInterval[0])}, ${pct(b.churnRateInterval[1])}]` : "";
      return `${b.level} (${range}) ${pct(b.share)} of rows, churned ${pct(b.churnRate)}${ci}`;
    })
    .join("; ");
}
