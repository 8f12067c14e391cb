/**
 * A strict pass over JSON text before JSON.parse, for two things JSON.parse cannot give us:
 *
 * - Duplicate field names. JSON.parse keeps the last silently, so `{"amount":10,"amount":1e15}`
 *   would be whichever value the producer's library happened to write last, and a validator in
 *   another language may read the first. The contract refuses them.
 * - Errors that do not quote the input. V8's messages quote fragments of the text (`Unexpected
 *   token 'j', "jörg@bücher.de" is not valid JSON`), and a dead-letter reason must never carry
 *   customer data. This scanner reports a position and what was expected, nothing else.
 *
 * It accepts exactly RFC 8259 JSON (what JSON.parse accepts), so when it says ok, JSON.parse
 * cannot throw. Iterative with an explicit depth limit, so no input can overflow the stack.
 */

export type ScanProblem = "syntax" | "duplicate_key" | "too_deep";

export type ScanResult =
  | { ok: true }
  | {
      ok: false;
      problem: ScanProblem;
      /** UTF-16 index into the text where the problem starts. */
      index: number;
      /** What was wrong, in words that never include the input. */
      detail: string;
      /** For duplicate_key: the repeated name (the caller decides whether it may be shown). */
      key?: string;
    };

interface Frame {
  kind: "object" | "array";
  keys: Set<string> | null;
  /** Nothing scanned inside yet: it may close at once or take its first member without a comma. */
  fresh: boolean;
}

/** Plain string content: everything but the quote, the backslash and raw controls. */
const PLAIN = /[^"\\\u0000-\u001f]*/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9A-Fa-f]{4}$/;

export function scanJson(text: string, maxDepth = 64): ScanResult {
  return new Scanner(text, maxDepth).run();
}

/**
 * One scan's state. A class rather than closures: the worker runs under tsx, whose esbuild output
 * names every function expression at creation (`__name`), which made per-call closures the
 * scanner's main cost.
 */
class Scanner {
  private i = 0;
  private readonly n: number;
  private readonly stack: Frame[] = [];
  /** Set by string(): whether the last string held an escape (a name then needs decoding). */
  private escaped = false;

  constructor(private readonly text: string, private readonly maxDepth: number) {
    this.n = text.length;
  }

  run(): ScanResult {
    const { text, stack } = this;
    let r = this.value();
    if (r) return r;
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) break;
      this.skipWs();
      const c = text.charCodeAt(this.i);
      const close = top.kind === "object" ? 0x7d : 0x5d;
      if (top.fresh || c === 0x2c) {
        if (top.fresh) {
          top.fresh = false;
          if (c === close) {
            stack.pop();
            this.i++;
            continue;
          }
        } else {
          this.i++; // the comma
        }
        r = top.kind === "object" ? this.key(top) : null;
        if (r) return r;
        r = this.value();
        if (r) return r;
        continue;
      }
      if (c === close) {
        stack.pop();
        this.i++;
        continue;
      }
      return this.fail(this.i, this.i >= this.n ? "unexpected end of input" : top.kind === "object" ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    this.skipWs();
    if (this.i < this.n) return this.fail(this.i, "unexpected data after the JSON value");
    return { ok: true };
  }

  private fail(index: number, detail: string, problem: ScanProblem = "syntax", key?: string): ScanResult {
    return { ok: false, problem, index, detail, ...(key !== undefined ? { key } : {}) };
  }

  private skipWs(): void {
    const { text, n } = this;
    let i = this.i;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    }
    this.i = i;
  }

  /** Scans a string at its opening quote; returns the index after the closing quote or a failure. */
  private string(): number | ScanResult {
    const { text, n } = this;
    const start = this.i;
    this.escaped = false;
    let i = start + 1;
    while (i < n) {
      PLAIN.lastIndex = i;
      PLAIN.test(text);
      i = PLAIN.lastIndex;
      if (i >= n) break;
      const c = text.charCodeAt(i);
      if (c === 0x22) return (this.i = i + 1);
      if (c === 0x5c) {
        this.escaped = true;
        switch (text.charCodeAt(i + 1)) {
          case 0x75: // \uXXXX
            if (!HEX4.test(text.slice(i + 2, i + 6))) return this.fail(i, "a \\u escape needs four hex digits");
            i += 6;
            continue;
          case 0x22: case 0x5c: case 0x2f: case 0x62: case 0x66: case 0x6e: case 0x72: case 0x74:
            i += 2;
            continue;
          default:
            return this.fail(i, i + 1 >= n ? "unterminated string" : "invalid escape sequence in a string");
        }
      }
      // JSON strings may not hold raw control characters; they must be escaped.
      return this.fail(i, `raw control character U+${c.toString(16).toUpperCase().padStart(4, "0")} in a string (it must be escaped)`);
    }
    return this.fail(start, "unterminated string");
  }

  private literal(word: string): boolean {
    if (!this.text.startsWith(word, this.i)) return false;
    this.i += word.length;
    return true;
  }

  /** Scans one scalar or opens a container; returns a failure or null. */
  private value(): ScanResult | null {
    this.skipWs();
    const { text } = this;
    if (this.i >= this.n) return this.fail(this.i, "unexpected end of input (expected a value)");
    const c = text.charCodeAt(this.i);
    if (c === 0x7b || c === 0x5b) {
      if (this.stack.length >= this.maxDepth) return this.fail(this.i, `nested deeper than ${this.maxDepth} levels`, "too_deep");
      this.stack.push({ kind: c === 0x7b ? "object" : "array", keys: c === 0x7b ? new Set() : null, fresh: true });
      this.i++;
      return null;
    }
    if (c === 0x22) {
      const r = this.string();
      return typeof r === "number" ? null : r;
    }
    if ((c === 0x74 && this.literal("true")) || (c === 0x66 && this.literal("false")) || (c === 0x6e && this.literal("null"))) return null;
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(text);
    if (m && m[0].length > 0) {
      this.i += m[0].length;
      return null;
    }
    return this.fail(this.i, this.i === 0 && c === 0xfeff ? "starts with a byte-order mark (U+FEFF)" : "unexpected character (expected a value)");
  }

  /** In an object, after `{` or `,`: a member name and its colon; the value comes next. */
  private key(frame: Frame): ScanResult | null {
    this.skipWs();
    const { text } = this;
    if (text.charCodeAt(this.i) !== 0x22) {
      return this.fail(this.i, this.i >= this.n ? "unexpected end of input (expected a field name)" : "expected a field name in double quotes");
    }
    const start = this.i;
    const end = this.string();
    if (typeof end !== "number") return end;
    // With escapes, the lexeme (valid JSON now) is decoded by JSON.parse exactly as it will be
    // later: `"a"` and `"\u0061"` are the same name.
    const key = this.escaped ? (JSON.parse(text.slice(start, end)) as string) : text.slice(start + 1, end - 1);
    if (frame.keys!.has(key)) return this.fail(start, "a field name appears twice in one object", "duplicate_key", key);
    frame.keys!.add(key);
    this.skipWs();
    if (text.charCodeAt(this.i) !== 0x3a) {
      return this.fail(this.i, this.i >= this.n ? "unexpected end of input (expected ':')" : "expected ':' after a field name");
    }
    this.i++;
    return null;
  }
}
