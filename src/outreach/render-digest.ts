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
 *
 * A win-back segment's digest (input.kind "winback") lists customers without a probability and is
 * rendered by render-winback.ts with the same KPI and trend parts (digest-parts.ts).
 */
import type { KpiChange } from "../kpi/report.js";
import type { SegmentTrend } from "../kpi/segment-trends.js";
import {
  atRiskTrendLabels, customerBlockHtml, customerHeadHtml, customerText, digestTexts, renderFrame, SMALL,
} from "./digest-parts.js";
import { toCsv } from "../lib/csv.js";
import { escapeHtml as esc } from "../lib/html.js";
import {
  crmLink,
  rankCustomers,
  reasonSentences,
  type ScoredCustomer,
  type SegmentView,
  type WinbackCustomer,
} from "./customer.js";
import { mailFormat, type MailFormat } from "./format.js";
import { LEVEL_COLOURS, MUTED } from "./layout.js";
import { renderWinbackDigest } from "./render-winback.js";
import { trajectoryText, type Trajectory } from "./trajectory.js";

/** What every digest needs besides its customers. */
export interface DigestCommon {
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
  baseCurrency: string;
  /** Used when the segment has no template of its own. */
  crmLinkTemplate?: string | null;
  /** Body rows; default the segment's maxRows, else 25. */
  maxRows?: number;
  /** Customers left out by the cooldown (select.ts inCooldown). */
  inCooldown?: number;
  /** BCP 47 tag of the recipient list (default en-GB). */
  locale?: string;
  /** The team's zone, for dates shown (default UTC). */
  timeZone?: string;
  /** The segment's last weeks (kpi/segment-trends.ts); absent or null: no trend block. */
  trend?: SegmentTrend | null;
  /** The List-Unsubscribe target, also linked in the footer. */
  unsubscribeUrl?: string | null;
}

/** The digest of a segment of scored customers, ranked by value at risk. */
export interface AtRiskDigestInput extends DigestCommon {
  kind?: "at-risk";
  /** Everyone in the segment this period (any order): the body shows the top rows, the CSV all. */
  customers: readonly ScoredCustomer[];
  /** Risk trajectories by customer id (trajectory.ts). */
  trajectories?: ReadonlyMap<string, Trajectory>;
  /** How the model's earlier scores turned out (the live-quality job's latest check); absent: not shown. */
  modelCheck?: ModelCheck | null;
}

/** The digest of a win-back segment (lapsed or cancelled customers, no probability), ranked by value. */
export interface WinbackDigestInput extends DigestCommon {
  kind: "winback";
  customers: readonly WinbackCustomer[];
}

export type DigestInput = AtRiskDigestInput | WinbackDigestInput;

export interface RenderedDigest {
  subject: string;
  html: string;
  text: string;
  csv: string;
  csvFilename: string;
  /** Rows in the body / in the CSV. */
  shown: number;
  total: number;
  /** Sum over the CSV's customers; 0 in a win-back digest, which has no probability. */
  valueAtRisk: number;
  /** Sum of the CSV's customers' value (what a win-back digest is about). */
  value: number;
}

const CSV_COLUMNS = [
  "rank", "customerId", "name", "email", "churnRiskPct", "riskLevel", "previousRiskPct",
  "value", "valueAtRisk", "reasons", "suggestedAction", "crmLink", "riskTrend", "language",
] as const;

interface Ctx {
  input: AtRiskDigestInput;
  f: MailFormat;
  template: string | null;
}

/** Realised churn per risk level of the customers scored one horizon ago (src/quality). */
export interface ModelCheck {
  asOf: Date;
  horizonDays: number;
  bands: readonly { level: string; churnRate: number | null; meanPredicted: number | null }[];
}

/** "high 72% (predicted 70%), medium 38% (predicted 41%), ..." in the list's language. */
function modelCheckLine(check: ModelCheck, f: MailFormat): string | null {
  const { tr } = f;
  const bands = check.bands.filter((b) => b.churnRate !== null);
  if (bands.length === 0) return null;
  return tr.t("digest", "modelCheck", {
    date: f.shortDate(check.asOf),
    days: check.horizonDays,
    bands: bands.map((b) => tr.t("digest", "modelCheckBand", {
      level: f.level(b.level), churned: f.score(b.churnRate!), predicted: b.meanPredicted === null ? "?" : f.score(b.meanPredicted),
    })).join(", "),
  });
}

export function renderDigest(input: DigestInput): RenderedDigest {
  if (input.kind === "winback") return renderWinbackDigest(input);
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

  const texts = digestTexts(input, f, "digest", {
    count, shown: top.length, total: valueAtRisk, trendLabels: atRiskTrendLabels(f), note: input.modelCheck ? modelCheckLine(input.modelCheck, f) : null,
  });
  const framed = renderFrame(input, f, texts, { all: ranked, top }, (c, rank) => customerHtml(ctx, c, rank), (c, rank) => customerLines(ctx, c, rank));
  return { ...framed, csv, valueAtRisk, value: ranked.reduce((s, c) => s + c.value, 0) };
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

// ---------------------------------------------------------------------------------------- HTML

function customerHtml(ctx: Ctx, c: ScoredCustomer, rank: number): string {
  const { f } = ctx;
  const level = LEVEL_COLOURS[c.riskLevel] ?? MUTED;
  const reasons = reasonSentences(c.reasons, 3, f);
  const traj = trajectoryOf(ctx, c);
  const facts =
    customerHeadHtml(c, rank, f) +
    `<div style="font-size:14px;margin-top:6px;color:${level}"><strong>${esc(f.score(c.score))}</strong> ${esc(f.level(c.riskLevel))}</div>` +
    `<div style="${SMALL}">${esc([scoreTrend(c, f), traj].filter(Boolean).join(" \u00B7 "))}</div>` +
    `<div style="font-size:13px;line-height:1.4;margin-top:4px">${esc(f.tr.t("digest", "valueLine", { value: f.money(c.value), atRisk: f.money(c.valueAtRisk) }))}</div>`;
  const why = reasons.length
    ? `<ul style="margin:0;padding-left:18px;font-size:14px;line-height:1.45">${reasons.map((r) => `<li style="margin:0 0 2px">${esc(r)}</li>`).join("")}</ul>`
    : `<div style="font-size:14px;color:${MUTED}">${esc(f.tr.t("digest", "noDominantReason"))}</div>`;
  return customerBlockHtml(facts, why, crmLink(ctx.template, c.customerId), f);
}

// ---------------------------------------------------------------------------------------- text

function customerLines(ctx: Ctx, c: ScoredCustomer, rank: number): string[] {
  const { f } = ctx;
  const { tr } = f;
  return customerText(c, rank, f, [
    `${tr.t("digest", "riskLine", { score: f.score(c.score), level: f.level(c.riskLevel) })}: ${[scoreTrend(c, f), trajectoryOf(ctx, c)].filter(Boolean).join("; ")}. ` +
      `${tr.t("digest", "valueLine", { value: f.money(c.value), atRisk: f.money(c.valueAtRisk) })}`,
    ...reasonSentences(c.reasons, 3, f).map((r) => `- ${r}`),
  ], crmLink(ctx.template, c.customerId));
}
