/**
 * Localised digests and alerts against embedded PostgreSQL: one message per recipient list in its
 * language, mail headers (Message-ID per deployment, List-Id, List-Unsubscribe, Content-Language),
 * per-list cooldowns, weekly segment snapshots with realised churn, the segment's KPIs next to the
 * company's, and risk trajectories from score_history. Win-back digests of the shipped example
 * segments after a real rescoring: lapsed customers listed by value, in no at-risk digest.
 */
import { simpleParser, type ParsedMail } from "mailparser";
import type pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { applyEvent } from "../src/features/index.js";
import { kpiChange, kpiValues, readSegmentTrend } from "../src/kpi/index.js";
import { DAY_MS as DAY } from "../src/lib/time.js";
import { createLogger } from "../src/log.js";
import { prepareServingModel } from "../src/model/load.js";
import {
  DEFAULT_SEGMENTS_FILE,
  enqueueAlerts,
  isWinbackSegment,
  listingLedger,
  loadDeploymentId,
  loadSegments,
  mailIdentity,
  messageIdOf,
  parseSegments,
  runDigest,
  winbackCandidates,
  type MailIdentity,
} from "../src/outreach/index.js";
import { rescore } from "../src/scoring/rescore.js";
import { sharedTestArtifact } from "./support/model.js";
import { buyer, cancellationAt, putScoredCustomer, putStates } from "./support/scoring.js";
import { startMigratedPostgres, stopMigratedPostgres, type TestPostgres } from "./support/servers.js";

const log = createLogger("silent");
const FROM = "Churnwatch <churnwatch@example.com>";
const ID_A: MailIdentity = { deploymentId: "prod-eu", domain: "example.com" };

let server: TestPostgres;
let pool: pg.Pool;

beforeAll(async () => ({ server, pool } = await startMigratedPostgres(4)), 120_000);
afterAll(() => stopMigratedPostgres({ server, pool }));

beforeEach(async () => {
  await pool.query("truncate outbox_message, outreach_listing, customer_score, unscored_customer, customer_state, score_history, segment_snapshot, raw_event, event_outbox");
});

interface Spec {
  id: string;
  score: number;
  level: "low" | "medium" | "high";
  value: number;
  name?: string;
  locale?: string | null;
  reasons?: { code: string; text: string; weight: number }[];
}

async function upsertCustomer(c: Spec, now: Date): Promise<void> {
  await putScoredCustomer(pool, { ...c, reasons: c.reasons ?? [{ code: "recency", text: "no purchase for 64 days; usually every 12", weight: 0.4 }] }, now);
}

let eventNo = 0;
async function purchase(customerId: string, at: string, amount = 50): Promise<void> {
  eventNo++;
  await pool.query(
    `insert into raw_event (event_id, customer_id, type, occurred_at, payload, source_topic, source_partition, source_offset)
     values ($1, $2, 'purchase', $3, $4, 'purchases', 0, $5)`,
    [`e${eventNo}`, customerId, new Date(at), JSON.stringify({ amount }), eventNo],
  );
}

const segments = parseSegments({
  segments: [{
    id: "vip", name: "VIP at risk", description: "Valuable customers at medium or high risk.",
    when: { riskLevels: ["medium", "high"], minValue: 1000 },
    recipients: ["team@example.com", { to: ["team-de@example.com", "lead-de@example.com"], locale: "de-DE", timeZone: "Europe/Berlin" }],
    translations: { de: { name: "VIP mit Risiko", description: "Wertvolle Kunden mit mittlerem oder hohem Risiko.", action: "Anrufen." } },
    action: "Call them.", alert: true,
  }],
}, "test");

async function outbox(): Promise<ParsedMail[]> {
  const { rows } = await pool.query<{ raw: string }>("select raw from outbox_message order by dedupe_key");
  return Promise.all(rows.map((r) => simpleParser(r.raw)));
}

function csv(mail: ParsedMail): string {
  return mail.attachments.find((a) => a.filename?.endsWith(".csv"))!.content.toString("utf8").replace(/^\uFEFF/, "");
}

