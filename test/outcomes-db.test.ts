/**
 * retention_outcome against a real PostgreSQL: outcome events written through the ingest batch
 * writer change who the digest lists (the cooldown rules), and feed the saved KPI.
 */
import type pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ChurnEvent, RetentionOutcomeKind } from "../src/events/schema.js";
import { writeBatch, type PartitionRef } from "../src/ingest/write/batch-writer.js";
import { computeSavedKpi, describeSavedKpi, judgedPeriod } from "../src/kpi/index.js";
import { inCooldown, parseSegments, runDigest, selectForDigest } from "../src/outreach/index.js";
import { DAY_MS as DAY } from "../src/lib/time.js";
import { startMigratedPostgres, stopMigratedPostgres, type TestPostgres } from "./support/servers.js";

let server: TestPostgres;
let pool: pg.Pool;
let offset = 0;
let seq = 0;

beforeAll(async () => ({ server, pool } = await startMigratedPostgres(4)), 120_000);
afterAll(() => stopMigratedPostgres({ server, pool }));

beforeEach(async () => {
  await pool.query("truncate raw_event, customer_state, customer_score, score_history, outreach_listing, outbox_message, consumer_offset");
  offset = 0;
});

const iso = (ms: number) => new Date(ms).toISOString();
const ref: PartitionRef = { groupId: "g", topic: "support", partition: 0 };

/** Through the worker's own batch writer: raw_event rows and the folded customer state. */
async function ingest(events: ChurnEvent[]): Promise<void> {
  const batch = events.map((event) => ({ offset: offset++, event }));
  await writeBatch(pool, ref, { events: batch, rejects: [], nextOffset: offset });
}
const purchase = (c: string, at: number): ChurnEvent => ({
  eventId: `e${++seq}`, type: "purchase", customerId: c, occurredAt: iso(at), orderId: `o${seq}`, amount: 30, currency: "EUR",
});
const cancellation = (c: string, at: number): ChurnEvent => ({ eventId: `e${++seq}`, type: "cancellation", customerId: c, occurredAt: iso(at) });
const outcome = (c: string, at: number, kind: RetentionOutcomeKind): ChurnEvent => ({
  eventId: `e${++seq}`, type: "retention_outcome", customerId: c, occurredAt: iso(at), outcome: kind, campaign: "winback-q4", channel: "phone",
});

async function score(c: string, s: number, level: string, at: number, history = true): Promise<void> {
  await pool.query(
    `insert into customer_score (customer_id, score, risk_level, reasons, value, value_at_risk, segments, model_version, scored_at)
     values ($1, $2, $3, '[]', 1000, $4, '{}', 'm1', $5)
     on conflict (customer_id) do update set score = excluded.score, risk_level = excluded.risk_level, scored_at = excluded.scored_at`,
    [c, s, level, 1000 * s, new Date(at)],
  );
  if (history) {
    await pool.query("insert into score_history (customer_id, score, risk_level, model_version, scored_at) values ($1, $2, $3, 'm1', $4)", [c, s, level, new Date(at)]);
  }
}

const segment = parseSegments({
  segments: [{ id: "at-risk", name: "At risk", when: { riskLevels: ["medium", "high"] }, recipients: ["team@example.com"], action: "Call them." }],
}, "test")[0]!;

