/**
 * Does a text mention a customer? Used by erasure and export on mail (decoded, lib/mime.ts), dead
 * letters and .eml files. A customer is named by their id, and by every e-mail address and name
 * their profile events ever carried (a changed address still sits in old mail).
 *
 * A match must stand alone: the characters next to it are not letters, digits, "_" or "-", so
 * customer "c-1" does not match "c-10" or "abc-1", while "(c-1)", "c-1," or "/customers/c-1" do.
 * Each needle is also looked for as the digest writes it: HTML-escaped, CSV-quoted, URL-encoded
 * (CRM links). A name is searched only when it has at least two words and three characters: a
 * one-word name ("Active", "Value", "Al") is also an ordinary word or initials, and would withdraw
 * every digest that uses it. The id, which digests and alerts always show, still finds such a customer.
 */
import { escapeHtml } from "../lib/html.js";

export interface Needle {
  text: string;
  /** Addresses and names match in any case; ids are case-sensitive like everywhere else. */
  anyCase: boolean;
}

export interface CustomerIdentity {
  customerId: string;
  emails: readonly string[];
  names: readonly string[];
}

const MIN_NAME_LENGTH = 3;

function isSearchableName(name: string): boolean {
  return [...name].length >= MIN_NAME_LENGTH && name.split(/\s+/u).length >= 2;
}

function variants(text: string): string[] {
  return [...new Set([text, escapeHtml(text), text.replace(/"/g, '""'), encodeURIComponent(text)])];
}

export function needlesOf(who: CustomerIdentity): Needle[] {
  const out = new Map<string, Needle>();
  const add = (text: string, anyCase: boolean) => {
    for (const v of variants(text)) {
      const key = `${anyCase ? "i" : "s"}:${anyCase ? v.toLowerCase() : v}`;
      if (v !== "" && !out.has(key)) out.set(key, { text: anyCase ? v.toLowerCase() : v, anyCase });
    }
  };
  add(who.customerId, false);
  for (const e of who.emails) if (e.trim() !== "") add(e.trim(), true);
  for (const n of who.names) if (isSearchableName(n.trim())) add(n.trim(), true);
  return [...out.values()];
}

const WORD = /[\p{L}\p{N}_-]/u;

function standsAlone(hay: string, at: number, length: number): boolean {
  const before = at > 0 ? String.fromCodePoint(hay.codePointAt(at - 1)!) : "";
  const after = at + length < hay.length ? String.fromCodePoint(hay.codePointAt(at + length)!) : "";
  // A low surrogate before `at` belongs to a character WORD cannot classify from its half: look at the pair.
  const prev = at >= 2 && /[\uDC00-\uDFFF]/.test(before) ? String.fromCodePoint(hay.codePointAt(at - 2)!) : before;
  return !WORD.test(prev) && !WORD.test(after);
}

function found(hay: string, needle: string): boolean {
  for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + 1)) {
    if (standsAlone(hay, at, needle.length)) return true;
  }
  return false;
}

/** True when `text` mentions the customer the needles describe. */
export function mentions(text: string, needles: readonly Needle[]): boolean {
  let lower: string | null = null;
  for (const n of needles) {
    if (n.anyCase) {
      lower ??= text.toLowerCase();
      if (found(lower, n.text)) return true;
    } else if (found(text, n.text)) {
      return true;
    }
  }
  return false;
}
