import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ChurnEvent } from "../src/events/schema.js";
import { featureVector, FEATURE_NAMES, FEATURE_SET_VERSION, stateAsOf } from "../src/features/index.js";
import { simulate } from "../src/simulate/index.js";
import { parseCsv } from "../src/import/csv.js";
import { readDatasetCsv, writeDatasetCsv } from "../src/training/dataset-csv.js";
import { buildDataset, countsPerCutoff, customerRows, DAY_MS, groupByCustomer, makeManifest, planCutoffs, type DatasetOptions } from "../src/training/dataset.js";
import { isScored, lifecycleAt } from "../src/features/lifecycle.js";
import { buildDatasetFromEvents } from "../src/training/event-sources.js";

const T0 = Date.parse("2025-01-01T00:00:00Z");
const day = (n: number) => new Date(T0 + n * DAY_MS).toISOString();
let seq = 0;
const purchase = (at: string, amount = 20, customerId = "c1"): ChurnEvent => ({
  eventId: `e${++seq}`, type: "purchase", customerId, occurredAt: at, orderId: `o${seq}`, amount, currency: "EUR",
});
const cancellation = (at: string, customerId = "c1"): ChurnEvent => ({ eventId: `e${++seq}`, type: "cancellation", customerId, occurredAt: at });
const ticket = (at: string, customerId = "c1"): ChurnEvent => ({
  eventId: `e${++seq}`, type: "support_ticket_opened", customerId, occurredAt: at, ticketId: `t${seq}`, priority: "urgent", escalated: true,
});
const survey = (at: string, customerId = "c1"): ChurnEvent => ({ eventId: `e${++seq}`, type: "survey_response", customerId, occurredAt: at, nps: 2 });

const cutoff = T0 + 100 * DAY_MS;
const opts: DatasetOptions = { cutoffs: [cutoff], horizonDays: 90, activeDays: 180 };
const history = [purchase(day(10)), purchase(day(40)), purchase(day(70)), ticket(day(80)), purchase(day(95))];

