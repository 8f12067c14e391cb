/**
 * Worker configuration from environment variables, validated once at start. A wrong value stops
 * the worker with a message naming the variable and what is expected (ConfigError).
 */
import { z } from "zod";
import cron from "node-cron";
import type { ParseOptions } from "../events/parse.js";
import { checkDeploymentId, unsubscribeUrl } from "../outreach/message.js";
import { parseRiskBands, type RiskBands } from "../model/risk-levels.js";
import { ENVELOPE_FORMATS, type EnvelopeFormat, type EnvelopeOptions } from "../publish/cloudevents.js";

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, "a Kafka topic name ([A-Za-z0-9._-], 1-249 chars)");
const intFrom = (min: number, max: number) =>
  z.coerce.number({ error: `a whole number from ${min} to ${max}` }).int(`a whole number from ${min} to ${max}`)
    .min(min, `a whole number from ${min} to ${max}`).max(max, `a whole number from ${min} to ${max}`);
const bool = z.enum(["true", "false", "1", "0", "yes", "no"], { error: "true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

/** "USD=0.92,GBP=1.17" or a JSON object; each value converts one unit into the base currency. */
const rates = z.string().transform((raw, ctx) => {
  const out: Record<string, number> = {};
  const trimmed = raw.trim();
  if (trimmed === "") return out;
  let pairs: [string, unknown][];
  if (trimmed.startsWith("{")) {
    try {
      pairs = Object.entries(JSON.parse(trimmed) as Record<string, unknown>);
    } catch {
      ctx.addIssue({ code: "custom", message: "a JSON object like {\"USD\":0.92} or a list like USD=0.92,GBP=1.17" });
      return z.NEVER;
    }
  } else {
    pairs = trimmed.split(",").map((p) => {
      const [k, v] = p.split("=");
      return [String(k).trim(), Number(v)];
    });
  }
  for (const [code, value] of pairs) {
    if (!/^[A-Z]{3}$/.test(code) || typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
      ctx.addIssue({ code: "custom", message: `entries like USD=0.92 (upper-case ISO code = positive rate), a bad one is "${code}"` });
      return z.NEVER;
    }
    out[code] = value;
  }
  return out;
});

const brokers = z.string().transform((raw, ctx) => {
  if (raw.trim() === "embedded") return "embedded" as const;
  const list = raw.split(",").map((s) => s.trim()).filter(Boolean);
  if (list.length === 0 || !list.every((b) => /^[^\s:]+:\d{1,5}$/.test(b))) {
    ctx.addIssue({ code: "custom", message: "host:port[,host:port...] or \"embedded\" for the local development broker" });
    return z.NEVER;
  }
  return list;
});

/**
 * Variables whose value must never appear in an error (or anywhere it could reach a log): a
 * malformed URL still usually holds the real password, only mistyped. Errors name the variable and
 * what is expected instead. CRM_LINK_TEMPLATE is here because links often carry an access token.
 */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set(["DATABASE_URL", "SMTP_URL", "KAFKA_SASL_PASSWORD", "CRM_LINK_TEMPLATE"]);

/** A URL with one of the schemes that the WHATWG parser (which pg and nodemailer use) accepts. */
const serviceUrl = (schemes: RegExp, expected: string) =>
  z.string().refine((v) => {
    if (!schemes.test(v)) return false;
    try {
      new URL(v);
      return true;
    } catch {
      return false;
    }
  }, expected);

/** "1d", "12h", "90m", "30s", "500ms" or "0", at most `maxMs`; the result is in milliseconds. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const duration = (maxMs: number, expected: string) =>
  z.string().transform((raw, ctx) => {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(raw.trim());
    const ms = m ? Number(m[1]) * (UNIT_MS[m[2] ?? ""] ?? (Number(m[1]) === 0 ? 0 : NaN)) : NaN;
    if (!Number.isFinite(ms) || ms < 0 || ms > maxMs) {
      ctx.addIssue({ code: "custom", message: expected });
      return z.NEVER;
    }
    return Math.round(ms);
  });

/** A date (UTC midnight) or an instant with offset, from 1900 to 2100; the result is ISO (Z). */
const instantFloor = z.string().transform((raw, ctx) => {
  const v = raw.trim();
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(v)
    ? Date.parse(`${v}T00:00:00Z`)
    : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v) ? Date.parse(v) : NaN;
  // Date.parse rolls 2001-02-30 over to March; a floor that is not the date written is a typo.
  const calendarOk = Number.isFinite(ms) && (v.length !== 10 || new Date(ms).toISOString().startsWith(v));
  if (!calendarOk || !(ms >= Date.UTC(1900, 0, 1) && ms <= Date.UTC(2100, 0, 1))) {
    ctx.addIssue({ code: "custom", message: "a date such as 2000-01-01 or an instant such as 2000-01-01T00:00:00Z, from 1900 to 2100" });
    return z.NEVER;
  }
  return new Date(ms).toISOString();
});

const cronExpr = z.string().refine((v) => cron.validate(v), "a cron expression such as \"0 * * * *\" (minute hour day month weekday)");
const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, "an IANA time zone such as Europe/Berlin or UTC");

