/**
 * Output encoding for the two formats that carry customer-supplied text (names, e-mails, reason
 * texts) to people: HTML mail bodies and CSV opened in spreadsheets. Names come from
 * customer_profile events, i.e. from whoever typed them into a sign-up form.
 */

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes for text and for double- or single-quoted attribute values alike. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** Only http(s) links become clickable: a `javascript:` URL from a template or id must never reach an href. */
export function safeHref(url: string): string | null {
  return /^https?:\/\/[^\s"'<>]+$/i.test(url) ? url : null;
}

// Spreadsheets run a cell starting with one of these as a formula (CSV injection, OWASP).
const FORMULA_START = /^[=+\-@\t\r]/;

export type CsvCell = string | number | null | undefined;

/**
 * One CSV cell per RFC 4180. Text that a spreadsheet would evaluate is prefixed with ' so it
 * shows as text; numbers we produce are written as numbers (a negative number is data, not a
 * formula, and prefixing it would break sums in the sheet).
 */
export function csvCell(value: CsvCell): string {
  if (value === null || value === undefined) return "";
  let s: string;
  if (typeof value === "number") {
    s = Number.isFinite(value) ? String(value) : "";
  } else {
    s = FORMULA_START.test(value) ? `'${value}` : value;
  }
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CRLF line ends as RFC 4180 says; a UTF-8 BOM so Excel reads accented names correctly. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  const lines = [header.map(csvCell).join(","), ...rows.map((r) => r.map(csvCell).join(","))];
  return `\uFEFF${lines.join("\r\n")}\r\n`;
}
