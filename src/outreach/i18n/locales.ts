/**
 * Which languages mail can be written in, and a translator bound to one locale. A locale tag
 * (BCP 47, e.g. "de-DE", "bg", "en-US") picks the catalogue by its language; the whole tag drives
 * Intl formatting, so "de-CH" gets German texts with Swiss number formatting.
 */
import { bg } from "./bg.js";
import type { Catalogue, MessageGroup, MessageKey } from "./catalogue.js";
import { de } from "./de.js";
import { en } from "./en.js";
import { formatMessage, type Params } from "./icu.js";
import { pl } from "./pl.js";
import { ru } from "./ru.js";

export const CATALOGUES = { en: en as Catalogue, de, pl, bg, ru } as const satisfies Record<string, Catalogue>;
export type Language = keyof typeof CATALOGUES;
export const LANGUAGES = Object.keys(CATALOGUES) as Language[];

/**
 * English mail keeps the British formatting it always had ("€4,900", "23 Nov 2026") when a list
 * names no locale.
 */
export const DEFAULT_LOCALE = "en-GB";

export function isLanguage(x: string): x is Language {
  return Object.hasOwn(CATALOGUES, x);
}

/**
 * The canonical form of a supported tag ("de-de" -> "de-DE"), or an error message saying what is
 * wrong (for the segments file's validation).
 */
export function checkLocale(tag: string): { ok: true; tag: string; language: Language } | { ok: false; message: string } {
  let canonical: string;
  try {
    const [c] = Intl.getCanonicalLocales(tag);
    if (c === undefined) throw new RangeError("empty");
    canonical = c;
  } catch {
    return { ok: false, message: `"${tag}" is not a BCP 47 locale tag (like en-GB, de-DE, pl, bg-BG, ru-RU)` };
  }
  const language = new Intl.Locale(canonical).language;
  if (!isLanguage(language)) {
    return { ok: false, message: `no messages in "${language}" (from "${tag}"); supported languages: ${LANGUAGES.join(", ")}` };
  }
  return { ok: true, tag: canonical, language };
}

export interface Translator {
  /** Canonical tag, for Intl and the lang attribute. */
  readonly locale: string;
  readonly language: Language;
  readonly messages: Catalogue;
  t<G extends MessageGroup>(group: G, key: MessageKey<G>, params?: Params): string;
}

const translators = new Map<string, Translator>();

/** A translator for a tag that checkLocale accepted (throws on any other: a validated config never gets here). */
export function translator(tag: string = DEFAULT_LOCALE): Translator {
  let tr = translators.get(tag);
  if (tr !== undefined) return tr;
  const checked = checkLocale(tag);
  if (!checked.ok) throw new RangeError(checked.message);
  const messages = CATALOGUES[checked.language];
  tr = {
    locale: checked.tag,
    language: checked.language,
    messages,
    t(group, key, params) {
      const template = (messages[group] as Record<string, string>)[key];
      if (template === undefined) throw new Error(`no message ${String(group)}.${key}`);
      return formatMessage(checked.tag, template, params);
    },
  };
  translators.set(tag, tr);
  return tr;
}
