/** kafkajs client construction from the validated config, with kafkajs logs routed to pino. */
import { Kafka, logLevel, type LogEntry, type SASLOptions } from "kafkajs";
import type { Logger } from "../log.js";

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  ssl?: boolean;
  sasl?: { mechanism: "plain" | "scram-sha-256" | "scram-sha-512"; username: string; password: string };
}

const LEVELS: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error", [logLevel.WARN]: "warn", [logLevel.INFO]: "info", [logLevel.DEBUG]: "debug",
};

export function createKafka(opts: KafkaClientOptions, logger: Logger): Kafka {
  const kafkaLogger = logger.child({ component: "kafkajs" });
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    ssl: opts.ssl ?? false,
    ...(opts.sasl ? { sasl: opts.sasl as SASLOptions } : {}),
    // kafkajs INFO is chatty (every join/leave); operators get WARN and above unless debugging.
    logLevel: logger.isLevelEnabled("debug") ? logLevel.INFO : logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...extra } = entry.log;
      kafkaLogger[LEVELS[entry.level] ?? "info"]({ ns: entry.namespace, ...extra }, message);
    },
    retry: { retries: 8, initialRetryTime: 200 },
  });
}
