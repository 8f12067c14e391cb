/**
 * Immediate alert e-mails: one customer of an alert segment crossed into high risk, or (over the
 * per-recipient rate limit) several folded into one summary. Pure, like the digest, and in the
 * recipient list's locale with the same layout rules (layout.ts).
 */
import { escapeHtml as esc, safeHref } from "../lib/html.js";
import { crmLink, displayName, rankCustomers, reasonSentences, type ScoredCustomer, type SegmentView } from "./customer.js";
import { mailFormat, type MailFormat } from "./format.js";
import { actionBox, heading, LINK, MUTED, page } from "./layout.js";

export interface AlertInput {
  /** The segment with its texts in the list's language. */
  segment: SegmentView;
  baseCurrency: string;
  crmLinkTemplate?: string | null;
  /** BCP 47 tag of the recipient list (default en-GB). */
  locale?: string;
  timeZone?: string;
  unsubscribeUrl?: string | null;
}

export interface RenderedAlert {
  subject: string;
  html: string;
  text: string;
}

function formatOf(input: AlertInput): MailFormat {
  return mailFormat({ locale: input.locale, timeZone: input.timeZone, currency: input.baseCurrency });
}

function riskText(c: ScoredCustomer, f: MailFormat): string {
  const was = c.lastSeenScore === null ? "" : ` (${f.tr.t("alert", "was", { score: f.score(c.lastSeenScore) })})`;
  return `${f.tr.t("alert", "riskLine", { score: f.score(c.score) })}${was}`;
}

function customerHtml(c: ScoredCustomer, input: AlertInput, f: MailFormat): string {
  const link = safeHref(crmLink(input.segment.crmLinkTemplate ?? input.crmLinkTemplate, c.customerId) ?? "");
  const reasons = reasonSentences(c.reasons, 3, f);
  const idLine = [c.name ? c.customerId : null, c.locale ? f.tr.t("digest", "language", { language: f.languageName(c.locale) }) : null].filter(Boolean).join(" \u00B7 ");
  return (
    `<div style="border:1px solid #d0d7de;border-radius:6px;padding:12px;margin:8px 0">` +
    `<div style="font-size:16px;font-weight:600;line-height:1.35">${esc(displayName(c))}</div>` +
    (idLine ? `<div style="font-size:12px;color:${MUTED}">${esc(idLine)}</div>` : "") +
    (c.email ? `<div style="font-size:13px">${esc(c.email)}</div>` : "") +
    `<div style="font-size:14px;line-height:1.45;margin-top:6px"><strong style="color:#cf222e">${esc(riskText(c, f))}</strong>. ` +
    `${esc(f.tr.t("digest", "valueLine", { value: f.money(c.value), atRisk: f.money(c.valueAtRisk) }))}</div>` +
    (reasons.length ? `<ul style="margin:6px 0 0;padding-left:18px;font-size:14px;line-height:1.45">${reasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>` : "") +
    (link ? `<div style="margin-top:6px"><a href="${esc(link)}" style="color:${LINK}">${esc(f.tr.t("digest", "openInCrm"))}</a></div>` : "") +
    `</div>`
  );
}

function customerText(c: ScoredCustomer, input: AlertInput, f: MailFormat): string[] {
  const link = crmLink(input.segment.crmLinkTemplate ?? input.crmLinkTemplate, c.customerId);
  return [
    `${displayName(c)}${c.name ? ` (${c.customerId})` : ""}${c.email ? ` <${c.email}>` : ""}` +
      `${c.locale ? ` \u00B7 ${f.tr.t("digest", "language", { language: f.languageName(c.locale) })}` : ""}`,
    `  ${riskText(c, f)}. ${f.tr.t("digest", "valueLine", { value: f.money(c.value), atRisk: f.money(c.valueAtRisk) })}`,
    ...reasonSentences(c.reasons, 3, f).map((r) => `  - ${r}`),
    ...(link ? [`  ${link}`] : []),
  ];
}

function wrapHtml(title: string, intro: string, body: string, input: AlertInput, f: MailFormat): string {
  const unsubscribe = input.unsubscribeUrl && /^(https:|mailto:)/i.test(input.unsubscribeUrl) ? input.unsubscribeUrl : null;
  return page({
    lang: f.locale,
    title,
    preheader: intro,
    body: [
      heading(title, 1),
      `<p style="font-size:14px;line-height:1.45;margin:8px 0">${esc(intro)}</p>`,
      body,
      actionBox(f.tr.t("digest", "suggestedAction"), input.segment.action),
      `<p style="font-size:12px;color:${MUTED}">${esc(f.tr.t("alert", "footer", { segment: input.segment.name, id: input.segment.id }))}` +
        (unsubscribe ? ` <a href="${esc(unsubscribe)}" style="color:${MUTED}">${esc(f.tr.t("digest", "unsubscribe"))}</a>` : "") +
        `</p>`,
    ].join("\n"),
  });
}

function textFooter(input: AlertInput, f: MailFormat): string[] {
  return [
    "",
    `${f.tr.t("digest", "suggestedAction")} ${input.segment.action}`,
    ...(input.unsubscribeUrl ? ["", f.tr.t("digest", "textUnsubscribe", { url: input.unsubscribeUrl })] : []),
    "",
  ];
}

/** One customer whose risk level just became high. */
export function renderAlert(customer: ScoredCustomer, input: AlertInput): RenderedAlert {
  const f = formatOf(input);
  // The id, not the name: subjects travel further than bodies (mail server logs, notification
  // previews, the outbox_message.subject column) and must not carry the customer's name.
  const subject = f.tr.t("alert", "subject", { id: customer.customerId, score: f.score(customer.score), segment: input.segment.name });
  const intro = f.tr.t("alert", "intro", { segment: input.segment.name });
  return {
    subject,
    html: wrapHtml(subject, intro, customerHtml(customer, input, f), input, f),
    text: [subject, "", intro, "", ...customerText(customer, input, f), ...textFooter(input, f)].join("\n"),
  };
}

/** Several customers in one message, used when individual alerts would exceed the hourly limit. */
export function renderAlertSummary(customers: readonly ScoredCustomer[], input: AlertInput): RenderedAlert {
  const f = formatOf(input);
  const ranked = rankCustomers(customers);
  const total = ranked.reduce((s, c) => s + c.valueAtRisk, 0);
  const subject = f.tr.t("alert", "summarySubject", { count: ranked.length, segment: input.segment.name, value: f.money(total) });
  const intro = f.tr.t("alert", "summaryIntro", { count: ranked.length });
  return {
    subject,
    html: wrapHtml(subject, intro, ranked.map((c) => customerHtml(c, input, f)).join("\n"), input, f),
    text: [subject, "", intro, ...ranked.flatMap((c) => ["", ...customerText(c, input, f)]), ...textFooter(input, f)].join("\n"),
  };
}
