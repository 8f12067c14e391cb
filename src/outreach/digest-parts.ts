/**
 * The parts every digest shares, whatever it lists: the KPI table (the segment next to the
 * company), the trend charts, the frame around the customers (heading, summary, action, footer)
 * and the head of each customer's block, in HTML and as plain text. The at-risk digest
 * (render-digest.ts) and the win-back digest (render-winback.ts) differ in their customers' facts
 * and in their texts, not in these.
 */
import type { KpiChange } from "../kpi/report.js";
import type { SegmentTrend } from "../kpi/segment-trends.js";
import type { RenderedDigest } from "./render-digest.js";
import { escapeHtml as esc, safeHref } from "../lib/html.js";
import { describeConditions, displayName, type SegmentView } from "./customer.js";
import { arrow, type MailFormat } from "./format.js";
import { actionBox, ASSESSMENT_COLOURS, barChart, columns, heading, LINK, MUTED, page, PAGE_MAX_WIDTH, PAGE_PADDING, sparkline } from "./layout.js";

/** Who a customer block names, whatever the digest: id, name, e-mail, language. */
export interface ContactCustomer {
  customerId: string;
  name?: string | null;
  email?: string | null;
  locale?: string | null;
}

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

// ---------------------------------------------------------------------------------------- the frame

/** What a digest's frame reads from its input (render-digest.ts DigestCommon). */
export interface FrameInput extends KpiParts {
  segment: SegmentView;
  periodLabel: string;
  trend?: SegmentTrend | null;
  unsubscribeUrl?: string | null;
}

/**
 * The texts that make a digest at-risk or win-back around the same frame: heading, KPIs, trends,
 * summary, suggested action, the customers, the footer and unsubscribe.
 */
export interface FrameTexts {
  heading: string;
  trendLabels: TrendLabels;
  summary: string;
  cooldownNote: string;
  footer: string;
  textTitle: string;
  textFooter: string;
  /** A line after the footer (the at-risk digest's model check); null: none. */
  note: string | null;
}

/**
 * A digest's subject and frame texts from its catalogue group: "digest" (at risk, `total` is the
 * value at risk) or "winback" (`total` is the value), which have the same keys for these.
 */
export function digestTexts(
  input: FrameInput & { inCooldown?: number },
  f: MailFormat,
  group: "digest" | "winback",
  o: { count: number; shown: number; total: number; trendLabels: TrendLabels; note: string | null },
): { subject: string; frame: FrameTexts } {
  const { tr } = f;
  const { segment, periodLabel: period } = input;
  const { count } = o;
  const subject = count === 0
    ? tr.t(group, "subjectNone", { segment: segment.name, period })
    : tr.t(group, "subjectSome", { segment: segment.name, count, value: f.money(o.total), period });
  const summary = count === 0
    ? tr.t(group, "summaryNone")
    : `${tr.t(group, "summarySome", { count, value: f.money(o.total) })} ` +
      (count > o.shown ? tr.t(group, "summaryTop", { shown: o.shown, count }) : tr.t("digest", "summaryAll"));
  const rule = describeConditions(segment.when, f);
  return {
    subject,
    frame: {
      heading: tr.t(group, "heading", { period }),
      trendLabels: o.trendLabels,
      summary,
      cooldownNote: input.inCooldown && input.inCooldown > 0 ? tr.t(group, "cooldown", { count: input.inCooldown }) : "",
      footer: tr.t(group, "footer", { segment: segment.name, id: segment.id, rule }),
      textTitle: tr.t(group, "textTitle", { segment: segment.name, period }),
      textFooter: tr.t(group, "textFooter", { id: segment.id, rule }),
      note: o.note,
    },
  };
}

/** The customer's name, id, language and e-mail: the head of a customer block in HTML. */
export function customerHeadHtml(c: ContactCustomer, rank: number, f: MailFormat): string {
  const idLine = [c.name ? c.customerId : null, c.locale ? f.tr.t("digest", "language", { language: f.languageName(c.locale) }) : null].filter(Boolean).join(" \u00B7 ");
  return (
    `<div style="font-size:15px;font-weight:600;line-height:1.35">${rank}. ${esc(displayName(c))}</div>` +
    (idLine ? `<div style="${SMALL}">${esc(idLine)}</div>` : "") +
    (c.email ? `<div style="font-size:13px;line-height:1.4"><a href="mailto:${esc(encodeURI(c.email))}" style="color:${LINK}">${esc(c.email)}</a></div>` : "")
  );
}

