/**
 * Realism of the simulation, checked against its own ground truth: churn happens at the stated
 * rate, the customers who churn often looked different *before* they churned, in ways a model that
 * only sees events can learn (more tickets, worse surveys, longer silences), and yet the events
 * leave real doubt, as purchase histories do (docs/simulator.md): some churners leave with no
 * warning, some long-silent customers come back, purchase rates differ widely, and trouble or a bad
 * survey answer does not mean the customer leaves.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { ChurnEvent } from "../src/events/schema.js";
import { churnRateOverHorizon, DAY_MS, simulate, type CustomerTruth, type SimulationResult } from "../src/simulate/index.js";
import { buildDataset, planCutoffs, type DatasetRow } from "../src/training/dataset.js";
import { rocAuc } from "../src/training/metrics.js";
import { FEATURE_NAMES } from "../src/features/index.js";

const NOW_MS = Date.parse("2026-01-01T00:00:00Z");
// Thresholds below hold with margin for seeds 1-9 too (SIM_SEED=5 npx vitest run test/simulate-signals):
// the effects are real properties of the model, not of one lucky seed.
const SEED = Number(process.env.SIM_SEED ?? 2024);
let run: SimulationResult;
let truths: CustomerTruth[];
beforeAll(() => {
  run = simulate({ seed: SEED, customers: 3000, now: new Date(NOW_MS) });
  truths = [...run.truth.values()];
});

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** What a point-in-time model could know about a customer at `at` from events alone. */
interface Snapshot {
  tickets90: number;
  breaches90: number;
  nps: number[];
  purchases: number[];
}

function snapshots(events: readonly ChurnEvent[], at: number): Map<string, Snapshot> {
  const out = new Map<string, Snapshot>();
  for (const e of events) {
    const t = Date.parse(e.occurredAt);
    if (t >= at) break; // events are sorted
    let s = out.get(e.customerId);
    if (!s) out.set(e.customerId, (s = { tickets90: 0, breaches90: 0, nps: [], purchases: [] }));
    const recent = t >= at - 90 * DAY_MS;
    if (e.type === "purchase") s.purchases.push(t);
    else if (e.type === "survey_response" && e.nps !== undefined) s.nps.push(e.nps);
    else if (recent && e.type === "support_ticket_opened") s.tickets90++;
    else if (recent && e.type === "support_ticket_resolved" && e.slaBreached) s.breaches90++;
  }
  return out;
}

/**
 * Customers active at `at`, split by whether they churn within the next 90 days; `isChurner`
 * narrows the churners (the rest of them are left out, not counted as stayers).
 */
function labelled(at: number, isChurner: (t: CustomerTruth) => boolean = () => true): { churners: Snapshot[]; stayers: Snapshot[] } {
  const snaps = snapshots(run.events, at);
  const churners: Snapshot[] = [];
  const stayers: Snapshot[] = [];
  for (const t of truths) {
    if (t.signedUpAt > at || (t.churnedAt !== null && t.churnedAt <= at)) continue;
    const s = snaps.get(t.customerId);
    if (!s) continue;
    if (t.churnedAt !== null && t.churnedAt <= at + 90 * DAY_MS) {
      if (isChurner(t)) churners.push(s);
    } else stayers.push(s);
  }
  return { churners, stayers };
}

// Pooling three snapshot dates gives a few hundred churners: enough for stable group means.
const SNAPSHOTS = [270, 180, 90].map((d) => NOW_MS - d * DAY_MS);
function pooled(): { churners: Snapshot[]; stayers: Snapshot[] } {
  const all = SNAPSHOTS.map((at) => labelled(at));
  return { churners: all.flatMap((g) => g.churners), stayers: all.flatMap((g) => g.stayers) };
}

