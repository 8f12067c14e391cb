import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulate } from "../src/simulate/index.js";
import { writeBatch } from "../src/ingest/write/batch-writer.js";
import { openDb, type Db } from "../src/store/db.js";
import { migrate } from "../src/store/migrate.js";
import { readDatasetCsv } from "../src/training/dataset-csv.js";
import { buildDatasetFromDb, buildDatasetFromEvents, type BuildRequest } from "../src/training/event-sources.js";
import { startTestPostgres, type TestPostgres } from "./support/servers.js";

const run = promisify(execFile);
let server: TestPostgres;
let db: Db;
let url = "";
let dir = "";
const { events } = simulate({ seed: 23, customers: 250, now: "2025-05-01T00:00:00Z", days: 360 });
const request: BuildRequest = { everyDays: 14, horizonDays: 90, activeDays: 180 };

beforeAll(async () => {
  [server, dir] = await Promise.all([startTestPostgres(), mkdtemp(path.join(os.tmpdir(), "cw-dbds-"))]);
  url = await server.createDatabase("training_db");
  db = openDb(url);
  await migrate(db.pool);
  // Stored the way ingest stores them (writeBatch), in an order unrelated to customer or time,
  // so only the query's ordering can make the per-customer stream right.
  const shuffled = events.map((e, i) => ({ e, k: (i * 7919) % events.length })).sort((a, b) => a.k - b.k).map((x) => x.e);
  for (let i = 0; i < shuffled.length; i += 1000) {
    const chunk = shuffled.slice(i, i + 1000);
    await writeBatch(db.pool, { groupId: "test", topic: "history", partition: 0 }, {
      events: chunk.map((event, j) => ({ offset: i + j, event })),
      rejects: [],
      nextOffset: i + chunk.length,
    });
  }
});

afterAll(async () => {
  await db?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("dataset from Postgres raw_event", () => {
  it("equals the dataset built from the same events in memory (cursor pages split customers)", async () => {
    const fromMemory = buildDatasetFromEvents(events, request);
    let lastProgress = 0;
    const fromDb = await buildDatasetFromDb(db.pool, request, (done) => (lastProgress = done), { pageSize: 97 });
    expect(fromDb.bounds).toEqual(fromMemory.bounds);
    expect(fromDb.plan).toEqual(fromMemory.plan);
    expect(fromDb.customers).toBe(fromMemory.customers);
    expect(fromDb.invalid).toBe(0);
    expect(fromDb.dataset.rows.length).toBeGreaterThan(500);
    expect(fromDb.dataset).toEqual(fromMemory.dataset);
    expect(lastProgress).toBe(events.length);
  });

  it("build-dataset.ts --from-db writes the same rows as a CSV with a manifest", async () => {
    const out = path.join(dir, "db.csv");
    const { stdout } = await run(process.execPath, ["--import", "tsx", "scripts/build-dataset.ts", "--from-db", "--database-url", url, "--every", "14d", "--out", out, "--quiet"]);
    expect(stdout).toMatch(/rows .* from 250 customers/);
    const { dataset, manifest } = await readDatasetCsv(out);
    expect(dataset.rows).toEqual(buildDatasetFromEvents(events, request).dataset.rows);
    expect(manifest).toMatchObject({ horizonDays: 90, activeDays: 180, everyDays: 14, rows: dataset.rows.length, customers: 250 });
    expect(manifest!.source).toMatch(/^postgres:raw_event \(postgresql:\/\/churnwatch:\*\*\*@/); // no password in files
    expect(manifest!.perCutoff.reduce((s, c) => s + c.rows, 0)).toBe(dataset.rows.length);
  });
});