describe("cooldown with retention outcomes", () => {
  const now = Date.parse("2026-11-23T07:00:00Z");
  const rule = { cooldownDays: 7, riseDelta: 0.1, declinedDays: 30 };

  it("keeps out customers a team reached within the cooldown, and those who declined within the declined window", async () => {
    const customers = ["fresh", "contacted", "old-contact", "declined", "declined-long-ago", "unreachable", "accepted"];
    for (const c of customers) await ingest([purchase(c, now - 200 * DAY), purchase(c, now - 60 * DAY)]);
    await ingest([
      outcome("contacted", now - 3 * DAY, "contacted"),
      outcome("old-contact", now - 8 * DAY, "contacted"),
      outcome("declined", now - 20 * DAY, "offer_made"),
      outcome("declined", now - 20 * DAY + 3_600_000, "declined"),
      outcome("declined-long-ago", now - 31 * DAY, "declined"),
      outcome("unreachable", now - 1 * DAY, "unreachable"),
      outcome("accepted", now - 2 * DAY, "accepted"),
    ]);
    for (const c of customers) await score(c, 0.7, "high", now - 3_600_000);

    const sel = await selectForDigest(pool, segment, new Date(now), rule);
    expect(sel.customers.map((c) => c.customerId).sort()).toEqual(["declined-long-ago", "fresh", "old-contact", "unreachable"]);
    expect(sel.inCooldown).toBe(3);
    const declined = sel.customers.find((c) => c.customerId === "declined-long-ago")!;
    expect(declined.contact).toMatchObject({ lastDeclinedAt: now - 31 * DAY });
  });

  it("a contact holds even when the risk rose; a plain listing does not", async () => {
    for (const c of ["listed", "reached"]) await ingest([purchase(c, now - 100 * DAY), purchase(c, now - 50 * DAY)]);
    for (const c of ["listed", "reached"]) await score(c, 0.4, "medium", now - 2 * DAY);
    const day1 = new Date(now - 2 * DAY);
    expect((await runDigest(pool, { segments: [segment], now: day1, timeZone: "UTC", baseCurrency: "EUR", from: "cw <cw@example.com>", cooldownDays: 7 }))[0])
      .toMatchObject({ customers: 2 });
    // The team calls one of them the day after; both get riskier.
    await ingest([outcome("reached", now - DAY, "contacted")]);
    for (const c of ["listed", "reached"]) await score(c, 0.8, "high", now - 3_600_000);
    const sel = await selectForDigest(pool, segment, new Date(now), rule);
    expect(sel.customers.map((c) => c.customerId)).toEqual(["listed"]);
    expect(sel.inCooldown).toBe(1);
  });

  it("runDigest passes OUTREACH_DECLINED_COOLDOWN_DAYS through (0 turns the declined rule off)", async () => {
    await ingest([purchase("d", now - 100 * DAY), purchase("d", now - 40 * DAY), outcome("d", now - 10 * DAY, "declined")]);
    await score("d", 0.9, "high", now - 3_600_000);
    const base = { segments: [segment], timeZone: "UTC", baseCurrency: "EUR", from: "cw <cw@example.com>", cooldownDays: 7 };
    expect((await runDigest(pool, { ...base, now: new Date(now), periodKey: "a" }))[0]).toMatchObject({ customers: 0, inCooldown: 1 });
    expect((await runDigest(pool, { ...base, now: new Date(now), periodKey: "b", declinedCooldownDays: 0 }))[0]).toMatchObject({ customers: 1, inCooldown: 0 });
  });

  it("inCooldown: the rules in order, boundaries, and outcomes stamped after now", () => {
    const t = new Date(now);
    const cur = { score: 0.9, riskLevel: "high" };
    const contact = (reached: number | null, declined: number | null = null) => ({ lastReachedAt: reached, lastDeclinedAt: declined });
    expect(inCooldown(null, cur, t, rule, contact(now - 7 * DAY + 1))).toBe(true);
    expect(inCooldown(null, cur, t, rule, contact(now - 7 * DAY))).toBe(false);
    expect(inCooldown(null, cur, t, rule, contact(now - 29 * DAY, now - 29 * DAY))).toBe(true);
    expect(inCooldown(null, cur, t, rule, contact(now - 30 * DAY, now - 30 * DAY))).toBe(false);
    expect(inCooldown(null, cur, t, rule, contact(now + DAY))).toBe(false); // not yet happened for this run
    expect(inCooldown(null, cur, t, { ...rule, cooldownDays: 0 }, contact(now - DAY))).toBe(false);
    expect(inCooldown(null, cur, t, { ...rule, cooldownDays: 0 }, contact(now - DAY, now - DAY))).toBe(true);
    expect(inCooldown(null, cur, t, { cooldownDays: 7, riseDelta: 0.1 }, contact(null, now - 25 * DAY))).toBe(true); // default 30 days
  });
});

