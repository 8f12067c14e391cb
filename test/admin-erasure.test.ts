/**
 * Erasure (GDPR Art. 17) and export (Art. 15) end to end: customers ingested through Kafka and
 * the real write path, scored, digested (mail through the file transport), then one erased. Every
 * table with a customer_id column, the mail, dead letters and CRM events are searched for the
 * customer afterwards; the others must be untouched; the audit row must not name them; the
 * tombstone must reach the CRM topic after commit. Also: the erasure_request event through Kafka
 * (in CloudEvents mode, where the tombstone is still a plain null value), a new history after an
 * erasure, and the erase/export commands.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type pg from "pg";
import { CUSTOMER_TABLES, CUSTOMER_TABLES_HANDLED_APART } from "../src/admin/customer-data.js";
import { runErasureRequests } from "../src/admin/erasure-requests.js";
import { eraseCustomer } from "../src/admin/erasure.js";
import { exportCustomer } from "../src/admin/export.js";
import type { ChurnEvent, CustomerProfileEvent } from "../src/events/schema.js";
import { mimeText } from "../src/lib/mime.js";
import { createLogger } from "../src/log.js";
import { prepareServingModel } from "../src/model/load.js";
import { parseSegments } from "../src/outreach/segments.js";
import { rescore } from "../src/scoring/rescore.js";
import { inlineComputer } from "../src/scoring/threads.js";
import { simulate } from "../src/simulate/index.js";
import { migrate } from "../src/store/migrate.js";
import { produce, readTopicUntil, waitFor, type ReadMessage } from "./support/kafka.js";
import { report, useFaultBed, waitForEvents } from "./support/fault-bed.js";
import { sharedTestArtifact } from "./support/model.js";
import { buyer, putStates } from "./support/scoring.js";
import { testEnv } from "./support/worker.js";

const bed = useFaultBed();

async function count(db: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  return Number((await db.query<{ n: string }>(sql, params)).rows[0]!.n);
}

/** Tables with a customer_id column, from the catalogue (not from the code under test). */
async function customerIdTables(db: pg.Pool): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    "select table_name from information_schema.columns where table_schema = 'public' and column_name = 'customer_id' order by table_name");
  return rows.map((r) => r.table_name);
}

/** Rows per customer_id table for `customerId` (tombstones aside), and for everyone else. */
async function rowsPerTable(db: pg.Pool, customerId: string): Promise<{ own: Record<string, number>; others: Record<string, number> }> {
  const own: Record<string, number> = {};
  const others: Record<string, number> = {};
  for (const t of await customerIdTables(db)) {
    const notTombstone = t === "event_outbox" ? " and kind <> 'tombstone'" : "";
    own[t] = await count(db, `select count(*) as n from ${t} where customer_id = $1${notTombstone}`, [customerId]);
    others[t] = await count(db, `select count(*) as n from ${t} where customer_id <> $1`, [customerId]);
  }
  return { own, others };
}

/** Every place personal data can sit as text, decoded: mail, .eml files, dead letters, CRM events, member lists. */
async function storedTexts(db: pg.Pool, outboxDir: string): Promise<{ where: string; text: string }[]> {
  const out: { where: string; text: string }[] = [];
  for (const r of (await db.query<{ id: string; subject: string; dedupe_key: string; raw: string }>("select id, subject, dedupe_key, raw from outbox_message")).rows) {
    out.push({ where: `outbox_message ${r.id}`, text: `${r.subject}\n${r.dedupe_key}\n${mimeText(r.raw)}` });
  }
  for (const name of (await readdir(outboxDir)).filter((n) => n.endsWith(".eml") || n.endsWith(".json") || n.endsWith(".html"))) {
    const raw = await readFile(path.join(outboxDir, name), "utf8");
    out.push({ where: `file ${name}`, text: name.endsWith(".eml") ? mimeText(raw) : raw });
  }
  for (const r of (await db.query<{ id: string; reason: string; k: string | null; v: string | null; h: string }>(
    "select id, reason, convert_from(message_key, 'UTF8') as k, convert_from(message_value, 'UTF8') as v, message_headers::text as h from dead_letter")).rows) {
    out.push({ where: `dead_letter ${r.id}`, text: `${r.reason}\n${r.k ?? ""}\n${r.v ?? ""}\n${r.h}` });
  }
  for (const r of (await db.query<{ id: string; payload: string | null }>("select id, payload from event_outbox")).rows) {
    out.push({ where: `event_outbox ${r.id}`, text: r.payload ?? "" });
  }
  for (const r of (await db.query<{ segment: string; members: string[] | null }>("select segment, members from segment_snapshot")).rows) {
    out.push({ where: `segment_snapshot ${r.segment}`, text: (r.members ?? []).join("\n") });
  }
  return out;
}