describe("churn rate", () => {
  it("churns 15-35% of active customers over a 90-day horizon, throughout the window", () => {
    for (let back = 450; back >= 90; back -= 60) {
      const h = churnRateOverHorizon(truths, NOW_MS - back * DAY_MS, 90);
      expect(h.active, `at -${back} days`).toBeGreaterThan(800);
      expect(h.rate, `at -${back} days`).toBeGreaterThan(0.15);
      expect(h.rate, `at -${back} days`).toBeLessThan(0.35);
    }
  });

  it("is higher in the first months of a customer's life (onboarding)", () => {
    // New customers: churned within 90 days of signing up. Established: tenure over a year at t.
    const joined = truths.filter((t) => t.signedUpAt >= NOW_MS - 540 * DAY_MS && t.signedUpAt < NOW_MS - 90 * DAY_MS);
    const earlyChurn = joined.filter((t) => t.churnedAt !== null && t.churnedAt <= t.signedUpAt + 90 * DAY_MS).length / joined.length;
    const at = NOW_MS - 300 * DAY_MS;
    const established = truths.filter((t) => t.signedUpAt < at - 365 * DAY_MS);
    const settled = churnRateOverHorizon(established, at, 90).rate;
    expect(joined.length).toBeGreaterThan(800);
    console.info(`90-day churn: new customers ${earlyChurn.toFixed(3)}, tenure > 1 year ${settled.toFixed(3)}`);
    expect(earlyChurn).toBeGreaterThan(settled * 1.25);
  });
});

describe("signals before churn", () => {
  it("churners had more support tickets and SLA breaches in the 90 days before the snapshot", () => {
    const { churners, stayers } = pooled();
    expect(churners.length).toBeGreaterThan(300);
    const ticketsC = mean(churners.map((s) => s.tickets90));
    const ticketsS = mean(stayers.map((s) => s.tickets90));
    console.info(`tickets in 90 days: churners ${ticketsC.toFixed(3)}, stayers ${ticketsS.toFixed(3)}`);
    expect(ticketsC).toBeGreaterThan(ticketsS * 1.15);
    expect(mean(churners.map((s) => s.breaches90))).toBeGreaterThan(mean(stayers.map((s) => s.breaches90)));
  });

  it("churners gave lower NPS answers", () => {
    const { churners, stayers } = pooled();
    const npsC = churners.flatMap((s) => s.nps.slice(-1));
    const npsS = stayers.flatMap((s) => s.nps.slice(-1));
    expect(npsC.length).toBeGreaterThan(100);
    expect(mean(npsC)).toBeLessThan(mean(npsS) - 0.5);
    console.info(`last NPS before snapshot: churners ${mean(npsC).toFixed(2)} (n=${npsC.length}), stayers ${mean(npsS).toFixed(2)} (n=${npsS.length})`);
  });

  it("customers fading out were more often overdue relative to their own purchase rhythm", () => {
    // Relative to each customer's median gap: 30 quiet days mean nothing for a seasonal buyer.
    // Only churners already fading at the snapshot: most departures now come without a fade (see
    // "doubt" below), and stayers include customers in a pause, so all churners together are not
    // more overdue than stayers; those who fade are.
    const overdue = (s: Snapshot, at: number): number[] => {
      if (s.purchases.length < 3) return [];
      const gaps = s.purchases.slice(1).map((t, i) => t - (s.purchases[i] as number));
      return [at - (s.purchases.at(-1) as number) > 2 * median(gaps) ? 1 : 0];
    };
    const c: number[] = [];
    const st: number[] = [];
    for (const at of SNAPSHOTS) {
      const { churners, stayers } = labelled(at, (t) => t.churnPath === "faded" && (t.decidedAt as number) <= at);
      c.push(...churners.flatMap((s) => overdue(s, at)));
      st.push(...stayers.flatMap((s) => overdue(s, at)));
    }
    expect(c.length).toBeGreaterThan(50);
    console.info(`overdue (silent > 2x own median gap): fading churners ${mean(c).toFixed(3)} (n=${c.length}), stayers ${mean(st).toFixed(3)}`);
    expect(mean(c)).toBeGreaterThan(mean(st) * 1.3);
  });

  it("makes the hidden satisfaction visible in survey answers", () => {
    // Mean NPS per customer correlates with the latent satisfaction the simulator drew.
    const npsBy = new Map<string, number[]>();
    for (const e of run.events) {
      if (e.type !== "survey_response" || e.nps === undefined) continue;
      const list = npsBy.get(e.customerId) ?? [];
      list.push(e.nps);
      npsBy.set(e.customerId, list);
    }
    const pairs = truths.filter((t) => npsBy.has(t.customerId)).map((t) => [t.satisfactionStart, mean(npsBy.get(t.customerId) ?? [])] as const);
    const mx = mean(pairs.map((p) => p[0]));
    const my = mean(pairs.map((p) => p[1]));
    const cov = mean(pairs.map(([x, y]) => (x - mx) * (y - my)));
    const sx = Math.sqrt(mean(pairs.map(([x]) => (x - mx) ** 2)));
    const sy = Math.sqrt(mean(pairs.map(([, y]) => (y - my) ** 2)));
    expect(cov / (sx * sy)).toBeGreaterThan(0.3);
  });
});

