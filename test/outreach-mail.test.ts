/**
 * The outreach path end to end with real parts: embedded PostgreSQL, an in-process SMTP server
 * (smtp-server) on a free port, nodemailer as the client, mailparser to read what arrived.
 */
import { mkdtemp, readFile, readdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { simpleParser, type ParsedMail } from "mailparser";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../src/log.js";
import {
  createFileTransport,
  createSmtpTransport,
  drainOutbox,
  startOutboxSender,
  enqueueAlerts,
  enqueueMessage,
  parseSegments,
  runDigest,
  type MailTransport,
  type OutgoingMail,
} from "../src/outreach/index.js";
import { kpiChange, kpiValues } from "../src/kpi/index.js";
import { migrate } from "../src/store/migrate.js";
import { createMetrics } from "../src/metrics/metrics.js";
import { pino, type Logger } from "pino";
import { freePort, startTestPostgres, type TestPostgres } from "./support/servers.js";
import { putScoredCustomer } from "./support/scoring.js";
import { TestSmtp, type Received } from "./support/smtp.js";
import { DAY_MS as DAY } from "../src/lib/time.js";

const log = createLogger("silent");
const FROM = "Churnwatch <churnwatch@example.com>";

let server: TestPostgres;
let pool: pg.Pool;
const transports: MailTransport[] = [];

function newPool(applicationName = "churnwatch-test"): pg.Pool {
  const p = new pg.Pool({ connectionString: server.url, max: 4, application_name: applicationName });
  // A terminated connection (the "crash" tests) must not take the test process down.
  p.on("error", () => undefined);
  return p;
}

function smtpTransport(url: string): MailTransport {
  const t = createSmtpTransport(url);
  transports.push(t);
  return t;
}

beforeAll(async () => {
  server = await startTestPostgres();
  pool = newPool();
  await migrate(pool);
}, 120_000);

afterAll(async () => {
  for (const t of transports) await t.close();
  await pool?.end();
  await server?.stop();
});

beforeEach(async () => {
  await pool.query("truncate outbox_message, outreach_listing, customer_score, customer_state");
});

interface CustomerSpec {
  id: string;
  score: number;
  level: "low" | "medium" | "high";
  value: number;
  name?: string;
  email?: string;
  tenureDays?: number;
  reasons?: { code: string; text: string; weight: number }[];
}

async function upsertCustomer(c: CustomerSpec, now: Date): Promise<void> {
  await putScoredCustomer(pool, { ...c, reasons: c.reasons ?? [
    { code: "recency", text: `no purchase for ${40 + c.id.length} days, usually every 12`, weight: 0.4 },
    { code: "nps", text: "NPS 3 (detractor)", weight: 0.2 },
  ] }, now);
}

const segments = parseSegments({
  segments: [
    {
      id: "high-value-at-risk", name: "High-value at risk", when: { riskLevels: ["medium", "high"], minValue: 1000 },
      recipients: ["key-accounts@example.com", "cso@example.com"], action: "Call within two business days.",
      alert: true, maxRows: 3, crmLinkTemplate: "https://crm.example.com/customers/{customerId}",
    },
    {
      id: "new-customers-at-risk", name: "New customers at risk", when: { minScore: 0.5, features: { tenure_days: { lt: 90 } } },
      recipients: ["onboarding@example.com"], action: "Send the onboarding e-mail.",
    },
  ],
}, "test");

function csvRows(mail: ParsedMail): string[][] {
  const att = mail.attachments.find((a) => a.filename?.endsWith(".csv"));
  expect(att, "CSV attachment").toBeDefined();
  const text = att!.content.toString("utf8").replace(/^\uFEFF/, "");
  return text.split("\r\n").filter((l) => l !== "").map((l) => l.split(","));
}

function sampleMail(i: number, now: Date): OutgoingMail {
  return {
    kind: "digest", dedupeKey: `test:${i}`, from: FROM, to: [`team${i}@example.com`], subject: `Test message ${i}`,
    text: `hello ${i}`, html: `<p>hello ${i}</p>`, date: now,
  };
}

/** A logger whose records the test can read (level 40 = warn, 50 = error). */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

/** A transport whose sends wait until the test opens the gate, counting how many run at once. */
function gatedTransport() {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let entered!: () => void;
  const firstSend = new Promise<void>((r) => (entered = r));
  const state = { running: 0, maxRunning: 0, sent: [] as string[] };
  const transport: MailTransport = {
    name: "gated",
    async send(item) {
      state.running++;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      entered();
      try {
        await gate;
        state.sent.push(item.messageId);
      } finally {
        state.running--;
      }
    },
    close: async () => undefined,
  };
  return { transport, open, firstSend, state };
}

async function outboxRow(id: string) {
  const { rows } = await pool.query("select * from outbox_message where id = $1", [id]);
  return rows[0] as {
    status: string; attempts: number; next_attempt_at: Date; last_error: string | null; raw: string; sent_at: Date | null;
    claimed_until: Date | null; claim_token: string | null;
  };
}

describe("digest over SMTP", () => {
  it("arrives with the right recipients, subject, ranked rows, reasons and the full CSV", async () => {
    const now = new Date("2026-11-23T07:00:00Z");
    const people: CustomerSpec[] = [
      { id: "c1", score: 0.9, level: "high", value: 2000, name: "Ada Lovelace", email: "ada@example.org" }, // 1800
      { id: "c2", score: 0.5, level: "medium", value: 8000, name: "Brook Taylor" }, // 4000
      { id: "c3", score: 0.75, level: "high", value: 3000, name: "Carl Gauss" }, // 2250
      { id: "c4", score: 0.6, level: "medium", value: 1500, name: "Dora Markus" }, // 900
      { id: "c5", score: 0.95, level: "high", value: 1200, name: "Emmy Noether" }, // 1140
      { id: "c6", score: 0.95, level: "high", value: 500, name: "Low Value", tenureDays: 20 }, // not high-value
      { id: "c7", score: 0.2, level: "low", value: 9000, name: "Happy Rich" }, // not at risk
    ];
    for (const p of people) await upsertCustomer(p, now);
    const kpis = kpiChange(
      kpiValues({ customersAtStart: 1000, customersAtEnd: 900, newCustomers: 200, lostCustomers: 300, orders: 10, revenue: 500, buyers: 8,
        refunds: 0, refundAmount: 0, npsResponses: 0, promoters: 0, detractors: 0, csatResponses: 0, satisfied: 0, cesResponses: 0, cesTotal: 0 }),
      null,
    );
    const results = await runDigest(pool, {
      segments, now, timeZone: "Europe/Berlin", kpis, baseCurrency: "EUR", from: FROM, cooldownDays: 7, logger: log,
    });
    expect(results.map((r) => [r.segment, r.status, r.customers])).toEqual([
      ["high-value-at-risk", "enqueued", 5],
      ["new-customers-at-risk", "enqueued", 1],
    ]);

    const smtp = new TestSmtp(await freePort());
    await smtp.start();
    try {
      const drained = await drainOutbox(pool, smtpTransport(smtp.url), { now, logger: log });
      expect(drained).toEqual({ sent: 2, retrying: 0, failed: 0, released: 0 });
      expect(smtp.received).toHaveLength(2);
      const digest = smtp.received.find((r) => r.to.includes("cso@example.com"))!;
      expect(digest.to.sort()).toEqual(["cso@example.com", "key-accounts@example.com"]);
      expect(digest.from).toBe("churnwatch@example.com");
      expect(digest.mail.subject).toBe("Churn digest: High-value at risk: 5 customers, €10,090 value at risk (Mon 23 Nov 2026)");
      expect(digest.mail.messageId).toBe(`<${results[0]!.outboxId}@churnwatch>`);
      const html = String(digest.mail.html);
      // Body: top 3 by value at risk, in order.
      const order = ["Brook Taylor", "Carl Gauss", "Ada Lovelace"].map((n) => html.indexOf(n));
      expect(order.every((i) => i > 0)).toBe(true);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(html).not.toContain("Emmy Noether");
      expect(html).toContain("No purchase for 42 days, usually every 12.");
      expect(html).toContain("Customer retention rate");
      expect(digest.mail.text).toContain("NPS 3 (detractor).");
      expect(digest.mail.text).toContain("Call within two business days.");
      // CSV: all 5, ranked.
      const rows = csvRows(digest.mail);
      expect(rows).toHaveLength(6);
      expect(rows.slice(1).map((r) => r[1])).toEqual(["c2", "c3", "c1", "c5", "c4"]);
      const onboarding = smtp.received.find((r) => r.to.includes("onboarding@example.com"))!;
      expect(csvRows(onboarding.mail).slice(1).map((r) => r[1])).toEqual(["c6"]);
    } finally {
      await smtp.stop();
    }
  });

  it("runDigest twice in a period enqueues once", async () => {
    const now = new Date("2026-11-23T07:00:00Z");
    await upsertCustomer({ id: "c1", score: 0.9, level: "high", value: 2000 }, now);
    const opts = { segments, now, timeZone: "UTC", baseCurrency: "EUR", from: FROM, cooldownDays: 7 };
    await runDigest(pool, opts);
    const again = await runDigest(pool, { ...opts, now: new Date(now.getTime() + 3_600_000) });
    expect(again.map((r) => r.status)).toEqual(["already-enqueued", "already-enqueued"]);
    const { rows } = await pool.query("select dedupe_key from outbox_message order by dedupe_key");
    expect(rows.map((r) => r.dedupe_key)).toEqual([
      "digest:high-value-at-risk:cso@example.com,key-accounts@example.com:2026-11-23",
      "digest:new-customers-at-risk:onboarding@example.com:2026-11-23",
    ]);
  });

  it("cooldown keeps recently listed customers out unless their risk rose", async () => {
    const day1 = new Date("2026-11-23T07:00:00Z");
    const only = [segments[0]!];
    const base = { segments: only, timeZone: "UTC", baseCurrency: "EUR", from: FROM, cooldownDays: 7, riseDelta: 0.1 };
    await upsertCustomer({ id: "a", score: 0.6, level: "medium", value: 2000 }, day1);
    await upsertCustomer({ id: "b", score: 0.55, level: "medium", value: 2000 }, day1);
    await upsertCustomer({ id: "c", score: 0.8, level: "high", value: 2000 }, day1);
    expect((await runDigest(pool, { ...base, now: day1 }))[0]!.customers).toBe(3);

    const day2 = new Date(day1.getTime() + DAY);
    await upsertCustomer({ id: "a", score: 0.65, level: "medium", value: 2000 }, day2); // +0.05: stays out
    await upsertCustomer({ id: "b", score: 0.72, level: "high", value: 2000 }, day2); // level rose: back in
    await upsertCustomer({ id: "c", score: 0.9, level: "high", value: 2000 }, day2); // +0.1: back in
    await upsertCustomer({ id: "d", score: 0.5, level: "medium", value: 2000 }, day2); // new
    const r2 = (await runDigest(pool, { ...base, now: day2 }))[0]!;
    expect(r2).toMatchObject({ status: "enqueued", customers: 3, inCooldown: 1 });
    const raw2 = (await outboxRow(r2.outboxId!)).raw;
    const mail2 = await simpleParser(raw2);
    expect(csvRows(mail2).slice(1).map((r) => r[1]).sort()).toEqual(["b", "c", "d"]);
    // previous_risk_pct shows what the team saw last time.
    expect(csvRows(mail2).find((r) => r[1] === "b")![6]).toBe("55");
    const { rows } = await pool.query("select customer_id, listed_score, listed_level from outreach_listing where customer_id = 'b'");
    expect(rows[0]).toMatchObject({ listed_score: 0.72, listed_level: "high" });

    const day8 = new Date(day1.getTime() + 7 * DAY);
    const r8 = (await runDigest(pool, { ...base, now: day8 }))[0]!;
    expect(r8).toMatchObject({ customers: 1, inCooldown: 3 }); // a's week is over; b, c, d were listed on day 2
    const day9 = new Date(day1.getTime() + 8 * DAY);
    expect((await runDigest(pool, { ...base, now: day9 }))[0]).toMatchObject({ customers: 3, inCooldown: 1 });
  });
});

describe("outbox delivery", () => {
  it("SMTP down, then up: retries with backoff and delivers exactly once", async () => {
    const now = new Date("2026-11-23T07:00:00Z");
    const { id } = await enqueueMessage(pool, sampleMail(1, now));
    const smtp = new TestSmtp(await freePort());
    const transport = smtpTransport(smtp.url);
    const backoff = { baseMs: 60_000, maxMs: 3_600_000, jitter: 0.2 };

    // Nobody listening on the port.
    expect(await drainOutbox(pool, transport, { now, backoff, logger: log })).toEqual({ sent: 0, retrying: 1, failed: 0, released: 0 });
    let row = await outboxRow(id);
    expect(row).toMatchObject({ status: "pending", attempts: 1 });
    expect(row.last_error).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION/);
    const delay1 = row.next_attempt_at.getTime() - now.getTime();
    expect(delay1).toBeGreaterThanOrEqual(60_000);
    expect(delay1).toBeLessThanOrEqual(72_000);
    // Not due yet: a drain a second later does nothing.
    expect(await drainOutbox(pool, transport, { now: new Date(now.getTime() + 1000), backoff })).toEqual({ sent: 0, retrying: 0, failed: 0, released: 0 });

    // Listening but answering 451 (temporary): the second delay doubles.
    await smtp.start();
    try {
      smtp.mode = "reject";
      const t2 = new Date(now.getTime() + delay1);
      expect(await drainOutbox(pool, transport, { now: t2, backoff, logger: log })).toEqual({ sent: 0, retrying: 1, failed: 0, released: 0 });
      row = await outboxRow(id);
      expect(row.attempts).toBe(2);
      expect(row.last_error).toContain("451");
      const delay2 = row.next_attempt_at.getTime() - t2.getTime();
      expect(delay2).toBeGreaterThanOrEqual(120_000);
      expect(delay2).toBeLessThanOrEqual(144_000);
      expect(smtp.received).toHaveLength(0);

      smtp.mode = "accept";
      const t3 = new Date(t2.getTime() + delay2);
      expect(await drainOutbox(pool, transport, { now: t3, backoff })).toEqual({ sent: 1, retrying: 0, failed: 0, released: 0 });
      expect(await drainOutbox(pool, transport, { now: new Date(t3.getTime() + DAY), backoff })).toEqual({ sent: 0, retrying: 0, failed: 0, released: 0 });
      expect(smtp.received).toHaveLength(1);
      expect(smtp.received[0]!.mail.messageId).toBe(`<${id}@churnwatch>`);
      expect(smtp.received[0]!.to).toEqual(["team1@example.com"]);
      row = await outboxRow(id);
      expect(row).toMatchObject({ status: "sent", attempts: 3, last_error: null });
    } finally {
      await smtp.stop();
    }
  });

  it("smtps:// and smtp:// with STARTTLS deliver over TLS", async () => {
    const now = new Date("2026-11-23T07:00:00Z");
    for (const [i, mode] of [[7, "implicit"], [8, "starttls"]] as const) {
      const { id } = await enqueueMessage(pool, sampleMail(i, now));
      const smtp = new TestSmtp(await freePort(), mode);
      await smtp.start();
      try {
        expect(await drainOutbox(pool, smtpTransport(smtp.url), { now })).toMatchObject({ sent: 1 });
        expect(smtp.received.map((r) => [r.secure, r.mail.messageId])).toEqual([[true, `<${id}@churnwatch>`]]);
      } finally {
        await smtp.stop();
      }
    }
  });

  it("gives up after maxAttempts, keeps the last error, logs at warn then error and counts it", async () => {
    const now = new Date("2026-11-23T07:00:00Z");
    const { id } = await enqueueMessage(pool, sampleMail(2, now));
    const transport = smtpTransport(`smtp://127.0.0.1:${await freePort()}`);
    const backoff = { baseMs: 1000, maxMs: 1000, jitter: 0 };
    const metrics = createMetrics(false);
    const { logger, lines } = capturingLogger();
    expect(await drainOutbox(pool, transport, { now, maxAttempts: 2, backoff, logger, metrics })).toMatchObject({ retrying: 1 });
    expect(await drainOutbox(pool, transport, { now: new Date(now.getTime() + 1000), maxAttempts: 2, backoff, logger, metrics })).toMatchObject({ failed: 1 });
    expect(await outboxRow(id)).toMatchObject({ status: "failed", attempts: 2 });
    const failures = lines.filter((l) => l.outboxId === id).map((l) => [l.level, l.attempts, String(l.err)]);
    expect(failures).toEqual([
      [40, 1, expect.stringMatching(/ECONNREFUSED|ECONNECTION|ESOCKET/)],
      [50, 2, expect.stringMatching(/ECONNREFUSED|ECONNECTION|ESOCKET/)],
    ]);
    expect((await metrics.outboxFailed.get()).values).toEqual([{ labels: { kind: "digest" }, value: 1 }]);
    expect(await drainOutbox(pool, transport, { now: new Date(now.getTime() + DAY), maxAttempts: 2, backoff })).toEqual({ sent: 0, retrying: 0, failed: 0, released: 0 });
  });

  it("a crash between the outbox write and the send: the next process delivers exactly once", async () => {
    const now = new Date("2026-11-23T07:00:00Z");
    const before = newPool("crashed-worker");
    const { id } = await enqueueMessage(before, sampleMail(3, now));
    await before.end(); // the process that enqueued is gone before any send

    const smtp = new TestSmtp(await freePort());
    await smtp.start();
    const after = newPool("restarted-worker");
    try {
      const transport = smtpTransport(smtp.url);
      expect(await drainOutbox(after, transport, { now })).toMatchObject({ sent: 1 });
      expect(await drainOutbox(after, transport, { now })).toMatchObject({ sent: 0 });
      expect(smtp.received.map((r) => r.mail.messageId)).toEqual([`<${id}@churnwatch>`]);
    } finally {
      await after.end();
      await smtp.stop();
    }
  });

  it("a crash after the send, before mark-sent: resent after the lease expires, same Message-ID and bytes", async () => {
    const now = new Date("2026-11-23T07:00:00Z");
    const { id } = await enqueueMessage(pool, sampleMail(4, now));
    const smtp = new TestSmtp(await freePort());
    await smtp.start();
    try {
      const real = smtpTransport(smtp.url);
      // The drainer's process dies right after the real send: none of its later statements run.
      let dead = false;
      const doomed = { query: (...args: unknown[]) => dead ? Promise.reject(new Error("process gone")) : (pool.query as (...a: unknown[]) => Promise<unknown>)(...args) } as unknown as pg.Pool;
      const crashing: MailTransport = {
        name: "smtp-then-crash",
        async send(item, opts) {
          await real.send(item, opts);
          dead = true;
        },
        close: async () => undefined,
      };
      // A short drain bound makes a short lease: the lease covers the drain, one send and the margin.
      const bounds = { timeoutMs: 1_000, sendTimeoutMs: 1_000, leaseMarginMs: 500 };
      await expect(drainOutbox(doomed, crashing, { now, ...bounds })).rejects.toThrow("process gone");
      const claimed = await outboxRow(id);
      expect(claimed).toMatchObject({ status: "pending", attempts: 0 });
      expect(claimed.claimed_until!.getTime()).toBeGreaterThan(Date.now());

      // While the dead drainer's lease holds, nobody sends it again.
      expect(await drainOutbox(pool, real, { now })).toEqual({ sent: 0, retrying: 0, failed: 0, released: 0 });
      await new Promise((r) => setTimeout(r, claimed.claimed_until!.getTime() - Date.now() + 50));
      expect(await drainOutbox(pool, real, { now })).toMatchObject({ sent: 1 });
      expect(smtp.received).toHaveLength(2);
      expect(smtp.received.map((r) => r.mail.messageId)).toEqual([`<${id}@churnwatch>`, `<${id}@churnwatch>`]);
      // Same bytes as each other and as stored (this server adds no trace headers).
      const stored = (await outboxRow(id)).raw;
      expect(smtp.received[1]!.raw).toBe(smtp.received[0]!.raw);
      expect(smtp.received[0]!.raw.replace(/\r\n$/, "")).toBe(stored.replace(/\r\n$/, ""));
      expect(await outboxRow(id)).toMatchObject({ status: "sent", attempts: 1 });
    } finally {
      await smtp.stop();
    }
  });

  it("two concurrent drainers deliver each message once", async () => {
    const now = new Date("2026-11-23T07:00:00Z");
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await enqueueMessage(pool, sampleMail(100 + i, now))).id);
    const smtp = new TestSmtp(await freePort());
    smtp.delayMs = 15; // keeps both drainers busy at the same time
    await smtp.start();
    const a = newPool("drainer-a");
    const b = newPool("drainer-b");
    try {
      const [ra, rb] = await Promise.all([
        drainOutbox(a, smtpTransport(smtp.url), { now }),
        drainOutbox(b, smtpTransport(smtp.url), { now }),
      ]);
      expect(ra.sent + rb.sent).toBe(12);
      const got = smtp.received.map((r) => r.mail.messageId).sort();
      expect(got).toEqual(ids.map((id) => `<${id}@churnwatch>`).sort());
      expect(new Set(got).size).toBe(12);
    } finally {
      await a.end();
      await b.end();
      await smtp.stop();
    }
  });

  it("the file transport writes <id>.eml and an index.html, idempotently", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "outbox-"));
    const t1 = new Date("2026-11-23T07:00:00Z");
    const first = await enqueueMessage(pool, { ...sampleMail(5, t1), subject: "Older <digest>" });
    const second = await enqueueMessage(pool, { ...sampleMail(6, new Date(t1.getTime() + 60_000)), subject: "Newer digest" });
    const transport = createFileTransport(dir);
    expect(await drainOutbox(pool, transport, { now: new Date(t1.getTime() + 120_000) })).toMatchObject({ sent: 2 });

    const files = (await readdir(dir)).sort();
    expect(files).toEqual([`${first.id}.eml`, `${first.id}.json`, `${second.id}.eml`, `${second.id}.json`, "index.html"].sort());
    const eml = await readFile(path.join(dir, `${first.id}.eml`), "utf8");
    expect(eml).toBe((await outboxRow(first.id)).raw);
    expect((await simpleParser(eml)).messageId).toBe(first.messageId);
    const index = await readFile(path.join(dir, "index.html"), "utf8");
    expect(index).toContain(`href="${second.id}.eml"`);
    expect(index).toContain("Older &lt;digest&gt;");
    expect(index).toContain("team5@example.com");
    expect(index.indexOf("Newer digest")).toBeLessThan(index.indexOf("Older &lt;digest&gt;"));

    // A resend (crash after the write) produces the same file name and bytes.
    await transport.send({ id: first.id, messageId: first.messageId, kind: "digest", subject: "Older <digest>", recipients: ["team5@example.com"], raw: eml, createdAt: t1 });
    expect(await readFile(path.join(dir, `${first.id}.eml`), "utf8")).toBe(eml);
    expect((await readdir(dir)).length).toBe(5);
  });
});

