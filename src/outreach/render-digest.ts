/**
 * Digest e-mail for one segment, recipient list and period: subject, HTML, plain text and a CSV of
 * the whole segment, in the list's locale. Pure: same input, same output, so the outbox can build
 * the message once and tests can check it without a mail server.
 *
 * Layout (layout.ts): one column that is readable at 400 px and uses the width of a desktop. KPIs
 * are a three-column table of short cells (the segment next to the company); trends are three
 * small bar charts that sit side by side on a desktop and stack on a phone; each customer is a
 * block whose facts and reasons sit side by side or stack the same way. Every interpolated string
 * goes through escapeHtml.
 */
import type { KpiChange } from "../kpi/report.js";
import type { SegmentTrend } from "../kpi/segment-trends.js";
import { toCsv } from "../lib/csv.js";
import { escapeHtml as esc, safeHref } from "../lib/html.js";
import {
  crmLink,
  describeConditions,
  displayName,
  rankCustomers,
  reasonSentences,
  type ScoredCustomer,
  type SegmentView,
} from "./customer.js";
import { arrow, mailFormat, type MailFormat } from "./format.js";
import {
  actionBox,
  ASSESSMENT_COLOURS,
  barChart,
  columns,
  heading,
  LEVEL_COLOURS,
  LINK,
  MUTED,
  page,
  PAGE_MAX_WIDTH,
  PAGE_PADDING,
  sparkline,
} from "./layout.js";
import { trajectoryText, type Trajectory } from "./trajectory.js";

export interface DigestInput {
  /** The segment with its texts in the list's language (segmentTextFor). */
  segment: SegmentView;
  /** Shown in the subject and heading, e.g. "Mon 23 Nov 2026" or "week 48". */
  periodLabel: string;
  /** ASCII name of the period for the CSV file name, e.g. "2026-11-23"; default from the label. */
  periodKey?: string;
  /** Company KPIs with their change against the previous period; may be empty. */
  kpis: readonly KpiChange[];
  /** The same KPIs over the segment's customers, shown next to the company's; absent: company only. */
  segmentKpis?: readonly KpiChange[] | null;
  /** Length of the KPI period, for the line under the heading. */
  kpiPeriodDays?: number;
  /** Everyone in the segment this period (any order): the body shows the top rows, the CSV all. */
  customers: readonly ScoredCustomer[];
  baseCurrency: string;
  /** Used when the segment has no template of its own. */
  crmLinkTemplate?: string | null;
  /** Body rows; default the segment's maxRows, else 25. */
  maxRows?: number;
  /** Customers left out because this team saw them recently and their risk did not rise. */
  inCooldown?: number;
  /** BCP 47 tag of the recipient list (default en-GB). */
  locale?: string;
  /** The team's zone, for dates shown (default UTC). */
  timeZone?: string;
  /** The segment's last weeks (kpi/segment-trends.ts); absent or null: no trend block. */
  trend?: SegmentTrend | null;
  /** Risk trajectories by customer id (trajectory.ts). */
  trajectories?: ReadonlyMap<string, Trajectory>;
  /** The List-Unsubscribe target, also linked in the footer. */
  unsubscribeUrl?: string | null;
}

export interface RenderedDigest {
  subject: string;
  html: string;
  text: string;
  csv: string;
  csvFilename: string;
  /** Rows in the body / in the CSV. */
  shown: number;
  total: number;
  valueAtRisk: number;
}

const CSV_COLUMNS = [
  "rank", "customerId", "name", "email", "churnRiskPct", "riskLevel", "previousRiskPct",
  "value", "valueAtRisk", "reasons", "suggestedAction", "crmLink", "riskTrend", "language",
] as const;

interface Ctx {
  input: DigestInput;
  f: MailFormat;
  template: string | null;
}

