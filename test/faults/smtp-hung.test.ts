/**
 * Fault: an SMTP relay that accepts the connection and the message but never answers the final
 * dot of DATA. Before the outbox sent outside transactions, this left every pool connection idle
 * in transaction and froze ingest for good. Now ingest must run as fast as with a healthy relay
 * (same events, measured in the same run), the pool must never run dry, /readyz must answer
 * within a second, and once the relay behaves every mail arrives exactly once.
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

const SMTP_TIMEOUT_MS = 2_000;

describe("fault: SMTP relay never answers DATA", () => {
  it("ingest runs at normal speed, the pool never runs dry, /readyz answers within a second; mail delivered once the relay behaves", async () => {
    const { events } = simulate({ seed: 61, customers: 1_200, now: "2026-10-01T00:00:00Z", days: 300 });
    const extra = { ...FAST_OUTBOX, SMTP_URL: smtp.url, SMTP_TIMEOUT_MS: String(SMTP_TIMEOUT_MS) };

    // Reference: the same events with a healthy relay and the same mails to send.
    smtp.mode = "accept";
    const { probe: baseline, ids: refIds } = await referenceRun(bed, events, extra, 6);
    expect(smtp.received.filter((r) => refIds.some((id) => r.mail.messageId === `<${id}@churnwatch>`))).toHaveLength(refIds.length);
    // Scoring adds alerts of its own (customers crossing into high risk): those go out too.

    // The fault: every send hangs after the message was transmitted.
    smtp.mode = "hang";
    const receivedBefore = smtp.received.length;
    const s = await bed.scenario({ partitions: 3, extra });
    const ids = await enqueueMails(s.db, 6, "hung");
    const worker = await s.startWorker({ http: true });
    try {
      await waitFor("worker ready", async () => worker.ingest.isReady(), 30_000);
      await waitFor("a send hanging", async () => smtp.dataReceived > refIds.length, 10_000);
      const hungBefore = smtp.dataReceived;
      const probe = await ingestWhileProbing(s, worker, events);
      await expectExactlyOnce(s.db, events);
      const hungSends = smtp.dataReceived - hungBefore;

      // Sends hung the whole time ingest ran (one every timeout plus a tick), none holding a database connection.
      expect(hungSends).toBeGreaterThanOrEqual(Math.floor(probe.ms / (SMTP_TIMEOUT_MS + 1_000)) - 1);
      expect(probe.maxLongIdleInTransaction).toBe(0);
      // Ingest alone may briefly use every connection (the healthy run did too); a send holding
      // one would keep requests waiting and ingest stalled, which the speed check would catch.
      expect(probe.maxPoolWaiting).toBeLessThanOrEqual(Math.max(2, baseline.maxPoolWaiting));
      expect(probe.readyzNotOk).toBe(0);
      expect(probe.maxReadyzMs).toBeLessThan(1_000);
      // "Normal speed": within twice the healthy run's time (plus slack for a shared 2-core machine).
      expect(probe.ms).toBeLessThan(2 * baseline.ms + 5_000);

      // Each failed attempt was recorded with the reason and scheduled again; nothing got through.
      const during = await outboxRows(s.db);
      expect(during.filter((r) => r.attempts > 0).length).toBeGreaterThan(0);
      for (const r of during.filter((r) => r.attempts > 0)) expect(r.last_error).toMatch(/ETIMEDOUT|Timeout/);
      expect(during.every((r) => r.status === "pending")).toBe(true);
      expect(smtp.received.length).toBe(receivedBefore);

      // The relay behaves again: every mail arrives, once.
      smtp.mode = "accept";
      const healedAt = Date.now();
      const recoveryMs = await waitAllSent(s.db, 90_000);
      // Every message in the outbox (ours and the alerts scoring added) arrived exactly once.
      const rows = await outboxRows(s.db);
      for (const id of ids) expect(rows.map((r) => r.id)).toContain(id);
      const got = smtp.received.slice(receivedBefore).map((r) => r.mail.messageId).sort();
      expect(got).toEqual(rows.map((r) => messageIdOf(r.raw)).sort());
      const attempts = rows.map((r) => r.attempts);
      report("smtp never answers DATA", {
        events: events.length, ingestMs: probe.ms, baselineIngestMs: baseline.ms, eventsPerSecond: probe.eventsPerSecond,
        baselineEventsPerSecond: baseline.eventsPerSecond, hungSends, maxReadyzMs: probe.maxReadyzMs, maxPoolInUse: probe.maxPoolInUse,
        baselineMaxPoolInUse: baseline.maxPoolInUse, maxPoolWaiting: probe.maxPoolWaiting, baselineMaxPoolWaiting: baseline.maxPoolWaiting, longIdleInTransaction: probe.maxLongIdleInTransaction,
        mailRecoveryAfterHealedMs: recoveryMs, sinceHealedMs: Date.now() - healedAt, maxAttempts: Math.max(...attempts),
        mails: rows.length, delivered: got.length, lost: 0, doubled: 0,
      });
    } finally {
      await worker.stop();
    }
  }, 240_000);
});