/** A customer block: facts on the left, the why (with the CRM link under it) on the right; stacked on a phone. */
export function customerBlockHtml(facts: string, why: string, link: string | null, f: MailFormat): string {
  const href = safeHref(link ?? "");
  const right = why + (href ? `<div style="margin-top:6px;font-size:14px"><a href="${esc(href)}" style="color:${LINK}">${esc(f.tr.t("digest", "openInCrm"))}</a></div>` : "");
  const content = PAGE_MAX_WIDTH - 2 * PAGE_PADDING;
  return (
    `<div style="border-top:1px solid #d8dee4;padding:12px 0 4px">` +
    columns([
      { html: `<div style="padding:0 0 8px">${facts}</div>`, maxWidth: 240, gap: 16 },
      { html: `<div style="padding:0 0 8px">${right}</div>`, maxWidth: content - 240 - 16 - 8 },
    ]) +
    `</div>`
  );
}

function frameHtml(input: FrameInput, f: MailFormat, t: FrameTexts, customers: readonly string[]): string {
  const { segment } = input;
  const { tr } = f;
  const unsubscribe = input.unsubscribeUrl && /^(https:|mailto:)/i.test(input.unsubscribeUrl) ? input.unsubscribeUrl : null;
  const body = [
    heading(segment.name, 1),
    `<div style="${SMALL};font-size:13px">${esc(t.heading)}${segment.description ? ` \u00B7 ${esc(segment.description)}` : ""}</div>`,
    kpiBlock(input, f),
    trendBlock(input.trend, f, t.trendLabels),
    heading(tr.t("digest", "customersHeading")),
    `<p style="font-size:14px;line-height:1.45;margin:0 0 8px">${esc(t.summary)}</p>`,
    t.cooldownNote ? `<p style="${SMALL};font-size:13px;margin:0 0 8px">${esc(t.cooldownNote)}</p>` : "",
    actionBox(tr.t("digest", "suggestedAction"), segment.action),
    customers.join("\n"),
    `<p style="${SMALL};margin-top:20px;border-top:1px solid #d8dee4;padding-top:12px">${esc(t.footer)}` +
      (unsubscribe ? ` <a href="${esc(unsubscribe)}" style="color:${MUTED}">${esc(tr.t("digest", "unsubscribe"))}</a>` : "") +
      `</p>`,
    t.note ? `<p style="${SMALL};margin-top:8px">${esc(t.note)}</p>` : "",
  ].filter((s) => s !== "").join("\n");
  return page({ lang: f.locale, title: segment.name, body, preheader: t.summary });
}

/** A customer in the plain-text digest: the head line, then `detail` lines (indented) and the CRM link. */
export function customerText(c: ContactCustomer, rank: number, f: MailFormat, detail: readonly string[], link: string | null): string[] {
  return [
    "",
    `${rank}. ${displayName(c)}${c.name ? ` (${c.customerId})` : ""}${c.email ? ` <${c.email}>` : ""}` +
      `${c.locale ? ` \u00B7 ${f.tr.t("digest", "language", { language: f.languageName(c.locale) })}` : ""}`,
    ...detail.map((l) => `   ${l}`),
    ...(link ? [`   ${link}`] : []),
  ];
}

function frameText(input: FrameInput, f: MailFormat, t: FrameTexts, customers: readonly (readonly string[])[]): string {
  const { segment } = input;
  const { tr } = f;
  const lines: string[] = [t.textTitle];
  if (segment.description) lines.push(segment.description);
  kpiText(lines, input, f);
  trendText(lines, input.trend, f, t.trendLabels);
  lines.push("", tr.t("digest", "customersHeading"), t.summary);
  if (t.cooldownNote) lines.push(t.cooldownNote);
  lines.push("", `${tr.t("digest", "suggestedAction")} ${segment.action}`);
  for (const c of customers) lines.push(...c);
  lines.push("", t.textFooter);
  if (t.note) lines.push(t.note);
  if (input.unsubscribeUrl) lines.push(tr.t("digest", "textUnsubscribe", { url: input.unsubscribeUrl }));
  return `${lines.join("\n")}\n`;
}

/**
 * Everything of a digest but its CSV and sums: subject, the HTML and text frame around its top
 * customers (each rendered by the digest's own functions), the CSV's name and the counts.
 */
export function renderFrame<C>(
  input: FrameInput & { periodKey?: string },
  f: MailFormat,
  texts: { subject: string; frame: FrameTexts },
  rows: { all: readonly C[]; top: readonly C[] },
  html: (c: C, rank: number) => string,
  text: (c: C, rank: number) => string[],
): Pick<RenderedDigest, "subject" | "html" | "text" | "csvFilename" | "shown" | "total"> {
  return {
    subject: texts.subject,
    html: frameHtml(input, f, texts.frame, rows.top.map((c, i) => html(c, i + 1))),
    text: frameText(input, f, texts.frame, rows.top.map((c, i) => text(c, i + 1))),
    csvFilename: csvFilename(input.segment.id, input),
    shown: rows.top.length,
    total: rows.all.length,
  };
}
