import { describe, expect, it } from "vitest";
import { scanJson } from "../src/events/json-scan.js";
import { firstInvalidUtf8 } from "../src/events/utf8.js";
import { safeReason, MAX_REASON_LENGTH } from "../src/events/reason.js";

/** Deterministic PRNG (mulberry32) so a failure names a reproducible input. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("scanJson", () => {
  it("accepts exactly what JSON.parse accepts, apart from repeated names (fuzzed mutations)", () => {
    const seeds = [
      '{"a":1,"b":[true,false,null],"c":{"d":"e\\u00e9\\n"},"f":-0.5e+3}',
      '[1,2,{"x":"y"},[],{}]',
      '"just a string"',
      '{"eventId":"e","amount":59.9,"nested":{"k":[1,{"z":null}]}}',
    ];
    const alphabet = ['"', "{", "}", "[", "]", ",", ":", "\\", "u", "0", "1", "-", ".", "e", "E", "+", " ", "\n", "\t", "t", "n", "f", "a", "\u0001", "é"];
    const next = rng(42);
    let compared = 0;
    for (let round = 0; round < 20_000; round++) {
      let text = seeds[Math.floor(next() * seeds.length)]!;
      for (let edits = 1 + Math.floor(next() * 3); edits > 0; edits--) {
        const at = Math.floor(next() * (text.length + 1));
        const op = next();
        const ch = alphabet[Math.floor(next() * alphabet.length)]!;
        if (op < 0.4) text = text.slice(0, at) + ch + text.slice(at);
        else if (op < 0.7) text = text.slice(0, at) + text.slice(at + 1);
        else text = text.slice(0, at) + ch + text.slice(at + 1);
      }
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      const scan = scanJson(text);
      // A repeat stops the scan before any later syntax error, so it says nothing about the rest.
      if (!scan.ok && scan.problem === "duplicate_key") continue;
      expect(scan.ok, JSON.stringify(text)).toBe(parses);
      compared++;
    }
    expect(compared).toBeGreaterThan(19_000);
  });

  it("finds repeated names, also when escapes spell the same name", () => {
    expect(scanJson('{"a":1,"a":2}')).toMatchObject({ ok: false, problem: "duplicate_key", index: 7, key: "a" });
    expect(scanJson('{"a":1,"\\u0061":2}')).toMatchObject({ ok: false, problem: "duplicate_key", key: "a" });
    expect(scanJson('{"x":{"a":1,"a":2}}')).toMatchObject({ ok: false, problem: "duplicate_key" });
    // The same name in sibling objects is not a repeat.
    expect(scanJson('[{"a":1},{"a":2}]')).toEqual({ ok: true });
  });

  it("reports a position and never the input", () => {
    const r = scanJson('{"email":"ada@example.com" "x":1}');
    expect(r).toMatchObject({ ok: false, problem: "syntax", index: 27, detail: "expected ',' or '}'" });
    expect(JSON.stringify(r)).not.toContain("ada@");
  });

  it("bounds nesting without recursion", () => {
    expect(scanJson(`${"[".repeat(64)}${"]".repeat(64)}`)).toEqual({ ok: true });
    expect(scanJson(`${"[".repeat(65)}${"]".repeat(65)}`)).toMatchObject({ ok: false, problem: "too_deep", index: 64 });
    expect(scanJson("[".repeat(1_000_000))).toMatchObject({ ok: false, problem: "too_deep" });
  });
});

describe("firstInvalidUtf8", () => {
  it("finds the first byte outside well-formed UTF-8", () => {
    expect(firstInvalidUtf8(Buffer.from("jörg@bücher.de 😀"))).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xff]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0x80]))).toBe(1); // overlong NUL
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // encoded surrogate
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // above U+10FFFF
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xe2, 0x82]))).toBe(2); // truncated
  });
});

describe("safeReason", () => {
  it("removes what a header or a text column cannot take and caps the length", () => {
    expect(safeReason("a\u0000b\nc\u202ed\ud800")).toBe("a b c d\ufffd");
    const long = safeReason("x".repeat(1000));
    expect(long.length).toBe(MAX_REASON_LENGTH);
    expect(long.endsWith("…")).toBe(true);
    // A cut never splits a surrogate pair.
    expect(safeReason("😀".repeat(400))).not.toMatch(/\p{Cs}/u);
    expect(safeReason("\u0000\u0000")).toBe("rejected (no reason given)");
  });
});
