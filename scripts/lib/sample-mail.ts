/**
 * Sample digests and alerts with realistic hard cases (long names and addresses, Cyrillic, twelve
 * weeks of trend, the segment's KPIs next to the company's), rendered by the production code. The
 * screenshot script and the layout test use the same samples, so what docs/screenshots shows is
 * what the test measured.
 */
import { kpiChange, kpiValues, type KpiCounts } from "../../src/kpi/report.js";
import type { SegmentTrend } from "../../src/kpi/segment-trends.js";
import { weekStarts } from "../../src/kpi/period.js";
import type { ScoredCustomer } from "../../src/outreach/customer.js";
import { renderAlert, type RenderedAlert } from "../../src/outreach/render-alert.js";
import { renderDigest, type RenderedDigest } from "../../src/outreach/render-digest.js";
import { parseSegments, segmentTextFor, type Segment } from "../../src/outreach/segments.js";
import type { Trajectory } from "../../src/outreach/trajectory.js";

export const SAMPLE_LOCALES = ["en-GB", "de-DE", "pl-PL", "bg-BG", "ru-RU"] as const;
export const SAMPLE_NOW = new Date("2026-11-23T07:00:00Z");
const TIME_ZONES: Record<string, string> = { "en-GB": "Europe/London", "de-DE": "Europe/Berlin", "pl-PL": "Europe/Warsaw", "bg-BG": "Europe/Sofia", "ru-RU": "Europe/Moscow" };

export const SAMPLE_SEGMENT: Segment = parseSegments({
  locale: "en-GB",
  segments: [{
    id: "high-value-at-risk",
    name: "High-value at risk",
    description: "Customers expected to spend at least 1,000 in the next 12 months whose churn risk is medium or high.",
    when: { riskLevels: ["medium", "high"], minValue: 1000 },
    recipients: [
      "key-accounts@example.com",
      { to: "kam-dach@example.com", locale: "de-DE" }, { to: "kam-pl@example.com", locale: "pl-PL" },
      { to: "kam-bg@example.com", locale: "bg-BG" }, { to: "kam-ru@example.com", locale: "ru-RU" },
    ],
    action: "Call within two business days. Review their recent orders and tickets first, then offer a personal check-in with their account manager; a loyalty credit is pre-approved up to 10% of their last 90 days' spend.",
    crmLinkTemplate: "https://crm.example.com/customers/{customerId}",
    translations: {
      de: { name: "Wertvolle Kunden mit Risiko", description: "Kunden mit mindestens 1.000 erwartetem Umsatz in den nächsten 12 Monaten und mittlerem oder hohem Abwanderungsrisiko.", action: "Innerhalb von zwei Werktagen anrufen. Vorher die letzten Bestellungen und Tickets ansehen, dann ein persönliches Gespräch mit der Kundenbetreuung anbieten; eine Treuegutschrift bis 10 % des Umsatzes der letzten 90 Tage ist freigegeben." },
      pl: { name: "Cenni klienci zagrożeni odejściem", description: "Klienci, którzy w ciągu 12 miesięcy wydadzą co najmniej 1000, ze średnim lub wysokim ryzykiem odejścia.", action: "Zadzwoń w ciągu dwóch dni roboczych. Najpierw przejrzyj ostatnie zamówienia i zgłoszenia, potem zaproponuj rozmowę z opiekunem klienta; rabat lojalnościowy do 10% wydatków z ostatnich 90 dni jest zatwierdzony." },
      bg: { name: "Ценни клиенти в риск", description: "Клиенти с очаквани разходи от поне 1000 през следващите 12 месеца и среден или висок риск от отлив.", action: "Обадете се до два работни дни. Първо прегледайте последните поръчки и заявки, после предложете лична среща с акаунт мениджъра; одобрен е бонус за лоялност до 10% от разходите за последните 90 дни." },
      ru: { name: "Ценные клиенты под угрозой", description: "Клиенты, которые потратят не менее 1000 за 12 месяцев, со средним или высоким риском оттока.", action: "Позвоните в течение двух рабочих дней. Сначала просмотрите последние заказы и обращения, затем предложите личную встречу с менеджером; бонус лояльности до 10% трат за последние 90 дней согласован." },
    },
    maxRows: 25,
  }],
}, "sample")[0]!;