describe("outbox: no transaction during a send, leases, bounds, one drain at a time", () => {
  it("holds no transaction or pool connection while a send waits, and the lease keeps other drainers off the row", async () => {
    const now = new Date("2026-11-23T07:00:00Z");
    const { id } = await enqueueMessage(pool, sampleMail(20, now));
    const drainer = newPool("drainer-waiting");
    const gated = gatedTransport();
    try {
      const running = drainOutbox(drainer, gated.transport, { now });
      await gated.firstSend;
      const { rows } = await pool.query<{ state: string | null }>("select state from pg_stat_activity where application_name = 'drainer-waiting'");
      expect(rows.filter((r) => r.state?.startsWith("idle in transaction"))).toEqual([]);
      expect(drainer.totalCount - drainer.idleCount).toBe(0);
      const leased = await pool.query<{ claimed_until: Date }>("select claimed_until from outbox_message where id = $1", [id]);
      expect(leased.rows[0]!.claimed_until.getTime()).toBeGreaterThan(Date.now());
      // Another drainer (another worker) finds nothing to send while the lease holds.
      const other = gatedTransport();
      other.open();
      expect(await drainOutbox(pool, other.transport, { now })).toEqual({ sent: 0, retrying: 0, failed: 0, released: 0 });
      gated.open();
      expect(await running).toEqual({ sent: 1, retrying: 0, failed: 0, released: 0 });
      expect(gated.state.sent).toEqual([`<${id}@churnwatch>`]);
      expect(other.state.sent).toEqual([]);
      expect(await outboxRow(id)).toMatchObject({ status: "sent", attempts: 1 });
    } finally {
      gated.open();
      await drainer.end();
    }
  });

  it("a relay that never answers DATA: cut off by the SMTP timeout, logged with the reason, the rest given back untried", async () => {
    const now = new Date("2026-11-23T07:00:00Z");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await enqueueMessage(pool, sampleMail(30 + i, new Date(now.getTime() - 1000 * (3 - i))))).id);
    const smtp = new TestSmtp(await freePort());
    smtp.mode = "hang";
    await smtp.start();
    const transport = createSmtpTransport(smtp.url, { timeoutMs: 1_000 });
    transports.push(transport);
    const { logger, lines } = capturingLogger();
    try {
      const started = Date.now();
      expect(await drainOutbox(pool, transport, { now, logger })).toEqual({ sent: 0, retrying: 1, failed: 0, released: 2 });
      const ms = Date.now() - started;
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(5_000);
      expect(smtp.dataReceived).toBe(1);
      const first = await outboxRow(ids[0]!);
      expect(first).toMatchObject({ attempts: 1, claimed_until: null });
      expect(first.last_error).toMatch(/ETIMEDOUT|Timeout/);
      for (const id of ids.slice(1)) expect(await outboxRow(id)).toMatchObject({ status: "pending", attempts: 0, claimed_until: null, last_error: null });
      const warn = lines.find((l) => l.msg === "outbox: send failed, will retry");
      expect(warn).toMatchObject({ level: 40, outboxId: ids[0], attempts: 1 });
      expect(String(warn!.err)).toMatch(/ETIMEDOUT|Timeout/);
      expect(lines.find((l) => l.msg === "outbox: drain stopped early; untried messages stay due")).toMatchObject({ reason: "relay unavailable", released: 2 });

      // The relay behaves again: everything goes out once, the timed-out one at its retry time.
      smtp.mode = "accept";
      expect(await drainOutbox(pool, transport, { now: new Date(now.getTime() + DAY) })).toMatchObject({ sent: 3, released: 0 });
      expect(smtp.received.map((r) => r.mail.messageId).sort()).toEqual(ids.map((id) => `<${id}@churnwatch>`).sort());
    } finally {
      await smtp.stop();
    }
  });

  it("a whole send is bounded even when the relay keeps the socket busy: aborted, connection closed", async () => {
    const now = new Date("2026-11-23T07:00:00Z");
    const { id } = await enqueueMessage(pool, sampleMail(40, now));
    const smtp = new TestSmtp(await freePort());
    smtp.mode = "hang";
    await smtp.start();
    // Per-wait timeout far away; only the whole-send bound can end this send.
    const transport = createSmtpTransport(smtp.url, { timeoutMs: 60_000 });
    transports.push(transport);
    try {
      const started = Date.now();
      expect(await drainOutbox(pool, transport, { now, sendTimeoutMs: 1_000 })).toMatchObject({ retrying: 1 });
      expect(Date.now() - started).toBeLessThan(4_000);
      expect((await outboxRow(id)).last_error).toMatch(/abort|timeout/i);
      // nodemailer closed the connection on abort: no socket is left waiting for the relay.
      for (let i = 0; i < 50 && smtp.closed < smtp.connections; i++) await new Promise((r) => setTimeout(r, 20));
      expect([smtp.connections, smtp.closed]).toEqual([1, 1]);
    } finally {
      await smtp.stop();
    }
  });

  it("the worker's sender runs one drain at a time, queues requests behind it and keeps the gauges per kind", async () => {
    const now = new Date("2026-11-23T07:00:00Z");
    await enqueueMessage(pool, sampleMail(50, now));
    await enqueueMessage(pool, sampleMail(51, new Date(now.getTime() + 60_000)));
    await enqueueMessage(pool, { ...sampleMail(52, now), kind: "alert" });
    const metrics = createMetrics(false);
    const gated = gatedTransport();
    const sender = startOutboxSender(pool, gated.transport, { logger: log, metrics, batchSize: 1 });
    try {
      const at = new Date(now.getTime() + 3_600_000);
      await sender.refreshMetrics(at);
      const gauge = async (g: { get(): Promise<{ values: { labels: { kind?: string | number }; value: number }[] }> }) => Object.fromEntries((await g.get()).values.map((v) => [v.labels.kind, v.value]));
      expect(await gauge(metrics.outboxPending)).toEqual({ alert: 1, digest: 2 });
      expect(await gauge(metrics.outboxOldestPendingAge)).toEqual({ alert: 3600, digest: 3600 });

      sender.tick();
      await gated.firstSend;
      expect(sender.busy).toBe(true);
      sender.tick(); // a tick during a drain starts nothing
      sender.tick();
      const queued = sender.drain(at); // waits for the running drain, then runs once
      const alsoQueued = sender.drain(now);
      gated.open();
      const [a, b] = await Promise.all([queued, alsoQueued]);
      expect(a).toBe(b);
      expect(gated.state.maxRunning).toBe(1);
      expect(gated.state.sent).toHaveLength(3);
      expect(new Set(gated.state.sent).size).toBe(3);
      expect(sender.busy).toBe(false);
      expect(await gauge(metrics.outboxPending)).toEqual({ alert: 0, digest: 0 });
      expect(await gauge(metrics.outboxOldestPendingAge)).toEqual({ alert: 0, digest: 0 });
      expect(await gauge(metrics.outboxSent)).toEqual({ alert: 1, digest: 2 });
    } finally {
      gated.open();
      await sender.stop();
    }
  });

  it("stopping the sender abandons a hung send at once and gives its claim back", async () => {
    const now = new Date("2026-11-23T07:00:00Z");
    const { id } = await enqueueMessage(pool, sampleMail(60, now));
    const smtp = new TestSmtp(await freePort());
    smtp.mode = "hang";
    await smtp.start();
    const transport = createSmtpTransport(smtp.url, { timeoutMs: 60_000 });
    transports.push(transport);
    const sender = startOutboxSender(pool, transport, { logger: log });
    try {
      const result = sender.drain(now);
      while (smtp.dataReceived === 0) await new Promise((r) => setTimeout(r, 20));
      const started = Date.now();
      await sender.stop();
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(await result).toEqual({ sent: 0, retrying: 0, failed: 0, released: 1 });
      expect(await outboxRow(id)).toMatchObject({ status: "pending", attempts: 0, claimed_until: null });
      expect(await sender.drain(now)).toEqual({ sent: 0, retrying: 0, failed: 0, released: 0 });
    } finally {
      await smtp.stop();
    }
  });
});