describe("behaviour", () => {
  it("gives personas distinct rhythms and baskets", () => {
    const purchases = run.events.filter((e): e is Extract<ChurnEvent, { type: "purchase" }> => e.type === "purchase");
    const persona = new Map(truths.map((t) => [t.customerId, t.persona]));
    const basket = (p: string) => median(purchases.filter((e) => persona.get(e.customerId) === p).map((e) => e.amount));
    expect(basket("occasional_high_basket")).toBeGreaterThan(basket("frequent_low_basket") * 4);

    const start = NOW_MS - 540 * DAY_MS;
    const perActiveYear = (p: string) => {
      const group = truths.filter((t) => t.persona === p);
      const days = group.reduce((sum, t) => sum + ((t.churnedAt ?? NOW_MS) - Math.max(t.signedUpAt, start)) / DAY_MS, 0);
      return (group.reduce((sum, t) => sum + t.purchases, 0) / days) * 365;
    };
    expect(perActiveYear("frequent_low_basket")).toBeGreaterThan(perActiveYear("regular") * 1.5);
    expect(perActiveYear("regular")).toBeGreaterThan(perActiveYear("occasional_high_basket") * 1.5);
    expect(new Set(truths.map((t) => t.persona)).size).toBe(4);
  });

  it("sells more in November and December", () => {
    const byMonth = new Array<number>(12).fill(0);
    for (const e of run.events) {
      // Only the last full year, so that every month is counted once.
      if (e.type === "purchase" && e.occurredAt >= "2025-01-01") byMonth[new Date(e.occurredAt).getUTCMonth()]! += 1;
    }
    const springAverage = mean(byMonth.slice(1, 5));
    expect(byMonth[11]).toBeGreaterThan(springAverage * 1.4);
    expect(byMonth[10]).toBeGreaterThan(springAverage * 1.15);
  });

  it("resolves urgent tickets faster than low-priority ones and breaches SLAs sometimes", () => {
    const opened = new Map<string, { t: number; priority: string }>();
    const hours: Record<string, number[]> = { low: [], normal: [], high: [], urgent: [] };
    let resolved = 0;
    let breached = 0;
    let escalated = 0;
    for (const e of run.events) {
      if (e.type === "support_ticket_opened") opened.set(e.ticketId, { t: Date.parse(e.occurredAt), priority: e.priority });
      if (e.type === "support_ticket_resolved") {
        const o = opened.get(e.ticketId);
        if (!o) continue;
        hours[o.priority]?.push((Date.parse(e.occurredAt) - o.t) / 3_600_000);
        resolved++;
        if (e.slaBreached) breached++;
        if (e.escalated) escalated++;
      }
    }
    expect(median(hours.urgent ?? [])).toBeLessThan(median(hours.low ?? []) / 4);
    expect(breached / resolved).toBeGreaterThan(0.05);
    expect(breached / resolved).toBeLessThan(0.35);
    expect(escalated / resolved).toBeGreaterThan(0.03);
    expect(escalated / resolved).toBeLessThan(0.25);
  });
});

