/**
 * Fault: a slow relay, 3 s before it answers each message's DATA. Sending takes its time but
 * ingest must not notice: the same events are ingested with a healthy relay first and the slow run
 * must keep pace, with no pool starvation and /readyz answering within a second. Every mail still
 * arrives exactly once.
 */
import { describe, expect, it } from "vitest";
import { messageIdOf } from "../../src/outreach/message.js";
import { simulate } from "../../src/simulate/index.js";
import { expectExactlyOnce } from "../support/exactly-once.js";
import { waitFor } from "../support/kafka.js";
import { report, useFaultBed } from "../support/fault-bed.js";
import { enqueueMails, FAST_OUTBOX, ingestWhileProbing, outboxRows, referenceRun, waitAllSent, useTestSmtp } from "./smtp-bed.js";

const bed = useFaultBed();
const smtp = useTestSmtp();

const DATA_DELAY_MS = 2_000;

describe("fault: slow SMTP relay (2 s per DATA)", () => {
  it("ingest keeps its pace, the pool never runs dry, /readyz answers within a second; every mail arrives once", async () => {
    const { events } = simulate({ seed: 67, customers: 1_200, now: "2026-10-01T00:00:00Z", days: 300 });
    const extra = { ...FAST_OUTBOX, SMTP_URL: smtp.url };

    smtp.delayMs = 0;
    const { probe: baseline } = await referenceRun(bed, events, extra, 4);

    smtp.delayMs = DATA_DELAY_MS;
    const receivedBefore = smtp.received.length;
    const s = await bed.scenario({ partitions: 3, extra });
    const ids = await enqueueMails(s.db, 4, "slow");
    const worker = await s.startWorker({ http: true });
    try {
      await waitFor("worker ready", async () => worker.ingest.isReady(), 30_000);
      // Slow sending is under way before ingest starts and still under way when it ends.
      await waitFor("a slow send under way", async () => smtp.dataReceived > 0 && (await outboxRows(s.db)).some((r) => r.status === "pending"), 10_000);
      const dataBefore = smtp.dataReceived;
      const probe = await ingestWhileProbing(s, worker, events);
      const pendingAfterIngest = (await outboxRows(s.db)).filter((r) => r.status === "pending").length;
      expect(pendingAfterIngest).toBeGreaterThan(0);
      await expectExactlyOnce(s.db, events);
      const slowSends = smtp.dataReceived - dataBefore;
      expect(probe.maxLongIdleInTransaction).toBe(0);
      // Ingest alone may briefly use every connection (the healthy run did too); a send holding
      // one would keep requests waiting and ingest stalled, which the speed check would catch.
      expect(probe.maxPoolWaiting).toBeLessThanOrEqual(Math.max(2, baseline.maxPoolWaiting));
      expect(probe.readyzNotOk).toBe(0);
      expect(probe.maxReadyzMs).toBeLessThan(1_000);
      expect(probe.ms).toBeLessThan(2 * baseline.ms + 5_000);

      const sendingFrom = Date.now();
      const allSentMs = await waitAllSent(s.db, 120_000);
      await new Promise((r) => setTimeout(r, 1_000));
      const rows = await outboxRows(s.db);
      for (const id of ids) expect(rows.map((r) => r.id)).toContain(id);
      const got = smtp.received.slice(receivedBefore).map((r) => r.mail.messageId).sort();
      expect(got).toEqual(rows.map((r) => messageIdOf(r.raw)).sort());
      // A slow answer is not a failure: every mail went out on its first attempt.
      expect(rows.every((r) => r.attempts === 1)).toBe(true);
      report("smtp slow (2 s per DATA)", {
        events: events.length, ingestMs: probe.ms, baselineIngestMs: baseline.ms, eventsPerSecond: probe.eventsPerSecond,
        baselineEventsPerSecond: baseline.eventsPerSecond, slowSendsDuringIngest: slowSends, pendingAfterIngest, maxReadyzMs: probe.maxReadyzMs,
        maxPoolInUse: probe.maxPoolInUse, baselineMaxPoolInUse: baseline.maxPoolInUse, maxPoolWaiting: probe.maxPoolWaiting, baselineMaxPoolWaiting: baseline.maxPoolWaiting,
        longIdleInTransaction: probe.maxLongIdleInTransaction, mails: rows.length, restSentAfterIngestMs: allSentMs,
        sinceIngestDoneMs: Date.now() - sendingFrom, delivered: got.length, lost: 0, doubled: 0,
      });
    } finally {
      await worker.stop();
    }
  }, 240_000);
});
