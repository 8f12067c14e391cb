/** Builds a worker configuration for integration tests: real Postgres, the local broker, own topics. */
import { loadConfig, type Config } from "../../src/config/config.js";

export interface TestTopics {
  purchases: string;
  support: string;
  dlq: string;
}

export function testTopics(prefix: string): TestTopics {
  return { purchases: `${prefix}.purchases`, support: `${prefix}.support`, dlq: `${prefix}.dlq` };
}

export function testEnv(opts: { databaseUrl: string; bootstrap: string; topics: TestTopics; groupId: string; extra?: Record<string, string> }): Record<string, string> {
  return {
    DATABASE_URL: opts.databaseUrl,
    KAFKA_BROKERS: opts.bootstrap,
    KAFKA_GROUP_ID: opts.groupId,
    KAFKA_SESSION_TIMEOUT_MS: "6000",
    TOPIC_PURCHASES: opts.topics.purchases,
    TOPIC_SUPPORT: opts.topics.support,
    TOPIC_DLQ: opts.topics.dlq,
    LOG_LEVEL: "silent",
    HTTP_PORT: "0",
    CURRENCY_RATES: "USD=0.9",
    ...opts.extra,
  };
}

export function testConfig(opts: Parameters<typeof testEnv>[0]): Config {
  return loadConfig(testEnv(opts));
}