describe("doubt: what keeps churn from being certain", () => {
  /** Purchase instants per customer, ascending (events are sorted). */
  const purchasesBy = (): Map<string, number[]> => {
    const map = new Map<string, number[]>();
    for (const e of run.events) {
      if (e.type !== "purchase") continue;
      const list = map.get(e.customerId) ?? [];
      list.push(Date.parse(e.occurredAt));
      map.set(e.customerId, list);
    }
    return map;
  };
  const between = (xs: readonly number[], lo: number, hi: number): number => xs.filter((x) => x > lo && x <= hi).length;

  it("has churners who leave with no decline beforehand, beside churners who fade out", () => {
    // Purchases in the last 90 days before churnedAt against the 90 days before those, for
    // churners with a real habit to lose (4+ purchases in those 180 days).
    const purchases = purchasesBy();
    const start = NOW_MS - 540 * DAY_MS;
    const noDecline = { sudden: [] as number[], faded: [] as number[] };
    for (const t of truths) {
      if (t.churnedAt === null || t.churnPath === null || t.churnedAt < start + 180 * DAY_MS) continue;
      const p = purchases.get(t.customerId) ?? [];
      const last = between(p, t.churnedAt - 90 * DAY_MS, t.churnedAt);
      const before = between(p, t.churnedAt - 180 * DAY_MS, t.churnedAt - 90 * DAY_MS);
      if (last + before < 4) continue;
      noDecline[t.churnPath].push(last >= before ? 1 : 0);
    }
    const all = [...noDecline.sudden, ...noDecline.faded];
    console.info(
      `churners without a decline: sudden ${mean(noDecline.sudden).toFixed(3)} (n=${noDecline.sudden.length}), ` +
        `faded ${mean(noDecline.faded).toFixed(3)} (n=${noDecline.faded.length}), all ${mean(all).toFixed(3)}`,
    );
    expect(noDecline.sudden.length).toBeGreaterThan(100);
    expect(noDecline.faded.length).toBeGreaterThan(50);
    // A third or more of the churners with a habit kept buying as before until they left...
    expect(mean(all)).toBeGreaterThan(0.3);
    expect(mean(noDecline.sudden)).toBeGreaterThan(0.4);
    // ...while those who faded mostly show it.
    expect(mean(noDecline.faded)).toBeLessThan(mean(noDecline.sudden) - 0.2);
  });

  it("brings some customers back after four months of silence, mostly from a pause or lapse", () => {
    const purchases = purchasesBy();
    const truth = new Map(truths.map((t) => [t.customerId, t]));
    let silent = 0;
    let back = 0;
    let backAfterPause = 0;
    for (const at of SNAPSHOTS) {
      for (const [customerId, p] of purchases) {
        const before = p.filter((x) => x <= at);
        const lastAt = before.at(-1);
        // Repeat buyers silent for 120-180 days, gone or not (from the events nobody can tell):
        // where a recency rule is most sure of itself.
        if (before.length < 2 || lastAt === undefined || at - lastAt < 120 * DAY_MS || at - lastAt > 180 * DAY_MS) continue;
        silent++;
        if (between(p, at, at + 90 * DAY_MS) > 0) {
          back++;
          if ((truth.get(customerId) as CustomerTruth).pauses > 0) backAfterPause++;
        }
      }
    }
    console.info(`repeat buyers silent 120-180 days: ${silent}, bought within 90 days ${back} (${(back / silent).toFixed(3)}), ${backAfterPause} after a pause or lapse`);
    expect(silent).toBeGreaterThan(200);
    // Enough returns that a long silence is not certain churn, few enough that it still means a lot.
    expect(back / silent).toBeGreaterThan(0.1);
    expect(back / silent).toBeLessThan(0.4);
    // The returns are the pauses and lapses the simulator drew, not an accident of slow rhythms.
    expect(backAfterPause / back).toBeGreaterThan(0.5);
  });

  it("spreads purchase rates widely within one persona (gamma-distributed, as in NBD)", () => {
    // Purchases per year over the days each customer was there and not pausing, for customers who
    // were there for at least half a year of it.
    const start = NOW_MS - 540 * DAY_MS;
    const perYear = truths
      .filter((t) => t.persona === "regular")
      .map((t) => ({ t, days: ((t.churnedAt ?? NOW_MS) - Math.max(t.signedUpAt, start)) / DAY_MS - t.pausedDays }))
      .filter(({ days }) => days >= 180)
      .map(({ t, days }) => (t.purchases / days) * 365)
      .sort((a, b) => a - b);
    const q = (f: number) => perYear[Math.floor(f * (perYear.length - 1))] as number;
    console.info(`regular persona, purchases per year: p10 ${q(0.1).toFixed(1)}, median ${q(0.5).toFixed(1)}, p90 ${q(0.9).toFixed(1)} (n=${perYear.length})`);
    expect(perYear.length).toBeGreaterThan(200);
    expect(q(0.9) / q(0.1)).toBeGreaterThan(4);
  });

  it("lets support trouble and detractor answers raise the risk without deciding it", () => {
    let detractors = 0, detractorsChurned = 0, promoters = 0, promotersChurned = 0, troubled = 0, troubledChurned = 0;
    let churners = 0, churnersWithWarning = 0;
    for (const at of SNAPSHOTS) {
      const snaps = snapshots(run.events, at);
      for (const t of truths) {
        if (t.signedUpAt > at || (t.churnedAt !== null && t.churnedAt <= at)) continue;
        const s = snaps.get(t.customerId);
        if (!s || s.purchases.length === 0) continue;
        const churned = t.churnedAt !== null && t.churnedAt <= at + 90 * DAY_MS ? 1 : 0;
        const nps = s.nps.at(-1);
        if (nps !== undefined && nps <= 6) (detractors++, (detractorsChurned += churned));
        if (nps !== undefined && nps >= 9) (promoters++, (promotersChurned += churned));
        if (s.tickets90 >= 2 || s.breaches90 >= 1) (troubled++, (troubledChurned += churned));
        if (churned) {
          churners++;
          if ((nps !== undefined && nps <= 6) || s.tickets90 > 0) churnersWithWarning++;
        }
      }
    }
    const rate = (n: number, d: number) => n / d;
    console.info(
      `90-day churn: detractors ${rate(detractorsChurned, detractors).toFixed(3)} (n=${detractors}), promoters ${rate(promotersChurned, promoters).toFixed(3)}, ` +
        `support trouble ${rate(troubledChurned, troubled).toFixed(3)} (n=${troubled}); churners with a ticket or detractor answer ${rate(churnersWithWarning, churners).toFixed(3)}`,
    );
    expect(detractors).toBeGreaterThan(100);
    expect(troubled).toBeGreaterThan(100);
    expect(rate(detractorsChurned, detractors)).toBeGreaterThan(rate(promotersChurned, promoters) * 1.3);
    // Most detractors and most customers with support trouble still stay...
    expect(rate(detractorsChurned, detractors)).toBeLessThan(0.5);
    expect(rate(troubledChurned, troubled)).toBeLessThan(0.5);
    // ...and a third or more of the churners gave neither sign in the 90 days before.
    expect(rate(churnersWithWarning, churners)).toBeLessThan(0.67);
  });

  it("leaves a recency rule well short of certain on the training code's own rows", () => {
    // The rows and label the training pipeline uses (active customers, no purchase within 90 days).
    const cutoffs = planCutoffs({ everyDays: 7, horizonDays: 90, dataStart: NOW_MS - 540 * DAY_MS, dataEnd: NOW_MS }).cutoffs;
    const rows = buildDataset(run.events, { cutoffs, horizonDays: 90, activeDays: 180 }).rows;
    const recent = new Set(cutoffs.slice(-8));
    const scored: DatasetRow[] = rows.filter((r) => recent.has(r.cutoff));
    const recency = FEATURE_NAMES.indexOf("days_since_last_purchase");
    const labels = scored.map((r) => r.label);
    const auc = rocAuc(labels, scored.map((r) => r.features[recency] as number));
    const baseRate = mean(labels);
    const longSilent = scored.filter((r) => (r.features[recency] as number) >= 120);
    const cameBack = longSilent.filter((r) => r.label === 0).length / longSilent.length;
    console.info(`recency ROC AUC ${auc.toFixed(3)} on ${scored.length} rows, churn label rate ${baseRate.toFixed(3)}, silent >= 120 days but bought: ${cameBack.toFixed(3)}`);
    expect(auc).toBeGreaterThan(0.7);
    expect(auc).toBeLessThan(0.84);
    expect(baseRate).toBeGreaterThan(0.3);
    expect(baseRate).toBeLessThan(0.6);
    expect(cameBack).toBeGreaterThan(0.08);
  });
});