describe("one digest per recipient list, in its language", () => {
  it("renders each list in its locale with its headers, CSV convention and cooldown ledger", async () => {
    const now = new Date("2026-11-23T06:00:00Z");
    await upsertCustomer({ id: "c1", score: 0.725, level: "high", value: 4900, name: "Jürgen Müller", locale: "de-DE" }, now);
    await upsertCustomer({ id: "c2", score: 0.5, level: "medium", value: 1200, name: "Ada" }, now);
    const results = await runDigest(pool, { segments, now, timeZone: "Europe/Berlin", baseCurrency: "EUR", from: FROM, cooldownDays: 7, identity: ID_A, logger: log });
    expect(results.map((r) => [r.locale, r.status, r.customers])).toEqual([["en-GB", "enqueued", 2], ["de-DE", "enqueued", 2]]);

    const mails = await outbox();
    const de = mails.find((m) => m.headers.get("content-language") === "de-DE")!;
    const en = mails.find((m) => m.headers.get("content-language") === "en-GB")!;
    expect(en.subject).toBe("Churn digest: VIP at risk: 2 customers, €4,153 value at risk (Mon 23 Nov 2026)");
    expect(de.subject?.replace(/\u00A0/g, " ")).toBe("Churn-Übersicht: VIP mit Risiko: 2 Kunden, 4.153 € gefährdeter Wert (Mo., 23. Nov. 2026)");
    expect(de.text).toContain("Seit 64 Tagen kein Kauf; sonst etwa alle 12 Tage.");
    expect(de.text).toContain("Sprache: Deutsch (Deutschland)");
    expect(en.text).toContain("Language: German (Germany)");
    expect(String(de.html)).toContain('<html lang="de-DE"');

    // Message-ID: outbox id, deployment, MAIL_FROM's domain; List-Id and List-Unsubscribe per segment.
    const { rows } = await pool.query<{ id: string; raw: string; recipients: string[] }>("select id, raw, recipients from outbox_message");
    for (const row of rows) {
      expect(messageIdOf(row.raw)).toBe(`<${row.id}.prod-eu@example.com>`);
      const parsed = await simpleParser(row.raw);
      expect(parsed.messageId).toBe(`<${row.id}.prod-eu@example.com>`);
      // Header names are case-insensitive (nodemailer writes List-ID).
      expect(row.raw).toMatch(/^List-Id: "VIP at risk" <vip\.prod-eu\.example\.com>\r$/im);
      expect(row.raw).toMatch(/^List-Unsubscribe: <mailto:churnwatch@example\.com\?subject=unsubscribe%20vip>\r$/im);
      expect(row.raw).not.toMatch(/^List-Unsubscribe-Post:/im);
    }
    expect(rows.map((r) => r.recipients.sort())).toEqual(expect.arrayContaining([["team@example.com"], ["lead-de@example.com", "team-de@example.com"]]));

    // CSV: German header, semicolons, decimal comma; English: commas and points.
    const deRows = csv(de).split("\r\n");
    expect(deRows[0]!.split(";").slice(0, 5)).toEqual(["Rang", "Kunden-ID", "Name", "E-Mail", "Abwanderungsrisiko (%)"]);
    expect(deRows[1]!.split(";").slice(0, 6)).toEqual(["1", "c1", "Jürgen Müller", "", "72,5", "hoch"]);
    expect(deRows[1]!.split(";")[8]).toBe("3552,5");
    expect(csv(en).split("\r\n")[1]!.split(",").slice(0, 6)).toEqual(["1", "c1", "Jürgen Müller", "", "72.5", "high"]);

    // Each list has its own ledger: both saw both customers, neither hides them from the other.
    const ledgers = await pool.query<{ segment: string; n: number }>("select segment, count(*)::int as n from outreach_listing group by segment order by segment");
    expect(ledgers.rows).toEqual([
      { segment: listingLedger(segments[0]!, segments[0]!.lists[1]!), n: 2 },
      { segment: listingLedger(segments[0]!, segments[0]!.lists[0]!), n: 2 },
    ].sort((a, b) => (a.segment < b.segment ? -1 : 1)));
    const next = await runDigest(pool, { segments, now: new Date(now.getTime() + DAY), timeZone: "Europe/Berlin", baseCurrency: "EUR", from: FROM, cooldownDays: 7, logger: log });
    expect(next.map((r) => [r.status, r.customers, r.inCooldown])).toEqual([["enqueued", 0, 2], ["enqueued", 0, 2]]);
  });

  it("alerts go to every list in its language", async () => {
    const now = new Date("2026-11-23T06:00:00Z");
    await upsertCustomer({ id: "c9", score: 0.9, level: "high", value: 3000, name: "Ola" }, now);
    const [result] = await enqueueAlerts(pool, {
      segments, changes: [{ customerId: "c9", levelBefore: "medium", scoreBefore: 0.55 }], now, from: FROM, baseCurrency: "EUR",
      ratePerHour: 10, identity: ID_A, unsubscribe: "https://example.com/unsubscribe?list={segment}", logger: log,
    });
    expect(result!.alerted).toEqual(["c9"]);
    const subjects = (await outbox()).map((m) => m.subject?.replace(/\u00A0/g, " ")).sort();
    expect(subjects).toEqual(["High churn risk: customer c9 (90%), VIP at risk", "Hohes Abwanderungsrisiko: Kunde c9 (90 %), VIP mit Risiko"]);
    const { rows } = await pool.query<{ raw: string }>("select raw from outbox_message");
    for (const r of rows) {
      expect(r.raw).toMatch(/^List-Unsubscribe: <https:\/\/example\.com\/unsubscribe\?list=vip>\r$/im);
      expect(r.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/im);
    }
  });
});

