/**
 * Message catalogues: every key in every locale, non-empty, with the English placeholders and the
 * plural categories the language needs; every message formats; every sentence scoring writes is
 * recognised and rendered in each language; numbers, money and dates through Intl.
 */
import { describe, expect, it } from "vitest";
import { FEATURE_NAMES } from "../src/features/names.js";
import {
  CATALOGUES,
  compileMatcher,
  formatMessage,
  LANGUAGES,
  localiseReason,
  placeholders,
  pluralBranches,
  recogniseFact,
  recogniseSentence,
  translator,
  type Catalogue,
} from "../src/outreach/i18n/index.js";
import { en } from "../src/outreach/i18n/en.js";
import { mailFormat } from "../src/outreach/format.js";
import { csvCell, toCsv } from "../src/lib/csv.js";

const LOCALE_OF: Record<string, string> = { en: "en-GB", de: "de-DE", pl: "pl-PL", bg: "bg-BG", ru: "ru-RU" };

type Entry = { group: string; key: string; template: string };
const entries = (c: Catalogue): Entry[] =>
  Object.entries(c).flatMap(([group, messages]) => Object.entries(messages as Record<string, string>).map(([key, template]) => ({ group, key, template })));

/** Parameters that exercise a message: plural names get numbers, others strings (and numbers where a template reads them as numbers). */
function sampleParams(template: string, n: number): Record<string, string | number> {
  const plural = new Set(pluralBranches(template).map((p) => p.name));
  const out: Record<string, string | number> = {};
  for (const name of placeholders(template)) {
    if (plural.has(name)) out[name] = n;
    else if (name === "category") out[name] = "detractor";
    else if (name === "survey") out[name] = "NPS";
    else out[name] = `\u27E8${name}\u27E9`;
  }
  return out;
}