describe("alerts", () => {
  it("crossing into high alerts once, rate-limited per recipient, folding the rest into one summary", async () => {
    const now = new Date("2026-11-23T07:00:00Z");
    for (const [id, value] of [["h1", 9000], ["h2", 8000], ["h3", 7000], ["h4", 6000]] as const) {
      await upsertCustomer({ id, score: 0.9, level: "high", value, name: `Name ${id}` }, now);
    }
    await upsertCustomer({ id: "was-high", score: 0.95, level: "high", value: 5000 }, now);
    await upsertCustomer({ id: "now-medium", score: 0.5, level: "medium", value: 5000 }, now);
    await upsertCustomer({ id: "small", score: 0.9, level: "high", value: 100 }, now); // not in the alert segment
    const opts = { segments, now, from: FROM, baseCurrency: "EUR", ratePerHour: 2, logger: log };
    const changes = [
      ...["h1", "h2", "h3", "h4", "small"].map((customerId) => ({ customerId, levelBefore: "medium", scoreBefore: 0.5 })),
      { customerId: "was-high", levelBefore: "high", scoreBefore: 0.9 },
      { customerId: "now-medium", levelBefore: "low", scoreBefore: 0.2 },
    ];
    const [r1] = await enqueueAlerts(pool, { ...opts, changes });
    expect(r1).toMatchObject({ segment: "high-value-at-risk", alerted: ["h1"], summarised: ["h2", "h3", "h4"], deferred: [], duplicates: 0 });

    // The same crossings again (a retried job): nothing new.
    const [again] = await enqueueAlerts(pool, { ...opts, changes });
    expect(again).toMatchObject({ alerted: [], summarised: [], deferred: [], duplicates: 4 });

    // A new crossing within the hour: the recipients' budget is spent, so it waits for the digest.
    await upsertCustomer({ id: "h5", score: 0.8, level: "high", value: 4000 }, now);
    const h5 = [{ customerId: "h5", levelBefore: "medium", scoreBefore: 0.6 }];
    const [r2] = await enqueueAlerts(pool, { ...opts, now: new Date(now.getTime() + 30 * 60_000), changes: h5 });
    expect(r2).toMatchObject({ alerted: [], deferred: ["h5"] });
    // An hour later the budget is back.
    const [r3] = await enqueueAlerts(pool, { ...opts, now: new Date(now.getTime() + 61 * 60_000), changes: h5 });
    expect(r3).toMatchObject({ alerted: ["h5"], deferred: [] });

    const smtp = new TestSmtp(await freePort());
    await smtp.start();
    try {
      await drainOutbox(pool, smtpTransport(smtp.url), { now: new Date(now.getTime() + 2 * 3_600_000) });
      const subjects = smtp.received.map((r) => r.mail.subject).sort();
      expect(subjects).toEqual([
        "High churn risk: 3 more customers in High-value at risk, €18,900 at risk",
        "High churn risk: customer h1 (90%), High-value at risk",
        "High churn risk: customer h5 (80%), High-value at risk",
      ]);
      const summary = smtp.received.find((r) => r.mail.subject?.startsWith("High churn risk: 3"))!;
      expect(summary.to.sort()).toEqual(["cso@example.com", "key-accounts@example.com"]);
      expect(summary.mail.text).toContain("Name h4");
    } finally {
      await smtp.stop();
    }
  });
});