/** Whole-word occurrence (ids are fixed-width here, addresses unique). */
function holds(text: string, needle: string): boolean {
  return text.toLowerCase().includes(needle.toLowerCase());
}

function profileOf(events: readonly ChurnEvent[], customerId: string): CustomerProfileEvent {
  return events.find((e): e is CustomerProfileEvent => e.type === "customer_profile" && e.customerId === customerId)!;
}

function runCli(script: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", `scripts/${script}.ts`, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} did not finish within ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

const tombstoneOf = (customerId: string) => (m: ReadMessage) => m.key === customerId && m.value === null;

/** A scenario whose simulated customers are ingested through Kafka and scored by a running worker (stop it when done). */
async function scoredScenario(seed: number, customers: number, extra: Record<string, string>) {
  const s = await bed.scenario({ partitions: 2, extra });
  const { events } = simulate({ seed, customers, now: new Date(), days: 200 });
  await s.produce(events);
  const worker = await s.startWorker();
  try {
    await waitForEvents(s.db, events.length, 60_000);
    await worker.scoring.flush();
  } catch (err) {
    await worker.stop();
    throw err;
  }
  return { s, events, worker };
}

describe("erasure and export (worker, local broker, embedded Postgres)", () => {
  it("erases a digested customer everywhere, keeps everyone else, audits without the id, tombstones after commit", async () => {
    const outboxDir = await mkdtemp(path.join(tmpdir(), "cw-erasure-"));
    // PII in the CRM events, so the event outbox holds the address too.
    const { s, events, worker } = await scoredScenario(83, 40, { OUTBOX_DIR: outboxDir, RISK_EVENTS_INCLUDE_PII: "true" });
    try {
      await worker.digestNow(new Date());
      // The customer to erase: one a digest listed (so mail, listings and member lists name them).
      const { rows: listed } = await s.db.query<{ customer_id: string }>(
        "select distinct customer_id from outreach_listing where segment not like 'alert:%' order by customer_id limit 2");
      expect(listed.length, "customers in a digest").toBe(2);
      const target = listed[0]!.customer_id;
      const other = listed[1]!.customer_id;
      const { email, name } = profileOf(events, target);
      expect(email).toBeTruthy();
      // Dead letters: one of the target's own messages (an unknown field) and one of another customer.
      const bad = (customerId: string, mail: string | null | undefined) => ({
        topic: s.topics.purchases, key: customerId,
        value: JSON.stringify({ eventId: `bad-${customerId}`, type: "customer_profile", customerId, occurredAt: new Date().toISOString(), email: mail, shoeSize: 44 }),
      });
      await produce(bed.kafka, [bad(target, email), bad(other, profileOf(events, other).email)]);
      await waitFor("2 dead letters", async () => (await count(s.db, "select count(*) as n from dead_letter")) === 2, 30_000);

      const before = await rowsPerTable(s.db, target);
      for (const t of ["raw_event", "customer_state", "customer_score", "score_history", "outreach_listing"]) expect(before.own[t], t).toBeGreaterThan(0);
      const textsBefore = await storedTexts(s.db, outboxDir);
      expect(textsBefore.filter((t) => t.where.startsWith("file ") && holds(t.text, target)).length, ".eml files naming the target").toBeGreaterThan(0);
      expect(textsBefore.some((t) => t.where.startsWith("outbox_message") && holds(t.text, email!))).toBe(true);
      expect(textsBefore.some((t) => t.where.startsWith("segment_snapshot") && holds(t.text, target))).toBe(true);

      // Export first: everything about the target, nothing of anyone else.
      const exported = await exportCustomer(s.db, target);
      expect(exported.found).toBe(true);
      expect(exported.rawEvents).toHaveLength(events.filter((e) => e.customerId === target).length);
      expect(exported.profile.emails).toContain(email);
      expect(exported.score).not.toBeNull();
      expect(exported.scoreHistory.length).toBeGreaterThan(0);
      expect(exported.outreachListings.length).toBeGreaterThan(0);
      expect(exported.segmentWeeks.length).toBeGreaterThan(0);
      expect(exported.mail.length).toBeGreaterThan(0);
      expect(exported.deadLetters).toEqual([expect.objectContaining({ code: "invalid", key: target })]);
      const json = JSON.stringify(exported);
      const otherIds = [...new Set(events.map((e) => e.customerId))].filter((c) => c !== target);
      expect(otherIds.filter((c) => json.includes(c)), "other customers in the export").toEqual([]);
      expect(json).not.toContain(profileOf(events, other).email!);

      const startedAt = Date.now();
      const result = await eraseCustomer(s.db, target, { source: "cli", requestedBy: "test", reason: "ticket 4711", outboxDir });
      const erasureMs = Date.now() - startedAt;
      worker.relay.wake();

      // Every customer_id table is covered by the erasure (the catalogue, not the code, says which exist).
      const tables = await customerIdTables(s.db);
      expect(tables).toEqual([...CUSTOMER_TABLES, ...CUSTOMER_TABLES_HANDLED_APART].sort());
      const after = await rowsPerTable(s.db, target);
      expect(Object.entries(after.own).filter(([, n]) => n > 0), "rows of the erased customer").toEqual([]);
      // Nobody else lost a row (event_outbox drains on its own; erasure requests are none here).
      for (const t of ["raw_event", "customer_state", "customer_score", "score_history", "outreach_listing", "unscored_customer", "scoring_failure"]) {
        expect(after.others[t], t).toBe(before.others[t]);
      }
      const namedAgain = (await storedTexts(s.db, outboxDir)).filter((t) => holds(t.text, target) || holds(t.text, email!));
      expect(namedAgain.map((t) => t.where), "stored text naming the erased customer").toEqual([]);
      // The other customer's dead letter and state are still there.
      expect(await count(s.db, "select count(*) as n from dead_letter where convert_from(message_key, 'UTF8') = $1", [other])).toBe(1);
      expect(await count(s.db, "select count(*) as n from customer_state where customer_id = $1", [other])).toBe(1);

      // The audit: counts, a salted hash, no id, address or name in clear.
      const { rows: audit } = await s.db.query<{ id: string; customer_hash: string; source: string; requested_by: string; reason: string; removed: Record<string, number>; row: string }>(
        "select id, customer_hash, source, requested_by, reason, removed, row_to_json(e)::text as row from customer_erasure e");
      expect(audit).toHaveLength(1);
      const salt = (await s.db.query<{ salt: string }>("select salt from erasure_salt")).rows[0]!.salt;
      expect(audit[0]!.customer_hash).toBe(createHash("sha256").update(`${salt}:${target}`).digest("hex"));
      expect(audit[0]!.customer_hash).not.toBe(createHash("sha256").update(target).digest("hex"));
      for (const needle of [target, email!, name!]) expect(holds(audit[0]!.row, needle), needle).toBe(false);
      expect(audit[0]).toMatchObject({ source: "cli", requested_by: "test", reason: "ticket 4711" });
      expect(audit[0]!.removed).toMatchObject({
        raw_event: before.own.raw_event, customer_state: 1, customer_score: 1, score_history: before.own.score_history,
        outreach_listing: before.own.outreach_listing, dead_letter: 1,
      });
      expect(audit[0]!.removed.outbox_message).toBeGreaterThan(0);
      expect(audit[0]!.removed.eml_files).toBeGreaterThan(0);
      expect(audit[0]!.removed.segment_snapshot_members).toBeGreaterThan(0);
      expect(result.removed).toEqual(audit[0]!.removed);

      // The tombstone reaches the CRM topic after the customer's earlier events (a compacted topic then drops them).
      const crm = await readTopicUntil(bed.kafka, s.topics.riskScores, (m) => m.some(tombstoneOf(target)), "the tombstone", 30_000);
      const mine = crm.filter((m) => m.key === target);
      expect(mine.length).toBeGreaterThan(1);
      expect(mine[mine.length - 1]).toMatchObject({ value: null, headers: expect.objectContaining({ "x-churnwatch-event-id": result.tombstoneEventId }) });
      await waitFor("tombstone sent", async () => (await count(s.db, "select count(*) as n from event_outbox where kind = 'tombstone'")) === 0, 30_000);

      // Nothing left to export; erasing again is harmless.
      expect((await exportCustomer(s.db, target)).found).toBe(false);
      const again = await eraseCustomer(s.db, target, { source: "cli", requestedBy: "test", outboxDir });
      expect(Object.entries(again.removed).filter(([, n]) => n > 0)).toEqual([]);
      report("erasure", { customerEvents: before.own.raw_event ?? 0, scoreHistory: before.own.score_history ?? 0, mails: audit[0]!.removed.outbox_message!, emlFiles: audit[0]!.removed.eml_files!, erasureMs });
    } finally {
      await worker.stop();
    }
  });

  it("an erasure_request event erases through Kafka (CloudEvents mode: the tombstone is still a null value); later events start a new history", async () => {
    const { s, events, worker } = await scoredScenario(84, 12, { CRM_EVENT_FORMAT: "cloudevents-structured", CRM_EVENT_SOURCE: "urn:churnwatch:test" });
    try {
      const target = events[0]!.customerId;
      const ownEvents = events.filter((e) => e.customerId === target).length;
      await s.produce([{ eventId: "erase-1", type: "erasure_request", customerId: target, occurredAt: new Date().toISOString() }]);
      const audit = await waitFor("the erasure audit row", async () =>
        (await s.db.query<{ source: string; requested_by: string; removed: Record<string, number> }>("select source, requested_by, removed from customer_erasure")).rows[0], 30_000);
      expect(audit.source).toBe("event");
      expect(audit.requested_by).toMatch(new RegExp(`^${s.topics.purchases.replace(/\./g, "\\.")}\\[\\d\\]@\\d+$`));
      expect(audit.removed).toMatchObject({ raw_event: ownEvents, customer_state: 1, erasure_request: 1 });
      const { own } = await rowsPerTable(s.db, target);
      expect(Object.entries(own).filter(([, n]) => n > 0)).toEqual([]);
      // The request itself is never stored as an event.
      expect(await count(s.db, "select count(*) as n from raw_event where event_id = 'erase-1'")).toBe(0);
      const crm = await readTopicUntil(bed.kafka, s.topics.riskScores, (m) => m.some(tombstoneOf(target)), "the tombstone", 30_000);
      const tombstone = crm.find(tombstoneOf(target))!;
      // No CloudEvent attributes: a compacting broker and every consumer see a plain tombstone.
      expect(Object.keys(tombstone.headers).filter((h) => h.startsWith("ce_"))).toEqual([]);
      // Its earlier events were structured CloudEvents.
      expect(crm.filter((m) => m.key === target && m.value !== null).every((m) => m.value!.toString().includes('"specversion":"1.0"'))).toBe(true);

      // A later event of the customer is new data: a new history with one event.
      await s.produce([{ eventId: "after-1", type: "purchase", customerId: target, occurredAt: new Date().toISOString(), orderId: "o-after", amount: 12, currency: "EUR" }]);
      await waitFor("the new history", async () => (await count(s.db, "select count(*) as n from customer_state where customer_id = $1 and event_count = 1", [target])) === 1, 30_000);
      expect(await count(s.db, "select count(*) as n from raw_event where customer_id = $1", [target])).toBe(1);

      // The commands: export to a file, erase with a reason (a worker's relay sends the tombstone).
      const other = events.find((e) => e.customerId !== target)!.customerId;
      const env = { ...testEnv(s.opts), LOG_LEVEL: "warn" };
      const file = path.join(await mkdtemp(path.join(tmpdir(), "cw-export-")), "export.json");
      const exp = await runCli("export", ["--customer", other, "--out", file], env);
      expect(exp.code, exp.err).toBe(0);
      const exportedFile = JSON.parse(await readFile(file, "utf8")) as { customerId: string; found: boolean; rawEvents: unknown[] };
      expect(exportedFile).toMatchObject({ customerId: other, found: true });
      expect(exportedFile.rawEvents).toHaveLength(events.filter((e) => e.customerId === other).length);
      const er = await runCli("erase", ["--customer", other, "--reason", "ticket 99", "--requested-by", "dpo", "--json"], env);
      expect(er.code, er.err).toBe(0);
      expect(JSON.parse(er.out)).toMatchObject({ removed: { customer_state: 1 } });
      expect(await count(s.db, "select count(*) as n from customer_state where customer_id = $1", [other])).toBe(0);
      expect(await count(s.db, "select count(*) as n from customer_erasure where source = 'cli' and requested_by = 'dpo' and reason = 'ticket 99'")).toBe(1);
      worker.relay.wake();
      await readTopicUntil(bed.kafka, s.topics.riskScores, (m) => m.some(tombstoneOf(other)), "the CLI erasure's tombstone", 30_000);
      const usage = await runCli("erase", [], env);
      expect(usage.code).toBe(2);
      expect(usage.err).toMatch(/--customer ID/);
    } finally {
      await worker.stop();
    }
  });
});

describe("erasure against work in flight (embedded Postgres)", () => {
  const logger = createLogger("silent");

  it("a rescoring page read before an erasure does not write the erased customer back", async () => {
    const s = await bed.scenario({ partitions: 1 });
    await migrate(s.db);
    const now = Date.parse("2026-06-01T00:00:00Z");
    await putStates(s.db, [buyer("b-1", now, 60), buyer("b-2", now, 60)]);
    const model = prepareServingModel(await sharedTestArtifact());
    const inline = inlineComputer();
    let erasedDuringCompute = false;
    const result = await rescore({
      pool: s.db, model: () => model, segments: parseSegments([{ id: "all", name: "All", when: {}, recipients: ["t@example.com"], action: "Call." }]),
      publish: true, publishRule: { minDelta: 0 }, includePii: true, alerts: null, logger,
      // The page has been read; the erasure commits while it is being computed (the slow part).
      computer: {
        async compute(m, rows, ctx) {
          await eraseCustomer(s.db, "b-1", { source: "cli", requestedBy: "test" });
          erasedDuringCompute = true;
          return inline.compute(m, rows, ctx);
        },
      },
    }, { asOf: new Date(now) });
    expect(erasedDuringCompute).toBe(true);
    expect(result.scored).toBe(1);
    const { own } = await rowsPerTable(s.db, "b-1");
    expect(Object.entries(own).filter(([, n]) => n > 0), "b-1 written back").toEqual([]);
    expect(await count(s.db, "select count(*) as n from customer_score where customer_id = 'b-2'")).toBe(1);
  });

  it("nor over a new history begun after the erasure: the page's old read is not written onto it", async () => {
    const s = await bed.scenario({ partitions: 1 });
    await migrate(s.db);
    const now = Date.parse("2026-06-01T00:00:00Z");
    await putStates(s.db, [buyer("n-1", now, 60), buyer("n-2", now, 60)]);
    const model = prepareServingModel(await sharedTestArtifact());
    const inline = inlineComputer();
    const result = await rescore({
      pool: s.db, model: () => model, segments: parseSegments([{ id: "all", name: "All", when: {}, recipients: ["t@example.com"], action: "Call." }]),
      publish: true, publishRule: { minDelta: 0 }, includePii: true, alerts: null, logger,
      computer: {
        async compute(m, rows, ctx) {
          // Erased, then an event of the same id arrives and starts a new state row: the row
          // exists again, but it is not the history this page read.
          await eraseCustomer(s.db, "n-1", { source: "cli", requestedBy: "test" });
          await putStates(s.db, [buyer("n-1", now, 1, 12, 1)]);
          return inline.compute(m, rows, ctx);
        },
      },
    }, { asOf: new Date(now) });
    expect(result.scored).toBe(1);
    expect(await count(s.db, "select count(*) as n from customer_score where customer_id = 'n-1'")).toBe(0);
    expect(await count(s.db, "select count(*) as n from score_history where customer_id = 'n-1'")).toBe(0);
    expect(await count(s.db, "select count(*) as n from event_outbox where customer_id = 'n-1' and kind <> 'tombstone'")).toBe(0);
    expect(await count(s.db, "select count(*) as n from customer_score where customer_id = 'n-2'")).toBe(1);
  });

  it("the sweep carries out requests whose worker never got to them, once", async () => {
    const s = await bed.scenario({ partitions: 1 });
    await migrate(s.db);
    await putStates(s.db, [buyer("r-1", Date.now(), 10), buyer("r-2", Date.now(), 10)]);
    await s.db.query(
      `insert into erasure_request (event_id, customer_id, requested_at, source_topic, source_partition, source_offset, next_attempt_at)
       values ('e-1', 'r-1', now(), 't', 0, 5, now() - interval '1 second'), ('e-2', 'r-1', now(), 't', 0, 6, now() - interval '1 second'),
              ('e-3', 'r-2', now(), 't', 0, 7, now() + interval '1 hour')`);
    expect(await runErasureRequests({ pool: s.db, logger })).toBe(1);
    expect(await count(s.db, "select count(*) as n from customer_state where customer_id = 'r-1'")).toBe(0);
    // Both requests of r-1 went with the one erasure; r-2's is not due yet (its worker runs it).
    expect((await s.db.query("select event_id from erasure_request")).rows).toEqual([{ event_id: "e-3" }]);
    expect(await count(s.db, "select count(*) as n from customer_erasure where source = 'event' and requested_by = 't[0]@5'")).toBe(1);
    expect(await runErasureRequests({ pool: s.db, logger })).toBe(0);
    // Named explicitly (after its batch committed), a request runs whatever its due time.
    expect(await runErasureRequests({ pool: s.db, logger }, ["r-2"])).toBe(1);
    expect(await count(s.db, "select count(*) as n from erasure_request")).toBe(0);
  });
});
