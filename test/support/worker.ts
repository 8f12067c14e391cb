/** Builds a worker configuration for integration tests: real Postgres, the local broker, own topics. */
import { loadConfig, type Config } from "../../src/config/config.js";

export interface TestTopics {
  purchases: string;
  support: string;
  dlq: string;
  riskScores: string;
}

export function testTopics(prefix: string): TestTopics {
  return { purchases: `${prefix}.purchases`, support: `${prefix}.support`, dlq: `${prefix}.dlq`, riskScores: `${prefix}.risk` };
}

export interface TestWorkerOptions {
  databaseUrl: string;
  bootstrap: string;
  topics: TestTopics;
  groupId: string;
  /** Folder with current.json and the artifact (see support/model.ts). */
  modelDir: string;
  outboxDir?: string;
  extra?: Record<string, string>;
}

export function testEnv(opts: TestWorkerOptions): Record<string, string> {
  return {
    DATABASE_URL: opts.databaseUrl,
    KAFKA_BROKERS: opts.bootstrap,
    KAFKA_GROUP_ID: opts.groupId,
    KAFKA_SESSION_TIMEOUT_MS: "6000",
    TOPIC_PURCHASES: opts.topics.purchases,
    TOPIC_SUPPORT: opts.topics.support,
    TOPIC_DLQ: opts.topics.dlq,
    TOPIC_RISK_SCORES: opts.topics.riskScores,
    MODEL_DIR: opts.modelDir,
    MODEL_POLL_MS: "200",
    OUTBOX_DIR: opts.outboxDir ?? `${opts.modelDir}/outbox`,
    LOG_LEVEL: "silent",
    HTTP_PORT: "0",
    CURRENCY_RATES: "USD=0.9",
    ...opts.extra,
  };
}

export function testConfig(opts: TestWorkerOptions): Config {
  return loadConfig(testEnv(opts));
}