describe("Message-IDs per deployment", () => {
  it("the same digest in two deployments gets two Message-IDs; the id comes from the database unless overridden", async () => {
    const stored = await loadDeploymentId(pool);
    expect(stored).toMatch(/^[0-9a-f]{12}$/);
    expect(await loadDeploymentId(pool)).toBe(stored);
    await expect(loadDeploymentId(pool, "Prod EU!")).rejects.toThrow(/DEPLOYMENT_ID: expected lower-case letters/);
    expect(await mailIdentity(pool, "Retention <retention@Mail.Example.COM>", "staging")).toEqual({ deploymentId: "staging", domain: "mail.example.com" });

    const now = new Date("2026-11-23T06:00:00Z");
    await upsertCustomer({ id: "c1", score: 0.8, level: "high", value: 2000 }, now);
    const one = [{ ...segments[0]!, lists: [segments[0]!.lists[0]!] }];
    const ids: string[] = [];
    for (const identity of [ID_A, { deploymentId: "prod-us", domain: "example.com" }]) {
      await pool.query("truncate outbox_message, outreach_listing");
      await runDigest(pool, { segments: one, now, timeZone: "UTC", baseCurrency: "EUR", from: FROM, cooldownDays: 7, identity, trends: false });
      ids.push(messageIdOf((await pool.query<{ raw: string }>("select raw from outbox_message")).rows[0]!.raw)!);
    }
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[0]!.replace("prod-eu", "prod-us")).toBe(ids[1]);
  });
});

