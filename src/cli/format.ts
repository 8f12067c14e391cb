/** Plain-text tables for the console: metrics of the model next to the baselines. */
import type { MetricSet } from "../model/artifact.js";

const COLUMNS: [keyof MetricSet, string, (v: number) => string][] = [
  ["rows", "rows", (v) => v.toLocaleString("en")],
  ["positives", "churned", (v) => v.toLocaleString("en")],
  ["rocAuc", "ROC AUC", (v) => v.toFixed(4)],
  ["prAuc", "PR AUC", (v) => v.toFixed(4)],
  ["brier", "Brier", (v) => v.toFixed(4)],
  ["liftTop10", "lift@10%", (v) => v.toFixed(2)],
  ["precisionTop10", "prec@10%", (v) => v.toFixed(3)],
];

export function metricsTable(rows: [string, MetricSet][]): string {
  const cells = [["", ...COLUMNS.map((c) => c[1])], ...rows.map(([name, m]) => [name, ...COLUMNS.map(([k, , f]) => (Number.isFinite(m[k]) ? f(m[k]) : "n/a"))])];
  const widths = cells[0]!.map((_, j) => Math.max(...cells.map((r) => r[j]!.length)));
  return cells.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join("  ")).join("\n");
}