export function renderDigest(input: DigestInput): RenderedDigest {
  const { segment } = input;
  const f = mailFormat({ locale: input.locale, timeZone: input.timeZone, currency: input.baseCurrency });
  const { tr } = f;
  const ranked = rankCustomers(input.customers);
  const maxRows = input.maxRows ?? segment.maxRows ?? 25;
  const top = ranked.slice(0, maxRows);
  const template = segment.crmLinkTemplate ?? input.crmLinkTemplate ?? null;
  const valueAtRisk = ranked.reduce((s, c) => s + c.valueAtRisk, 0);
  const count = ranked.length;
  const ctx: Ctx = { input, f, template };

  const subject =
    count === 0
      ? tr.t("digest", "subjectNone", { segment: segment.name, period: input.periodLabel })
      : tr.t("digest", "subjectSome", { segment: segment.name, count, value: f.money(valueAtRisk), period: input.periodLabel });
  const summary =
    count === 0
      ? tr.t("digest", "summaryNone")
      : `${tr.t("digest", "summarySome", { count, value: f.money(valueAtRisk) })} ` +
        (count > top.length ? tr.t("digest", "summaryTop", { shown: top.length, count }) : tr.t("digest", "summaryAll"));
  const cooldownNote = input.inCooldown && input.inCooldown > 0 ? tr.t("digest", "cooldown", { count: input.inCooldown }) : "";
  const rule = describeConditions(segment.when, f);

  const decimal = f.decimalSeparator === "," ? "," : ".";
  const csv = toCsv(
    CSV_COLUMNS.map((k) => tr.t("csv", k)),
    ranked.map((c, i) => [
      i + 1, c.customerId, c.name ?? "", c.email ?? "", Math.round(c.score * 1000) / 10, f.level(c.riskLevel),
      c.lastSeenScore === null ? null : Math.round(c.lastSeenScore * 1000) / 10,
      round2(c.value), round2(c.valueAtRisk), reasonSentences(c.reasons, 10, f).join(" "), segment.action,
      crmLink(template, c.customerId) ?? "", trajectoryOf(ctx, c), c.locale ? f.languageName(c.locale) : "",
    ]),
    f.csvDelimiter,
    decimal,
  );

  const key = (input.periodKey ?? input.periodLabel).replace(/[^A-Za-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  return {
    subject,
    html: renderHtml(ctx, top, { subject, summary, cooldownNote, rule }),
    text: renderText(ctx, top, { summary, cooldownNote, rule }),
    csv,
    csvFilename: `${segment.id}${key ? `-${key}` : ""}.csv`,
    shown: top.length,
    total: count,
    valueAtRisk,
  };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function trajectoryOf(ctx: Ctx, c: ScoredCustomer): string {
  const t = ctx.input.trajectories?.get(c.customerId);
  return t ? trajectoryText(t, ctx.f) : "";
}

/** Change since the team last saw the customer in this list. */
function scoreTrend(c: ScoredCustomer, f: MailFormat): string {
  if (c.lastSeenScore === null) return f.tr.t("digest", "newInList");
  const d = Math.round(c.score * 100) - Math.round(c.lastSeenScore * 100);
  const score = f.score(c.lastSeenScore);
  return d === 0 ? f.tr.t("digest", "unchangedSince", { score }) : f.tr.t("digest", d > 0 ? "upFrom" : "downFrom", { score });
}

interface Parts { summary: string; cooldownNote: string; rule: string }

// ---------------------------------------------------------------------------------------- HTML

const SMALL = `font-size:12px;line-height:1.4;color:${MUTED}`;

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

function kpiBlock(ctx: Ctx): string {
  const { input, f } = ctx;
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

function trendBlock(ctx: Ctx): string {
  const trend = ctx.input.trend;
  if (!trend || trend.firstWeek === null) return "";
  const { f } = ctx;
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
  const var_ = weeks.map((w) => w.valueAtRisk);
  const churn = weeks.map((w) => w.churnRate);
  const charts = columns([
    { html: chart(f.tr.t("trend", "size"), size, (v) => f.number(v, 0)), maxWidth: CHART_WIDTH, gap: CHART_GAP },
    { html: chart(f.tr.t("trend", "valueAtRisk"), var_, (v) => f.money(v)), maxWidth: CHART_WIDTH, gap: CHART_GAP },
    { html: chart(f.tr.t("trend", "churn"), churn, (v) => f.percent(v)), maxWidth: CHART_WIDTH },
  ]);
  const since = weeks[0]!.customers === null ? `<p style="${SMALL};margin:0 0 4px">${esc(f.tr.t("trend", "since", { date: f.shortDate(trend.firstWeek) }))}</p>` : "";
  return heading(f.tr.t("trend", "heading", { weeks: n })) + charts + since + `<p style="${SMALL};margin:0">${esc(f.tr.t("trend", "churnNote"))}</p>`;
}

function customerHtml(ctx: Ctx, c: ScoredCustomer, rank: number): string {
  const { f } = ctx;
  const link = safeHref(crmLink(ctx.template, c.customerId) ?? "");
  const level = LEVEL_COLOURS[c.riskLevel] ?? MUTED;
  const reasons = reasonSentences(c.reasons, 3, f);
  const traj = trajectoryOf(ctx, c);
  const idLine = [c.name ? c.customerId : null, c.locale ? f.tr.t("digest", "language", { language: f.languageName(c.locale) }) : null].filter(Boolean).join(" \u00B7 ");
  const facts =
    `<div style="font-size:15px;font-weight:600;line-height:1.35">${rank}. ${esc(displayName(c))}</div>` +
    (idLine ? `<div style="${SMALL}">${esc(idLine)}</div>` : "") +
    (c.email ? `<div style="font-size:13px;line-height:1.4"><a href="mailto:${esc(encodeURI(c.email))}" style="color:${LINK}">${esc(c.email)}</a></div>` : "") +
    `<div style="font-size:14px;margin-top:6px;color:${level}"><strong>${esc(f.score(c.score))}</strong> ${esc(f.level(c.riskLevel))}</div>` +
    `<div style="${SMALL}">${esc([scoreTrend(c, f), traj].filter(Boolean).join(" \u00B7 "))}</div>` +
    `<div style="font-size:13px;line-height:1.4;margin-top:4px">${esc(f.tr.t("digest", "valueLine", { value: f.money(c.value), atRisk: f.money(c.valueAtRisk) }))}</div>`;
  const why =
    (reasons.length
      ? `<ul style="margin:0;padding-left:18px;font-size:14px;line-height:1.45">${reasons.map((r) => `<li style="margin:0 0 2px">${esc(r)}</li>`).join("")}</ul>`
      : `<div style="font-size:14px;color:${MUTED}">${esc(f.tr.t("digest", "noDominantReason"))}</div>`) +
    (link ? `<div style="margin-top:6px;font-size:14px"><a href="${esc(link)}" style="color:${LINK}">${esc(f.tr.t("digest", "openInCrm"))}</a></div>` : "");
  const content = PAGE_MAX_WIDTH - 2 * PAGE_PADDING;
  return (
    `<div style="border-top:1px solid #d8dee4;padding:12px 0 4px">` +
    columns([
      { html: `<div style="padding:0 0 8px">${facts}</div>`, maxWidth: 240, gap: 16 },
      { html: `<div style="padding:0 0 8px">${why}</div>`, maxWidth: content - 240 - 16 - 8 },
    ]) +
    `</div>`
  );
}

function renderHtml(ctx: Ctx, top: readonly ScoredCustomer[], p: Parts & { subject: string }): string {
  const { input, f } = ctx;
  const { segment } = input;
  const { tr } = f;
  const unsubscribe = input.unsubscribeUrl && /^(https:|mailto:)/i.test(input.unsubscribeUrl) ? input.unsubscribeUrl : null;
  const body = [
    heading(segment.name, 1),
    `<div style="${SMALL};font-size:13px">${esc(tr.t("digest", "heading", { period: input.periodLabel }))}${segment.description ? ` \u00B7 ${esc(segment.description)}` : ""}</div>`,
    kpiBlock(ctx),
    trendBlock(ctx),
    heading(tr.t("digest", "customersHeading")),
    `<p style="font-size:14px;line-height:1.45;margin:0 0 8px">${esc(p.summary)}</p>`,
    p.cooldownNote ? `<p style="${SMALL};font-size:13px;margin:0 0 8px">${esc(p.cooldownNote)}</p>` : "",
    actionBox(tr.t("digest", "suggestedAction"), segment.action),
    top.map((c, i) => customerHtml(ctx, c, i + 1)).join("\n"),
    `<p style="${SMALL};margin-top:20px;border-top:1px solid #d8dee4;padding-top:12px">${esc(tr.t("digest", "footer", { segment: segment.name, id: segment.id, rule: p.rule }))}` +
      (unsubscribe ? ` <a href="${esc(unsubscribe)}" style="color:${MUTED}">${esc(tr.t("digest", "unsubscribe"))}</a>` : "") +
      `</p>`,
  ].filter((s) => s !== "").join("\n");
  return page({ lang: f.locale, title: segment.name, body, preheader: p.summary });
}

// ---------------------------------------------------------------------------------------- text

function renderText(ctx: Ctx, top: readonly ScoredCustomer[], p: Parts): string {
  const { input, f } = ctx;
  const { segment } = input;
  const { tr } = f;
  const lines: string[] = [tr.t("digest", "textTitle", { segment: segment.name, period: input.periodLabel })];
  if (segment.description) lines.push(segment.description);
  const seg = input.segmentKpis?.length ? input.segmentKpis : null;
  if (input.kpis.length || seg) {
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
  const trend = input.trend;
  if (trend && trend.firstWeek !== null) {
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
    series(tr.t("trend", "valueAtRisk"), trend.weeks.map((w) => w.valueAtRisk), (v) => f.money(v));
    series(tr.t("trend", "churn"), trend.weeks.map((w) => w.churnRate), (v) => f.percent(v));
  }
  lines.push("", tr.t("digest", "customersHeading"), p.summary);
  if (p.cooldownNote) lines.push(p.cooldownNote);
  lines.push("", `${tr.t("digest", "suggestedAction")} ${segment.action}`);
  top.forEach((c, i) => {
    const traj = trajectoryOf(ctx, c);
    lines.push(
      "",
      `${i + 1}. ${displayName(c)}${c.name ? ` (${c.customerId})` : ""}${c.email ? ` <${c.email}>` : ""}` +
        `${c.locale ? ` \u00B7 ${tr.t("digest", "language", { language: f.languageName(c.locale) })}` : ""}`,
      `   ${tr.t("digest", "riskLine", { score: f.score(c.score), level: f.level(c.riskLevel) })}: ${[scoreTrend(c, f), traj].filter(Boolean).join("; ")}. ` +
        `${tr.t("digest", "valueLine", { value: f.money(c.value), atRisk: f.money(c.valueAtRisk) })}`,
      ...reasonSentences(c.reasons, 3, f).map((r) => `   - ${r}`),
    );
    const link = crmLink(ctx.template, c.customerId);
    if (link) lines.push(`   ${link}`);
  });
  lines.push("", tr.t("digest", "textFooter", { id: segment.id, rule: p.rule }));
  if (input.unsubscribeUrl) lines.push(tr.t("digest", "textUnsubscribe", { url: input.unsubscribeUrl }));
  return `${lines.join("\n")}\n`;
}