describe("catalogues", () => {
  it("cover five languages, at least one in a non-Latin script", () => {
    expect(LANGUAGES).toEqual(["en", "de", "pl", "bg", "ru"]);
    expect(translator("bg-BG").t("digest", "customersHeading")).toMatch(/[\u0400-\u04FF]/);
  });

  const base = entries(en as Catalogue);
  for (const lang of LANGUAGES) {
    it(`${lang}: every key exists, is non-empty and has the English placeholders`, () => {
      const got = entries(CATALOGUES[lang]);
      expect(got.map((e) => `${e.group}.${e.key}`)).toEqual(base.map((e) => `${e.group}.${e.key}`));
      for (const [i, e] of got.entries()) {
        const where = `${lang} ${e.group}.${e.key}`;
        expect(e.template.trim(), where).not.toBe("");
        expect([...placeholders(e.template)].sort(), where).toEqual([...placeholders(base[i]!.template)].sort());
      }
    });

    it(`${lang}: every plural offers each category the language uses, and every message formats`, () => {
      const locale = LOCALE_OF[lang]!;
      const categories = new Intl.PluralRules(locale).resolvedOptions().pluralCategories;
      for (const e of entries(CATALOGUES[lang])) {
        for (const p of pluralBranches(e.template)) {
          for (const c of categories) expect(p.categories, `${lang} ${e.group}.${e.key} {${p.name}} lacks "${c}"`).toContain(c);
        }
        for (const n of [0, 1, 2, 5, 22, 1.5]) {
          const text = formatMessage(locale, e.template, sampleParams(e.template, n));
          expect(text, `${lang} ${e.group}.${e.key}`).not.toMatch(/[{}#]/);
        }
      }
    });
  }

  it("plural forms follow the language", () => {
    const days = (lang: string, n: number) => translator(LOCALE_OF[lang]).t("trend", "riseDays", { from: "35%", to: "72%", days: n });
    expect([1, 3, 5, 22].map((n) => days("pl", n))).toEqual(["35% \u2192 72% w 1 dzień", "35% \u2192 72% w 3 dni", "35% \u2192 72% w 5 dni", "35% \u2192 72% w 22 dni"]);
    expect([1, 3, 5, 21].map((n) => days("ru", n))).toEqual([
      "35% \u2192 72% за 1 день", "35% \u2192 72% за 3 дня", "35% \u2192 72% за 5 дней", "35% \u2192 72% за 21 день",
    ]);
    expect(days("bg", 1)).toBe("35% \u2192 72% за 1 ден");
    expect(days("de", 2)).toBe("35% \u2192 72% in 2 Tagen");
    expect(translator("en-GB").t("trend", "firstScored", { days: 0 })).toBe("first scored today");
  });

  it("a missing parameter is an error, not a silent hole in a mail", () => {
    expect(() => translator("de-DE").t("digest", "subjectSome", { segment: "x" })).toThrow(/count|value|period/);
  });
});

describe("reasons in the reader's language", () => {
  it("every English reason template reads its own sentences back (fact and numbers)", () => {
    for (const [fact, template] of Object.entries(en.reasons)) {
      for (const n of [1, 3, 14]) {
        const params = sampleParams(template, n);
        for (const k of Object.keys(params)) if (typeof params[k] === "string" && !["category", "survey"].includes(k)) params[k] = n + 7;
        const sentence = formatMessage("en-GB", template, params);
        const got = recogniseFact(sentence);
        expect(got, `${fact}: "${sentence}"`).not.toBeNull();
        // Another template may state the same sentence only if it formats identically.
        expect(formatMessage("en-GB", en.reasons[got!.fact], got!.params), fact).toBe(sentence);
      }
    }
  });

  it("matchers are anchored and read numbers", () => {
    const m = compileMatcher(en.reasons.overdue);
    expect(m.match("no purchase for 64 days; usually every 12")).toEqual({ days: 64, usual: 12 });
    expect(m.match("no purchase for 1 day; usually every 3")).toEqual({ days: 1, usual: 3 });
    expect(m.match("xno purchase for 64 days; usually every 12")).toBeNull();
    expect(m.match("no purchase for 64 days; usually every 12 or so")).toBeNull();
  });

  it("translates stored sentences, clause by clause for joined ones, and keeps unknown ones in English", () => {
    const de = translator("de-DE"), ru = translator("ru-RU"), bg = translator("bg-BG"), pl = translator("pl-PL");
    expect(localiseReason({ text: "no purchase for 64 days; usually every 12" }, de)).toBe("seit 64 Tagen kein Kauf; sonst etwa alle 12 Tage");
    expect(localiseReason({ text: "3 support tickets in the last 14 days, 1 SLA breach" }, ru)).toBe("3 обращения в поддержку за последние 14 дней, 1 нарушение SLA");
    expect(localiseReason({ text: "last NPS 3: detractor; last CSAT 2 of 5" }, bg)).toBe("последен NPS 3: критик; последен CSAT 2 от 5");
    expect(localiseReason({ text: "5 refunds so far, 40% of spend returned" }, pl)).toBe("dotąd 5 zwrotów, zwrócono 40% wydatków");
    expect(localiseReason({ text: "something new from a newer scoring" }, de)).toBe("something new from a newer scoring");
    // A joined sentence with one unknown clause stays whole, in English: half a translation misleads.
    expect(localiseReason({ text: "3 support tickets in total, a brand new clause" }, de)).toBe("3 support tickets in total, a brand new clause");
    // English is shown exactly as scoring wrote it.
    expect(localiseReason({ text: "no purchase for 64 days, usually every 12" }, translator("en-GB"))).toBe("no purchase for 64 days, usually every 12");
    // A reason that carries its fact and numbers needs no matching.
    expect(localiseReason({ text: "ignored", fact: "ticketsInWindow", params: { n: 2, window: 30 } }, pl)).toBe("2 zgłoszenia do wsparcia w ostatnich 30 dniach");
    expect(localiseReason({ text: "kept", fact: "noSuchFact", params: { n: 2 } }, pl)).toBe("kept");
  });

  it("every sentence the scoring code writes is recognised (drift between scoring and the catalogue fails here)", async () => {
    const mod = (await import("../src/scoring/reasons.js")) as Record<string, unknown>;
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
    const features = (): Record<string, number> => {
      const f: Record<string, number> = {};
      for (const name of FEATURE_NAMES) f[name] = int(0, 200);
      f.purchase_count = [0, 1, 2, 3, int(4, 40)][int(0, 4)]!;
      f.mean_days_between_purchases = f.purchase_count < 2 ? -1 : int(1, 120);
      f.std_days_between_purchases = f.purchase_count < 3 ? -1 : int(0, 150);
      f.recency_vs_interval = f.purchase_count < 2 ? -1 : int(0, 6);
      f.purchase_trend_90d = [-1, -0.5, -0.2, 0, 0.3][int(0, 4)]!;
      f.spend_trend_90d = [-1, -0.6, -0.05, 0, 0.4][int(0, 4)]!;
      f.refund_ratio = rnd();
      f.purchases_per_30d = [0, 0.2, 0.5, 2][int(0, 3)]!;
      for (const flag of ["has_nps", "has_csat", "has_ces"]) f[flag] = int(0, 1);
      f.last_nps = int(0, 10);
      f.nps_category = f.last_nps <= 6 ? -1 : f.last_nps <= 8 ? 0 : 1;
      f.last_csat = int(1, 5);
      f.last_ces = int(1, 7);
      for (const w of ["tickets_14d", "tickets_30d", "tickets_90d", "tickets_open", "sla_breaches", "escalated_tickets", "refund_count"]) f[w] = int(0, 3);
      return f;
    };
    const sentences = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const f = features();
      const phi = FEATURE_NAMES.map(() => rnd());
      let reasons: { text: string }[] = [];
      if (typeof mod.explainReasons === "function" && typeof mod.resolveThemes === "function") {
        // scoring/reasons.ts with TreeSHAP themes
        reasons = (mod.explainReasons as (p: number[], f: unknown, r: unknown) => { text: string }[])(phi, f, (mod.resolveThemes as (n: readonly string[]) => unknown)(FEATURE_NAMES));
      } else if (typeof mod.explain === "function" && typeof mod.themeIndex === "function") {
        reasons = (mod.explain as (c: number[], f: unknown, t: unknown, o: unknown) => { text: string }[])(phi, f, (mod.themeIndex as (n: readonly string[]) => unknown)(FEATURE_NAMES), { max: 10, minWeight: 0 });
      } else {
        throw new Error("scoring/reasons.ts exports neither explainReasons nor explain: update this test");
      }
      for (const r of reasons) sentences.add(r.text);
    }
    expect(sentences.size).toBeGreaterThan(30);
    const unknown = [...sentences].filter((s) => recogniseSentence(s) === null);
    expect(unknown).toEqual([]);
    for (const s of sentences) for (const lang of ["de", "pl", "bg", "ru"]) expect(localiseReason({ text: s }, translator(LOCALE_OF[lang]))).not.toBe(s);
  });
});

describe("numbers, money and dates", () => {
  const at = new Date("2026-11-22T23:30:00Z"); // Monday 23 Nov in Berlin and Sofia, Sunday in UTC
  it("money, scores and KPI values in each locale's convention", () => {
    const NBSP = /[\u00A0\u202F]/g;
    const plain = (s: string) => s.replace(NBSP, " ");
    const f = (locale: string) => mailFormat({ locale, timeZone: "Europe/Berlin", currency: "EUR" });
    expect(f("en-GB").money(4900)).toBe("€4,900");
    expect(plain(f("de-DE").money(4900))).toBe("4.900 €");
    expect(plain(f("ru-RU").money(4900))).toBe("4 900 €");
    expect(plain(f("de-DE").score(0.734))).toBe("73 %");
    expect(f("en-GB").score(0.734)).toBe("73%");
    expect(plain(f("de-DE").kpiValue("percent", 95.333))).toBe("95,3 %");
    expect(f("de-DE").kpiChange({ unit: "percent", change: -2.5, relativeChange: null, direction: "down" })).toBe("-2,5 Pp.");
    expect(plain(f("pl-PL").kpiChange({ unit: "currency", change: 4.2, relativeChange: 7.5, direction: "up" }))).toBe("+4,20 € (+7,5%)");
    expect(f("en-GB").kpiValue("nps", null)).toBe("n/a");
    expect(f("bg-BG").kpiValue("nps", null)).toBe("н.д.");
  });

  it("dates in the team's time zone and language", () => {
    expect(mailFormat({ locale: "en-GB", timeZone: "Europe/Berlin", currency: "EUR" }).dayLabel(at)).toBe("Mon 23 Nov 2026");
    expect(mailFormat({ locale: "en-GB", timeZone: "UTC", currency: "EUR" }).dayLabel(at)).toBe("Sun 22 Nov 2026");
    expect(mailFormat({ locale: "de-DE", timeZone: "Europe/Berlin", currency: "EUR" }).dayLabel(at)).toBe("Mo., 23. Nov. 2026");
    expect(mailFormat({ locale: "bg-BG", timeZone: "Europe/Sofia", currency: "EUR" }).shortDate(at)).toBe("23.11");
  });

  it("CSV: semicolons and decimal commas where the locale writes decimals with a comma", () => {
    expect(mailFormat({ locale: "de-DE", currency: "EUR" })).toMatchObject({ csvDelimiter: ";", decimalSeparator: "," });
    expect(mailFormat({ locale: "ru-RU", currency: "EUR" })).toMatchObject({ csvDelimiter: ";", decimalSeparator: "," });
    expect(mailFormat({ locale: "en-US", currency: "USD" })).toMatchObject({ csvDelimiter: ",", decimalSeparator: "." });
    expect(csvCell(72.5, ";", ",")).toBe("72,5");
    expect(csvCell(-0.5, ";", ",")).toBe("-0,5");
    expect(csvCell(72.5, ",", ",")).toBe('"72,5"');
    expect(toCsv(["a", "b"], [[1.5, "x;y"]], ";", ",")).toBe('\uFEFFa;b\r\n1,5;"x;y"\r\n');
  });
});
