import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/config.js";

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
    expect(c.ingest).toEqual({ maxEventBytes: 65536, baseCurrency: "EUR", rates: {} });
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

  it("treats empty strings as unset", () => {
    expect(loadConfig({ DATABASE_URL: "", KAFKA_BROKERS: "" }).kafka.brokers).toBe("embedded");
  });
});
