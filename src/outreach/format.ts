/** Number formatting shared by digests and alerts, so a value reads the same in HTML, text and subject. */
import type { KpiChange, KpiUnit } from "../kpi/report.js";

const moneyFormats = new Map<string, Intl.NumberFormat>();

export function formatMoney(amount: number, currency: string, fractionDigits = 0): string {
  const key = `${currency}:${fractionDigits}`;
  let f = moneyFormats.get(key);
  if (f === undefined) {
    f = new Intl.NumberFormat("en-GB", {
      style: "currency", currency, minimumFractionDigits: fractionDigits, maximumFractionDigits: fractionDigits,
    });
    moneyFormats.set(key, f);
  }
  return f.format(amount);
}

/** A probability as a whole percentage: "0.734" -> "73%". Finer digits would suggest a precision the model lacks. */
export function formatScore(score: number): string {
  return `${Math.round(score * 100)}%`;
}

const grouped = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });
const twoDigits = new Intl.NumberFormat("en-GB", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function formatKpiValue(unit: KpiUnit, value: number | null, currency: string): string {
  if (value === null) return "n/a";
  switch (unit) {
    case "count":
      return grouped.format(value);
    case "percent":
      return `${value.toFixed(1)}%`;
    case "currency":
      return formatMoney(value, currency, 2);
    case "nps":
      return `${value > 0 ? "+" : ""}${value.toFixed(0)}`;
    case "number":
      return twoDigits.format(value);
  }
}

function signed(text: string, negative: boolean): string {
  return `${negative ? "-" : "+"}${text}`;
}

/** "+2.3 pts", "-€4.20 (-7.5%)", "+12 (+3.1%)"; empty when there is no previous period to compare with. */
export function formatKpiChange(k: KpiChange, currency: string): string {
  if (k.change === null) return "";
  if (k.direction === "flat") return "unchanged";
  const neg = k.change < 0;
  const abs = Math.abs(k.change);
  const rel = k.relativeChange === null ? "" : ` (${signed(`${Math.abs(k.relativeChange).toFixed(1)}%`, k.relativeChange < 0)})`;
  switch (k.unit) {
    case "percent":
      return signed(`${abs.toFixed(1)} pts`, neg);
    case "nps":
      return signed(abs.toFixed(0), neg);
    case "count":
      return signed(grouped.format(abs), neg) + rel;
    case "currency":
      return signed(formatMoney(abs, currency, 2), neg) + rel;
    case "number":
      return signed(twoDigits.format(abs), neg);
  }
}

export function arrow(direction: KpiChange["direction"]): string {
  return direction === "up" ? "\u25B2" : direction === "down" ? "\u25BC" : direction === "flat" ? "\u2192" : "";
}
