/**
 * Which database errors are outages (wait and try the same work again) and which are about the
 * data (trying again cannot help: find the row that causes it and set it aside).
 */

// SQLSTATE classes and codes that say "the server or the connection", not "your data".
const TRANSIENT_CLASSES = ["08", "53", "57", "58", "40", "55", "HV"] as const;
const NODE_NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND"]);

export function sqlState(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

/**
 * True for connection loss, server shutdown or overload, lock and serialization conflicts,
 * timeouts (the pool's connect timeout, statement_timeout 57014) and network errors.
 */
export function isTransientDbError(err: unknown): boolean {
  const state = sqlState(err);
  if (state !== null) return TRANSIENT_CLASSES.some((c) => state.startsWith(c));
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && NODE_NETWORK_CODES.has(code)) return true;
  const message = err instanceof Error ? err.message : String(err);
  // node-postgres reports these without a code.
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is insecure|Query read timeout/i.test(message);
}
