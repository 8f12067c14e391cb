/**
 * Fault: nothing listens on the relay's port (connection refused), then the relay comes up. Each
 * failed attempt is recorded with the reason and retried with backoff; once the relay is up every
 * mail is delivered exactly once. Measures how long delivery took after the relay came back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageIdOf } from "../../src/outreach/message.js";
import { waitFor } from "../support/kafka.js";
import { report, startFaultBed, type FaultBed } from "../support/fault-bed.js";
import { freePort } from "../support/servers.js";
import { TestSmtp } from "../support/smtp.js";
import { enqueueMails, FAST_OUTBOX, outboxRows, waitAllSent } from "./smtp-bed.js";

let bed: FaultBed;
let smtp: TestSmtp | undefined;
beforeAll(async () => {
  bed = await startFaultBed();
});
afterAll(async () => {
  await smtp?.stop();
  await bed?.stop();
});

describe("fault: SMTP relay down, then up", () => {
  it("retries while the connection is refused and delivers each mail exactly once after the relay is back", async () => {
    const port = await freePort();
    const relay = new TestSmtp(port);
    const s = await bed.scenario({ partitions: 1, extra: { ...FAST_OUTBOX, SMTP_URL: relay.url } });
    const ids = await enqueueMails(s.db, 5, "down");
    const worker = await s.startWorker();
    try {
      const downAt = Date.now();
      // Down for a while: several attempts, each refused and recorded.
      await waitFor("attempts refused", async () => (await outboxRows(s.db)).filter((r) => r.attempts > 0).length >= 3, 30_000);
      await new Promise((r) => setTimeout(r, Math.max(0, 8_000 - (Date.now() - downAt))));
      const during = await outboxRows(s.db);
      const tried = during.filter((r) => r.attempts > 0);
      for (const r of tried) expect(r.last_error).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET/);
      expect(during.every((r) => r.status === "pending")).toBe(true);

      smtp = relay;
      await relay.start();
      const upAt = Date.now();
      const recoveryMs = await waitAllSent(s.db, 90_000);
      // A little longer: a late duplicate would show up here.
      await new Promise((r) => setTimeout(r, 2_000));
      const rows = await outboxRows(s.db);
      for (const id of ids) expect(rows.map((r) => r.id)).toContain(id);
      const got = relay.received.map((r) => r.mail.messageId).sort();
      expect(got).toEqual(rows.map((r) => messageIdOf(r.raw)).sort());
      report("smtp down then up", {
        downMs: upAt - downAt, attemptsWhileDown: tried.reduce((n, r) => n + r.attempts, 0), mails: rows.length,
        recoveryAfterUpMs: recoveryMs, maxAttempts: Math.max(...rows.map((r) => r.attempts)), delivered: got.length, lost: 0, doubled: 0,
      });
    } finally {
      await worker.stop();
    }
  }, 240_000);
});
