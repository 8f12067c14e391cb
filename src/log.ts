/** JSON logs (pino) on stdout: one line per record, ready for any log shipper. */
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: "churnwatch", ...base }, timestamp: pino.stdTimeFunctions.isoTime });
}
