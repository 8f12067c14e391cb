import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { kpiChange, kpiValues, type KpiCounts } from "../src/kpi/index.js";
import { csvCell } from "../src/lib/csv.js";
import {
  DEFAULT_SEGMENTS_FILE,
  inCooldown,
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
    expect(segments.map((s) => s.id)).toEqual(["high-value-at-risk", "new-customers-at-risk", "unhappy-after-support", "at-risk"]);
    const newAndUnhappy = { score: 0.8, riskLevel: "high", value: 400, features: { tenure_days: 20, tickets_90d: 2, sla_breaches: 1 } };
    expect(segmentsFor(newAndUnhappy, segments)).toEqual(["new-customers-at-risk", "unhappy-after-support", "at-risk"]);
    const loyalMedium = { score: 0.4, riskLevel: "medium", value: 5000, features: { tenure_days: 900, tickets_90d: 0, sla_breaches: 0 } };
    expect(segmentsFor(loyalMedium, segments)).toEqual(["high-value-at-risk"]);
    // A missing feature value matches no condition on it.
    expect(segmentsFor({ ...newAndUnhappy, features: {} }, segments)).toEqual(["at-risk"]);
  });

  it("the shipped example has lists in several languages, one in a non-Latin script", async () => {
    const segments = await loadSegments(DEFAULT_SEGMENTS_FILE);
    const lists = Object.fromEntries(segments.map((s) => [s.id, s.lists.map((l) => l.locale)]));
    expect(lists).toEqual({
      "high-value-at-risk": ["en-GB", "de-DE"],
      "new-customers-at-risk": ["en-GB"],
      "unhappy-after-support": ["en-GB"],
      "at-risk": ["en-GB", "bg-BG", "pl-PL"],
    });
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

  it("backoff doubles, is capped, and jitters upwards only", () => {
    const b = { baseMs: 1000, maxMs: 10_000, jitter: 0.5 };
    expect([1, 2, 3, 4, 5, 9].map((n) => retryDelayMs(n, b, () => 0))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(retryDelayMs(2, b, () => 1)).toBe(3000);
  });
});
