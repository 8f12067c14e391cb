/**
 * Fault: crafted and malformed messages in the middle of a real stream. Every message of the
 * corpus (test/fixtures/events-corpus) goes through the real ingest path between valid events:
 * each reject reaches the dead-letter table and topic exactly once with its code, the accepted
 * ones are stored, and no partition is held up: every valid event behind a poison message is
 * applied exactly once.
 */
import { describe, expect, it } from "vitest";
import { parseEvent } from "../../src/events/parse.js";
import { simulate } from "../../src/simulate/index.js";
import { DLQ_HEADERS } from "../../src/ingest/dead-letter.js";
import { loadCorpus } from "../support/events-corpus.js";
import { produce, readTopic, waitFor } from "../support/kafka.js";
import { count, expectExactlyOnce } from "../support/exactly-once.js";
import { report, since, useFaultBed } from "../support/fault-bed.js";

const bed = useFaultBed();

describe("fault: poison messages in the stream", () => {
  it("dead-letters each reject once, stores the accepted ones, and holds up no valid event", async () => {
    const corpus = loadCorpus();
    const options = { ...corpus.options };
    // The corpus judges instants against a fixed clock; cases whose verdict depends on that clock
    // (future-skew rules) are judged by the unit test only. Every other case goes through here.
    const cases = corpus.cases.filter((c) => {
      const fixed = parseEvent(c.valueBytes, c.keyBytes, { ...options, now: () => corpus.now });
      const live = parseEvent(c.valueBytes, c.keyBytes, { ...options });
      return fixed.ok === live.ok && (fixed.ok || live.ok || fixed.code === live.code);
    });
    expect(cases.length).toBeGreaterThanOrEqual(130);
    const rejects = cases.filter((c) => c.verdict === "reject");
    const accepted = cases.filter((c) => c.verdict === "ok");

    const s = await bed.scenario({
      partitions: 2,
      extra: { MAX_EVENT_BYTES: String(options.maxBytes), BASE_CURRENCY: options.baseCurrency, CURRENCY_RATES: Object.entries(options.rates).map(([k, v]) => `${k}=${v}`).join(",") },
    });
    const { events } = simulate({ seed: 31, customers: 40, now: "2026-10-01T00:00:00Z", days: 200 });
    // Valid events before, between and after the corpus, on the same topic and partitions.
    const third = Math.floor(events.length / 3);
    await s.produce(events.slice(0, third));
    await produce(bed.kafka, cases.map((c) => ({ topic: s.topics.purchases, key: c.keyBytes, value: c.valueBytes })));
    await s.produce(events.slice(third, 2 * third));
    const start = Date.now();
    const worker = await s.startWorker();
    try {
      await s.produce(events.slice(2 * third));
      const acceptedEvents = accepted.map((c) => {
        const r = parseEvent(c.valueBytes, c.keyBytes, options);
        if (!r.ok) throw new Error(`corpus case ${c.name} should be accepted: ${r.reason}`);
        return r.event;
      });
      const acceptedIds = new Set(acceptedEvents.map((e) => e.eventId));
      await waitFor("every message handled", async () => worker.ingest.stats.messages === events.length + cases.length, 90_000);
      const elapsed = since(start);

      const { rows } = await s.db.query<{ code: string; n: string }>("select code, count(*) as n from dead_letter group by code");
      const byCode = Object.fromEntries(rows.map((r) => [r.code, Number(r.n)]));
      const expected: Record<string, number> = {};
      for (const c of rejects) expected[c.code!] = (expected[c.code!] ?? 0) + 1;
      expect(byCode).toEqual(expected);
      // The valid events are all there, once; the accepted corpus events too (deduplicated by id).
      const simulatedIds = events.map((e) => e.eventId);
      expect(await count(s.db, "select count(*) from raw_event where event_id = any($1::text[])", [simulatedIds])).toBe(events.length);
      expect(await count(s.db, "select count(*) from raw_event where event_id = any($1::text[])", [[...acceptedIds]])).toBe(acceptedIds.size);

      // The dead-letter topic carries each reject exactly once (the relay publishes after commit).
      const dlq = await readTopic(bed.kafka, s.topics.dlq, rejects.length, 30_000);
      await new Promise((r) => setTimeout(r, 1500));
      const again = await readTopic(bed.kafka, s.topics.dlq, rejects.length, 10_000);
      expect(again.length).toBe(rejects.length);
      const offsets = dlq.map((m) => m.headers[DLQ_HEADERS.offset]);
      expect(new Set(offsets).size).toBe(rejects.length);
      for (const m of dlq) {
        // Reasons never carry raw bytes: no control characters, bounded length.
        expect(m.headers[DLQ_HEADERS.reason]).not.toMatch(/[\u0000-\u001f]/);
        expect(m.headers[DLQ_HEADERS.reason]!.length).toBeLessThanOrEqual(300);
      }
      expect(worker.ingest.health().stalled).toEqual([]);
      report("poison messages", { corpus: cases.length, rejects: rejects.length, validEvents: events.length, lost: 0, doubled: 0, handledMs: elapsed });

      // Only the simulated stream counts for per-customer totals; corpus customers are others.
      const corpusCustomers = new Set(acceptedEvents.map((e) => e.customerId));
      for (const id of corpusCustomers) expect(events.some((e) => e.customerId === id)).toBe(false);
      await s.db.query("delete from raw_event where not (event_id = any($1::text[]))", [simulatedIds]);
      await s.db.query("delete from customer_state where customer_id = any($1::text[])", [[...corpusCustomers]]);
      await expectExactlyOnce(s.db, events);
    } finally {
      await worker.stop();
    }
  });
});
