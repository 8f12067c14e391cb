/**
 * Replay inputs as a stream of (line, JSON bytes) items: NDJSON lines as they are, CSV rows
 * converted through a mapping. Rows that cannot become an event carry the reason instead, so the
 * replay can report "line 17: ..." and go on.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { readCsvFile } from "./csv.js";
import { rowConverter, type ConverterOptions, type CsvMapping } from "./mapping.js";

export type SourceItem = { line: number; value: Buffer } | { line: number; error: string };

export async function* ndjsonItems(file: string): AsyncGenerator<SourceItem> {
  const lines = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === "") continue;
    yield { line, value: Buffer.from(text, "utf8") };
  }
}

export async function* csvItems(file: string, mapping: CsvMapping, opts: ConverterOptions = {}): AsyncGenerator<SourceItem> {
  let convert: ReturnType<typeof rowConverter> | null = mapping.header ? null : rowConverter(mapping, null, opts);
  for await (const rec of readCsvFile(file, mapping.delimiter)) {
    if (convert === null) {
      convert = rowConverter(mapping, rec.fields, opts); // throws when a mapped column is missing: nothing can be imported
      continue;
    }
    if (rec.fields.length === 1 && rec.fields[0]!.trim() === "") continue;
    const r = convert(rec.fields);
    yield r.ok ? { line: rec.line, value: Buffer.from(JSON.stringify(r.event), "utf8") } : { line: rec.line, error: r.reason };
  }
  if (convert === null) throw new RangeError(`${file} is empty (no header row; for a file without one set "header": false)`);
}
