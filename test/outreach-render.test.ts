import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { kpiChange, kpiValues, type KpiCounts } from "../src/kpi/index.js";
import { csvCell } from "../src/lib/csv.js";
import {
  DEFAULT_SEGMENTS_FILE,
  inCooldown,
  isWinbackSegment,
  matchesSegment,
  loadSegments,
  parseSegments,
  renderAlert,
  renderAlertSummary,
  renderDigest,
  retryDelayMs,
  segmentsFor,
  segmentTextFor,
  SegmentsConfigError,
  type ScoredCustomer,
  type Segment,
  type WinbackCustomer,
} from "../src/outreach/index.js";

/** Minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF) to check what a spreadsheet would see. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], cell = "", quoted = false;
  const s = text.replace(/^\uFEFF/, "");
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") { row.push(cell); cell = ""; }
    else if (ch === "\r" && s[i + 1] === "\n") { row.push(cell); rows.push(row); row = []; cell = ""; i++; }
    else cell += ch;
  }
  if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

function customer(id: string, score: number, value: number, extra: Partial<ScoredCustomer> = {}): ScoredCustomer {
  return {
    customerId: id, name: `Customer ${id}`, email: `${id}@example.com`, score, riskLevel: score >= 0.7 ? "high" : "medium",
    lastSeenScore: null, value, valueAtRisk: value * score, features: {},
    reasons: [
      { code: "recency", text: "no purchase for 64 days, usually every 12", weight: 0.3 },
      { code: "support", text: "3 support tickets in 14 days, 1 SLA breach", weight: 0.2 },
    ],
    ...extra,
  };
}

const segment: Segment = parseSegments([{
  id: "high-value-at-risk", name: "High-value at risk", description: "Valuable customers drifting away",
  when: { riskLevels: ["medium", "high"], minValue: 1000 }, recipients: ["team@example.com"],
  action: "Call them within two days", crmLinkTemplate: "https://crm.example.com/customers/{customerId}",
}])[0]!;

describe("segments file", () => {
  it("the shipped example loads and classifies customers", async () => {
    const segments = await loadSegments(DEFAULT_SEGMENTS_FILE);
    expect(segments.map((s) => s.id)).toEqual(["high-value-at-risk", "new-customers-at-risk", "unhappy-after-support", "at-risk", "lapsed-high-value"]);
    const newAndUnhappy = { score: 0.8, riskLevel: "high", value: 400, features: { tenure_days: 20, tickets_90d: 2, sla_breaches: 1 } };
    expect(segmentsFor(newAndUnhappy, segments)).toEqual(["new-customers-at-risk", "unhappy-after-support", "at-risk"]);
    const loyalMedium = { score: 0.4, riskLevel: "medium", value: 5000, features: { tenure_days: 900, tickets_90d: 0, sla_breaches: 0 } };
    expect(segmentsFor(loyalMedium, segments)).toEqual(["high-value-at-risk"]);
    // A missing feature value matches no condition on it.
    expect(segmentsFor({ ...newAndUnhappy, features: {} }, segments)).toEqual(["at-risk"]);
    // The win-back segment takes lapsed customers only: a scored one (new or active) never matches it.
    expect(segmentsFor({ ...loyalMedium, stage: "active" }, segments)).toEqual(["high-value-at-risk"]);
    const winback = segments.find((s) => s.id === "lapsed-high-value")!;
    expect(isWinbackSegment(winback.when)).toBe(true);
    expect(segments.filter((s) => isWinbackSegment(s.when)).map((s) => s.id)).toEqual(["lapsed-high-value"]);
    expect(matchesSegment({ stage: "lapsed", value: 800, features: {} }, winback.when)).toBe(true);
    expect(matchesSegment({ stage: "lapsed", value: 400, features: {} }, winback.when)).toBe(false);
    expect(matchesSegment({ stage: "cancelled", value: 800, features: {} }, winback.when)).toBe(false);
  });

  it("the shipped example has lists in several languages, one in a non-Latin script", async () => {
    const segments = await loadSegments(DEFAULT_SEGMENTS_FILE);
    const lists = Object.fromEntries(segments.map((s) => [s.id, s.lists.map((l) => l.locale)]));
    expect(lists).toEqual({
      "high-value-at-risk": ["en-GB", "de-DE"],
      "new-customers-at-risk": ["en-GB"],
      "unhappy-after-support": ["en-GB"],
      "at-risk": ["en-GB", "bg-BG", "pl-PL"],
      "lapsed-high-value": ["en-GB", "de-DE"],
    });
    const winback = segments.find((s) => s.id === "lapsed-high-value")!;
    // Translations for every language the example file uses, whether or not this segment has a list in it.
    expect(Object.keys(winback.translations).sort()).toEqual(["bg", "de", "pl"]);
    const atRisk = segments.find((s) => s.id === "at-risk")!;
    expect(segmentTextFor(atRisk, "bg-BG").name).toBe("В риск");
    expect(segmentTextFor(atRisk, "en-US").name).toBe("At risk");
    expect(atRisk.recipients).toEqual(["retention@example.com", "retention-bg@example.com", "retencja@example.com"]);
  });

  it("the shipped descriptions promise nothing their rules do not check", async () => {
    // What a description may claim, and the condition that must back the claim.
    const claims: [RegExp, (s: Segment) => boolean][] = [
      [/NPS|detractor|promoter/i, (s) => "last_nps" in (s.when.features ?? {}) || "nps_category" in (s.when.features ?? {})],
      [/CSAT|satisf/i, (s) => "last_csat" in (s.when.features ?? {})],
      [/SLA/, (s) => "sla_breaches" in (s.when.features ?? {})],
      [/contacted support|ticket/i, (s) => Object.keys(s.when.features ?? {}).some((k) => k.startsWith("tickets_"))],
      [/first (\d+) days/, (s) => s.when.features?.tenure_days?.lt === Number(/first (\d+) days/.exec(s.description)![1])],
      [/at least ([\d,]+)/, (s) => s.when.minValue === Number(/at least ([\d,]+)/.exec(s.description)![1]!.replace(/,/g, ""))],
      [/(\d+)% or more/, (s) => s.when.minScore === Number(/(\d+)% or more/.exec(s.description)![1]) / 100],
      [/medium or high/, (s) => JSON.stringify(s.when.riskLevels) === JSON.stringify(["medium", "high"])],
      [/with a high churn risk/, (s) => JSON.stringify(s.when.riskLevels) === JSON.stringify(["high"])],
      // Lifecycle: a stage named is a stage selected; a win-back segment claims no churn risk and
      // is ranked by value, an at-risk one by value at risk.
      [/lapsed/i, (s) => (s.when.lifecycle ?? []).includes("lapsed")],
      [/cancel/i, (s) => (s.when.lifecycle ?? []).includes("cancelled")],
      [/churn risk|at risk/i, (s) => !isWinbackSegment(s.when)],
      [/ranked by value(?! at risk)/, (s) => isWinbackSegment(s.when)],
      [/ranked by value at risk/, (s) => !isWinbackSegment(s.when)],
    ];
    for (const s of await loadSegments(DEFAULT_SEGMENTS_FILE)) {
      for (const [claim, backed] of claims) {
        if (claim.test(s.description)) expect(backed(s), `${s.id}: "${s.description}" claims ${claim}`).toBe(true);
      }
    }
  });

  it("locales, recipient lists and translations are validated with the segment and field named", () => {
    const seg = { id: "a", name: "A", recipients: ["x@example.com"], action: "act" };
    expect(() => parseSegments([{ ...seg, locale: "fr-FR" }], "f.yaml")).toThrow(/segment "a": locale: no messages in "fr".*supported languages: en, de, pl, bg, ru/);
    expect(() => parseSegments([{ ...seg, locale: "not a tag!" }], "f.yaml")).toThrow(/segment "a": locale: "not a tag!" is not a BCP 47 locale tag/);
    expect(() => parseSegments([{ ...seg, recipients: ["x@example.com", { to: ["y@example.com"], locale: "de-DE" }] }], "f.yaml"))
      .toThrow(/segment "a": recipients\.1\.locale: de-DE needs the segment's name, action in that language/);
    expect(() => parseSegments([{ ...seg, recipients: [{ to: "y@example.com", locale: "xx" }] }], "f.yaml")).toThrow(/segment "a": recipients\.0\.locale:/);
    expect(() => parseSegments([{ ...seg, recipients: [{ to: ["y@example.com", "nope"] }] }], "f.yaml")).toThrow(/segment "a": recipients\.0\.to/);
    expect(() => parseSegments([{ ...seg, recipients: [{ to: ["y@example.com"], timeZone: "Mars/Base" }] }], "f.yaml")).toThrow(/recipients\.0\.timeZone: an IANA time zone/);
    expect(() => parseSegments([{ ...seg, recipients: ["x@example.com", { to: ["X@example.com"], locale: "en-US" }] }], "f.yaml"))
      .toThrow(/recipients\.1: X@example\.com is already in recipients\.0/);
    expect(() => parseSegments([{ ...seg, unsubscribe: "javascript:alert(1)" }], "f.yaml")).toThrow(/unsubscribe: a mailto: or https:\/\/ URL/);
    expect(() => parseSegments({ locale: "ru", segments: [{ ...seg, recipients: [{ to: "y@example.com", locale: "de" }], translations: { de: { name: "B", action: "b" } } }] }, "f.yaml")).not.toThrow();
    const ok = parseSegments({ locale: "de-DE", segments: [{ ...seg, recipients: ["x@example.com", { to: "y@example.com", locale: "ru-RU" }], translations: { ru: { name: "Б", action: "б" } } }] }, "f.yaml")[0]!;
    expect(ok.lists).toEqual([{ to: ["x@example.com"], locale: "de-DE" }, { to: ["y@example.com"], locale: "ru-RU" }]);
    expect(segmentTextFor(ok, "ru-RU")).toEqual({ name: "Б", description: "", action: "б" });
  });

  it("errors name the file, the segment and the field", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "segments-"));
    const file = path.join(dir, "bad.yaml");
    await writeFile(file, `segments:
  - id: new-at-risk
    name: New at risk
    recipients: [onboarding@example.com, not-an-address]
    action: call
    when:
      features:
        tenure_dayz: { lt: 90 }
        sla_breaches: { gte: "one" }
`);
    const err = await loadSegments(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SegmentsConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(file);
    expect(msg).toContain('segment "new-at-risk": recipients.1');
    expect(msg).toContain('segment "new-at-risk": when.features.tenure_dayz: unknown feature "tenure_dayz"');
    expect(msg).toContain("when.features.sla_breaches.gte");
  });

  it("rejects duplicate ids, unknown keys and YAML syntax errors", async () => {
    const seg = { id: "a", name: "A", recipients: ["x@example.com"], action: "act" };
    expect(() => parseSegments({ segments: [seg, seg] }, "f.yaml")).toThrow(/segment "a": id: duplicate segment id/);
    expect(() => parseSegments([{ ...seg, colour: "red" }], "f.yaml")).toThrow(/segment "a": \(segment\)|colour/);
    expect(() => parseSegments([{ ...seg, crmLinkTemplate: "javascript:alert(1)" }], "f.yaml")).toThrow(/crmLinkTemplate/);
    const dir = await mkdtemp(path.join(os.tmpdir(), "segments-"));
    const file = path.join(dir, "broken.yaml");
    await writeFile(file, "segments:\n  - id: [unclosed\n");
    await expect(loadSegments(file)).rejects.toThrow(file);
  });
});

describe("lifecycle conditions", () => {
  const seg = { id: "wb", name: "Win back", recipients: ["x@example.com"], action: "Call them." };
  const problems = (data: unknown): string => {
    try {
      parseSegments(data, "f.yaml");
    } catch (err) {
      expect(err).toBeInstanceOf(SegmentsConfigError);
      return (err as Error).message;
    }
    return "";
  };

  it("lapsed or cancelled make a win-back segment; new or active a scored one", () => {
    const [wb, scored] = parseSegments([
      { ...seg, when: { lifecycle: ["lapsed", "cancelled"], minValue: 500, features: { purchase_count: { gte: 3 } } } },
      { ...seg, id: "new-high", when: { lifecycle: ["new"], riskLevels: ["high"] }, alert: true },
    ], "f.yaml");
    expect(isWinbackSegment(wb!.when)).toBe(true);
    expect(isWinbackSegment(scored!.when)).toBe(false);
    expect(matchesSegment({ score: 0.8, riskLevel: "high", stage: "new", value: 0, features: {} }, scored!.when)).toBe(true);
    expect(matchesSegment({ score: 0.8, riskLevel: "high", stage: "active", value: 0, features: {} }, scored!.when)).toBe(false);
    // An unknown stage (a row from before lifecycles) matches no lifecycle condition.
    expect(matchesSegment({ score: 0.8, riskLevel: "high", value: 0, features: {} }, scored!.when)).toBe(false);
    expect(matchesSegment({ stage: "cancelled", value: 900, features: { purchase_count: 5 } }, wb!.when)).toBe(true);
    expect(matchesSegment({ stage: "cancelled", value: 900, features: { purchase_count: 2 } }, wb!.when)).toBe(false);
  });

  it("refuses score, level and alert on a win-back segment, naming the segment and the field", () => {
    const msg = problems([{ ...seg, when: { lifecycle: ["lapsed"], riskLevels: ["high"], minScore: 0.5, maxScore: 0.9 }, alert: true }]);
    expect(msg).toContain("f.yaml");
    expect(msg).toContain('segment "wb": when.riskLevels: lapsed customers have no churn score or risk level');
    expect(msg).toContain('segment "wb": when.minScore: lapsed customers have no churn score or risk level');
    expect(msg).toContain('segment "wb": when.maxScore:');
    expect(msg).toContain('segment "wb": alert: alerts are for customers crossing into high risk, and lapsed customers have no risk level');
    expect(problems([{ ...seg, when: { lifecycle: ["cancelled"], minScore: 0.2 } }])).toMatch(/segment "wb": when\.minScore: cancelled customers have no churn score/);
  });

  it("refuses mixed, unknown, prospect and empty stage lists", () => {
    expect(problems([{ ...seg, when: { lifecycle: ["active", "lapsed"] } }]))
      .toContain('segment "wb": when.lifecycle: active (scored, ranked by value at risk) cannot be mixed with lapsed (not scored, ranked by value) in one segment');
    expect(problems([{ ...seg, when: { lifecycle: ["lapsd"] } }])).toContain('segment "wb": when.lifecycle.0: unknown stage "lapsd"; one of new, active, lapsed, cancelled');
    expect(problems([{ ...seg, when: { lifecycle: ["prospect"] } }])).toContain('segment "wb": when.lifecycle.0: prospect is not a segment stage');
    expect(problems([{ ...seg, when: { lifecycle: [] } }])).toContain('segment "wb": when.lifecycle: at least one lifecycle stage');
    expect(problems([{ ...seg, when: { lifecycle: "lapsed" } }])).toMatch(/segment "wb": when\.lifecycle: /);
    // Other problems of the same file are still reported alongside.
    const both = problems([{ ...seg, when: { lifecycle: ["lapsed"], riskLevels: ["high"] }, recipients: ["nope"] }]);
    expect(both).toContain('segment "wb": recipients.0');
    expect(both).toContain('segment "wb": when.riskLevels:');
  });

  it("errors in a YAML file name the file, the segment and the field", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "segments-"));
    const file = path.join(dir, "winback.yaml");
    await writeFile(file, `segments:
  - id: lapsed-vip
    name: Lapsed VIP
    recipients: [winback@example.com]
    action: call
    alert: true
    when:
      lifecycle: [lapsed]
      riskLevels: [high]
`);
    const err = await loadSegments(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SegmentsConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(`invalid segments file ${file}`);
    expect(msg).toContain('segment "lapsed-vip": when.riskLevels:');
    expect(msg).toContain('segment "lapsed-vip": alert:');
  });
});

describe("win-back digest rendering", () => {
  const winback: Segment = parseSegments({
    locale: "en-GB",
    segments: [{
      id: "lapsed-high-value", name: "Lapsed high-value", description: "Lapsed customers worth at least 500 a year, ranked by value.",
      when: { lifecycle: ["lapsed", "cancelled"], minValue: 500 }, recipients: ["winback@example.com", { to: "ru@example.com", locale: "ru-RU" }],
      action: "Send the win-back offer.", crmLinkTemplate: "https://crm.example.com/customers/{customerId}",
      translations: { ru: { name: "Неактивные ценные клиенты", description: "Неактивные клиенты с ценностью от 500 в год.", action: "Отправьте предложение о возврате." } },
    }],
  }, "test")[0]!;
  const lapsed = (id: string, value: number, extra: Partial<WinbackCustomer> = {}): WinbackCustomer => ({
    customerId: id, name: `Customer ${id}`, email: `${id}@example.com`, stage: "lapsed", since: new Date("2026-05-03T10:00:00Z"), value,
    lastListedAt: null, locale: null,
    features: { purchase_count: 24, days_since_last_purchase: 212.4, mean_days_between_purchases: 30.2, total_spend: 7400, refund_amount: 100 },
    ...extra,
  });
  const view = (locale: string) => ({ ...winback, ...segmentTextFor(winback, locale) });
  const customers = [
    lapsed("w1", 900),
    lapsed("w2", 2400, { name: "<b>Ann</b>", lastListedAt: new Date("2026-10-01T08:00:00Z") }),
    lapsed("w3", 1500, { stage: "cancelled", since: new Date("2026-09-12T15:00:00Z"), features: { purchase_count: 1, days_since_last_purchase: 80, mean_days_between_purchases: -1, total_spend: 300, refund_amount: 0 } }),
    lapsed("w4", 700, { since: null, features: { purchase_count: 0, days_since_last_purchase: 400, mean_days_between_purchases: -1, total_spend: 0, refund_amount: 0 } }),
  ];

  it("ranks by value and states facts, not a probability or churn reasons", () => {
    const out = renderDigest({ kind: "winback", segment: view("en-GB"), periodLabel: "Mon 23 Nov 2026", periodKey: "2026-11-23", kpis: [], customers, baseCurrency: "EUR", inCooldown: 2 });
    expect(out.subject).toBe("Win-back digest: Lapsed high-value: 4 customers worth €5,500 a year (Mon 23 Nov 2026)");
    expect(out.value).toBe(5500);
    expect(out.valueAtRisk).toBe(0);
    expect([...out.text.matchAll(/^\d+\. (?:Customer )?(\S+)/gm)].map((m) => m[1])).toEqual(["<b>Ann</b>", "w3", "w1", "w4"]);
    expect(out.text).toContain("   Lapsed since 3 May 2026; last listed on 1 Oct 2026. Value €2,400 a year\n   - Last purchase 212 days ago; usually every 30.\n   - Lifetime spend €7,300 over 24 purchases.");
    expect(out.text).toContain("   Cancelled on 12 Sept 2026; new in this list. Value €1,500 a year\n   - Last purchase 80 days ago.\n   - Lifetime spend €300 over 1 purchase.");
    expect(out.text).toContain("   Lapsed; new in this list. Value €700 a year\n   - No purchase on record.");
    expect(out.text).toContain("4 customers who have stopped buying, worth €5,500 a year at the rate they used to buy.");
    expect(out.text).toContain("2 more customers were listed or contacted recently");
    expect(out.text).toContain("Suggested action: Send the win-back offer.");
    expect(out.text).toContain("Segment lapsed-high-value: lifecycle stage lapsed or cancelled, expected value \u2265 €500.");
    // No probability anywhere: no percentages, no risk level, no "value at risk".
    expect(out.text).not.toMatch(/\d+%|risk level|value at risk|churn risk \d/i);
    expect(out.html).toContain("Lapsed since 3 May 2026");
    expect(out.html).toContain("&lt;b&gt;Ann&lt;/b&gt;");
    expect(out.html).not.toContain("<b>Ann");
    expect(out.html).toContain("https://crm.example.com/customers/w2");
    expect(out.csvFilename).toBe("lapsed-high-value-2026-11-23.csv");
  });

  it("has a CSV of its own, without risk columns", () => {
    const out = renderDigest({ kind: "winback", segment: view("en-GB"), periodLabel: "p", kpis: [], customers, baseCurrency: "EUR", timeZone: "Europe/London" });
    const rows = parseCsv(out.csv);
    expect(rows[0]).toEqual([
      "rank", "customer_id", "name", "email", "lifecycle_stage", "stage_since", "value", "days_since_last_purchase",
      "usual_days_between_purchases", "purchases", "lifetime_spend", "suggested_action", "crm_link", "last_listed", "customer_language",
    ]);
    expect(rows.slice(1).map((r) => [r[1], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[13]])).toEqual([
      ["w2", "lapsed", "2026-05-03", "2400", "212", "30", "24", "7300", "2026-10-01"],
      ["w3", "cancelled", "2026-09-12", "1500", "80", "", "1", "300", ""],
      ["w1", "lapsed", "2026-05-03", "900", "212", "30", "24", "7300", ""],
      ["w4", "lapsed", "", "700", "", "", "0", "0", ""],
    ]);
    // The body shows maxRows; the CSV always everyone.
    const short = renderDigest({ kind: "winback", segment: view("en-GB"), periodLabel: "p", kpis: [], customers, baseCurrency: "EUR", maxRows: 2 });
    expect(short.shown).toBe(2);
    expect(parseCsv(short.csv)).toHaveLength(5);
    expect(short.text).toContain("The 2 with the highest value are below; the attached CSV lists all 4.");
  });

  it("renders in Russian: texts, plurals, dates, money and a semicolon CSV", () => {
    const out = renderDigest({
      kind: "winback", segment: view("ru-RU"), periodLabel: "пн, 23 нояб. 2026 г.", kpis: [], customers, baseCurrency: "EUR", locale: "ru-RU", timeZone: "Europe/Moscow",
    });
    const plain = (x: string) => x.replace(/[\u00A0\u202F]/g, " ");
    expect(plain(out.subject)).toBe("Сводка возврата: Неактивные ценные клиенты: 4 клиента на 5 500 € в год (пн, 23 нояб. 2026 г.)");
    const text = plain(out.text);
    expect(text).toContain("Неактивен с 3 мая 2026 г.; последний раз в списке 1 окт. 2026 г.. Ценность 2 400 € в год");
    expect(text).toContain("   - Последняя покупка 212 дней назад; обычно раз в 30 дней.");
    expect(text).toContain("   - Всего потрачено 7 300 €, 24 покупки.");
    expect(text).toContain("   - Всего потрачено 300 €, 1 покупка.");
    expect(text).toContain("Отказ 12 сент. 2026 г.; впервые в списке.");
    expect(text).toContain("Рекомендуемое действие: Отправьте предложение о возврате.");
    expect(text).toContain("этап жизненного цикла неактивный или отказавшийся");
    expect(out.html).toMatch(/<html lang="ru-RU"/);
    const rows = out.csv.replace(/^\uFEFF/, "").split("\r\n");
    expect(rows[0]!.split(";").slice(0, 7)).toEqual(["Место", "ID клиента", "Имя", "E-mail", "Этап жизненного цикла", "Этап с", "Ценность"]);
    expect(rows[1]!.split(";").slice(4, 8)).toEqual(["неактивный", "2026-05-03", "2400", "212"]);
  });

  it("says so when nobody is due", () => {
    const out = renderDigest({ kind: "winback", segment: view("en-GB"), periodLabel: "p", kpis: [], customers: [], baseCurrency: "EUR" });
    expect(out.subject).toBe("Win-back digest: Lapsed high-value: nobody to contact (p)");
    expect(out.text).toContain("No customer in this segment needs a win-back contact this period.");
    expect(parseCsv(out.csv)).toHaveLength(1);
  });
});

describe("digest rendering", () => {
  const kpis = kpiChange(
    kpiValues({
      customersAtStart: 150, customersAtEnd: 193, newCustomers: 50, lostCustomers: 7, orders: 400, revenue: 24_000, buyers: 180,
      refunds: 3, refundAmount: 120, npsResponses: 40, promoters: 20, detractors: 8, csatResponses: 30, satisfied: 24,
      cesResponses: 10, cesTotal: 31,
    } satisfies KpiCounts),
    kpiValues({
      customersAtStart: 140, customersAtEnd: 150, newCustomers: 30, lostCustomers: 10, orders: 380, revenue: 22_000, buyers: 170,
      refunds: 2, refundAmount: 80, npsResponses: 40, promoters: 18, detractors: 10, csatResponses: 30, satisfied: 22,
      cesResponses: 10, cesTotal: 35,
    }),
  );

  it("escapes names and reasons in HTML", () => {
    const evil = customer("c-1", 0.9, 5000, {
      name: `<script>alert("x")</script>`,
      email: `a"onmouseover="x@example.com`,
      reasons: [{ code: "x", text: "<img src=x onerror=alert(1)> & more", weight: 1 }],
    });
    const out = renderDigest({ segment, periodLabel: "Mon 23 Nov 2026", kpis, customers: [evil], baseCurrency: "EUR" });
    expect(out.html).not.toContain("<script>");
    expect(out.html).not.toContain("<img");
    expect(out.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(out.html).toContain("&lt;img src=x onerror=alert(1)&gt; &amp; more.");
    expect(out.html).not.toContain(`a"onmouseover`);
    expect(out.text).toContain(`<script>alert("x")</script>`); // plain text shows it as typed
  });

  it("ranks by value at risk, shows maxRows in the body and every row in the CSV", () => {
    const customers = Array.from({ length: 40 }, (_, i) => customer(`c${String(i).padStart(2, "0")}`, 0.5 + (i % 5) / 10, 1000 + i * 100));
    const out = renderDigest({ segment, periodLabel: "Mon 23 Nov 2026", kpis, customers, baseCurrency: "EUR", maxRows: 10 });
    const rows = parseCsv(out.csv);
    expect(rows[0]).toEqual([
      "rank", "customer_id", "name", "email", "churn_risk_pct", "risk_level", "previous_risk_pct",
      "value", "value_at_risk", "reasons", "suggested_action", "crm_link", "risk_trend", "customer_language",
    ]);
    expect(rows).toHaveLength(41);
    const priorities = rows.slice(1).map((r) => Number(r[8]));
    expect(priorities).toEqual([...priorities].sort((a, b) => b - a));
    expect(rows[1]![1]).toBe("c39"); // 0.9 x 4900
    expect(out.shown).toBe(10);
    expect(out.total).toBe(40);
    expect(out.subject).toBe(`Churn digest: High-value at risk: 40 customers, ${out.html.match(/with (€[\d,]+) value at risk/)![1]} value at risk (Mon 23 Nov 2026)`);
    // Body: exactly the top 10, in rank order.
    const bodyIds = [...out.text.matchAll(/^\d+\. Customer (c\d+)/gm)].map((m) => m[1]);
    expect(bodyIds).toEqual(rows.slice(1, 11).map((r) => r[1]));
    expect(out.html).toContain("https://crm.example.com/customers/c39");
    expect(out.html).toContain("No purchase for 64 days, usually every 12.");
    expect(out.html).toContain("Call them within two days");
    expect(out.text).toContain("the attached CSV lists all 40");
  });

  it("shows KPIs with arrows and changes", () => {
    const out = renderDigest({ segment, periodLabel: "Nov 2026", kpis, customers: [], baseCurrency: "EUR" });
    // 95.33% against (150 - 30) / 140 = 85.71%; churn 4.67% against 7.14%; CES lower is better.
    expect(out.text).toContain("Customer retention rate: 95.3% \u25B2 +9.6 pts");
    expect(out.text).toContain("Churn rate: 4.7% \u25BC -2.5 pts");
    expect(out.html).toMatch(/color:#1a7f37[^>]*>\u25BC -2.5 pts/); // down, but good news: green
    expect(out.html).toMatch(/color:#1a7f37[^>]*>\u25BC -0.40/);
  });

  it("neutralises spreadsheet formulas and quotes per RFC 4180", () => {
    expect(csvCell("=HYPERLINK(\"http://evil\")")).toBe(`"'=HYPERLINK(""http://evil"")"`);
    expect(csvCell("+1")).toBe("'+1");
    expect(csvCell("-2+3")).toBe("'-2+3");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell("\tx")).toBe("'\tx");
    expect(csvCell("\r=1")).toBe(`"'\r=1"`);
    expect(csvCell("a,b")).toBe(`"a,b"`);
    expect(csvCell("line\nbreak")).toBe(`"line\nbreak"`);
    expect(csvCell(-0.5)).toBe("-0.5"); // our own numbers stay numbers
    expect(csvCell(null)).toBe("");
    const evil = customer("=cmd|' /C calc'!A0", 0.8, 2000, { name: "@SUM(1+1)*cmd", email: "+x@example.com" });
    const rows = parseCsv(renderDigest({ segment, periodLabel: "p", kpis: [], customers: [evil], baseCurrency: "EUR" }).csv);
    expect(rows[1]![1]).toBe("'=cmd|' /C calc'!A0");
    expect(rows[1]![2]).toBe("'@SUM(1+1)*cmd");
    expect(rows[1]![3]).toBe("'+x@example.com");
    expect(rows[1]![11]).toBe("https://crm.example.com/customers/%3Dcmd%7C'%20%2FC%20calc'!A0");
  });

  it("says so when nobody needs outreach", () => {
    const out = renderDigest({ segment, periodLabel: "p", kpis: [], customers: [], baseCurrency: "EUR", inCooldown: 3 });
    expect(out.subject).toContain("no customers need outreach");
    expect(out.text).toContain("3 more customers were listed recently");
    expect(parseCsv(out.csv)).toHaveLength(1);
  });

  it("shows how the model's earlier scores turned out, in the list's language, when there is a check", () => {
    const modelCheck = {
      asOf: new Date("2026-08-25T00:00:00Z"), horizonDays: 90,
      bands: [{ level: "high", churnRate: 0.71, meanPredicted: 0.74 }, { level: "low", churnRate: 0.12, meanPredicted: 0.1 }, { level: "medium", churnRate: null, meanPredicted: null }],
    };
    const en = renderDigest({ segment, periodLabel: "p", kpis: [], customers: [], baseCurrency: "EUR", modelCheck });
    expect(en.text).toContain("of the customers scored on 25 Aug, high 71% (predicted 74%), low 12% (predicted 10%) churned within 90 days.");
    expect(en.html).toContain("high 71% (predicted 74%)");
    const de = renderDigest({ segment, periodLabel: "p", kpis: [], customers: [], baseCurrency: "EUR", modelCheck, locale: "de-DE" });
    expect(de.text).toMatch(/innerhalb von 90 Tagen abgewandert/);
    expect(de.text).toMatch(/71\s%\s\(vorhergesagt 74\s%\)/);
    const none = renderDigest({ segment, periodLabel: "p", kpis: [], customers: [], baseCurrency: "EUR" });
    expect(none.text).not.toContain("How earlier scores turned out");
  });
});

describe("alerts and cooldown rules", () => {
  it("renders one alert and a summary, escaped", () => {
    const c = customer("c1", 0.82, 3000, { name: "<b>Ann</b>", lastSeenScore: 0.55 });
    const a = renderAlert(c, { segment, baseCurrency: "EUR" });
    // The subject names the customer by id only (it travels into logs and previews); the body has the name.
    expect(a.subject).toBe("High churn risk: customer c1 (82%), High-value at risk");
    expect(a.subject).not.toContain("Ann");
    expect(a.html).toContain("&lt;b&gt;Ann&lt;/b&gt;");
    expect(a.html).not.toContain("<b>Ann");
    expect(a.text).toContain("Churn risk 82% (was 55%). Value €3,000, €2,460 at risk");
    const s = renderAlertSummary([c, customer("c2", 0.9, 9000)], { segment, baseCurrency: "EUR" });
    expect(s.subject).toContain("2 more customers");
    expect(s.text.indexOf("Customer c2")).toBeLessThan(s.text.indexOf("Ann"));
  });

  it("cooldown holds unless the level or the score rose", () => {
    const now = new Date("2026-11-23T08:00:00Z");
    const listing = { listedAt: new Date("2026-11-20T08:00:00Z"), listedScore: 0.5, listedLevel: "medium" };
    const rule = { cooldownDays: 7, riseDelta: 0.1 };
    expect(inCooldown(null, { score: 0.5, riskLevel: "medium" }, now, rule)).toBe(false);
    expect(inCooldown(listing, { score: 0.55, riskLevel: "medium" }, now, rule)).toBe(true);
    expect(inCooldown(listing, { score: 0.6, riskLevel: "medium" }, now, rule)).toBe(false);
    expect(inCooldown(listing, { score: 0.52, riskLevel: "high" }, now, rule)).toBe(false);
    expect(inCooldown(listing, { score: 0.4, riskLevel: "low" }, now, rule)).toBe(true);
    expect(inCooldown(listing, { score: 0.5, riskLevel: "medium" }, new Date("2026-11-27T08:00:00Z"), rule)).toBe(false);
  });

  it("a win-back customer (no risk) is held for the whole cooldown after a listing, and by contacts as any other", () => {
    const now = new Date("2026-11-23T08:00:00Z");
    const listing = { listedAt: new Date("2026-11-20T08:00:00Z"), listedScore: 0, listedLevel: "lapsed" };
    const rule = { cooldownDays: 7, riseDelta: 0.1, declinedDays: 30 };
    expect(inCooldown(null, null, now, rule)).toBe(false);
    expect(inCooldown(listing, null, now, rule)).toBe(true);
    expect(inCooldown(listing, null, new Date("2026-11-27T08:00:00Z"), rule)).toBe(false);
    expect(inCooldown(null, null, now, rule, { lastReachedAt: Date.parse("2026-11-21T08:00:00Z"), lastDeclinedAt: null })).toBe(true);
    expect(inCooldown(null, null, now, rule, { lastReachedAt: null, lastDeclinedAt: Date.parse("2026-11-01T08:00:00Z") })).toBe(true);
  });

  it("backoff doubles, is capped, and jitters upwards only", () => {
    const b = { baseMs: 1000, maxMs: 10_000, jitter: 0.5 };
    expect([1, 2, 3, 4, 5, 9].map((n) => retryDelayMs(n, b, () => 0))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(retryDelayMs(2, b, () => 1)).toBe(3000);
  });
});
