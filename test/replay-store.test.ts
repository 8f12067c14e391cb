import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChurnEvent } from "../src/events/schema.js";
import { stateAsOf } from "../src/features/index.js";
import { simulate } from "../src/simulate/index.js";
import { openDb, type Db } from "../src/store/db.js";
import { migrate } from "../src/store/migrate.js";
import { parseMapping } from "../src/import/mapping.js";
import { replay, storeSink } from "../src/import/replay.js";
import { csvItems, ndjsonItems } from "../src/import/sources.js";
import { startTestPostgres, type TestPostgres } from "./support/servers.js";

const run = promisify(execFile);
const SAMPLE = "examples/transactions-sample.csv";
const MAPPING = "examples/mappings/transactions.json";
const parse = { maxBytes: 65_536, baseCurrency: "EUR", rates: { USD: 0.9 } };

let server: TestPostgres;
let dir = "";

beforeAll(async () => {
  [server, dir] = await Promise.all([startTestPostgres(), mkdtemp(path.join(os.tmpdir(), "cw-replay-"))]);
});
afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function freshDb(name: string): Promise<{ db: Db; url: string }> {
  const url = await server.createDatabase(name);
  const db = openDb(url);
  await migrate(db.pool);
  return { db, url };
}

async function snapshot(pool: pg.Pool) {
  const events = await pool.query("select event_id, customer_id, type, occurred_at, payload from raw_event order by event_id");
  const states = await pool.query("select customer_id, state, event_count, last_event_at from customer_state order by customer_id");
  return { events: events.rows, states: states.rows };
}

describe("replay into the store", () => {
  it("replays the sample transactions CSV idempotently: the second run adds nothing", async () => {
    const { db, url } = await freshDb("replay_csv");
    try {
      const args = ["--import", "tsx", "scripts/replay.ts", "--csv", SAMPLE, "--mapping", MAPPING, "--store", "--database-url", url, "--quiet"];
      const rows = (await readFile(SAMPLE, "utf8")).trim().split("\n").length - 1;
      const first = await run(process.execPath, args);
      expect(first.stdout).toContain(`${rows} rows read, ${rows} valid, 0 invalid; ${rows} written to the store`);
      const after1 = await snapshot(db.pool);
      expect(after1.events).toHaveLength(rows);

      const second = await run(process.execPath, args);
      expect(second.stdout).toContain(`0 written to the store (churnwatch-replay/replay), ${rows} already there`);
      expect(await snapshot(db.pool)).toEqual(after1);

      // The stored states are the worker's fold of exactly those purchases.
      const events = after1.events.map((r) => r.payload as ChurnEvent);
      for (const s of after1.states) {
        const mine = events.filter((e) => e.customerId === s.customer_id);
        expect(s.state).toEqual(JSON.parse(JSON.stringify(stateAsOf(s.customer_id, mine))));
        expect(s.event_count).toBe(mine.length);
      }
    } finally {
      await db.close();
    }
  });

  it("NDJSON replay converts currencies like ingest and dedupes within and across runs", async () => {
    const { db } = await freshDb("replay_ndjson");
    try {
      const { events } = simulate({
        seed: 4, customers: 40, now: "2025-03-01T00:00:00Z", days: 120,
        foreignCurrency: { code: "USD", share: 0.5, rateToBase: 0.9 },
      });
      const file = path.join(dir, "events.ndjson");
      // A duplicated line (producer retry) in the same batch must be stored and folded once.
      await writeFile(file, [...events, events[0]!].map((e) => JSON.stringify(e)).join("\n") + "\n");
      const once = await replay(ndjsonItems(file), storeSink(db.pool), { parse, batchSize: 100_000 });
      expect(once).toMatchObject({ read: events.length + 1, valid: events.length + 1, invalid: 0, written: events.length, duplicates: 1 });
      const folded = await db.pool.query<{ n: number }>("select sum(event_count)::int as n from customer_state");
      expect(folded.rows[0]!.n).toBe(events.length);
      const again = await replay(ndjsonItems(file), storeSink(db.pool), { parse, batchSize: 64 });
      expect(again).toMatchObject({ written: 0, duplicates: events.length + 1 });
      const { rows } = await db.pool.query<{ n: number; usd: number }>(
        "select count(*)::int as n, count(*) filter (where payload->>'currency' = 'USD')::int as usd from raw_event",
      );
      expect(rows[0]).toEqual({ n: events.length, usd: 0 });
    } finally {
      await db.close();
    }
  });

  it("reports invalid rows by line, skips them, and exits 1 unless --allow-errors", async () => {
    const { db, url } = await freshDb("replay_errors");
    try {
      const csv = path.join(dir, "bad.csv");
      await writeFile(csv, "customer_id,date,quantity,amount\nC1,2025-01-02,1,10.00\nC1,2025-13-01,1,10.00\n,2025-01-03,1,5\nC2,2025-01-04,2,x\nC2,2025-01-05,1,7.50\n");
      const args = ["--import", "tsx", "scripts/replay.ts", "--csv", csv, "--mapping", MAPPING, "--store", "--database-url", url, "--quiet"];
      const failed = await run(process.execPath, args).then(() => null, (err: { code: number; stdout: string; stderr: string }) => err);
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toContain(`${csv}:3: date: "2025-13-01": month 13 does not exist`);
      expect(failed?.stderr).toContain(`${csv}:4: empty customer_id`);
      expect(failed?.stderr).toContain(`${csv}:5: amount: "x" is not an amount`);
      expect(failed?.stdout).toContain("5 rows read, 2 valid, 3 invalid; 2 written");
      const ok = await run(process.execPath, [...args, "--allow-errors"]);
      expect(ok.stdout).toContain("0 written to the store (churnwatch-replay/replay), 2 already there");
      const { rows } = await db.pool.query("select count(*)::int as n from raw_event");
      expect(rows[0].n).toBe(2);
    } finally {
      await db.close();
    }
  });

  it("a mapping whose columns are missing from the file fails before writing anything", async () => {
    const mapping = parseMapping(JSON.parse(await readFile(MAPPING, "utf8")));
    const csv = path.join(dir, "other.csv");
    await writeFile(csv, "client,day,amount\nC1,2025-01-02,3\n");
    await expect(replay(csvItems(csv, mapping), null, { parse, dryRun: true })).rejects.toThrow(/customerId = "customer_id" is not in the header/);
  });
});
