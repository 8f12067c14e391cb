/**
 * The malformed-input corpus (test/fixtures/events-corpus/cases.json) as Kafka messages. Shared so
 * that the contract test and the ingest fault tests feed exactly the same bytes.
 */
import { readFileSync } from "node:fs";
import type { RejectCode } from "../../src/events/parse.js";

export type Verdict = "ok" | "reject";

export interface CorpusCaseJson {
  name: string;
  why: string;
  key?: string | null;
  keyBase64?: string;
  value?: unknown;
  valueText?: string;
  valueBase64?: string;
  padWithSpacesTo?: number;
  verdict: Verdict;
  code?: RejectCode;
  schemaVerdict?: Verdict;
  workerOnly?: string;
  mustNotAppear?: string[];
}

export interface CorpusCase extends CorpusCaseJson {
  keyBytes: Buffer | null;
  valueBytes: Buffer;
}

export interface Corpus {
  now: Date;
  options: { maxBytes: number; baseCurrency: string; rates: Record<string, number> };
  cases: CorpusCase[];
}

export const CORPUS_FILE = new URL("../fixtures/events-corpus/cases.json", import.meta.url);

export function loadCorpus(): Corpus {
  const raw = JSON.parse(readFileSync(CORPUS_FILE, "utf8")) as { now: string; options: Corpus["options"]; cases: CorpusCaseJson[] };
  return {
    now: new Date(raw.now),
    options: raw.options,
    cases: raw.cases.map((c) => ({ ...c, keyBytes: keyBytes(c), valueBytes: valueBytes(c) })),
  };
}

function keyBytes(c: CorpusCaseJson): Buffer | null {
  if (c.keyBase64 !== undefined) return Buffer.from(c.keyBase64, "base64");
  return c.key === undefined || c.key === null ? null : Buffer.from(c.key, "utf8");
}

function valueBytes(c: CorpusCaseJson): Buffer {
  let bytes: Buffer;
  if (c.valueBase64 !== undefined) bytes = Buffer.from(c.valueBase64, "base64");
  else if (c.valueText !== undefined) bytes = Buffer.from(c.valueText, "utf8");
  // JSON.stringify writes lone surrogates as \u escapes (well-formed JSON.stringify), so a fixture
  // value with "\ud800" reaches the parser exactly as a producer would send it.
  else bytes = Buffer.from(JSON.stringify(c.value), "utf8");
  if (c.padWithSpacesTo !== undefined && bytes.length < c.padWithSpacesTo) {
    bytes = Buffer.concat([bytes, Buffer.alloc(c.padWithSpacesTo - bytes.length, 0x20)]);
  }
  return bytes;
}