const r = (code: string, text: string, weight: number) => ({ code, text, weight });

export const SAMPLE_CUSTOMERS: ScoredCustomer[] = [
  { customerId: "c-1042", name: "Brook Taylor", email: "brook.taylor@example.org", score: 0.81, riskLevel: "high", lastSeenScore: 0.55, value: 8200, valueAtRisk: 8200 * 0.81, features: {}, locale: "en-GB",
    reasons: [r("recency", "no purchase for 64 days; usually every 12", 0.21), r("support", "3 support tickets in the last 14 days", 0.12), r("support_quality", "2 support tickets resolved late (SLA breach) so far", 0.08)] },
  { customerId: "c-2210", name: "Jürgen Müller-Lüdenscheidt", email: "juergen.mueller-luedenscheidt@beispiel-grosshandel.de", score: 0.74, riskLevel: "high", lastSeenScore: null, value: 6100, valueAtRisk: 6100 * 0.74, features: {}, locale: "de-DE",
    reasons: [r("engagement", "2 purchases in the last 90 days, down from 9 in the 90 days before", 0.15), r("satisfaction", "last NPS answer 3: a detractor", 0.09)] },
  { customerId: "c-3307", name: "Zofia Wiśniewska-Kowalczyk", email: "zofia.wisniewska@przyklad.pl", score: 0.62, riskLevel: "medium", lastSeenScore: 0.62, value: 5400, valueAtRisk: 5400 * 0.62, features: {}, locale: "pl-PL",
    reasons: [r("refunds", "4 refunds so far, 35% of spend returned", 0.11), r("support", "1 support ticket open for 9 days", 0.07)] },
  { customerId: "c-4415", name: "Георги Димитров", email: "georgi.dimitrov@primer.bg", score: 0.69, riskLevel: "high", lastSeenScore: 0.78, value: 4300, valueAtRisk: 4300 * 0.69, features: {}, locale: "bg-BG",
    reasons: [r("recency", "no activity of any kind for 47 days", 0.14), r("frequency", "usually 52 days between purchases", 0.05)] },
  { customerId: "c-5521", name: "Анна Смирнова", email: "anna.smirnova@primer.ru", score: 0.58, riskLevel: "medium", lastSeenScore: 0.41, value: 3900, valueAtRisk: 3900 * 0.58, features: {}, locale: "ru-RU",
    reasons: [r("support_quality", "support tickets took 4 days on average to resolve", 0.1), r("satisfaction", "last effort score 6 of 7: hard to deal with us", 0.06)] },
  { customerId: "c-7781-ACME-HOLDINGS-INTERNATIONAL-EMEA", name: null, email: null, score: 0.52, riskLevel: "medium", lastSeenScore: null, value: 2600, valueAtRisk: 2600 * 0.52, features: {},
    reasons: [] },
];

export const SAMPLE_TRAJECTORIES = new Map<string, Trajectory>([
  ["c-1042", { kind: "rise", from: 0.35, to: 0.81, days: 23 }],
  ["c-2210", { kind: "rise", from: 0.48, to: 0.74, days: 9 }],
  ["c-3307", { kind: "steady", from: 0.62, to: 0.62, days: 42 }],
  ["c-4415", { kind: "fall", from: 0.86, to: 0.69, days: 15 }],
  ["c-5521", { kind: "rise", from: 0.41, to: 0.58, days: 28 }],
  ["c-7781-ACME-HOLDINGS-INTERNATIONAL-EMEA", { kind: "first", from: 0.52, to: 0.52, days: 2 }],
]);