describe("trends, segment KPIs and trajectories", () => {
  it("the first digest of a week snapshots the segment; a finished week's realised churn settles", async () => {
    const week1 = new Date("2026-11-02T06:00:00Z"); // Monday, 07:00 in Berlin
    for (const id of ["a", "b", "c"]) await upsertCustomer({ id, score: 0.8, level: "high", value: 2000 }, week1);
    await purchase("a", "2026-10-28T12:00:00Z"); // active at the week's start, lapsed by its end (10-day window)
    await purchase("b", "2026-10-30T12:00:00Z");
    await purchase("b", "2026-11-05T12:00:00Z"); // bought again: still a customer
    await purchase("c", "2026-11-01T12:00:00Z"); // within the window at both ends
    const opts = { segments, timeZone: "Europe/Berlin", baseCurrency: "EUR", from: FROM, cooldownDays: 0, logger: log,
      kpiPeriod: { current: { start: new Date("2026-10-26T00:00:00Z"), end: new Date("2026-11-02T00:00:00Z") }, previous: null, activeWindowDays: 10 } };
    await runDigest(pool, { ...opts, now: week1 });
    // A second run in the same week changes nothing.
    await upsertCustomer({ id: "d", score: 0.8, level: "high", value: 2000 }, week1);
    await runDigest(pool, { ...opts, now: new Date(week1.getTime() + 2 * DAY) });
    const snap = await pool.query("select customers, churn_base, churned, members from segment_snapshot");
    expect(snap.rows).toEqual([{ customers: 3, churn_base: null, churned: null, members: ["a", "b", "c"] }]);

    const week2 = new Date(week1.getTime() + 7 * DAY);
    const [result] = await runDigest(pool, { ...opts, now: week2 });
    const rows = await pool.query("select week_start, customers, churn_base, churned, members from segment_snapshot order by week_start");
    expect(rows.rows.map((r) => [r.customers, r.churn_base, r.churned, r.members])).toEqual([[3, 3, 1, null], [4, null, null, ["a", "b", "c", "d"]]]);
    const trend = await readSegmentTrend(pool, "vip", week2, "Europe/Berlin");
    expect(trend.weeks).toHaveLength(12);
    expect(trend.weeks.slice(-2).map((w) => [w.customers, w.churnRate === null ? null : Math.round(w.churnRate * 10) / 10])).toEqual([[3, 33.3], [4, null]]);
    expect(trend.firstWeek).toEqual(new Date("2026-11-01T23:00:00Z"));

    const mail = (await outbox()).find((m) => m.subject?.includes("(Mon 9 Nov 2026)"))!;
    expect(result!.status).toBe("enqueued");
    expect(mail.text).toMatch(/The last 12 weeks\n  Customers in the segment: ·{10}\S\S now 4\n  Value at risk: ·{10}\S\S now €6,400\n  Realised churn per week: ·{10}\S· now 33\.3%/);
    expect(String(mail.html)).toContain('role="img" aria-label="Realised churn per week: ');
    expect(String(mail.html)).toContain("History starts in the week of 2 Nov");
  });

  it("the segment's KPIs stand next to the company's", async () => {
    const now = new Date("2026-11-23T06:00:00Z");
    await upsertCustomer({ id: "m1", score: 0.8, level: "high", value: 2000 }, now);
    await upsertCustomer({ id: "m2", score: 0.7, level: "high", value: 2000 }, now);
    for (const [id, at] of [["m1", "2026-11-10"], ["m2", "2026-11-12"], ["m2", "2026-11-14"], ["x1", "2026-11-11"], ["x2", "2026-11-15"], ["x3", "2026-11-16"]] as const) {
      await purchase(id, `${at}T10:00:00Z`, 100);
    }
    const company = kpiChange(kpiValues({
      customersAtStart: 0, customersAtEnd: 5, newCustomers: 5, lostCustomers: 0, orders: 6, revenue: 600, buyers: 5, refunds: 0, refundAmount: 0,
      npsResponses: 0, promoters: 0, detractors: 0, csatResponses: 0, satisfied: 0, cesResponses: 0, cesTotal: 0,
    }), null);
    await runDigest(pool, {
      segments: [{ ...segments[0]!, lists: [segments[0]!.lists[0]!] }], now, timeZone: "UTC", baseCurrency: "EUR", from: FROM, cooldownDays: 7,
      kpis: company, kpiPeriod: { current: { start: new Date("2026-11-01T00:00:00Z"), end: new Date("2026-11-23T00:00:00Z") }, previous: null }, trends: false,
    });
    const [mail] = await outbox();
    expect(mail!.text).toContain("  Active customers: This segment 2; Company 5");
    expect(mail!.text).toContain("  Purchase frequency (orders per buyer): This segment 1.50; Company 1.20");
    expect(String(mail!.html)).toContain(">This segment</th>");
  });

  it("each customer's trajectory comes from score_history", async () => {
    const now = new Date("2026-11-23T06:00:00Z");
    await upsertCustomer({ id: "t1", score: 0.72, level: "high", value: 3000 }, now);
    await upsertCustomer({ id: "t2", score: 0.6, level: "medium", value: 3000 }, now);
        // Before the 12-week window t1 stood at 40%: the climb is told from the low inside it.
    const history: [string, number, number][] = [["t1", 0.4, 120], ["t1", 0.35, 21], ["t1", 0.5, 10], ["t1", 0.72, 0], ["t2", 0.61, 50], ["t2", 0.6, 0]];
    for (const [id, score, daysAgo] of history) {
      await pool.query("insert into score_history (customer_id, score, risk_level, model_version, scored_at) values ($1, $2, 'x', 'm', $3)", [id, score, new Date(now.getTime() - daysAgo * DAY)]);
    }
    await runDigest(pool, { segments: [{ ...segments[0]!, lists: [segments[0]!.lists[0]!] }], now, timeZone: "UTC", baseCurrency: "EUR", from: FROM, cooldownDays: 7, trends: false });
    const [mail] = await outbox();
    expect(mail!.text).toContain("new in this list; 35% \u2192 72% in 3 weeks.");
    expect(mail!.text).toContain("new in this list; steady around 60% for 7 weeks.");
    expect(csv(mail!)).toContain(",35% \u2192 72% in 3 weeks,");
  });
});

