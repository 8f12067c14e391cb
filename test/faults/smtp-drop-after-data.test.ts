/**
 * Fault: the relay receives the whole message and then cuts the connection before answering the
 * final dot. SMTP gives the client no way to know whether the message was accepted, so the outbox
 * retries (at least once): the mail arrives, possibly more than once, and every copy carries the
 * same Message-ID and the same bytes, which is what lets mail clients and Gmail collapse them.
 */
import { describe, expect, it } from "vitest";
import { waitFor } from "../support/kafka.js";
import { report, useFaultBed } from "../support/fault-bed.js";
import { enqueueMails, FAST_OUTBOX, outboxRows, waitAllSent, useTestSmtp } from "./smtp-bed.js";

const bed = useFaultBed();
const smtp = useTestSmtp();

describe("fault: SMTP relay drops the connection after DATA", () => {
  it("delivers every mail; all copies of one mail have the same Message-ID and bytes", async () => {
    smtp.mode = "drop-after-data";
    const s = await bed.scenario({ partitions: 1, extra: { ...FAST_OUTBOX, SMTP_URL: smtp.url, SMTP_TIMEOUT_MS: "5000" } });
    const ids = await enqueueMails(s.db, 4, "drop");
    const worker = await s.startWorker();
    try {
      // Every mail reaches the relay at least once while it keeps cutting the connection.
      const start = Date.now();
      await waitFor("each mail transmitted at least once", async () =>
        ids.every((id) => smtp.received.some((r) => r.mail.messageId === `<${id}@churnwatch>`)), 30_000);
      const during = await outboxRows(s.db);
      // None was marked sent: the client never heard an answer.
      expect(during.every((r) => r.status === "pending")).toBe(true);
      for (const r of during.filter((r) => r.attempts > 0)) expect(r.last_error).toMatch(/ECONNECTION|closed|ESOCKET|ECONNRESET/i);

      smtp.mode = "accept";
      const healedAt = Date.now();
      const recoveryMs = await waitAllSent(s.db, 60_000);
      const rows = await outboxRows(s.db);
      const copies: number[] = [];
      for (const row of rows) {
        const mine = smtp.received.filter((r) => r.mail.messageId === `<${row.id}@churnwatch>`);
        expect(mine.length).toBeGreaterThanOrEqual(ids.includes(row.id) ? 2 : 1);
        copies.push(mine.length);
        // Byte-identical copies, and identical to the message stored at enqueue time.
        for (const copy of mine) expect(copy.raw.replace(/\r\n$/, "")).toBe(row.raw.replace(/\r\n$/, ""));
        expect(new Set(mine.map((m) => m.raw)).size).toBe(1);
      }
      report("smtp drops connection after DATA", {
        mails: rows.length, copiesMin: Math.min(...copies), copiesMax: Math.max(...copies), droppedPhaseMs: healedAt - start,
        recoveryAfterHealedMs: recoveryMs, distinctBytesPerMail: 1, lost: 0,
      });
    } finally {
      await worker.stop();
    }
  }, 240_000);
});
