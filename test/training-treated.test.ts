/**
 * The `treated` / `treated_after` dataset columns: metadata from retention_outcome events that lets
 * data scientists exclude or model treatment, while the feature vector stays exactly what the
 * worker serves.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ChurnEvent, RetentionOutcomeKind } from "../src/events/schema.js";
import { readDatasetCsv, writeDatasetCsv, METADATA_COLUMNS } from "../src/training/dataset-csv.js";
import { buildDataset, customerRows, DAY_MS, makeManifest, type DatasetOptions } from "../src/training/dataset.js";
import { FEATURE_NAMES, FEATURE_SET_VERSION } from "../src/features/index.js";

const T0 = Date.parse("2025-01-01T00:00:00Z");
const day = (n: number) => new Date(T0 + n * DAY_MS).toISOString();
let seq = 0;
const purchase = (at: string, customerId = "c1"): ChurnEvent => ({
  eventId: `e${++seq}`, type: "purchase", customerId, occurredAt: at, orderId: `o${seq}`, amount: 20, currency: "EUR",
});
const outcome = (at: string, kind: RetentionOutcomeKind, customerId = "c1"): ChurnEvent => ({
  eventId: `e${++seq}`, type: "retention_outcome", customerId, occurredAt: at, outcome: kind, campaign: "winback", channel: "phone",
});

// Cutoffs at day 100, 200 and 300; horizon 90.
const opts: DatasetOptions = { cutoffs: [100, 200, 300].map((d) => T0 + d * DAY_MS), horizonDays: 90, activeDays: 180 };
const buying = [10, 60, 95, 150, 190, 250, 290, 330, 380].map((d) => purchase(day(d)));

describe("treated columns", () => {
  it("flag a reach in the horizon before the cutoff (treated) and in the label window (treated_after)", () => {
    // Reached at day 120: inside (100, 190] for the cutoff at 100 and (110, 200] for the cutoff at 200.
    const rows = customerRows("c1", [...buying, outcome(day(120), "offer_made")], opts);
    expect(rows.map((r) => [r.treated, r.treatedAfter])).toEqual([[0, 1], [1, 0], [0, 0]]);
  });

  it("count contacted, offer_made, accepted and declined as treatment, not unreachable", () => {
    for (const kind of ["contacted", "offer_made", "accepted", "declined"] as const) {
      expect(customerRows("c1", [...buying, outcome(day(250), kind)], opts).map((r) => r.treated), kind).toEqual([0, 0, 1]);
    }
    expect(customerRows("c1", [...buying, outcome(day(250), "unreachable")], opts).map((r) => r.treated)).toEqual([0, 0, 0]);
  });

  it("include the boundaries the way the label does: (cutoff - horizon, cutoff] and (cutoff, cutoff + horizon]", () => {
    const at = (d: number) => customerRows("c1", [...buying, outcome(day(d), "contacted")], opts)[1]!;
    expect([at(110).treated, at(110).treatedAfter]).toEqual([0, 0]); // exactly cutoff - horizon: outside
    expect([at(110.001).treated]).toEqual([1]);
    expect([at(200).treated, at(200).treatedAfter]).toEqual([1, 0]); // exactly at the cutoff: known then
    expect([at(290).treatedAfter, at(290.001).treatedAfter]).toEqual([1, 0]);
  });

  it("leave the features and the label unchanged", () => {
    const plain = customerRows("c1", buying, opts);
    const treated = customerRows("c1", [...buying, outcome(day(95), "accepted"), outcome(day(199), "contacted")], opts);
    expect(treated.map((r) => r.features)).toEqual(plain.map((r) => r.features));
    expect(treated.map((r) => r.label)).toEqual(plain.map((r) => r.label));
    expect(treated.map((r) => r.features.length)).toEqual(plain.map(() => FEATURE_NAMES.length));
  });

  it("are counted in the manifest with their definition", () => {
    const dataset = buildDataset([...buying, outcome(day(120), "declined"), ...[10, 60, 95].map((d) => purchase(day(d), "c2"))], opts);
    const m = makeManifest({
      dataset, plan: { cutoffs: [...opts.cutoffs], skipped: [] }, source: "test", activeDays: 180, everyDays: 100,
      dataStart: T0, dataEnd: T0 + 400 * DAY_MS, customers: 2, events: 13,
    });
    expect(m.treatment).toMatchObject({ treatedRows: 1, treatedAfterRows: 1, definition: expect.stringContaining("(cutoff - horizon, cutoff]") });
  });
});

describe("dataset CSV with treatment columns", () => {
  let dir = "";
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("writes them after the label and reads them back", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "cw-treated-"));
    const dataset = buildDataset([...buying, outcome(day(120), "offer_made")], opts);
    const file = path.join(dir, "d.csv");
    await writeDatasetCsv(file, dataset);
    const { readFile } = await import("node:fs/promises");
    const header = (await readFile(file, "utf8")).split("\n")[0]!.split(",");
    expect(header.slice(-3)).toEqual(["label", ...METADATA_COLUMNS]);
    const back = await readDatasetCsv(file);
    expect(back.dataset.featureNames).toEqual([...FEATURE_NAMES]);
    expect(back.dataset.featureSetVersion).toBe(FEATURE_SET_VERSION);
    expect(back.dataset.rows).toEqual(dataset.rows);
  });

  it("still reads a CSV written before the columns existed (rows without treatment)", async () => {
    dir ||= await mkdtemp(path.join(os.tmpdir(), "cw-treated-"));
    const dataset = buildDataset(buying, opts);
    const file = path.join(dir, "old.csv");
    const lines = [["customer_id", "cutoff", ...FEATURE_NAMES, "label"].join(",")];
    for (const r of dataset.rows) lines.push([r.customerId, new Date(r.cutoff).toISOString(), ...r.features, r.label].join(","));
    await writeFile(file, lines.join("\n") + "\n");
    const back = await readDatasetCsv(file);
    expect(back.dataset.featureNames).toEqual([...FEATURE_NAMES]);
    expect(back.dataset.rows).toEqual(dataset.rows.map(({ treated: _t, treatedAfter: _a, ...rest }) => rest));
  });

  it("refuses unknown columns after the label (a feature there would be silently dropped)", async () => {
    dir ||= await mkdtemp(path.join(os.tmpdir(), "cw-treated-"));
    const file = path.join(dir, "bad.csv");
    await writeFile(file, `customer_id,cutoff,${FEATURE_NAMES.join(",")},label,extra\n`);
    await expect(readDatasetCsv(file)).rejects.toThrow(/label\[,treated,treated_after\]/);
  });
});
