/**
 * Every case of the malformed-input corpus through both judges of the contract: the worker's
 * parser and ajv with the published JSON Schema. They must agree, except where the fixture says
 * why only the worker can judge (the clock, the Kafka key, the bytes, deployment configuration).
 */
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseEvent, REJECT_CODES } from "../src/events/parse.js";
import { CONTRACT_FIELDS, EVENT_TYPES, ticketPriority } from "../src/events/schema.js";
import { MAX_REASON_LENGTH } from "../src/events/reason.js";
import { DLQ_HEADERS, toDeadLetter } from "../src/ingest/dead-letter.js";
import { loadCorpus, type CorpusCase, type Verdict } from "./support/events-corpus.js";

const corpus = loadCorpus();
const opts = { ...corpus.options, now: () => corpus.now };

const schema = JSON.parse(readFileSync(new URL("../docs/schemas/events.v1.json", import.meta.url), "utf8")) as object;
// strict: an unknown keyword in the published schema is an error, not silently ignored.
const ajv = new Ajv2020.default({ strict: true, allErrors: false });
addFormats.default(ajv); // date-time and formatMinimum, which the schema uses for the instant floor
const validate = ajv.compile(schema);

/** What a producer validating with the JSON Schema would conclude about the bytes. */
function schemaVerdict(c: CorpusCase): Verdict {
  let text: string;
  try {
    // Same decoding as the worker: fatal on bad bytes, a leading BOM dropped.
    text = new TextDecoder("utf-8", { fatal: true }).decode(c.valueBytes);
  } catch {
    return "reject";
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return "reject"; // not a JSON document, so nothing a schema could accept
  }
  return validate(doc) ? "ok" : "reject";
}

/** Strings of the message that a reason must not repeat: everything but contract vocabulary. */
function inputStrings(c: CorpusCase): string[] {
  const vocabulary = new Set<string>([...CONTRACT_FIELDS, ...EVENT_TYPES, ...ticketPriority.options]);
  const out = new Set<string>(c.mustNotAppear ?? []);
  const walk = (v: unknown): void => {
    if (typeof v === "string") {
      if (v.length >= 4 && !vocabulary.has(v)) out.add(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        if (k.length >= 4 && !vocabulary.has(k)) out.add(k);
        walk(child);
      }
    }
  };
  walk(c.value);
  if (c.key && c.key.length >= 4) out.add(c.key);
  return [...out];
}

describe("event corpus", () => {
  it("has at least 60 kinds of message with unique names, and every input issue 9 names", () => {
    expect(corpus.cases.length).toBeGreaterThanOrEqual(60);
    const names = corpus.cases.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    const issue9 = [
      "nul-in-customer-id", "nul-in-event-id", "nul-in-name", "lone-high-surrogate-in-name", "occurred-at-year-zero",
      "binary-value", "raw-nul-bytes-in-json", "nul-in-unknown-key", "message-key-with-nul", "purchase-dated-9999",
      "amount-1e15", "amount-1e300", "duplicate-amount", "zero-width-in-customer-id", "rtl-override-in-customer-id",
      "survey-dated-2030", "null-optional-fields", "idn-email", "survey-without-scores",
    ];
    expect(issue9.filter((n) => !names.includes(n))).toEqual([]);
    // A fixture that differs between the judges says why; one that does not, does not.
    for (const c of corpus.cases) {
      const differs = (c.schemaVerdict ?? c.verdict) !== c.verdict;
      expect(Boolean(c.workerOnly), c.name).toBe(differs);
      expect(c.verdict === "reject" ? REJECT_CODES : [undefined], c.name).toContain(c.code);
    }
  });

  it.each(corpus.cases.map((c) => [c.name, c] as const))("%s: worker and JSON Schema give the expected verdicts", (_name, c) => {
    const result = parseEvent(c.valueBytes, c.keyBytes, opts);
    expect(result.ok ? { verdict: "ok" } : { verdict: "reject", code: result.code }, result.ok ? "" : result.reason)
      .toEqual(c.verdict === "ok" ? { verdict: "ok" } : { verdict: "reject", code: c.code });
    expect(schemaVerdict(c), c.workerOnly ?? "the JSON Schema must agree with the worker").toBe(c.schemaVerdict ?? c.verdict);
  });

  it("gives reasons that are safe for a Kafka header and a Postgres text column and repeat no input", () => {
    const now = new Date("2026-06-15T12:00:00Z");
    for (const c of corpus.cases) {
      const result = parseEvent(c.valueBytes, c.keyBytes, opts);
      if (result.ok) continue;
      const { reason } = result;
      expect(reason, c.name).not.toMatch(/[\p{Cc}\p{Cf}\p{Cs}]/u);
      expect(reason.length, c.name).toBeLessThanOrEqual(MAX_REASON_LENGTH);
      expect(reason.length, c.name).toBeGreaterThan(10);
      for (const s of inputStrings(c)) expect(reason, `${c.name} repeats input`).not.toContain(s);
      // The dead letter keeps the original bytes as its value and only our words in the headers.
      const d = toDeadLetter({ message: { offset: 7, key: c.keyBytes, value: c.valueBytes }, code: result.code, reason }, "purchases", 0, now);
      expect(d.value, c.name).toBe(c.valueBytes);
      expect(d.headers[DLQ_HEADERS.reason], c.name).toBe(reason);
      expect(d.headers[DLQ_HEADERS.code], c.name).toBe(result.code);
    }
  });
});
