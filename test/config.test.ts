import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseOptionsFrom } from "../src/config/config.js";
import { parseEvent } from "../src/events/parse.js";

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("runs on embedded defaults with an empty environment", () => {
    const c = loadConfig({});
    expect(c.database).toEqual({ embedded: { dir: "./data/postgres", port: 54329 } });
    expect(c.kafka.brokers).toBe("embedded");
    expect(c.kafka.topics).toEqual({ purchases: "purchases", support: "support", dlq: "churn.dlq", riskScores: "churn.risk-scores" });
    expect(c.scoring).toMatchObject({ modelDir: "./models", minDelta: 0.05, includePii: false, rescoreCron: "0 * * * *" });
    expect(c.outreach).toMatchObject({ smtpUrl: null, outboxDir: "./outbox", digestCron: "0 7 * * *", timeZone: "UTC" });
    expect(c.ingest).toEqual({
      maxEventBytes: 65536, baseCurrency: "EUR", rates: {},
      maxAmount: 1_000_000, maxQuantity: 1_000_000, maxFutureSkewMs: 86_400_000, minOccurredAt: "2000-01-01T00:00:00.000Z",
      queueBytes: 64 * 1024 * 1024, stateCacheBytes: 128 * 1024 * 1024, stallSeconds: 120,
    });
    expect(c.db).toEqual({ poolSize: 10, connectMs: 10_000, statementMs: 60_000, idleInTransactionMs: 60_000 });
  });

  it("reads real endpoints, rates and SASL settings", () => {
    const c = loadConfig({
      DATABASE_URL: "postgresql://u:p@db:5432/churn",
      KAFKA_BROKERS: "k1:9092, k2:9092",
      CURRENCY_RATES: "USD=0.92,GBP=1.17",
      KAFKA_SASL_MECHANISM: "scram-sha-512", KAFKA_SASL_USERNAME: "svc", KAFKA_SASL_PASSWORD: "secret",
      TOPIC_DLQ: "events.dlq",
    });
    expect(c.database).toEqual({ url: "postgresql://u:p@db:5432/churn" });
    expect(c.kafka.brokers).toEqual(["k1:9092", "k2:9092"]);
    expect(c.ingest.rates).toEqual({ USD: 0.92, GBP: 1.17 });
    expect(c.kafka.sasl).toEqual({ mechanism: "scram-sha-512", username: "svc", password: "secret" });
    expect(loadConfig({ CURRENCY_RATES: '{"USD": 0.9}' }).ingest.rates).toEqual({ USD: 0.9 });
  });

  it("names each wrong variable, what it expects and what it got", () => {
    const p = problems({ KAFKA_BROKERS: "localhost", MAX_EVENT_BYTES: "lots", DATABASE_URL: "mysql://x" });
    expect(p).toHaveLength(3);
    expect(p.find((l) => l.startsWith("KAFKA_BROKERS:"))).toMatch(/host:port.*got "localhost"/);
    expect(p.find((l) => l.startsWith("MAX_EVENT_BYTES:"))).toMatch(/whole number from 256 to 10000000; got "lots"/);
    expect(p.find((l) => l.startsWith("DATABASE_URL:"))).toMatch(/postgresql:\/\/ connection URL/);
  });

  it("rejects bad rates, log levels, ports and incomplete SASL", () => {
    expect(problems({ CURRENCY_RATES: "usd=1" })[0]).toMatch(/^CURRENCY_RATES: .*"usd"/);
    expect(problems({ CURRENCY_RATES: "USD=-1" })[0]).toMatch(/^CURRENCY_RATES:/);
    expect(problems({ LOG_LEVEL: "loud" })[0]).toMatch(/^LOG_LEVEL: expected one of fatal/);
    expect(problems({ HTTP_PORT: "70000" })[0]).toMatch(/^HTTP_PORT:/);
    expect(problems({ KAFKA_SASL_MECHANISM: "plain" })[0]).toMatch(/KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
    expect(problems({ TOPIC_DLQ: "purchases" })[0]).toMatch(/^TOPIC_DLQ: must differ/);
    expect(problems({ RESCORE_CRON: "every hour" })[0]).toMatch(/^RESCORE_CRON: expected a cron expression/);
    expect(problems({ DIGEST_TIMEZONE: "Mars/Olympus" })[0]).toMatch(/^DIGEST_TIMEZONE: expected an IANA time zone/);
    expect(problems({ SMTP_URL: "mail.example.com" })[0]).toMatch(/^SMTP_URL: expected an smtp:\/\/ or smtps:\/\/ URL/);
    expect(problems({ RISK_SCORE_MIN_DELTA: "2" })[0]).toMatch(/^RISK_SCORE_MIN_DELTA: expected a number from 0 to 1/);
    expect(problems({ CRM_LINK_TEMPLATE: "https://crm/x" })[0]).toMatch(/^CRM_LINK_TEMPLATE: .*\{customerId\}/);
  });

  it("reads the event limits and hands them to the parser", () => {
    const c = loadConfig({ MAX_AMOUNT: "2500.50", MAX_QUANTITY: "50", EVENT_MAX_FUTURE_SKEW: "90m", EVENT_MIN_OCCURRED_AT: "2015-06-01" });
    expect(c.ingest).toMatchObject({ maxAmount: 2500.5, maxQuantity: 50, maxFutureSkewMs: 5_400_000, minOccurredAt: "2015-06-01T00:00:00.000Z" });
    expect(loadConfig({ EVENT_MAX_FUTURE_SKEW: "0" }).ingest.maxFutureSkewMs).toBe(0);
    expect(loadConfig({ EVENT_MAX_FUTURE_SKEW: "12h" }).ingest.maxFutureSkewMs).toBe(43_200_000);
    expect(loadConfig({ EVENT_MIN_OCCURRED_AT: "2010-01-01T00:00:00+02:00" }).ingest.minOccurredAt).toBe("2009-12-31T22:00:00.000Z");

    const now = new Date("2026-06-15T12:00:00Z");
    const opts = parseOptionsFrom(c.ingest, () => now);
    const purchase = { eventId: "p", type: "purchase", customerId: "c", occurredAt: "2026-06-15T13:00:00Z", orderId: "o", amount: 2500, currency: "EUR" };
    const parse = (e: object) => parseEvent(Buffer.from(JSON.stringify(e)), null, opts);
    expect(parse(purchase).ok).toBe(true);
    expect(parse({ ...purchase, amount: 2501 })).toMatchObject({ ok: false, code: "over_limit" });
    expect(parse({ ...purchase, quantity: 51 })).toMatchObject({ ok: false, code: "over_limit" });
    expect(parse({ ...purchase, occurredAt: "2026-06-15T13:31:00Z" })).toMatchObject({ ok: false, code: "instant_out_of_range" });
    expect(parse({ ...purchase, occurredAt: "2015-05-31T23:59:59Z" })).toMatchObject({ ok: false, code: "instant_out_of_range" });
  });

  it("rejects event limits that would not protect anything", () => {
    expect(problems({ MAX_AMOUNT: "1e15" })[0]).toMatch(/^MAX_AMOUNT: expected a number above 0, at most 1000000000000; got "1e15"/);
    expect(problems({ MAX_AMOUNT: "0" })[0]).toMatch(/^MAX_AMOUNT:/);
    expect(problems({ MAX_AMOUNT: "lots" })[0]).toMatch(/^MAX_AMOUNT:/);
    expect(problems({ MAX_QUANTITY: "2.5" })[0]).toMatch(/^MAX_QUANTITY: expected a whole number/);
    expect(problems({ EVENT_MAX_FUTURE_SKEW: "1 week" })[0]).toMatch(/^EVENT_MAX_FUTURE_SKEW: expected a duration such as 1d, 12h/);
    expect(problems({ EVENT_MAX_FUTURE_SKEW: "400d" })[0]).toMatch(/^EVENT_MAX_FUTURE_SKEW: .*at most 365d/);
    expect(problems({ EVENT_MAX_FUTURE_SKEW: "5" })[0]).toMatch(/^EVENT_MAX_FUTURE_SKEW:/); // no unit: seconds or days?
    expect(problems({ EVENT_MIN_OCCURRED_AT: "0000-01-01" })[0]).toMatch(/^EVENT_MIN_OCCURRED_AT: expected a date such as 2000-01-01/);
    expect(problems({ EVENT_MIN_OCCURRED_AT: "2001-02-30" })[0]).toMatch(/^EVENT_MIN_OCCURRED_AT:/);
    expect(problems({ EVENT_MIN_OCCURRED_AT: "2001-01-01T00:00:00" })[0]).toMatch(/^EVENT_MIN_OCCURRED_AT:/); // no offset
  });

  it("never prints a secret, however malformed", () => {
    const secrets = {
      DATABASE_URL: "mysql://admin:Hunter2-db-secret@db.internal:3306/churn",
      SMTP_URL: "mail://relay:Hunter2-smtp-secret@smtp.internal",
      KAFKA_SASL_PASSWORD: "Hunter2-sasl-secret\n",
      CRM_LINK_TEMPLATE: "https://crm.example.com/c?token=Hunter2-crm-secret",
    };
    let err: unknown;
    try {
      loadConfig({ ...secrets, KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "svc" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.problems).toHaveLength(4);
    for (const text of [e.message, e.stack ?? "", ...e.problems, JSON.stringify(e), String(e)]) {
      expect(text).not.toMatch(/Hunter2|admin|db\.internal|smtp\.internal|token=/);
    }
    expect(e.problems.find((p) => p.startsWith("DATABASE_URL:"))).toBe(
      "DATABASE_URL: expected a postgresql:// connection URL (special characters in the password %-encoded); the value is not shown because it may hold a secret",
    );
    expect(e.problems.find((p) => p.startsWith("SMTP_URL:"))).toMatch(/^SMTP_URL: expected an smtp:\/\/ or smtps:\/\/ URL.*not shown/);
    expect(e.problems.find((p) => p.startsWith("KAFKA_SASL_PASSWORD:"))).toMatch(/^KAFKA_SASL_PASSWORD: expected a password without control characters.*not shown/);
    // A URL with the right scheme that no client could parse is malformed too, and still not shown.
    const p = problems({ DATABASE_URL: "postgresql://u:Hunter2@[::1/db" });
    expect(p).toHaveLength(1);
    expect(p[0]).not.toMatch(/Hunter2/);
  });

  it("caps the echo of an ordinary wrong value", () => {
    const p = problems({ LOG_LEVEL: "x".repeat(500) })[0]!;
    expect(p.length).toBeLessThan(250);
  });

  it("treats empty strings as unset", () => {
    expect(loadConfig({ DATABASE_URL: "", KAFKA_BROKERS: "" }).kafka.brokers).toBe("embedded");
  });
});
