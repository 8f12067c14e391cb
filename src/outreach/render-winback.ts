/**
 * The digest of a win-back segment: lapsed or cancelled customers, who have no churn probability
 * (by the model's own definition they already stopped buying), so there is no value at risk and
 * no churn reason. They are ranked by value (their expected 12-month spend at the rate they used
 * to buy), and each comes with plain facts instead of reasons: since when they are lapsed or
 * cancelled, the last purchase against their usual rhythm, what they spent over their lifetime.
 *
 * Same page, KPI and trend parts as the at-risk digest (digest-parts.ts); the trends show the
 * segment's value and the share won back per week instead of value at risk and realised churn.
 * The CSV has columns of its own (no risk columns): a team working a win-back list sorts and
 * filters on stage, dates, purchases and spend, and empty risk columns would read as "no risk".
 */
import { toCsv } from "../lib/csv.js";
import { escapeHtml as esc, safeHref } from "../lib/html.js";
import {
  crmLink,
  describeConditions,
  displayName,
  rankByValue,
  stageLine,
  stageName,
  winbackFacts,
  winbackFactSentences,
  type WinbackCustomer,
} from "./customer.js";
import { csvFilename, kpiBlock, kpiText, SMALL, trendBlock, trendText, winbackTrendLabels } from "./digest-parts.js";
import { mailFormat, type MailFormat } from "./format.js";
import { actionBox, columns, heading, LINK, MUTED, page, PAGE_MAX_WIDTH, PAGE_PADDING, TEXT } from "./layout.js";
import type { RenderedDigest, WinbackDigestInput } from "./render-digest.js";

/** The win-back CSV's columns (catalogue keys of the `csv` group), in order. */
export const WINBACK_CSV_COLUMNS = [
  "rank", "customerId", "name", "email", "lifecycleStage", "stageSince", "value", "daysSinceLastPurchase",
  "usualDaysBetweenPurchases", "purchases", "lifetimeSpend", "suggestedAction", "crmLink", "lastListed", "language",
] as const;

interface Ctx {
  input: WinbackDigestInput;
  f: MailFormat;
  template: string | null;
}

const capitalise = (s: string, f: MailFormat) => s.charAt(0).toLocaleUpperCase(f.locale) + s.slice(1);

