/**
 * CSV writing (RFC 4180), one definition for datasets and the CSV attached to digests. Reading
 * lives in src/import/csv.ts.
 */

/** Quotes a field when a reader would otherwise split or trim it. */
export function csvField(value: string, delimiter = ","): string {
  const needsQuotes = value.includes(delimiter) || /["\r\n]/.test(value) || value !== value.trim();
  return needsQuotes ? `"${value.replace(/"/g, '""')}"` : value;
}

// Spreadsheets run a cell starting with one of these as a formula (CSV injection, OWASP).
const FORMULA_START = /^[=+\-@\t\r]/;

export type CsvCell = string | number | null | undefined;

/**
 * A cell of a CSV meant for spreadsheets. Text that a spreadsheet would evaluate is prefixed with '
 * so it shows as text; numbers we produce are written as numbers (a negative number is data, not
 * a formula, and prefixing it would break sums in the sheet), with `decimal` as the decimal mark
 * and no grouping: a spreadsheet set to German reads "72,5" as the number 72.5 and "72.5" as text
 * (or a date), so a CSV for it writes the comma.
 */
export function csvCell(value: CsvCell, delimiter = ",", decimal: "." | "," = "."): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return "";
    const s = String(value);
    return decimal === "." ? s : csvField(s.replace(".", decimal), delimiter);
  }
  return csvField(FORMULA_START.test(value) ? `'${value}` : value, delimiter);
}

/**
 * CRLF line ends as RFC 4180 says; a UTF-8 BOM so Excel reads accented names correctly. Locales
 * that write decimals with a comma expect ";" between fields (Excel's list separator there): pass
 * both, e.g. toCsv(header, rows, ";", ",").
 */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[], delimiter = ",", decimal: "." | "," = "."): string {
  const line = (cells: readonly CsvCell[]) => cells.map((c) => csvCell(c, delimiter, decimal)).join(delimiter);
  return `\uFEFF${[line(header), ...rows.map(line)].join("\r\n")}\r\n`;
}
