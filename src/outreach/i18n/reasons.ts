/**
 * Reasons in the reader's language. Scoring stores each reason as `{ code, text, weight }` with an
 * English sentence; `code` names a theme ("support"), which has several sentences, so the code
 * alone cannot be translated. The English catalogue holds every sentence scoring writes as a
 * template (en.ts, group `reasons`); a stored sentence is matched against them, which recovers
 * the fact and its numbers, and the fact is then written in the target language with those
 * numbers. A reason may also carry `fact` and `params` itself (a key of the `reasons` group and its
 * parameters): then no matching is needed. A sentence that matches no template (an older or newer
 * scoring wrote it) is shown in English as written: nothing is ever dropped or invented.
 *
 * Older scoring joined several facts into one sentence ("3 support tickets in the last 14 days,
 * 1 SLA breach"; "last NPS 3: detractor; last CSAT 2 of 5"): such a sentence is translated clause
 * by clause when every clause is a known fact, and kept whole in English otherwise.
 */
import type { ReasonFact } from "./catalogue.js";
import { en } from "./en.js";
import { compileMatcher, formatMessage, type MessageMatcher } from "./icu.js";
import type { Translator } from "./locales.js";

export interface RecognisedFact {
  fact: ReasonFact;
  params: Record<string, string | number>;
}

let matchers: [ReasonFact, MessageMatcher][] | null = null;

function allMatchers(): [ReasonFact, MessageMatcher][] {
  matchers ??= (Object.entries(en.reasons) as [ReasonFact, string][]).map(([fact, template]) => [fact, compileMatcher(template)]);
  return matchers;
}

/** The fact an English sentence states, with its numbers; null when no template matches it. */
export function recogniseFact(sentence: string): RecognisedFact | null {
  const s = sentence.trim();
  for (const [fact, m] of allMatchers()) {
    const params = m.match(s);
    if (params) return { fact, params };
  }
  return null;
}

/** A sentence as clauses with the separators between them, each clause recognised; null if any is not. */
export function recogniseSentence(sentence: string): { clauses: RecognisedFact[]; separators: string[] } | null {
  const whole = recogniseFact(sentence);
  if (whole) return { clauses: [whole], separators: [] };
  const clauses: RecognisedFact[] = [];
  const separators: string[] = [];
  const outer = sentence.trim().split("; ");
  for (const [i, part] of outer.entries()) {
    if (i > 0) separators.push("; ");
    const direct = recogniseFact(part);
    if (direct) {
      clauses.push(direct);
      continue;
    }
    const inner = part.split(", ");
    if (inner.length < 2) return null;
    for (const [j, clause] of inner.entries()) {
      if (j > 0) separators.push(", ");
      const f = recogniseFact(clause);
      if (!f) return null;
      clauses.push(f);
    }
  }
  return { clauses, separators };
}

export interface ReasonInput {
  text: string;
  /** Optional: a key of the catalogue's `reasons` group, with `params`, when scoring provides it. */
  fact?: string | null;
  params?: Readonly<Record<string, string | number>> | null;
}

function factText(tr: Translator, f: { fact: string; params: Readonly<Record<string, string | number>> }): string | null {
  const template = (tr.messages.reasons as Record<string, string>)[f.fact];
  if (template === undefined) return null;
  try {
    return formatMessage(tr.locale, template, f.params);
  } catch {
    // Parameters that do not fit the template (a newer scoring's fact of the same name): English below.
    return null;
  }
}

/** The reason as a sentence in the translator's language (unpunctuated, like scoring's text). */
export function localiseReason(reason: ReasonInput, tr: Translator): string {
  if (tr.language === "en") return reason.text;
  if (reason.fact && reason.params) {
    const direct = factText(tr, { fact: reason.fact, params: reason.params });
    if (direct !== null) return direct;
  }
  const recognised = recogniseSentence(reason.text);
  if (recognised === null) return reason.text;
  const parts: string[] = [];
  for (const clause of recognised.clauses) {
    const t = factText(tr, clause);
    if (t === null) return reason.text;
    parts.push(t);
  }
  return parts.map((p, i) => (i === 0 ? p : `${recognised.separators[i - 1]}${p}`)).join("");
}
