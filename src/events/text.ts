/**
 * Character rules of the event contract, shared by the zod schemas (and so the published JSON
 * Schema, which carries the same pattern sources) and the parser's pre-checks.
 *
 * Why these rules: Postgres refuses U+0000 in text and jsonb (22P05/22021) and lone UTF-16
 * surrogates in json (22P02), and one such string in a batch used to block its partition for good.
 * Ids additionally refuse invisible characters, because `c-42` and `c-42` + U+200B (or a bidi
 * override) look the same in every tool yet would be two customers.
 *
 * Patterns are written for ECMA-262 regular expressions with the `u` flag (Unicode property
 * escapes, code-point semantics), which is what the worker and ajv use.
 */

/** Characters an id may not contain anywhere: controls (Cc), format characters such as zero-width
 * spaces and bidi overrides (Cf), private use (Co), surrogates (Cs), line/paragraph separators,
 * every space but U+0020, and U+FFFD (the mark of an upstream decoding failure: two different
 * broken ids would collide). */
const NOT_IN_ID = String.raw`\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000\uFFFD`;

/** An id: no forbidden character, and no space at either end (a padded id is a look-alike too). */
export const ID_PATTERN = new RegExp(String.raw`^[^ ${NOT_IN_ID}](?:[^${NOT_IN_ID}]*[^ ${NOT_IN_ID}])?$`, "u");

/** Free text (names, reasons, channels): anything Postgres can store, i.e. no U+0000 and no
 * lone surrogate. With the `u` flag a well-formed surrogate pair is one code point outside Cs. */
export const SAFE_TEXT_PATTERN = /^[^\u0000\p{Cs}]*$/u;

/** Characters that end or break the local part of an address in mail headers, plus invisibles. */
const NOT_IN_LOCAL = String.raw`\s@"(),:;<>\[\\\]\p{Cc}\p{Cf}\p{Co}\p{Cs}`;
const LABEL = String.raw`[\p{L}\p{N}\p{M}](?:[\p{L}\p{N}\p{M}-]{0,61}[\p{L}\p{N}\p{M}])?`;

/**
 * An e-mail address, internationalised ones included (RFC 6531: `jörg@bücher.de`): a local part of
 * 1-64 characters without spaces, quotes, brackets or invisible characters; a domain of at least two
 * labels of letters, digits, marks and inner hyphens; a top-level label of letters (or punycode).
 * Deliberately looser than RFC 5321 (no quoted local parts or address literals): the worker only
 * stores the address for the digest, and a retention team can still read an unusual one.
 */
export const EMAIL_PATTERN = new RegExp(
  String.raw`^[^${NOT_IN_LOCAL}]{1,64}@(?:${LABEL}\.)+(?:[\p{L}\p{M}]{2,63}|xn--[A-Za-z0-9-]{1,59})$`,
  "u",
);

/** Length in code points, the unit JSON Schema's minLength/maxLength count (zod's .max counts
 * UTF-16 units, which would make the worker stricter than the published schema for emoji). */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const LONE_SURROGATE = /\p{Cs}/u;

/** Why Postgres could not store this string, or null when it can. */
export function unstorable(s: string): "U+0000 (NUL)" | "a lone UTF-16 surrogate" | null {
  if (s.includes("\u0000")) return "U+0000 (NUL)";
  // Same test as String#isWellFormed (not in this project's ES2022 lib typings): with the u flag a
  // surrogate pair is one astral code point, so only an unpaired half matches \p{Cs}.
  if (LONE_SURROGATE.test(s)) return "a lone UTF-16 surrogate";
  return null;
}

export interface UnsafeText {
  /** Where, in words safe to log: a contract field name, or a generic description. */
  where: string;
  problem: NonNullable<ReturnType<typeof unstorable>>;
}

/**
 * Finds the first string in a parsed JSON value, field names included, that Postgres cannot store.
 * Walks everything, unknown fields too: the raw event is stored as json, so a NUL in a field the
 * contract does not know would still fail the insert (and such a field is rejected anyway, but
 * with this reason first, because it names the real danger).
 *
 * @param knownFields field names that may be named in `where`; any other name may be customer data
 */
export function findUnsafeText(value: unknown, knownFields: ReadonlySet<string>): UnsafeText | null {
  // Iterative: the JSON scanner bounds the depth, but a stack of our own never overflows anyway.
  // `where` names the top-level field a value sits under; deeper paths would repeat input.
  const stack: { v: unknown; where: string; top: boolean }[] = [{ v: value, where: "the message", top: true }];
  while (stack.length > 0) {
    const { v, where, top } = stack.pop()!;
    if (typeof v === "string") {
      const problem = unstorable(v);
      if (problem) return { where, problem };
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push({ v: item, where: top ? "an array" : where, top: false });
    } else if (v !== null && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        const problem = unstorable(k);
        if (problem) return { where: top ? "a field name" : `a field name nested in ${where}`, problem };
        const label = !top ? where : knownFields.has(k) ? `field ${k}` : "an unknown field";
        stack.push({ v: child, where: label, top: false });
      }
    }
  }
  return null;
}