describe("saved KPI", () => {
  // Treatments judged: reached in [T - 30 d, T), T = asOf - 90 d.
  const asOf = Date.parse("2026-11-01T00:00:00Z");
  const period = judgedPeriod(new Date(asOf), 90, 30);
  const t = (daysIntoPeriod: number) => period.start.getTime() + daysIntoPeriod * DAY;

  beforeEach(async () => {
    const history = (c: string) => [purchase(c, t(0) - 200 * DAY), purchase(c, t(0) - 40 * DAY)];
    // saved: high risk, reached, bought again within 90 days.
    await ingest([...history("saved-1"), outcome("saved-1", t(5), "offer_made"), outcome("saved-1", t(6), "accepted"), purchase("saved-1", t(40))]);
    await score("saved-1", 0.7, "high", t(5) - DAY);
    // saved: medium risk, reached twice (counted once), bought late in the horizon.
    await ingest([...history("saved-2"), outcome("saved-2", t(10), "contacted"), outcome("saved-2", t(20), "contacted"), purchase("saved-2", t(10) + 89 * DAY)]);
    await score("saved-2", 0.4, "medium", t(2));
    // lost: declined, never bought again.
    await ingest([...history("lost-1"), outcome("lost-1", t(3), "declined")]);
    await score("lost-1", 0.8, "high", t(1));
    // lost: bought, then cancelled inside the horizon (the model's label says churned).
    await ingest([...history("lost-2"), outcome("lost-2", t(3), "contacted"), purchase("lost-2", t(30)), cancellation("lost-2", t(50))]);
    await score("lost-2", 0.65, "high", t(1));
    // not counted: low risk at the reach (the earlier high score was superseded).
    await ingest([...history("low"), outcome("low", t(8), "contacted")]);
    await score("low", 0.7, "high", t(0) - 10 * DAY);
    await score("low", 0.1, "low", t(7));
    // not counted: unreachable only; never scored; reached before the period; reached after it (pending).
    await ingest([...history("unreach"), outcome("unreach", t(8), "unreachable")]);
    await score("unreach", 0.9, "high", t(1));
    await ingest([...history("unscored"), outcome("unscored", t(8), "contacted")]);
    await ingest([...history("before"), outcome("before", t(-1), "contacted")]);
    await score("before", 0.9, "high", t(-5));
    await ingest([...history("pending"), outcome("pending", asOf - 10 * DAY, "contacted")]);
    await score("pending", 0.9, "high", t(1));
    // A score after the reach must not count: the level in force at the reach decides.
    await ingest([...history("later-score"), outcome("later-score", t(12), "contacted")]);
    await score("later-score", 0.9, "high", t(13));
  });

  it("counts at-risk customers reached in the period and those not churned one horizon later", async () => {
    const k = await computeSavedKpi(pool, { ...period, horizonDays: 90, asOf: new Date(asOf) });
    expect(k).toMatchObject({ treated: 4, saved: 2, lost: 2, savedRate: 50, pending: 0 });
    expect(k.byLevel).toEqual([{ level: "medium", treated: 1, saved: 1 }, { level: "high", treated: 3, saved: 1 }]);
    expect(describeSavedKpi(k)).toMatch(/^Saved: 2 of 4 at-risk customers reached between \d{4}-\d\d-\d\d and \d{4}-\d\d-\d\d were still customers 90 days later \(50%\)\.$/);
  });

  it("reports reaches whose horizon is not over as pending", async () => {
    const k = await computeSavedKpi(pool, { start: period.start, end: new Date(asOf), horizonDays: 90, asOf: new Date(asOf) });
    expect(k).toMatchObject({ treated: 4, saved: 2, pending: 1 });
    const high = await computeSavedKpi(pool, { ...period, horizonDays: 90, asOf: new Date(asOf), atRiskLevels: ["high"] });
    expect(high).toMatchObject({ treated: 3, saved: 1 });
  });
});
