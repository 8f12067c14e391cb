/**
 * Reading delimited exports. Streaming, so multi-gigabyte exports do not have to fit in memory, and
 * each record carries the line it started on, so errors can point at it.
 *
 *  - one-character delimiters (",", ";", "|", tab): RFC 4180 CSV, quoted fields (with delimiters,
 *    quotes and newlines inside), CRLF or LF, a leading BOM;
 *  - "whitespace": fields separated by runs of spaces and tabs, leading and trailing ones ignored
 *    (fixed-width-looking reports, `ls -l`-style dumps); a field with spaces can be double-quoted;
 *  - any longer string (" | ", "::"): split on exactly that string, one record per line.
 * Named aliases: "comma", "semicolon", "pipe", "tab", "space", "whitespace".
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

export type Delimiter = { kind: "char"; char: string } | { kind: "whitespace" } | { kind: "string"; text: string };

const ALIASES: Record<string, string> = { comma: ",", semicolon: ";", pipe: "|", tab: "\t", space: " " };

/** Reads a mapping's `delimiter`: one character, an alias, "whitespace", or a longer literal string. */
export function resolveDelimiter(spec: string): Delimiter {
  if (spec === "whitespace") return { kind: "whitespace" };
  const text = ALIASES[spec] ?? spec;
  if (text.length === 0) throw new RangeError(`the delimiter is empty: use one character such as "," ";" "|" "\\t", or "whitespace" for runs of spaces and tabs`);
  if (/[\r\n]/.test(text) || text === '"') throw new RangeError(`the delimiter cannot contain a newline or be a quote, got ${JSON.stringify(spec)}`);
  return text.length === 1 ? { kind: "char", char: text } : { kind: "string", text };
}

/** Splits one line on runs of whitespace; double quotes keep spaces inside a field ("" is a quote). */
export function splitWhitespace(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && (line[i] === " " || line[i] === "\t")) i++;
    if (i >= n) break;
    let field = "";
    if (line[i] === '"') {
      i++;
      while (i < n) {
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      // Anything glued to the closing quote belongs to the same field.
      while (i < n && line[i] !== " " && line[i] !== "\t") field += line[i++];
    } else {
      while (i < n && line[i] !== " " && line[i] !== "\t") field += line[i++];
    }
    fields.push(field);
  }
  return fields;
}

/** Line-based records for "whitespace" and multi-character delimiters; blank lines are skipped. */
export async function* parseLines(lines: AsyncIterable<string> | Iterable<string>, delimiter: Exclude<Delimiter, { kind: "char" }>): AsyncGenerator<CsvRecord> {
  let line = 0;
  for await (const raw of lines) {
    line++;
    const text = line === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    if (text.trim() === "") continue;
    yield { line, fields: delimiter.kind === "whitespace" ? splitWhitespace(text) : text.split(delimiter.text) };
  }
}

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

export function readCsvFile(file: string, delimiter: string | Delimiter = ","): AsyncGenerator<CsvRecord> {
  const d = typeof delimiter === "string" ? resolveDelimiter(delimiter) : delimiter;
  if (d.kind === "char") return parseCsv(createReadStream(file, { encoding: "utf8", highWaterMark: 1 << 20 }) as AsyncIterable<string>, d.char);
  return parseLines(createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity }), d);
}

