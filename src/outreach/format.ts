/**
 * Numbers, money, percentages and dates for one recipient list: Intl with the list's locale and
 * the team's time zone, so a value reads the same in HTML, text and subject, and the way the
 * reader writes it ("€4,900" in en-GB, "4.900 €" in de-DE, "4 900 €" in ru-RU).
 */
import type { KpiChange, KpiUnit } from "../kpi/report.js";
import { DEFAULT_LOCALE, translator, type Translator } from "./i18n/locales.js";

export interface MailFormat {
  readonly locale: string;
  readonly timeZone: string;
  readonly currency: string;
  readonly tr: Translator;
  /** "," in locales that write decimals with a comma (de, pl, bg, ru): their spreadsheets split CSV on ";". */
  readonly decimalSeparator: string;
  readonly csvDelimiter: "," | ";";
  money(amount: number, fractionDigits?: number): string;
  /** A probability as a whole percentage: 0.734 -> "73%" / "73 %". Finer digits would suggest a precision the model lacks. */
  score(probability: number): string;
  /** A 0-100 value as a percentage with `digits` decimals. */
  percent(value: number, digits?: number): string;
  number(value: number, digits?: number): string;
  /** Short date in the team's zone, "23 Nov" / "23. Nov.". */
  shortDate(at: Date): string;
  /** Day with weekday in the team's zone, "Mon 23 Nov 2026" / "Mo., 23. Nov. 2026". */
  dayLabel(at: Date): string;
  /** Date with the year, no weekday, in the team's zone: "3 May 2026" / "3. Mai 2026" (lifecycle dates may be years back). */
  date(at: Date): string;
  /** The calendar date in the team's zone as YYYY-MM-DD, which every spreadsheet reads as a date. */
  isoDate(at: Date): string;
  kpiValue(unit: KpiUnit, value: number | null): string;
  /** "+2.3 pts", "-€4.20 (-7.5%)", "+12 (+3.1%)"; empty when there is no previous period to compare with. */
  kpiChange(k: Pick<KpiChange, "unit" | "change" | "relativeChange" | "direction">): string;
  /** "high" in the reader's language. */
  level(riskLevel: string): string;
  /** A language's name in the reader's language ("pl-PL" -> "Polish (Poland)"), or the tag when unknown. */
  languageName(tag: string): string;
}

const cache = new Map<string, MailFormat>();

export function mailFormat(opts: { locale?: string; timeZone?: string; currency: string }): MailFormat {
  const tr = translator(opts.locale ?? DEFAULT_LOCALE);
  const timeZone = opts.timeZone ?? "UTC";
  const key = `${tr.locale}|${timeZone}|${opts.currency}`;
  let f = cache.get(key);
  if (f === undefined) cache.set(key, (f = build(tr, timeZone, opts.currency)));
  return f;
}

function build(tr: Translator, timeZone: string, currency: string): MailFormat {
  const locale = tr.locale;
  const moneyFormats = new Map<string, Intl.NumberFormat>();
  const nf = (o: Intl.NumberFormatOptions) => new Intl.NumberFormat(locale, o);
  const money = (amount: number, digits = 0, sign: "auto" | "always" = "auto") => {
    const k = `${digits}:${sign}`;
    let m = moneyFormats.get(k);
    if (m === undefined) {
      moneyFormats.set(k, (m = nf({ style: "currency", currency, minimumFractionDigits: digits, maximumFractionDigits: digits, signDisplay: sign })));
    }
    return m.format(amount);
  };
  const scoreF = nf({ style: "percent", maximumFractionDigits: 0 });
  const pct1 = nf({ style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const pct1Signed = nf({ style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: "always" });
  const grouped = nf({ maximumFractionDigits: 0 });
  const groupedSigned = nf({ maximumFractionDigits: 0, signDisplay: "always" });
  const two = nf({ minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const twoSigned = nf({ minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "always" });
  const oneSigned = nf({ minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: "always" });
  const npsF = nf({ maximumFractionDigits: 0, signDisplay: "exceptZero" });
  const decimalSeparator = nf({ minimumFractionDigits: 1 }).formatToParts(1.5).find((p) => p.type === "decimal")?.value ?? ".";
  const shortDate = new Intl.DateTimeFormat(locale, { timeZone, day: "numeric", month: "short" });
  const dayLabel = new Intl.DateTimeFormat(locale, { timeZone, weekday: "short", day: "numeric", month: "short", year: "numeric" });
  const dateF = new Intl.DateTimeFormat(locale, { timeZone, day: "numeric", month: "short", year: "numeric" });
  // en-CA writes ISO dates; only the digits are taken, so the reader's locale does not matter here.
  const isoF = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  let languageNames: Intl.DisplayNames | null = null;

  const format: MailFormat = {
    locale,
    timeZone,
    currency,
    tr,
    decimalSeparator,
    csvDelimiter: decimalSeparator === "," ? ";" : ",",
    money: (amount, digits = 0) => money(amount, digits),
    score: (p) => scoreF.format(p),
    percent: (value, digits = 1) => (digits === 1 ? pct1 : nf({ style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits })).format(value / 100),
    number: (value, digits = 2) => (digits === 2 ? two : digits === 0 ? grouped : nf({ minimumFractionDigits: digits, maximumFractionDigits: digits })).format(value),
    shortDate: (at) => shortDate.format(at),
    // English keeps the label it always had ("Mon 23 Nov 2026", no commas); other languages
    // keep Intl's punctuation, which their readers expect.
    dayLabel: (at) => (tr.language === "en" ? dayLabel.format(at).replace(/,/g, "") : dayLabel.format(at)),
    date: (at) => dateF.format(at),
    isoDate(at) {
      const part = (type: string) => isoF.formatToParts(at).find((p) => p.type === type)?.value ?? "";
      return `${part("year")}-${part("month")}-${part("day")}`;
    },
    kpiValue(unit, value) {
      if (value === null) return tr.t("kpi", "notAvailable");
      switch (unit) {
        case "count":
          return grouped.format(value);
        case "percent":
          return pct1.format(value / 100);
        case "currency":
          return money(value, 2);
        case "nps":
          return npsF.format(Math.round(value));
        case "number":
          return two.format(value);
      }
    },
    kpiChange(k) {
      if (k.change === null) return "";
      if (k.direction === "flat") return tr.t("digest", "unchanged");
      const rel = k.relativeChange === null ? "" : ` (${pct1Signed.format(k.relativeChange / 100)})`;
      switch (k.unit) {
        case "percent":
          return tr.t("digest", "points", { value: oneSigned.format(k.change) });
        case "nps":
          return groupedSigned.format(Math.round(k.change));
        case "count":
          return groupedSigned.format(k.change) + rel;
        case "currency":
          return money(k.change, 2, "always") + rel;
        case "number":
          return twoSigned.format(k.change);
      }
    },
    level: (riskLevel) => (riskLevel === "high" || riskLevel === "medium" || riskLevel === "low" ? tr.t("levels", riskLevel) : riskLevel),
    languageName(tag) {
      try {
        languageNames ??= new Intl.DisplayNames([locale], { type: "language" });
        return languageNames.of(tag) ?? tag;
      } catch {
        return tag;
      }
    },
  };
  return format;
}

export function arrow(direction: KpiChange["direction"]): string {
  return direction === "up" ? "\u25B2" : direction === "down" ? "\u25BC" : direction === "flat" ? "\u2192" : "";
}