const envSchema = z.object({
  DATABASE_URL: serviceUrl(/^postgres(ql)?:\/\//, "a postgresql:// connection URL (special characters in the password %-encoded)").optional(),
  EMBEDDED_PG_DIR: z.string().min(1).default("./data/postgres"),
  EMBEDDED_PG_PORT: intFrom(1, 65535).default(54329),
  KAFKA_BROKERS: brokers.default("embedded"),
  KAFKA_CLIENT_ID: z.string().min(1).default("churnwatch"),
  KAFKA_GROUP_ID: z.string().min(1).default("churnwatch"),
  KAFKA_SESSION_TIMEOUT_MS: intFrom(6_000, 300_000).default(10_000),
  KAFKA_PARTITIONS_CONCURRENCY: intFrom(1, 64).default(6),
  KAFKA_SSL: bool.default(false),
  KAFKA_SASL_MECHANISM: z.enum(["plain", "scram-sha-256", "scram-sha-512"], { error: "plain, scram-sha-256 or scram-sha-512" }).optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  // A trailing newline from `$(cat secret)` or a mounted file is the usual mistake.
  KAFKA_SASL_PASSWORD: z.string().regex(/^[^\p{Cc}]+$/u, "a password without control characters (such as a trailing newline)").optional(),
  TOPIC_PURCHASES: topicName.default("purchases"),
  TOPIC_SUPPORT: topicName.default("support"),
  TOPIC_DLQ: topicName.default("churn.dlq"),
  MAX_EVENT_BYTES: intFrom(256, 10_000_000).default(65_536),
  BASE_CURRENCY: z.string().regex(/^[A-Z]{3}$/, "an ISO-4217 code such as EUR").default("EUR"),
  CURRENCY_RATES: rates.default({}),
  MAX_AMOUNT: z.coerce.number({ error: "a number above 0, at most 1000000000000" })
    .gt(0, "a number above 0, at most 1000000000000").max(1e12, "a number above 0, at most 1000000000000").default(1_000_000),
  MAX_QUANTITY: intFrom(1, 1_000_000_000).default(1_000_000),
  EVENT_MAX_FUTURE_SKEW: duration(365 * 86_400_000, "a duration such as 1d, 12h, 90m, 30s or 0, at most 365d").default(86_400_000),
  EVENT_MIN_OCCURRED_AT: instantFloor.default("2000-01-01T00:00:00.000Z"),
  TOPIC_RISK_SCORES: topicName.default("churn.risk-scores"),
  MODEL_DIR: z.string().min(1).default("./models"),
  MODEL_POLL_MS: intFrom(200, 3_600_000).default(2_000),
  RISK_SCORE_MIN_DELTA: z.coerce.number({ error: "a number from 0 to 1" }).min(0, "a number from 0 to 1").max(1, "a number from 0 to 1").default(0.05),
  RISK_EVENTS_INCLUDE_PII: bool.default(false),
  RISK_BANDS: z.string().transform((raw, ctx) => {
    try {
      return parseRiskBands(raw);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  }).optional(),
  CRM_EVENT_FORMAT: z.enum(ENVELOPE_FORMATS as [EnvelopeFormat, ...EnvelopeFormat[]], { error: "plain, cloudevents-binary or cloudevents-structured" }).default("plain"),
  CRM_EVENT_SOURCE: z.string().regex(/^[a-z][a-z0-9+.-]*:\S+$/i, "a URI such as urn:churnwatch:acme-prod or https://churn.acme.example").default("urn:churnwatch"),
  CRM_EVENT_SCHEMA_BASE: z.string().regex(/^[a-z][a-z0-9+.-]*:\S*$/i, "a URI prefix such as https://crm-docs.example.com/schemas/").default("urn:churnwatch:schema:"),
  SCORE_AFTER_BATCH: bool.default(true),
  RESCORE_CRON: cronExpr.default("0 * * * *"),
  RESCORE_TIMEZONE: timeZone.default("UTC"),
  DIGEST_CRON: cronExpr.default("0 7 * * *"),
  DIGEST_TIMEZONE: timeZone.default("UTC"),
  SEGMENTS_FILE: z.string().min(1).optional(),
  SMTP_URL: serviceUrl(/^smtps?:\/\//, "an smtp:// or smtps:// URL (special characters in the password %-encoded)").optional(),
  OUTBOX_DIR: z.string().min(1).default("./outbox"),
  MAIL_FROM: z.string().min(3).default("churnwatch <churnwatch@localhost>"),
  DEPLOYMENT_ID: z.string().refine((v) => checkDeploymentId(v) === null, "lower-case letters, digits and inner hyphens, at most 32 characters (a DNS label)").optional(),
  MAIL_LIST_UNSUBSCRIBE: z.string().refine((v) => unsubscribeUrl(v, "x") !== null, "a mailto: or https: URL; {segment} is replaced by the segment id").optional(),
  OUTREACH_COOLDOWN_DAYS: intFrom(0, 365).default(7),
  OUTREACH_DECLINED_COOLDOWN_DAYS: intFrom(0, 3650).default(30),
  ALERT_RATE_PER_HOUR: intFrom(0, 10_000).default(5),
  CRM_LINK_TEMPLATE: z.string().regex(/^https?:\/\/.*\{customerId\}/, "an http(s) URL containing {customerId}").optional(),
  KPI_PERIOD_DAYS: intFrom(1, 366).default(30),
  KPI_ACTIVE_WINDOW_DAYS: intFrom(1, 3650).default(90),
  OUTBOX_DRAIN_SECONDS: intFrom(1, 3600).default(30),
  OUTBOX_DRAIN_TIMEOUT_SECONDS: intFrom(5, 3600).default(300),
  OUTBOX_MAX_ATTEMPTS: intFrom(1, 100).default(12),
  OUTBOX_RETRY_BASE_SECONDS: intFrom(1, 3600).default(60),
  SMTP_TIMEOUT_MS: intFrom(1_000, 600_000).default(30_000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], { error: "one of fatal, error, warn, info, debug, trace, silent" }).default("info"),
  HTTP_PORT: intFrom(0, 65535).default(9464),
  INGEST_QUEUE_BYTES: intFrom(1_048_576, 4_294_967_296).default(67_108_864),
  STATE_CACHE_BYTES: intFrom(0, 68_719_476_736).default(134_217_728),
  PARTITION_STALL_SECONDS: intFrom(10, 86_400).default(120),
  DB_POOL_SIZE: intFrom(2, 200).default(10),
  DB_CONNECT_TIMEOUT_MS: intFrom(100, 300_000).default(10_000),
  DB_STATEMENT_TIMEOUT_MS: intFrom(1_000, 3_600_000).default(60_000),
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: intFrom(1_000, 3_600_000).default(60_000),
  RETENTION_CRON: cronExpr.default("30 3 * * *"),
  RETENTION_SCORE_HISTORY_DAYS: intFrom(1, 36_500).default(400),
  RETENTION_OUTBOX_DAYS: intFrom(1, 36_500).default(30),
  RETENTION_JOB_RUNS_DAYS: intFrom(1, 36_500).default(90),
  RETENTION_DEAD_LETTER_DAYS: intFrom(1, 36_500).default(30),
  // Unset: raw events are kept for good (they feed training sets and the KPIs' history).
  RETENTION_RAW_EVENT_DAYS: intFrom(1, 36_500).optional(),
  RETENTION_BATCH_ROWS: intFrom(100, 100_000).default(10_000),
  LIVE_QUALITY_CRON: cronExpr.default("15 4 * * *"),
  DRIFT_PSI_THRESHOLD: z.coerce.number({ error: "a number above 0, at most 10" })
    .gt(0, "a number above 0, at most 10").max(10, "a number above 0, at most 10").default(0.2),
});

export type Env = z.output<typeof envSchema>;

export interface Config {
  database: { url: string } | { embedded: { dir: string; port: number } };
  kafka: {
    brokers: string[] | "embedded";
    clientId: string;
    groupId: string;
    sessionTimeoutMs: number;
    partitionsConcurrency: number;
    ssl: boolean;
    sasl?: { mechanism: "plain" | "scram-sha-256" | "scram-sha-512"; username: string; password: string };
    topics: { purchases: string; support: string; dlq: string; riskScores: string };
  };
  scoring: {
    modelDir: string; pollMs: number; minDelta: number; includePii: boolean; rescoreCron: string; rescoreTimeZone: string; afterBatch: boolean;
    /** RISK_BANDS; null: the defaults (model/risk-levels.ts). */
    riskBands: RiskBands | null;
  };
  /** How risk and lifecycle events are wrapped on the CRM topic. */
  crmEvents: EnvelopeOptions;
  outreach: {
    segmentsFile: string | null;
    digestCron: string;
    timeZone: string;
    smtpUrl: string | null;
    outboxDir: string;
    from: string;
    /** DEPLOYMENT_ID: names this deployment in Message-IDs and List-Ids (else a stored random id). */
    deploymentId: string | null;
    /** MAIL_LIST_UNSUBSCRIBE: List-Unsubscribe target template (else a request to MAIL_FROM). */
    listUnsubscribe: string | null;
    cooldownDays: number;
    /** A customer who declined an offer is not listed for this long (OUTREACH_DECLINED_COOLDOWN_DAYS; 0 = off). */
    declinedCooldownDays: number;
    alertRatePerHour: number;
    crmLinkTemplate: string | null;
    kpiPeriodDays: number;
    kpiActiveWindowDays: number;
    drainSeconds: number;
    /** Bound on one drain: no send starts after it (OUTBOX_DRAIN_TIMEOUT_SECONDS). */
    drainTimeoutSeconds: number;
    /** Attempts before a message is given up on (status 'failed', counted, logged at error). */
    maxAttempts: number;
    /** Delay after a first failed send; it doubles per attempt up to 6 h, plus up to 20% jitter. */
    retryBaseSeconds: number;
    /** Each SMTP wait: connecting, the greeting, every reply; a whole send gets 4x this. */
    smtpTimeoutMs: number;
  };
  ingest: {
    maxEventBytes: number;
    baseCurrency: string;
    rates: Record<string, number>;
    /** MAX_AMOUNT, in the event's own currency. */
    maxAmount: number;
    maxQuantity: number;
    /** EVENT_MAX_FUTURE_SKEW in milliseconds. */
    maxFutureSkewMs: number;
    /** EVENT_MIN_OCCURRED_AT as an ISO instant. */
    minOccurredAt: string;
    /** Bytes of fetched messages queued before fetching waits. */
    queueBytes: number;
    /** Memory budget of the customer-state cache. */
    stateCacheBytes: number;
    /** A partition with waiting messages and no progress for this long is stalled (not ready). */
    stallSeconds: number;
  };
  db: { poolSize: number; connectMs: number; statementMs: number; idleInTransactionMs: number };
  /** The daily retention job (its cron is read in UTC): windows in days, rows per delete statement. */
  retention: {
    cron: string;
    scoreHistoryDays: number;
    outboxDays: number;
    jobRunDays: number;
    deadLetterDays: number;
    /** Null: raw events are never deleted. */
    rawEventDays: number | null;
    batchRows: number;
  };
  /**
   * The daily live-quality job (its cron is read in UTC): the model graded on what happened one
   * horizon after its scores, feature drift against the training rows, the saved KPI.
   */
  quality: {
    cron: string;
    /** Population stability index above which a feature's drift is warned about (0.2 conventionally). */
    psiThreshold: number;
  };
  logLevel: Env["LOG_LEVEL"];
  httpPort: number;
}

/** Reads the configuration from an environment map; throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as shells and compose files often produce them.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = String(i.path[0] ?? "(environment)");
        return `${name}: expected ${i.message}; ${describeValue(name, env[name])}`;
      }),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.KAFKA_SASL_MECHANISM && (!e.KAFKA_SASL_USERNAME || !e.KAFKA_SASL_PASSWORD)) {
    problems.push("KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set");
  }
  const topics = [e.TOPIC_PURCHASES, e.TOPIC_SUPPORT];
  if (topics.includes(e.TOPIC_DLQ)) problems.push(`TOPIC_DLQ: must differ from the input topics; got "${e.TOPIC_DLQ}"`);
  if ([...topics, e.TOPIC_DLQ].includes(e.TOPIC_RISK_SCORES)) {
    problems.push(`TOPIC_RISK_SCORES: must differ from the input and dead-letter topics; got "${e.TOPIC_RISK_SCORES}"`);
  }
  // The digest compares two KPI periods, and who counts as a customer at the earlier one's start
  // depends on purchases an active window before it: raw events must reach back that far.
  const kpiHistoryDays = 2 * e.KPI_PERIOD_DAYS + e.KPI_ACTIVE_WINDOW_DAYS;
  if (e.RETENTION_RAW_EVENT_DAYS !== undefined && e.RETENTION_RAW_EVENT_DAYS < kpiHistoryDays) {
    problems.push(
      `RETENTION_RAW_EVENT_DAYS: expected at least 2 x KPI_PERIOD_DAYS + KPI_ACTIVE_WINDOW_DAYS (${kpiHistoryDays}) ` +
        `so the digest's KPIs and their comparison have the events they read; got ${e.RETENTION_RAW_EVENT_DAYS}`,
    );
  }
  if (problems.length) throw new ConfigError(problems);
  return {
    database: e.DATABASE_URL ? { url: e.DATABASE_URL } : { embedded: { dir: e.EMBEDDED_PG_DIR, port: e.EMBEDDED_PG_PORT } },
    kafka: {
      brokers: e.KAFKA_BROKERS,
      clientId: e.KAFKA_CLIENT_ID,
      groupId: e.KAFKA_GROUP_ID,
      sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
      partitionsConcurrency: e.KAFKA_PARTITIONS_CONCURRENCY,
      ssl: e.KAFKA_SSL,
      ...(e.KAFKA_SASL_MECHANISM
        ? { sasl: { mechanism: e.KAFKA_SASL_MECHANISM, username: e.KAFKA_SASL_USERNAME!, password: e.KAFKA_SASL_PASSWORD! } }
        : {}),
      topics: { purchases: e.TOPIC_PURCHASES, support: e.TOPIC_SUPPORT, dlq: e.TOPIC_DLQ, riskScores: e.TOPIC_RISK_SCORES },
    },
    scoring: {
      modelDir: e.MODEL_DIR, pollMs: e.MODEL_POLL_MS, minDelta: e.RISK_SCORE_MIN_DELTA,
      includePii: e.RISK_EVENTS_INCLUDE_PII, rescoreCron: e.RESCORE_CRON, rescoreTimeZone: e.RESCORE_TIMEZONE,
      riskBands: e.RISK_BANDS ?? null,
      afterBatch: e.SCORE_AFTER_BATCH,
    },
    crmEvents: { format: e.CRM_EVENT_FORMAT, source: e.CRM_EVENT_SOURCE, schemaBase: e.CRM_EVENT_SCHEMA_BASE },
    outreach: {
      segmentsFile: e.SEGMENTS_FILE ?? null,
      digestCron: e.DIGEST_CRON,
      timeZone: e.DIGEST_TIMEZONE,
      smtpUrl: e.SMTP_URL ?? null,
      outboxDir: e.OUTBOX_DIR,
      from: e.MAIL_FROM,
      deploymentId: e.DEPLOYMENT_ID ?? null,
      listUnsubscribe: e.MAIL_LIST_UNSUBSCRIBE ?? null,
      cooldownDays: e.OUTREACH_COOLDOWN_DAYS,
      declinedCooldownDays: e.OUTREACH_DECLINED_COOLDOWN_DAYS,
      alertRatePerHour: e.ALERT_RATE_PER_HOUR,
      crmLinkTemplate: e.CRM_LINK_TEMPLATE ?? null,
      kpiPeriodDays: e.KPI_PERIOD_DAYS,
      kpiActiveWindowDays: e.KPI_ACTIVE_WINDOW_DAYS,
      drainSeconds: e.OUTBOX_DRAIN_SECONDS,
      drainTimeoutSeconds: e.OUTBOX_DRAIN_TIMEOUT_SECONDS,
      maxAttempts: e.OUTBOX_MAX_ATTEMPTS,
      retryBaseSeconds: e.OUTBOX_RETRY_BASE_SECONDS,
      smtpTimeoutMs: e.SMTP_TIMEOUT_MS,
    },
    ingest: {
      maxEventBytes: e.MAX_EVENT_BYTES,
      baseCurrency: e.BASE_CURRENCY,
      rates: e.CURRENCY_RATES,
      maxAmount: e.MAX_AMOUNT,
      maxQuantity: e.MAX_QUANTITY,
      maxFutureSkewMs: e.EVENT_MAX_FUTURE_SKEW,
      minOccurredAt: e.EVENT_MIN_OCCURRED_AT,
      queueBytes: e.INGEST_QUEUE_BYTES,
      stateCacheBytes: e.STATE_CACHE_BYTES,
      stallSeconds: e.PARTITION_STALL_SECONDS,
    },
    db: {
      poolSize: e.DB_POOL_SIZE,
      connectMs: e.DB_CONNECT_TIMEOUT_MS,
      statementMs: e.DB_STATEMENT_TIMEOUT_MS,
      idleInTransactionMs: e.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    },
    retention: {
      cron: e.RETENTION_CRON,
      scoreHistoryDays: e.RETENTION_SCORE_HISTORY_DAYS,
      outboxDays: e.RETENTION_OUTBOX_DAYS,
      jobRunDays: e.RETENTION_JOB_RUNS_DAYS,
      deadLetterDays: e.RETENTION_DEAD_LETTER_DAYS,
      rawEventDays: e.RETENTION_RAW_EVENT_DAYS ?? null,
      batchRows: e.RETENTION_BATCH_ROWS,
    },
    quality: { cron: e.LIVE_QUALITY_CRON, psiThreshold: e.DRIFT_PSI_THRESHOLD },
    logLevel: e.LOG_LEVEL,
    httpPort: e.HTTP_PORT,
  };
}

/** "got ..." for an error: the value for ordinary variables (quoted, escaped, capped), never for secrets. */
function describeValue(name: string, value: string | undefined): string {
  if (SECRET_VARIABLES.has(name)) return "the value is not shown because it may hold a secret";
  const shown = JSON.stringify(value ?? null);
  return `got ${shown.length > 120 ? `${shown.slice(0, 117)}...` : shown}`;
}

/**
 * The parser's options from the configuration: what ingest, replay and dataset building pass to
 * parseEvent, so that every path into the store applies the same contract limits.
 */
export function parseOptionsFrom(ingest: Config["ingest"], now?: () => Date): ParseOptions {
  return {
    maxBytes: ingest.maxEventBytes,
    baseCurrency: ingest.baseCurrency,
    rates: ingest.rates,
    limits: { maxAmount: ingest.maxAmount, maxQuantity: ingest.maxQuantity, minInstant: ingest.minOccurredAt },
    maxFutureSkewMs: ingest.maxFutureSkewMs,
    ...(now ? { now } : {}),
  };
}
