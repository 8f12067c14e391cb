/**
 * Minimal RFC 4180 CSV: quoted fields (with delimiters, quotes and newlines inside), CRLF or LF,
 * a leading BOM. Streaming, so multi-gigabyte exports do not have to fit in memory, and each record
 * carries the line it started on, so errors can point at it.
 */
import { createReadStream } from "node:fs";

export interface CsvRecord {
  /** 1-based line number where the record starts. */
  line: number;
  fields: string[];
}

/** Parses CSV text arriving in chunks (any split, even inside a quoted field). */
export async function* parseCsv(chunks: AsyncIterable<string> | Iterable<string>, delimiter = ","): AsyncGenerator<CsvRecord> {
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\n" || delimiter === "\r") {
    throw new RangeError(`CSV delimiter must be one character other than a quote or newline, got ${JSON.stringify(delimiter)}`);
  }
  let fields: string[] = [];
  let field = "";
  let inQuotes = false;
  let quoteSeen = false; // a quote inside a quoted field: either "" (escaped) or the closing one
  let line = 1;
  let recordLine = 1;
  let first = true;
  let pendingCr = false;
  let any = false; // the current record has content (so a trailing newline makes no empty record)

  const endRecord = (): CsvRecord | null => {
    fields.push(field);
    const rec = any || fields.length > 1 || field !== "" ? { line: recordLine, fields } : null;
    fields = [];
    field = "";
    any = false;
    return rec;
  };

  for await (const chunk of chunks) {
    let text = chunk;
    if (first) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (pendingCr) {
        pendingCr = false;
        if (ch === "\n") continue; // CRLF: the CR already ended the record
      }
      if (inQuotes) {
        if (quoteSeen) {
          quoteSeen = false;
          if (ch === '"') {
            field += '"';
            continue;
          }
          inQuotes = false; // that quote closed the field; fall through to handle ch normally
        } else if (ch === '"') {
          quoteSeen = true;
          continue;
        } else {
          if (ch === "\n") line++;
          field += ch;
          continue;
        }
      }
      if (ch === '"' && field === "") {
        inQuotes = true;
        any = true;
      } else if (ch === delimiter) {
        fields.push(field);
        field = "";
        any = true;
      } else if (ch === "\n" || ch === "\r") {
        const rec = endRecord();
        if (rec) yield rec;
        if (ch === "\r") pendingCr = true;
        line++;
        recordLine = line;
      } else {
        field += ch;
        any = true;
      }
    }
  }
  if (inQuotes && !quoteSeen) throw new SyntaxError(`unterminated quoted field starting on line ${recordLine}`);
  const rec = endRecord();
  if (rec) yield rec;
}

export function readCsvFile(file: string, delimiter = ","): AsyncGenerator<CsvRecord> {
  return parseCsv(createReadStream(file, { encoding: "utf8", highWaterMark: 1 << 20 }) as AsyncIterable<string>, delimiter);
}

