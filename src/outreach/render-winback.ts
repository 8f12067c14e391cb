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
import { escapeHtml as esc } from "../lib/html.js";
import {
  crmLink,
  rankByValue,
  stageLine,
  stageName,
  winbackFacts,
  winbackFactSentences,
  type WinbackCustomer,
} from "./customer.js";
import {
  customerBlockHtml, customerHeadHtml, customerText, digestTexts, renderFrame, SMALL, winbackTrendLabels,
} from "./digest-parts.js";
import { mailFormat, type MailFormat } from "./format.js";
import { TEXT } from "./layout.js";
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

  const texts = digestTexts(input, f, "winback", { count, shown: top.length, total: value, trendLabels: winbackTrendLabels(f), note: null });
  const framed = renderFrame(input, f, texts, { all: ranked, top }, (c, rank) => customerHtml(ctx, c, rank), (c, rank) => customerLines(ctx, c, rank));
  return { ...framed, csv, valueAtRisk: 0, value };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** "new in this list" or "last listed on 2 Nov 2026". */
function listedLine(c: WinbackCustomer, f: MailFormat): string {
  return c.lastListedAt === null ? f.tr.t("digest", "newInList") : f.tr.t("winback", "lastListed", { date: f.date(c.lastListedAt) });
}

// ---------------------------------------------------------------------------------------- HTML

function customerHtml(ctx: Ctx, c: WinbackCustomer, rank: number): string {
  const { f } = ctx;
  const facts =
    customerHeadHtml(c, rank, f) +
    `<div style="font-size:14px;margin-top:6px;color:${TEXT}"><strong>${esc(capitalise(stageLine(c, f), f))}</strong></div>` +
    `<div style="${SMALL}">${esc(listedLine(c, f))}</div>` +
    `<div style="font-size:13px;line-height:1.4;margin-top:4px">${esc(f.tr.t("winback", "valueLine", { value: f.money(c.value) }))}</div>`;
  const why = `<ul style="margin:0;padding-left:18px;font-size:14px;line-height:1.45">${winbackFactSentences(c, f).map((s) => `<li style="margin:0 0 2px">${esc(s)}</li>`).join("")}</ul>`;
  return customerBlockHtml(facts, why, crmLink(ctx.template, c.customerId), f);
}

// ---------------------------------------------------------------------------------------- text

function customerLines(ctx: Ctx, c: WinbackCustomer, rank: number): string[] {
  const { f } = ctx;
  return customerText(c, rank, f, [
    `${capitalise(stageLine(c, f), f)}; ${listedLine(c, f)}. ${f.tr.t("winback", "valueLine", { value: f.money(c.value) })}`,
    ...winbackFactSentences(c, f).map((s) => `- ${s}`),
  ], crmLink(ctx.template, c.customerId));
}
