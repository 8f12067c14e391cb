/** Message catalogues for mail (en, de, pl, bg, ru), the ICU subset they are written in, and reasons in the reader's language. */
export type { Catalogue, MessageGroup, MessageKey, ReasonFact } from "./catalogue.js";
export { formatMessage, placeholders, pluralBranches, compileMatcher, parseMessage, type Params } from "./icu.js";
export { CATALOGUES, checkLocale, DEFAULT_LOCALE, isLanguage, LANGUAGES, translator, type Language, type Translator } from "./locales.js";
export { localiseReason, recogniseFact, recogniseSentence, type ReasonInput, type RecognisedFact } from "./reasons.js";
