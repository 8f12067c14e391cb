/**
 * Immediate alert e-mails: one customer of an alert segment crossed into high risk, or (over the
 * per-recipient rate limit) several folded into one summary. Pure, like the digest.
 */
import { crmLink, displayName, rankCustomers, reasonSentences, type ScoredCustomer, type SegmentView } from "./customer.js";
import { escapeHtml as esc, safeHref } from "../lib/html.js";
import { formatMoney, formatScore } from "./format.js";

export interface AlertInput {
  segment: SegmentView;
  baseCurrency: string;
  crmLinkTemplate?: string | null;
}

export interface RenderedAlert {
  subject: string;
  html: string;
  text: string;
}

const FONT = "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif";

function previousText(c: ScoredCustomer): string {
  return c.lastSeenScore === null ? "" : ` (was ${formatScore(c.lastSeenScore)})`;
}

function customerHtml(c: ScoredCustomer, input: AlertInput): string {
  const link = safeHref(crmLink(input.segment.crmLinkTemplate ?? input.crmLinkTemplate, c.customerId) ?? "");
  const reasons = reasonSentences(c.reasons);
  return (
    `<div style="border:1px solid #d0d7de;border-radius:6px;padding:12px;margin:8px 0">` +
    `<div style="font-size:16px;font-weight:600">${esc(displayName(c))}${c.name ? ` <span style="font-size:12px;color:#57606a;font-weight:400">${esc(c.customerId)}</span>` : ""}</div>` +
    (c.email ? `<div style="font-size:13px">${esc(c.email)}</div>` : "") +
    `<div style="font-size:14px;margin-top:6px">Churn risk <strong style="color:#cf222e">${esc(formatScore(c.score))}</strong>${esc(previousText(c))}; ` +
    `value ${esc(formatMoney(c.value, input.baseCurrency))}, ${esc(formatMoney(c.valueAtRisk, input.baseCurrency))} at risk</div>` +
    (reasons.length ? `<ul style="margin:6px 0 0;padding-left:18px;font-size:14px">${reasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>` : "") +
    (link ? `<div style="margin-top:6px"><a href="${esc(link)}" style="color:#0969da">Open in CRM</a></div>` : "") +
    `</div>`
  );
}

function customerText(c: ScoredCustomer, input: AlertInput): string[] {
  const link = crmLink(input.segment.crmLinkTemplate ?? input.crmLinkTemplate, c.customerId);
  return [
    `${displayName(c)}${c.name ? ` (${c.customerId})` : ""}${c.email ? ` <${c.email}>` : ""}`,
    `  Churn risk ${formatScore(c.score)}${previousText(c)}; value ${formatMoney(c.value, input.baseCurrency)}, ${formatMoney(c.valueAtRisk, input.baseCurrency)} at risk`,
    ...reasonSentences(c.reasons).map((r) => `  - ${r}`),
    ...(link ? [`  ${link}`] : []),
  ];
}

function wrapHtml(title: string, intro: string, body: string, input: AlertInput): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>
<body style="margin:0;padding:0;background:#f6f8fa">
<div style="max-width:720px;margin:0 auto;padding:20px;background:#ffffff;${FONT};color:#24292f">
<h1 style="font-size:18px;margin:0 0 8px">${esc(title)}</h1>
<p style="font-size:14px;margin:0 0 8px">${esc(intro)}</p>
${body}
<div style="border-left:4px solid #0969da;background:#ddf4ff;padding:8px 12px;font-size:14px;margin:12px 0"><strong>Suggested action:</strong> ${esc(input.segment.action)}</div>
<p style="font-size:12px;color:#57606a">Alert of the segment \u201C${esc(input.segment.name)}\u201D (${esc(input.segment.id)}).</p>
</div></body></html>
`;
}

/** One customer whose risk level just became high. */
export function renderAlert(customer: ScoredCustomer, input: AlertInput): RenderedAlert {
  const subject = `High churn risk: ${displayName(customer)} (${formatScore(customer.score)}), ${input.segment.name}`;
  const intro = `This customer's churn risk just became high. They belong to \u201C${input.segment.name}\u201D.`;
  return {
    subject,
    html: wrapHtml(subject, intro, customerHtml(customer, input), input),
    text: [subject, "", intro, "", ...customerText(customer, input), "", `Suggested action: ${input.segment.action}`, ""].join("\n"),
  };
}

/** Several customers in one message, used when individual alerts would exceed the hourly limit. */
export function renderAlertSummary(customers: readonly ScoredCustomer[], input: AlertInput): RenderedAlert {
  const ranked = rankCustomers(customers);
  const total = ranked.reduce((s, c) => s + c.valueAtRisk, 0);
  const subject = `High churn risk: ${ranked.length} more customers in ${input.segment.name}, ${formatMoney(total, input.baseCurrency)} at risk`;
  const intro =
    `${ranked.length} customers' churn risk just became high. They are grouped in one message because ` +
    "this segment's alerts reached their hourly limit.";
  return {
    subject,
    html: wrapHtml(subject, intro, ranked.map((c) => customerHtml(c, input)).join("\n"), input),
    text: [subject, "", intro, ...ranked.flatMap((c) => ["", ...customerText(c, input)]), "", `Suggested action: ${input.segment.action}`, ""].join("\n"),
  };
}
