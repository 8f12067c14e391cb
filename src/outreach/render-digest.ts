/**
 * Digest e-mail for one segment and period: subject, HTML, plain text and a CSV of the whole
 * segment. Pure: same input, same output, so the outbox can build the message once and tests
 * can check it without a mail server.
 *
 * HTML is table-based with inline styles because mail clients (Outlook, Gmail) drop <style>
 * blocks and most CSS layout; every interpolated string goes through escapeHtml.
 */
import type { KpiChange } from "../kpi/report.js";
import {
  crmLink,
  describeConditions,
  displayName,
  rankCustomers,
  reasonSentences,
  type ScoredCustomer,
  type SegmentView,
} from "./customer.js";
import { escapeHtml as esc, safeHref } from "../lib/html.js";
import { toCsv } from "../lib/csv.js";
import { arrow, formatKpiChange, formatKpiValue, formatMoney, formatScore } from "./format.js";

export interface DigestInput {
  segment: SegmentView;
  /** Shown in the subject and heading, e.g. "Mon 23 Nov 2026" or "week 48". */
  periodLabel: string;
  /** KPIs with their change against the previous period; may be empty. */
  kpis: readonly KpiChange[];
  /** Everyone in the segment this period (any order): the body shows the top rows, the CSV all. */
  customers: readonly ScoredCustomer[];
  baseCurrency: string;
  /** Used when the segment has no template of its own. */
  crmLinkTemplate?: string | null;
  /** Body rows; default the segment's maxRows, else 25. */
  maxRows?: number;
  /** Customers left out because this team saw them recently and their risk did not rise. */
  inCooldown?: number;
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

const CSV_HEADER = [
  "rank", "customer_id", "name", "email", "churn_risk_pct", "risk_level", "previous_risk_pct",
  "value", "value_at_risk", "reasons", "suggested_action", "crm_link",
] as const;

const LEVEL_COLOURS: Record<string, string> = { high: "#cf222e", medium: "#bf8700", low: "#1a7f37" };
const ASSESSMENT_COLOURS: Record<string, string> = { better: "#1a7f37", worse: "#cf222e", same: "#57606a" };

const FONT = "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif";
const TH = "text-align:left;padding:6px 8px;border-bottom:2px solid #d0d7de;font-size:12px;color:#57606a;font-weight:600";
const TD = "padding:8px;border-bottom:1px solid #d8dee4;vertical-align:top;font-size:14px";

export function renderDigest(input: DigestInput): RenderedDigest {
  const { segment, baseCurrency: cur } = input;
  const ranked = rankCustomers(input.customers);
  const maxRows = input.maxRows ?? segment.maxRows ?? 25;
  const top = ranked.slice(0, maxRows);
  const template = segment.crmLinkTemplate ?? input.crmLinkTemplate ?? null;
  const valueAtRisk = ranked.reduce((s, c) => s + c.valueAtRisk, 0);
  const count = ranked.length;

  const subject =
    count === 0
      ? `Churn digest: ${segment.name}: no customers need outreach (${input.periodLabel})`
      : `Churn digest: ${segment.name}: ${count} customer${count === 1 ? "" : "s"}, ${formatMoney(valueAtRisk, cur)} value at risk (${input.periodLabel})`;

  const summary =
    count === 0
      ? "No customer in this segment needs outreach this period."
      : `${count} customer${count === 1 ? "" : "s"} with ${formatMoney(valueAtRisk, cur)} value at risk (lifetime value \u00D7 churn risk).` +
        (count > top.length ? ` The ${top.length} with the most value at risk are below; the attached CSV lists all ${count}.` : " The attached CSV has the same list.");
  const cooldownNote =
    input.inCooldown && input.inCooldown > 0
      ? `${input.inCooldown} more customer${input.inCooldown === 1 ? " was" : "s were"} listed recently and left out because their risk has not risen since.`
      : "";
  const rule = describeConditions(segment.when, cur);

  const csv = toCsv(
    CSV_HEADER,
    ranked.map((c, i) => [
      i + 1, c.customerId, c.name ?? "", c.email ?? "", Math.round(c.score * 1000) / 10, c.riskLevel,
      c.lastSeenScore === null ? null : Math.round(c.lastSeenScore * 1000) / 10,
      round2(c.value), round2(c.valueAtRisk), reasonSentences(c.reasons, 10).join(" "), segment.action, crmLink(template, c.customerId) ?? "",
    ]),
  );

  return {
    subject,
    html: renderHtml(input, top, { summary, cooldownNote, rule, template }),
    text: renderText(input, top, { summary, cooldownNote, rule, template }),
    csv,
    csvFilename: `${segment.id}-${input.periodLabel.replace(/[^A-Za-z0-9-]+/g, "-").replace(/^-+|-+$/g, "")}.csv`,
    shown: top.length,
    total: count,
    valueAtRisk,
  };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

interface Parts { summary: string; cooldownNote: string; rule: string; template: string | null }

function scoreTrend(c: ScoredCustomer): string {
  if (c.lastSeenScore === null) return "new in this list";
  const d = Math.round(c.score * 100) - Math.round(c.lastSeenScore * 100);
  return d === 0 ? `unchanged since ${formatScore(c.lastSeenScore)}` : `${d > 0 ? "up" : "down"} from ${formatScore(c.lastSeenScore)}`;
}

function kpiRowsHtml(kpis: readonly KpiChange[], cur: string): string {
  return kpis
    .map((k) => {
      const colour = k.assessment ? ASSESSMENT_COLOURS[k.assessment]! : "#57606a";
      const change = formatKpiChange(k, cur);
      const prev = k.previous === null ? "" : `previous ${formatKpiValue(k.unit, k.previous, cur)}`;
      return (
        `<tr><td style="padding:4px 8px;font-size:13px;color:#24292f">${esc(k.label)}</td>` +
        `<td style="padding:4px 8px;font-size:13px;font-weight:600;text-align:right;white-space:nowrap">${esc(formatKpiValue(k.unit, k.value, cur))}</td>` +
        `<td style="padding:4px 8px;font-size:13px;color:${colour};white-space:nowrap">${esc(arrow(k.direction))} ${esc(change)}</td>` +
        `<td style="padding:4px 8px;font-size:12px;color:#57606a;white-space:nowrap">${esc(prev)}</td></tr>`
      );
    })
    .join("\n");
}

function renderHtml(input: DigestInput, top: readonly ScoredCustomer[], p: Parts): string {
  const { segment, baseCurrency: cur } = input;
  const rows = top
    .map((c, i) => {
      const link = safeHref(crmLink(p.template, c.customerId) ?? "");
      const who =
        `<div style="font-weight:600">${esc(displayName(c))}</div>` +
        (c.name ? `<div style="font-size:12px;color:#57606a">${esc(c.customerId)}</div>` : "") +
        (c.email ? `<div style="font-size:12px"><a href="mailto:${esc(encodeURI(c.email))}" style="color:#0969da">${esc(c.email)}</a></div>` : "");
      const level = LEVEL_COLOURS[c.riskLevel] ?? "#57606a";
      const reasons = reasonSentences(c.reasons);
      return (
        `<tr>` +
        `<td style="${TD};color:#57606a">${i + 1}</td>` +
        `<td style="${TD}">${who}</td>` +
        `<td style="${TD};white-space:nowrap"><span style="font-weight:600;color:${level}">${esc(formatScore(c.score))}</span> ` +
        `<span style="font-size:12px;color:${level}">${esc(c.riskLevel)}</span><div style="font-size:12px;color:#57606a">${esc(scoreTrend(c))}</div></td>` +
        `<td style="${TD};text-align:right;white-space:nowrap">${esc(formatMoney(c.value, cur))}<div style="font-size:12px;color:#57606a">${esc(formatMoney(c.valueAtRisk, cur))} at risk</div></td>` +
        `<td style="${TD}">${reasons.length ? `<ul style="margin:0;padding-left:18px">${reasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>` : '<span style="color:#57606a">no single dominant reason</span>'}</td>` +
        `<td style="${TD};white-space:nowrap">${link ? `<a href="${esc(link)}" style="color:#0969da">Open in CRM</a>` : ""}</td>` +
        `</tr>`
      );
    })
    .join("\n");

  const kpiBlock = input.kpis.length
    ? `<h2 style="font-size:15px;margin:20px 0 6px">Retention KPIs</h2>
<table role="presentation" cellspacing="0" cellpadding="0" style="border-collapse:collapse">${kpiRowsHtml(input.kpis, cur)}</table>`
    : "";

  const customerBlock = top.length
    ? `<table cellspacing="0" cellpadding="0" style="border-collapse:collapse;width:100%;margin-top:8px">
<tr><th style="${TH}">#</th><th style="${TH}">Customer</th><th style="${TH}">Churn risk</th><th style="${TH};text-align:right">Value</th><th style="${TH}">Why</th><th style="${TH}"></th></tr>
${rows}
</table>`
    : "";

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${esc(segment.name)}</title></head>
<body style="margin:0;padding:0;background:#f6f8fa">
<div style="max-width:960px;margin:0 auto;padding:20px;background:#ffffff;${FONT};color:#24292f">
<h1 style="font-size:20px;margin:0 0 4px">${esc(segment.name)}</h1>
<div style="font-size:13px;color:#57606a">Churn digest for ${esc(input.periodLabel)}${segment.description ? ` \u00B7 ${esc(segment.description)}` : ""}</div>
${kpiBlock}
<h2 style="font-size:15px;margin:20px 0 6px">Customers to contact</h2>
<p style="font-size:14px;margin:0 0 8px">${esc(p.summary)}</p>
${p.cooldownNote ? `<p style="font-size:13px;color:#57606a;margin:0 0 8px">${esc(p.cooldownNote)}</p>` : ""}
<div style="border-left:4px solid #0969da;background:#ddf4ff;padding:8px 12px;font-size:14px;margin:8px 0"><strong>Suggested action:</strong> ${esc(segment.action)}</div>
${customerBlock}
<p style="font-size:12px;color:#57606a;margin-top:20px">You receive this because you are a recipient of the segment \u201C${esc(segment.name)}\u201D (${esc(segment.id)}): ${esc(p.rule)}. Customers are ranked by value at risk = lifetime value \u00D7 churn risk.</p>
</div>
</body></html>
`;
}

function renderText(input: DigestInput, top: readonly ScoredCustomer[], p: Parts): string {
  const { segment, baseCurrency: cur } = input;
  const lines: string[] = [`${segment.name} \u2014 churn digest for ${input.periodLabel}`];
  if (segment.description) lines.push(segment.description);
  if (input.kpis.length) {
    lines.push("", "Retention KPIs");
    for (const k of input.kpis) {
      const change = formatKpiChange(k, cur);
      lines.push(`  ${k.label}: ${formatKpiValue(k.unit, k.value, cur)}${change ? ` ${arrow(k.direction)} ${change}` : ""}`);
    }
  }
  lines.push("", "Customers to contact", p.summary);
  if (p.cooldownNote) lines.push(p.cooldownNote);
  lines.push("", `Suggested action: ${segment.action}`);
  top.forEach((c, i) => {
    lines.push(
      "",
      `${i + 1}. ${displayName(c)}${c.name ? ` (${c.customerId})` : ""}${c.email ? ` <${c.email}>` : ""}`,
      `   Churn risk ${formatScore(c.score)} (${c.riskLevel}, ${scoreTrend(c)}); value ${formatMoney(c.value, cur)}, ${formatMoney(c.valueAtRisk, cur)} at risk`,
      ...reasonSentences(c.reasons).map((r) => `   - ${r}`),
    );
    const link = crmLink(p.template, c.customerId);
    if (link) lines.push(`   ${link}`);
  });
  lines.push("", `Segment ${segment.id}: ${p.rule}. Ranked by value at risk = lifetime value x churn risk.`);
  return `${lines.join("\n")}\n`;
}
