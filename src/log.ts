/**
 * JSON logs (pino) on stdout: one line per record, ready for any log shipper and for `| jq`.
 *
 * - `level` is a word ("info"), not pino's number, so filters read the same in every tool.
 * - Every line has `component`: children set their own (`ingest`, `scoring`, ...); lines from the
 *   root logger get the default (`worker` unless the caller names another).
 * - Secrets and personal data are redacted by path (pino's redact), whatever component logs them:
 *   passwords and e-mail addresses become "[redacted]", URLs keep scheme, host and path but lose
 *   their credentials, so a logged configuration still says which server was meant.
 */
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

export interface LoggerOptions {
  /** `component` of lines logged through the root logger (children set their own). */
  component?: string;
  /** Where lines go (default stdout); tests pass a stream to read them back. */
  destination?: DestinationStream;
}

/** Keys whose values are removed wherever they appear (top level, or up to three objects deep). */
const SECRET_KEYS = ["password", "pass", "passwd", "secret", "token", "apiKey", "authorization", "cookie", "email", "phone"];
/** Keys holding connection URLs: only their credentials are removed. */
const URL_KEYS = ["url", "databaseUrl", "smtpUrl", "connectionString", "DATABASE_URL", "SMTP_URL"];

function atDepths(key: string): string[] {
  return [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`];
}

export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap(atDepths),
  ...URL_KEYS.flatMap(atDepths),
  // Customer names are personal data, but `name` alone is too common a key (jobs, segments).
  ...atDepths("customer.name"),
  "headers.authorization",
  "*.headers.authorization",
];

const URL_KEY_SET = new Set(URL_KEYS);
const REDACTED = "[redacted]";

/** postgresql://user:secret@db:5432/x -> postgresql://[redacted]@db:5432/x; non-URLs are redacted whole. */
export function redactUrlCredentials(value: unknown): unknown {
  if (typeof value !== "string") return value === undefined || value === null ? value : REDACTED;
  try {
    const url = new URL(value);
    if (!url.username && !url.password) return value;
    return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, `$1${REDACTED}@`);
  } catch {
    // Not parseable: it may still hold a password, only mistyped (see config.ts SECRET_VARIABLES).
    return REDACTED;
  }
}

function censor(value: unknown, path: string[]): unknown {
  const key = path[path.length - 1] ?? "";
  return URL_KEY_SET.has(key) ? redactUrlCredentials(value) : REDACTED;
}

export function createLogger(level: string, base: Record<string, unknown> = {}, options: LoggerOptions = {}): Logger {
  const { component: baseComponent, ...rest } = base;
  const defaultComponent = options.component ?? (typeof baseComponent === "string" ? baseComponent : "worker");
  // Whether a (child) logger already carries `component` in its bindings: pino writes bindings and
  // mixin output side by side, so adding it twice would print the key twice.
  const bound = new WeakMap<object, boolean>();
  const hasComponent = (logger: Logger): boolean => {
    let known = bound.get(logger);
    if (known === undefined) {
      known = "component" in logger.bindings();
      bound.set(logger, known);
    }
    return known;
  };
  return pino(
    {
      level,
      base: { service: "churnwatch", ...rest },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: (obj, _level, logger) => ("component" in obj || hasComponent(logger as Logger) ? {} : { component: defaultComponent }),
      redact: { paths: [...REDACT_PATHS], censor },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
