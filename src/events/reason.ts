/**
 * Reject reasons travel as a Kafka header (x-churnwatch-dlq-reason), a Postgres text column
 * (dead_letter.reason), logs and metrics labels' neighbours. They are built from our own words,
 * but a reason can also carry text from elsewhere (a driver error when a batch is narrowed down),
 * so every reason passes through here: no control or invisible characters (U+0000 would fail the
 * insert, a newline would forge a log line), well-formed, and short.
 */

/** Longest reason kept, in UTF-16 units; a header and a log line stay readable. */
export const MAX_REASON_LENGTH = 300;

export function safeReason(reason: string, maxLength = MAX_REASON_LENGTH): string {
  const cleaned = reason
    // Lone surrogates become U+FFFD, as String#toWellFormed would.
    .replace(/\p{Cs}/gu, "\uFFFD")
    // Controls, format characters (zero-width, bidi overrides), separators: one space each.
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, " ")
    .replace(/ {2,}/g, " ")
    .trim();
  if (cleaned.length <= maxLength) return cleaned || "rejected (no reason given)";
  // Cut on a code point boundary so the result stays well-formed.
  let cut = cleaned.slice(0, maxLength - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}