function counts(over: Partial<KpiCounts>): KpiCounts {
  return {
    customersAtStart: 1000, customersAtEnd: 960, newCustomers: 120, lostCustomers: 160, orders: 2400, revenue: 168_000, buyers: 900,
    refunds: 40, refundAmount: 3100, npsResponses: 300, promoters: 140, detractors: 70, csatResponses: 250, satisfied: 190,
    cesResponses: 120, cesTotal: 372, ...over,
  };
}

export const SAMPLE_COMPANY_KPIS = kpiChange(kpiValues(counts({})), kpiValues(counts({ customersAtEnd: 990, lostCustomers: 130, revenue: 171_000, promoters: 150 })));
export const SAMPLE_SEGMENT_KPIS = kpiChange(
  kpiValues(counts({ customersAtStart: 240, customersAtEnd: 205, newCustomers: 4, lostCustomers: 39, orders: 520, revenue: 61_000, buyers: 190, npsResponses: 80, promoters: 21, detractors: 33, csatResponses: 60, satisfied: 31, cesResponses: 40, cesTotal: 188 })),
  kpiValues(counts({ customersAtStart: 230, customersAtEnd: 222, newCustomers: 6, lostCustomers: 14, orders: 560, revenue: 66_500, buyers: 201, npsResponses: 75, promoters: 25, detractors: 27, csatResponses: 58, satisfied: 36, cesResponses: 35, cesTotal: 150 })),
);

export function sampleTrend(timeZone: string, weeksWithData = 12): SegmentTrend {
  const starts = weekStarts(SAMPLE_NOW, 12, timeZone);
  const size = [181, 186, 192, 190, 199, 207, 214, 211, 223, 231, 238, 247];
  const churn = [1.9, 2.2, 1.7, 2.6, 2.4, 3.1, 2.8, 3.4, 3.9, 3.6, 4.4, null];
  const weeks = starts.map((weekStart, i) => {
    if (i < 12 - weeksWithData) return { weekStart, customers: null, valueAtRisk: null, churnBase: null, churned: null, churnRate: null };
    const c = size[i]!;
    const rate = churn[i] ?? null;
    return { weekStart, customers: c, valueAtRisk: c * 118 + i * 420, churnBase: rate === null ? null : c, churned: rate === null ? null : Math.round((c * rate) / 100), churnRate: rate };
  });
  return { weeks, firstWeek: weeks.find((w) => w.customers !== null)?.weekStart ?? null };
}

export function sampleDigest(locale: string, opts: { weeksWithData?: number } = {}): RenderedDigest {
  const timeZone = TIME_ZONES[locale] ?? "UTC";
  return renderDigest({
    segment: { ...SAMPLE_SEGMENT, ...segmentTextFor(SAMPLE_SEGMENT, locale) },
    periodLabel: new Intl.DateTimeFormat(locale, { timeZone, weekday: "short", day: "numeric", month: "short", year: "numeric" }).format(SAMPLE_NOW),
    periodKey: "2026-11-23",
    kpis: SAMPLE_COMPANY_KPIS,
    segmentKpis: SAMPLE_SEGMENT_KPIS,
    kpiPeriodDays: 30,
    customers: SAMPLE_CUSTOMERS,
    baseCurrency: "EUR",
    inCooldown: 3,
    locale,
    timeZone,
    trend: sampleTrend(timeZone, opts.weeksWithData),
    trajectories: SAMPLE_TRAJECTORIES,
    unsubscribeUrl: "mailto:churnwatch@example.com?subject=unsubscribe%20high-value-at-risk",
  });
}

export function sampleAlert(locale: string): RenderedAlert {
  return renderAlert(SAMPLE_CUSTOMERS[0]!, {
    segment: { ...SAMPLE_SEGMENT, ...segmentTextFor(SAMPLE_SEGMENT, locale) },
    baseCurrency: "EUR",
    locale,
    timeZone: TIME_ZONES[locale] ?? "UTC",
    unsubscribeUrl: "mailto:churnwatch@example.com?subject=unsubscribe%20high-value-at-risk",
  });
}