export function renderWinbackDigest(input: WinbackDigestInput): RenderedDigest {
  const { segment } = input;
  const f = mailFormat({ locale: input.locale, timeZone: input.timeZone, currency: input.baseCurrency });
  const { tr } = f;
  const ranked = rankByValue(input.customers);
  const top = ranked.slice(0, input.maxRows ?? segment.maxRows ?? 25);
  const template = segment.crmLinkTemplate ?? input.crmLinkTemplate ?? null;
  const value = ranked.reduce((s, c) => s + c.value, 0);
  const count = ranked.length;
  const ctx: Ctx = { input, f, template };

  const subject =
    count === 0
      ? tr.t("winback", "subjectNone", { segment: segment.name, period: input.periodLabel })
      : tr.t("winback", "subjectSome", { segment: segment.name, count, value: f.money(value), period: input.periodLabel });
  const summary =
    count === 0
      ? tr.t("winback", "summaryNone")
      : `${tr.t("winback", "summarySome", { count, value: f.money(value) })} ` +
        (count > top.length ? tr.t("winback", "summaryTop", { shown: top.length, count }) : tr.t("digest", "summaryAll"));
  const cooldownNote = input.inCooldown && input.inCooldown > 0 ? tr.t("winback", "cooldown", { count: input.inCooldown }) : "";
  const rule = describeConditions(segment.when, f);

  const csv = toCsv(
    WINBACK_CSV_COLUMNS.map((k) => tr.t("csv", k)),
    ranked.map((c, i) => {
      const facts = winbackFacts(c);
      return [
        i + 1, c.customerId, c.name ?? "", c.email ?? "", stageName(c.stage, f), c.since ? f.isoDate(c.since) : "",
        round2(c.value), facts.daysSinceLastPurchase, facts.usualDays, facts.purchases, round2(facts.lifetimeSpend), segment.action,
        crmLink(template, c.customerId) ?? "", c.lastListedAt ? f.isoDate(c.lastListedAt) : "", c.locale ? f.languageName(c.locale) : "",
      ];
    }),
    f.csvDelimiter,
    f.decimalSeparator === "," ? "," : ".",
  );

  return {
    subject,
    html: renderHtml(ctx, top, { summary, cooldownNote, rule }),
    text: renderText(ctx, top, { summary, cooldownNote, rule }),
    csv,
    csvFilename: csvFilename(segment.id, input),
    shown: top.length,
    total: count,
    valueAtRisk: 0,
    value,
  };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** "new in this list" or "last listed on 2 Nov 2026". */
function listedLine(c: WinbackCustomer, f: MailFormat): string {
  return c.lastListedAt === null ? f.tr.t("digest", "newInList") : f.tr.t("winback", "lastListed", { date: f.date(c.lastListedAt) });
}

interface Parts { summary: string; cooldownNote: string; rule: string }

// ---------------------------------------------------------------------------------------- HTML

function customerHtml(ctx: Ctx, c: WinbackCustomer, rank: number): string {
  const { f } = ctx;
  const link = safeHref(crmLink(ctx.template, c.customerId) ?? "");
  const idLine = [c.name ? c.customerId : null, c.locale ? f.tr.t("digest", "language", { language: f.languageName(c.locale) }) : null].filter(Boolean).join(" \u00B7 ");
  const facts =
    `<div style="font-size:15px;font-weight:600;line-height:1.35">${rank}. ${esc(displayName(c))}</div>` +
    (idLine ? `<div style="${SMALL}">${esc(idLine)}</div>` : "") +
    (c.email ? `<div style="font-size:13px;line-height:1.4"><a href="mailto:${esc(encodeURI(c.email))}" style="color:${LINK}">${esc(c.email)}</a></div>` : "") +
    `<div style="font-size:14px;margin-top:6px;color:${TEXT}"><strong>${esc(capitalise(stageLine(c, f), f))}</strong></div>` +
    `<div style="${SMALL}">${esc(listedLine(c, f))}</div>` +
    `<div style="font-size:13px;line-height:1.4;margin-top:4px">${esc(f.tr.t("winback", "valueLine", { value: f.money(c.value) }))}</div>`;
  const sentences = winbackFactSentences(c, f);
  const why =
    `<ul style="margin:0;padding-left:18px;font-size:14px;line-height:1.45">${sentences.map((s) => `<li style="margin:0 0 2px">${esc(s)}</li>`).join("")}</ul>` +
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

function renderHtml(ctx: Ctx, top: readonly WinbackCustomer[], p: Parts): string {
  const { input, f } = ctx;
  const { segment } = input;
  const { tr } = f;
  const unsubscribe = input.unsubscribeUrl && /^(https:|mailto:)/i.test(input.unsubscribeUrl) ? input.unsubscribeUrl : null;
  const body = [
    heading(segment.name, 1),
    `<div style="${SMALL};font-size:13px">${esc(tr.t("winback", "heading", { period: input.periodLabel }))}${segment.description ? ` \u00B7 ${esc(segment.description)}` : ""}</div>`,
    kpiBlock(input, f),
    trendBlock(input.trend, f, winbackTrendLabels(f)),
    heading(tr.t("digest", "customersHeading")),
    `<p style="font-size:14px;line-height:1.45;margin:0 0 8px">${esc(p.summary)}</p>`,
    p.cooldownNote ? `<p style="${SMALL};font-size:13px;margin:0 0 8px">${esc(p.cooldownNote)}</p>` : "",
    actionBox(tr.t("digest", "suggestedAction"), segment.action),
    top.map((c, i) => customerHtml(ctx, c, i + 1)).join("\n"),
    `<p style="${SMALL};margin-top:20px;border-top:1px solid #d8dee4;padding-top:12px">${esc(tr.t("winback", "footer", { segment: segment.name, id: segment.id, rule: p.rule }))}` +
      (unsubscribe ? ` <a href="${esc(unsubscribe)}" style="color:${MUTED}">${esc(tr.t("digest", "unsubscribe"))}</a>` : "") +
      `</p>`,
  ].filter((s) => s !== "").join("\n");
  return page({ lang: f.locale, title: segment.name, body, preheader: p.summary });
}

// ---------------------------------------------------------------------------------------- text

function renderText(ctx: Ctx, top: readonly WinbackCustomer[], p: Parts): string {
  const { input, f } = ctx;
  const { segment } = input;
  const { tr } = f;
  const lines: string[] = [tr.t("winback", "textTitle", { segment: segment.name, period: input.periodLabel })];
  if (segment.description) lines.push(segment.description);
  kpiText(lines, input, f);
  trendText(lines, input.trend, f, winbackTrendLabels(f));
  lines.push("", tr.t("digest", "customersHeading"), p.summary);
  if (p.cooldownNote) lines.push(p.cooldownNote);
  lines.push("", `${tr.t("digest", "suggestedAction")} ${segment.action}`);
  top.forEach((c, i) => {
    lines.push(
      "",
      `${i + 1}. ${displayName(c)}${c.name ? ` (${c.customerId})` : ""}${c.email ? ` <${c.email}>` : ""}` +
        `${c.locale ? ` \u00B7 ${tr.t("digest", "language", { language: f.languageName(c.locale) })}` : ""}`,
      `   ${capitalise(stageLine(c, f), f)}; ${listedLine(c, f)}. ${tr.t("winback", "valueLine", { value: f.money(c.value) })}`,
      ...winbackFactSentences(c, f).map((s) => `   - ${s}`),
    );
    const link = crmLink(ctx.template, c.customerId);
    if (link) lines.push(`   ${link}`);
  });
  lines.push("", tr.t("winback", "textFooter", { id: segment.id, rule: p.rule }));
  if (input.unsubscribeUrl) lines.push(tr.t("digest", "textUnsubscribe", { url: input.unsubscribeUrl }));
  return `${lines.join("\n")}\n`;
}
