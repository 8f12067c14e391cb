/**
 * The parts every digest shares, whatever it lists: the KPI table (the segment next to the
 * company) and the trend charts, in HTML and as plain text. The at-risk digest (render-digest.ts)
 * and the win-back digest (render-winback.ts) differ in their customers, not in these.
 */
import type { KpiChange } from "../kpi/report.js";
import type { SegmentTrend } from "../kpi/segment-trends.js";
import { escapeHtml as esc } from "../lib/html.js";
import { arrow, type MailFormat } from "./format.js";
import { ASSESSMENT_COLOURS, barChart, columns, heading, MUTED, sparkline } from "./layout.js";

export const SMALL = `font-size:12px;line-height:1.4;color:${MUTED}`;

/** "<segment id>-<period>.csv", ASCII only (the period key, else the label with everything else dropped). */
export function csvFilename(segmentId: string, period: { periodKey?: string; periodLabel: string }): string {
  const key = (period.periodKey ?? period.periodLabel).replace(/[^A-Za-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  return `${segmentId}${key ? `-${key}` : ""}.csv`;
}

/** What the KPI block shows: the company's KPIs and, when given, the segment's next to them. */
export interface KpiParts {
  kpis: readonly KpiChange[];
  segmentKpis?: readonly KpiChange[] | null;
  kpiPeriodDays?: number;
}

/**
 * The titles of a trend block. The size chart is the same in every digest; the other two say what
 * the segment stands to lose (value at risk, realised churn) or to regain (value, won back).
 */
export interface TrendLabels {
  value: string;
  outcome: string;
  outcomeNote: string;
}

export function atRiskTrendLabels(f: MailFormat): TrendLabels {
  return { value: f.tr.t("trend", "valueAtRisk"), outcome: f.tr.t("trend", "churn"), outcomeNote: f.tr.t("trend", "churnNote") };
}

export function winbackTrendLabels(f: MailFormat): TrendLabels {
  return { value: f.tr.t("trend", "value"), outcome: f.tr.t("trend", "wonBack"), outcomeNote: f.tr.t("trend", "wonBackNote") };
}

// ---------------------------------------------------------------------------------------- HTML

function kpiCell(k: KpiChange | undefined, f: MailFormat): string {
  if (!k) return `<td style="padding:6px 4px;vertical-align:top"></td>`;
  const colour = k.assessment ? ASSESSMENT_COLOURS[k.assessment]! : MUTED;
  const change = f.kpiChange(k);
  return (
    `<td style="padding:6px 4px;vertical-align:top;text-align:right">` +
    `<div style="font-size:14px;font-weight:600">${esc(f.kpiValue(k.unit, k.value))}</div>` +
    (change ? `<div style="font-size:12px;line-height:1.4;color:${colour}">${esc(`${arrow(k.direction)} ${change}`)}</div>` : "") +
    (k.previous === null ? "" : `<div style="${SMALL}">${esc(f.tr.t("digest", "previous", { value: f.kpiValue(k.unit, k.previous) }))}</div>`) +
    `</td>`
  );
}

export function kpiBlock(input: KpiParts, f: MailFormat): string {
  const company = input.kpis;
  const seg = input.segmentKpis ?? null;
  if (company.length === 0 && !seg?.length) return "";
  const keys = (seg?.length ? seg : company).map((k) => k.key);
  const byKey = (list: readonly KpiChange[] | null) => new Map((list ?? []).map((k) => [k.key, k]));
  const segMap = byKey(seg), companyMap = byKey(company);
  const th = `padding:4px;font-size:12px;font-weight:600;color:${MUTED};vertical-align:bottom;border-bottom:1px solid #d0d7de`;
  const head =
    `<tr><th style="${th};text-align:left">${esc(f.tr.t("digest", "kpiColumn"))}</th>` +
    (seg ? `<th style="${th};text-align:right;width:30%">${esc(f.tr.t("digest", "kpiSegment"))}</th>` : "") +
    (company.length ? `<th style="${th};text-align:right;width:30%">${esc(f.tr.t("digest", "kpiCompany"))}</th>` : "") +
    `</tr>`;
  const rows = keys.map((key) =>
    `<tr style="border-bottom:1px solid #eaeef2"><td style="padding:6px 4px;vertical-align:top;font-size:13px;line-height:1.35">${esc(f.tr.t("kpi", key))}</td>` +
    (seg ? kpiCell(segMap.get(key), f) : "") +
    (company.length ? kpiCell(companyMap.get(key), f) : "") +
    `</tr>`,
  );
  const period = input.kpiPeriodDays ? `<p style="${SMALL};margin:0 0 6px">${esc(f.tr.t("digest", "kpiPeriod", { days: input.kpiPeriodDays }))}</p>` : "";
  return (
    heading(f.tr.t("digest", "kpiHeading")) + period +
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;width:100%">${head}${rows.join("")}</table>`
  );
}

const CHART_WIDTH = 188;
const CHART_GAP = 14;

export function trendBlock(trend: SegmentTrend | null | undefined, f: MailFormat, labels: TrendLabels): string {
  if (!trend || trend.firstWeek === null) return "";
  const weeks = trend.weeks;
  const n = weeks.length;
  const titles = (fmt: (v: number) => string, values: (number | null)[]) =>
    values.map((v, i) => `${f.tr.t("trend", "week", { date: f.shortDate(weeks[i]!.weekStart) })}: ${v === null ? f.tr.t("trend", "noData") : fmt(v)}`);
  const chart = (title: string, values: (number | null)[], fmt: (v: number) => string) => {
    const latest = [...values].reverse().find((v) => v !== null) ?? null;
    const first = values[0] ?? null;
    const label = `${title}: ${titles(fmt, values).join("; ")}`;
    return (
      `<div style="${SMALL};min-height:34px">${esc(title)}</div>` +
      `<div style="font-size:18px;font-weight:600;margin:2px 0 4px">${esc(latest === null ? f.tr.t("trend", "noData") : f.tr.t("trend", "latest", { value: fmt(latest) }))}</div>` +
      barChart({ values, titles: titles(fmt, values), label }) +
      `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse"><tr>` +
      `<td style="${SMALL};font-size:11px;padding-top:2px">${esc(f.shortDate(weeks[0]!.weekStart))}</td>` +
      `<td style="${SMALL};font-size:11px;padding-top:2px;text-align:right">${esc(f.shortDate(weeks[n - 1]!.weekStart))}</td></tr></table>` +
      `<div style="${SMALL};margin:2px 0 14px">${esc(first === null ? "\u00A0" : f.tr.t("trend", "weeksAgo", { weeks: n - 1, value: fmt(first) }))}</div>`
    );
  };
  const size = weeks.map((w) => w.customers);
  const value = weeks.map((w) => w.valueAtRisk);
  const outcome = weeks.map((w) => w.churnRate);
  const charts = columns([
    { html: chart(f.tr.t("trend", "size"), size, (v) => f.number(v, 0)), maxWidth: CHART_WIDTH, gap: CHART_GAP },
    { html: chart(labels.value, value, (v) => f.money(v)), maxWidth: CHART_WIDTH, gap: CHART_GAP },
    { html: chart(labels.outcome, outcome, (v) => f.percent(v)), maxWidth: CHART_WIDTH },
  ]);
  const since = weeks[0]!.customers === null ? `<p style="${SMALL};margin:0 0 4px">${esc(f.tr.t("trend", "since", { date: f.shortDate(trend.firstWeek) }))}</p>` : "";
  return heading(f.tr.t("trend", "heading", { weeks: n })) + charts + since + `<p style="${SMALL};margin:0">${esc(labels.outcomeNote)}</p>`;
}

// ---------------------------------------------------------------------------------------- text

export function kpiText(lines: string[], input: KpiParts, f: MailFormat): void {
  const { tr } = f;
  const seg = input.segmentKpis?.length ? input.segmentKpis : null;
  if (!input.kpis.length && !seg) return;
  lines.push("", tr.t("digest", "kpiHeading"));
  if (input.kpiPeriodDays) lines.push(tr.t("digest", "kpiPeriod", { days: input.kpiPeriodDays }));
  const one = (k: KpiChange) => {
    const change = f.kpiChange(k);
    return `${f.kpiValue(k.unit, k.value)}${change ? ` ${arrow(k.direction)} ${change}` : ""}`;
  };
  const company = new Map(input.kpis.map((k) => [k.key, k]));
  for (const k of seg ?? input.kpis) {
    const label = tr.t("kpi", k.key);
    if (!seg) {
      lines.push(`  ${label}: ${one(k)}`);
      continue;
    }
    const c = company.get(k.key);
    lines.push(`  ${label}: ${tr.t("digest", "kpiSegment")} ${one(k)}${c ? `; ${tr.t("digest", "kpiCompany")} ${one(c)}` : ""}`);
  }
}

export function trendText(lines: string[], trend: SegmentTrend | null | undefined, f: MailFormat, labels: TrendLabels): void {
  if (!trend || trend.firstWeek === null) return;
  const { tr } = f;
  const n = trend.weeks.length;
  lines.push("", tr.t("trend", "heading", { weeks: n }));
  const series = (title: string, values: (number | null)[], fmt: (v: number) => string) => {
    const latest = [...values].reverse().find((v) => v !== null) ?? null;
    const first = values[0] ?? null;
    const ends = [
      latest === null ? tr.t("trend", "noData") : tr.t("trend", "latest", { value: fmt(latest) }),
      first === null ? null : tr.t("trend", "weeksAgo", { weeks: n - 1, value: fmt(first) }),
    ].filter(Boolean).join(", ");
    lines.push(`  ${title}: ${sparkline(values)} ${ends}`);
  };
  series(tr.t("trend", "size"), trend.weeks.map((w) => w.customers), (v) => f.number(v, 0));
  series(labels.value, trend.weeks.map((w) => w.valueAtRisk), (v) => f.money(v));
  series(labels.outcome, trend.weeks.map((w) => w.churnRate), (v) => f.percent(v));
}