describe("point-in-time rows", () => {
  it("an event after the cutoff changes no feature, whatever its type", () => {
    const [base] = customerRows("c1", history, opts);
    expect(base).toBeDefined();
    for (const late of [purchase(new Date(cutoff + 1).toISOString(), 999), ticket(day(101)), survey(day(100.5)), cancellation(day(150))]) {
      const [row] = customerRows("c1", [...history, late], opts);
      expect(row!.features).toEqual(base!.features);
    }
  });

  it("matches featureVector(stateAsOf(events, cutoff)) for every simulated row (incremental fold = definition)", () => {
    const { events } = simulate({ seed: 5, customers: 60, now: "2025-06-01T00:00:00Z", days: 400 });
    const cutoffs = [120, 180, 240, 300].map((d) => Date.parse("2024-04-27T00:00:00Z") + d * DAY_MS);
    const o: DatasetOptions = { cutoffs, horizonDays: 60, activeDays: 180 };
    let checked = 0;
    for (const [customerId, list] of groupByCustomer(events)) {
      // Shuffled input: order must not matter.
      const shuffled = [...list].reverse();
      for (const row of customerRows(customerId, shuffled, o)) {
        expect(row.features).toEqual(featureVector(stateAsOf(customerId, list, row.cutoff), row.cutoff));
        // The label depends on nothing after cutoff + horizon.
        const visible = list.filter((e) => Date.parse(e.occurredAt) <= row.cutoff + 60 * DAY_MS);
        expect(customerRows(customerId, visible, { ...o, cutoffs: [row.cutoff] })[0]!.label).toBe(row.label);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("includes an event exactly at the cutoff", () => {
    const [without] = customerRows("c1", history, opts);
    const [withIt] = customerRows("c1", [...history, purchase(new Date(cutoff).toISOString(), 50)], opts);
    expect(withIt!.features[FEATURE_NAMES.indexOf("purchase_count")]).toBe(without!.features[FEATURE_NAMES.indexOf("purchase_count")]! + 1);
  });

  it("labels from the horizon window only: (cutoff, cutoff + horizon]", () => {
    expect(customerRows("c1", history, opts)[0]!.label).toBe(1); // nothing after the cutoff
    const atEnd = purchase(new Date(cutoff + 90 * DAY_MS).toISOString());
    expect(customerRows("c1", [...history, atEnd], opts)[0]!.label).toBe(0); // inclusive end
    const justAfter = purchase(new Date(cutoff + 90 * DAY_MS + 1).toISOString());
    expect(customerRows("c1", [...history, justAfter], opts)[0]).toEqual(customerRows("c1", history, opts)[0]); // outside: no change at all
    // An explicit cancellation in the window is churn even if the customer bought before it.
    expect(customerRows("c1", [...history, purchase(day(110)), cancellation(day(120))], opts)[0]!.label).toBe(1);
    expect(customerRows("c1", [...history, purchase(day(110)), cancellation(day(195))], opts)[0]!.label).toBe(0);
  });

  it("rows only for customers the worker would score: lifecycle new or active at the cutoff", () => {
    expect(customerRows("c1", [ticket(day(5)), survey(day(6))], opts)).toEqual([]); // prospect: never bought
    expect(customerRows("c1", [purchase(day(10)), cancellation(day(50))], opts)).toEqual([]); // cancelled
    expect(customerRows("c1", [purchase(day(-100))], opts)).toEqual([]); // lapsed: last purchase 200 days before
    expect(customerRows("c1", [purchase(day(-80))], opts)).toHaveLength(1); // exactly 180 days before: still active
    expect(customerRows("c1", [purchase(day(-79))], opts)).toHaveLength(1); // 179 days before
  });

  it("a customer who cancelled and bought again is back in the population", () => {
    const back = customerRows("c1", [purchase(day(10)), cancellation(day(50)), purchase(day(60))], opts);
    expect(back).toHaveLength(1);
    expect(back[0]!.features[FEATURE_NAMES.indexOf("purchase_count")]).toBe(2);
    // Cancelled again after that purchase: out again.
    expect(customerRows("c1", [purchase(day(10)), cancellation(day(50)), purchase(day(60)), cancellation(day(70))], opts)).toEqual([]);
  });

  it("the row set is exactly isScored(lifecycleAt(state, cutoff)) for every simulated customer and cutoff", () => {
    const { events } = simulate({ seed: 11, customers: 150, now: "2025-06-01T00:00:00Z", days: 400 });
    const cutoffs = [100, 160, 220, 280].map((d) => Date.parse("2024-04-27T00:00:00Z") + d * DAY_MS);
    const rule = { activeDays: 120, newDays: 30 };
    const o: DatasetOptions = { cutoffs, horizonDays: 30, activeDays: rule.activeDays, newDays: rule.newDays };
    let inside = 0;
    let outside = 0;
    for (const [customerId, list] of groupByCustomer(events)) {
      const rows = new Set(customerRows(customerId, list, o).map((r) => r.cutoff));
      for (const c of cutoffs) {
        const scored = isScored(lifecycleAt(stateAsOf(customerId, list, c), c, rule));
        expect(rows.has(c), `${customerId} at ${new Date(c).toISOString()}`).toBe(scored);
        if (scored) inside++;
        else outside++;
      }
    }
    expect(inside).toBeGreaterThan(50);
    expect(outside).toBeGreaterThan(50);
  });

  it("the manifest records the population rule", () => {
    const { events } = simulate({ seed: 9, customers: 40, now: "2025-06-01T00:00:00Z", days: 300 });
    const built = buildDatasetFromEvents(events, { everyDays: 14, horizonDays: 90, activeDays: 150, newDays: 60 });
    const m = makeManifest({ dataset: built.dataset, plan: built.plan, source: "test", activeDays: 150, newDays: 60, everyDays: 14, dataStart: built.bounds.start, dataEnd: built.bounds.end, customers: built.customers, events: built.events });
    expect(m.population).toEqual({ stages: ["new", "active"], activeDays: 150, newDays: 60 });
    expect(m.churnDefinition).toMatch(/new or active at the cutoff \(a purchase in the 150 days before it/);
  });

  it("orders rows by cutoff then customer and counts churn per cutoff", () => {
    const events = [purchase(day(10), 5, "b"), purchase(day(20), 5, "a"), purchase(day(110), 5, "a")];
    const ds = buildDataset(events, { cutoffs: [cutoff - 50 * DAY_MS, cutoff], horizonDays: 90, activeDays: 180 });
    expect(ds.rows.map((r) => [r.customerId, r.cutoff])).toEqual([["a", cutoff - 50 * DAY_MS], ["b", cutoff - 50 * DAY_MS], ["a", cutoff], ["b", cutoff]]);
    expect(countsPerCutoff(ds.rows)).toEqual([
      { cutoff: new Date(cutoff - 50 * DAY_MS).toISOString(), rows: 2, churned: 1 },
      { cutoff: new Date(cutoff).toISOString(), rows: 2, churned: 1 },
    ]);
    expect(ds.featureSetVersion).toBe(FEATURE_SET_VERSION);
  });
});

describe("cutoff planning", () => {
  const dataStart = T0;
  const dataEnd = T0 + 400 * DAY_MS;

  it("refuses cutoffs whose horizon runs past the data, with a reason", () => {
    const plan = planCutoffs({ from: T0 + 280 * DAY_MS, to: T0 + 330 * DAY_MS, everyDays: 10, horizonDays: 90, dataStart, dataEnd });
    expect(plan.cutoffs.map((c) => (c - T0) / DAY_MS)).toEqual([280, 290, 300, 310]);
    expect(plan.skipped.map((s) => s.cutoff)).toEqual([day(320), day(330)]);
    expect(plan.skipped[0]!.reason).toMatch(/horizon ends .* after the last event/);
  });

  it("defaults: last cutoff = end minus horizon, first after a warm-up, aligned to the last", () => {
    const plan = planCutoffs({ everyDays: 7, horizonDays: 90, dataStart, dataEnd: dataEnd + 5 * 3_600_000 });
    expect(plan.cutoffs.at(-1)).toBe(T0 + 310 * DAY_MS);
    expect(plan.cutoffs[0]).toBeGreaterThanOrEqual(T0 + 90 * DAY_MS);
    expect(plan.cutoffs[0]! - 7 * DAY_MS).toBeLessThan(T0 + 90 * DAY_MS);
    expect(plan.skipped).toEqual([]);
  });

  it("builds from in-memory events with the planned cutoffs and refuses an unusable range", () => {
    const { events } = simulate({ seed: 9, customers: 40, now: "2025-06-01T00:00:00Z", days: 300 });
    const built = buildDatasetFromEvents(events, { everyDays: 14, horizonDays: 90, activeDays: 180 });
    expect(built.plan.cutoffs.length).toBeGreaterThan(3);
    for (const r of built.dataset.rows) expect(r.cutoff + 90 * DAY_MS).toBeLessThanOrEqual(built.bounds.end);
    expect(() => buildDatasetFromEvents(events, { from: built.bounds.end - DAY_MS, everyDays: 7, horizonDays: 90, activeDays: 180 })).toThrow(/after --to|no usable cutoff/);
  });
});

describe("dataset CSV", () => {
  let dir = "";
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("round-trips rows exactly (full precision) and keeps the feature set", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "cw-ds-"));
    const { events } = simulate({ seed: 3, customers: 30, now: "2025-06-01T00:00:00Z", days: 300 });
    const built = buildDatasetFromEvents(events, { everyDays: 14, horizonDays: 90, activeDays: 180 });
    const file = path.join(dir, "d.csv");
    await writeDatasetCsv(file, built.dataset);
    const { dataset } = await readDatasetCsv(file);
    expect(dataset.featureNames).toEqual([...FEATURE_NAMES]);
    expect(dataset.featureSetVersion).toBe(FEATURE_SET_VERSION);
    expect(dataset.rows).toEqual(built.dataset.rows);
  });

  it("parses quoted fields, CRLF and chunk splits anywhere", async () => {
    const text = '\ufeffa,b\r\n"x, ""y""",2\r\n"multi\nline",3\n';
    const expected = [
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ['x, "y"', "2"] },
      { line: 3, fields: ["multi\nline", "3"] },
    ];
    for (const size of [1, 2, 3, 7, 100]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      const out = [];
      for await (const r of parseCsv(chunks)) out.push(r);
      expect(out).toEqual(expected);
    }
  });
});