describe("win-back digests of the shipped example segments", () => {
  /** The customer ids of a digest's CSV (second column; the CSV lists everyone, the body only maxRows). */
  const csvIds = (mail: ParsedMail): string[] =>
    csv(mail).split("\r\n").slice(1).filter((l) => l !== "").map((l) => l.split(/[,;]/)[1]!);

  it("lists the lapsed customers by value, with facts; none of them is scored or in an at-risk digest", async () => {
    const now = Date.parse("2026-11-23T06:00:00Z");
    // Bought every 12 days, 8 times; the last purchase `n` days ago (the model's active window is 180 days).
    const states = [
      buyer("r1", now, 100, 12, 8, 300), buyer("r2", now, 95, 12, 8, 100), buyer("r3", now, 120, 12, 8, 60), buyer("r4", now, 90, 12, 8, 200),
      buyer("l1", now, 200, 12, 8, 300), buyer("l2", now, 250, 12, 8, 150), buyer("l3", now, 190, 12, 8, 100),
      buyer("l4", now, 300, 12, 8, 30), // lapsed, but worth less than 500 a year
      applyEvent(buyer("x1", now, 30, 12, 8, 400), cancellationAt("x1", now - 20 * DAY)), // cancelled: not in a [lapsed] segment
    ];
    await putStates(pool, states);
    const segments = await loadSegments(DEFAULT_SEGMENTS_FILE);
    const model = prepareServingModel(await sharedTestArtifact());
    const deps = { pool, model: () => model, segments, publish: false, publishRule: { minDelta: 0.05 }, includePii: false, alerts: null, logger: log };
    // 100 days ago l1 and l2 were active and scored: rescoring now must move them out of customer_score.
    await rescore(deps, { asOf: new Date(now - 100 * DAY), customerIds: ["l1", "l2"] });
    expect((await pool.query("select customer_id from customer_score order by 1")).rows.map((r) => r.customer_id)).toEqual(["l1", "l2"]);
    await rescore(deps, { asOf: new Date(now) });

    const unscored = await pool.query<{ customer_id: string; stage: string; value: number }>("select customer_id, stage, value from unscored_customer order by customer_id");
    expect(unscored.rows.map((r) => [r.customer_id, r.stage])).toEqual([["l1", "lapsed"], ["l2", "lapsed"], ["l3", "lapsed"], ["l4", "lapsed"], ["x1", "cancelled"]]);
    const gone = ["l1", "l2", "l3", "l4", "x1"];
    expect((await pool.query("select count(*)::int as n from customer_score where customer_id = any($1)", [gone])).rows[0].n).toBe(0);
    const valueOf = new Map(unscored.rows.map((r) => [r.customer_id, r.value]));
    // The value when they lapsed (8 purchases of 300 over 84 days, then the 180-day active window), not spread over the silence since.
    expect(valueOf.get("l1")).toBeCloseTo((2400 / (7 * 12 + 180)) * 365, 1);
    const byValue = ["l1", "l2", "l3", "l4"].filter((id) => valueOf.get(id)! >= 500).sort((a, b) => valueOf.get(b)! - valueOf.get(a)!);
    expect(byValue).toEqual(["l1", "l2", "l3"]);

    const results = await runDigest(pool, {
      segments, now: new Date(now), timeZone: "Europe/Berlin", baseCurrency: "EUR", from: FROM, cooldownDays: 7, identity: ID_A, logger: log,
    });
    const winback = segments.find((s) => isWinbackSegment(s.when))!;
    expect(winback.id).toBe("lapsed-high-value");
    expect(results.filter((r) => r.segment === winback.id).map((r) => [r.locale, r.status, r.customers])).toEqual([["en-GB", "enqueued", 3], ["de-DE", "enqueued", 3]]);

    const mails = await outbox();
    // The CSV is named after the segment.
    const isWinback = (m: ParsedMail) => m.attachments.some((a) => a.filename?.startsWith("lapsed-high-value-"));
    const [en, de] = ["en-GB", "de-DE"].map((l) => mails.find((m) => isWinback(m) && m.headers.get("content-language") === l)!);
    expect(en!.subject).toMatch(/^Win-back digest: Lapsed high-value customers: 3 customers worth €[\d,]+ a year \(Mon 23 Nov 2026\)$/);
    expect(csvIds(en!)).toEqual(["l1", "l2", "l3"]);
    expect(csv(en!).split("\r\n").slice(1, 4).map((l) => l.split(",")[4])).toEqual(["lapsed", "lapsed", "lapsed"]);
    // l1: last purchase 200 days ago, lapsed since 180 days after it; 8 purchases of 300.
    expect(en!.text).toContain("1. l1\n   Lapsed since 3 Nov 2026; new in this list.");
    expect(en!.text).toContain("   - Last purchase 200 days ago; usually every 12.\n   - Lifetime spend €2,400 over 8 purchases.");
    // No probability anywhere (the action's "15% off" and the unsubscribe address's %20 aside).
    expect(en!.text!.replace(winback.action, "").replace(/^Stop receiving.*$/m, "")).not.toMatch(/\d\s?%|value at risk|risk level/i);
    expect(de!.subject).toMatch(/^Rückgewinnung: Inaktive wertvolle Kunden: 3 Kunden mit /);
    expect(de!.text).toContain("Inaktiv seit 3. Nov. 2026");
    expect(csvIds(de!)).toEqual(["l1", "l2", "l3"]);

    // Every at-risk digest reads customer_score only: the scored customers, never a lapsed or cancelled one.
    const atRisk = mails.filter((m) => !isWinback(m));
    expect(atRisk.length).toBeGreaterThan(0);
    const listedAtRisk = new Set(atRisk.flatMap(csvIds));
    expect(listedAtRisk.has("r1")).toBe(true);
    for (const id of gone) expect(listedAtRisk.has(id)).toBe(false);
    for (const id of listedAtRisk) expect(id).toMatch(/^r\d$/);

    // The listing holds them for the cooldown like any other list's.
    const ledger = await pool.query("select customer_id, listed_score, listed_level from outreach_listing where segment = $1 order by 1", [listingLedger(winback, winback.lists[0]!)]);
    expect(ledger.rows).toEqual(["l1", "l2", "l3"].map((id) => ({ customer_id: id, listed_score: 0, listed_level: "lapsed" })));
    const next = await runDigest(pool, {
      segments: [winback], now: new Date(now + DAY), timeZone: "Europe/Berlin", baseCurrency: "EUR", from: FROM, cooldownDays: 7, logger: log,
    });
    expect(next.map((r) => [r.status, r.customers, r.inCooldown])).toEqual([["enqueued", 0, 3], ["enqueued", 0, 3]]);

    // l2 buys again: until the next rescoring unscored_customer still says lapsed, the list does not.
    await putStates(pool, [buyer("l2", now, 1, 12, 9, 150)]);
    expect((await winbackCandidates(pool, winback, new Date(now + DAY), "")).map((c) => c.customerId).sort()).toEqual(["l1", "l3"]);
  }, 60_000);
});
