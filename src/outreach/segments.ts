/**
 * Outreach segments: who goes into which retention team's digest. Read from a YAML or JSON file
 * (SEGMENTS_FILE, default examples/segments.yaml) and validated once at start, so a typo in a
 * feature name or an address stops the worker with a message naming the file, the segment and
 * the field, instead of silently sending an empty digest every morning.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { z } from "zod";
import { LIFECYCLE_STAGES, SCORED_STAGES, type Lifecycle } from "../features/lifecycle.js";
import { FEATURE_NAMES } from "../features/names.js";
import { RISK_LEVELS } from "../model/risk-levels.js";
import { checkLocale, DEFAULT_LOCALE } from "./i18n/locales.js";

export const DEFAULT_SEGMENTS_FILE = fileURLToPath(new URL("../../examples/segments.yaml", import.meta.url));


const KNOWN_FEATURES = new Set<string>(FEATURE_NAMES);

const bound = z.number({ error: "a number" }).finite();
const featureCondition = z
  .object({ lt: bound, lte: bound, gt: bound, gte: bound, eq: bound, ne: bound })
  .partial()
  .strict()
  .refine((c) => Object.keys(c).length > 0, { message: "at least one of lt, lte, gt, gte, eq, ne" });

export type FeatureCondition = z.infer<typeof featureCondition>;

/**
 * Stages a lifecycle condition may name. Prospects are left out: they never bought, so they have
 * no value and nothing to win back, and a digest of them would need texts of its own.
 */
export const SEGMENT_STAGES = LIFECYCLE_STAGES.filter((s) => s !== "prospect");

/** Lapsed and cancelled: customers the model does not score (they already stopped buying). */
export const WINBACK_STAGES: readonly Lifecycle[] = SEGMENT_STAGES.filter((s) => !SCORED_STAGES.has(s));

const probability = z.number({ error: "a number from 0 to 1" }).min(0, "a number from 0 to 1").max(1, "a number from 0 to 1");

const conditions = z
  .object({
    minScore: probability.optional(),
    maxScore: probability.optional(),
    riskLevels: z.array(z.enum(RISK_LEVELS, { error: `one of ${RISK_LEVELS.join(", ")}` })).min(1).optional(),
    minValue: z.number({ error: "a number" }).nonnegative().optional(),
    /**
     * Lifecycle stages (features/lifecycle.ts). new/active select scored customers (customer_score);
     * lapsed/cancelled select customers the model does not score (unscored_customer): a win-back
     * segment. The two kinds cannot be mixed, and score or level conditions cannot apply to the
     * second (checked in parseSegments, where the segment can be named).
     */
    lifecycle: z.array(z.string({ error: "a lifecycle stage" })).min(1, "at least one lifecycle stage").transform((a) => a as Lifecycle[]).optional(),
    // Feature names are checked in parseSegments: zod skips a record's refinements once any
    // value fails, and a misspelt name must be reported even then.
    features: z
      .record(z.string(), featureCondition)
      .optional(),
  })
  .strict()
  .refine((w) => w.minScore === undefined || w.maxScore === undefined || w.minScore <= w.maxScore, {
    message: "minScore must not exceed maxScore",
  });

const crmLinkTemplate = z
  .string()
  .regex(/^https?:\/\/\S+$/, "an http(s) URL")
  .refine((t) => t.includes("{customerId}"), { message: 'must contain "{customerId}"' });

const email = z.email({ error: "an e-mail address" });

const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, { message: "an IANA time zone like Europe/Berlin" });

const localeTag = z.string().superRefine((tag, ctx) => {
  const c = checkLocale(tag);
  if (!c.ok) ctx.addIssue({ code: "custom", message: c.message });
});

/** A recipient list of its own: its own digest (and alerts) in its own language. */
const recipientList = z
  .object({
    to: z.union([email, z.array(email).min(1, "at least one e-mail address")], { error: "an e-mail address or a list of them" }),
    locale: localeTag.optional(),
    /** Only how dates are shown; periods follow DIGEST_TIMEZONE. */
    timeZone: timeZone.optional(),
  })
  .strict();

// Strings and lists are told apart before zod sees them, so an error names the field that is wrong
// ("recipients.1: an e-mail address", "recipients.2.locale: ...") instead of "invalid union".
const recipientEntry = z.unknown().transform((v, ctx): string | z.output<typeof recipientList> => {
  const schema = typeof v === "object" && v !== null && !Array.isArray(v) ? recipientList : email;
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
  return z.NEVER;
});

const segmentText = z
  .object({
    name: z.string().trim().min(1, "a non-empty name").max(120),
    description: z.string().max(1000).optional(),
    action: z.string().trim().min(1, "a suggested action for the team").max(2000),
  })
  .strict();

/** mailto: or https: (RFC 2369); {segment} is replaced by the segment id. */
const unsubscribe = z.string().regex(/^(mailto:[^\s<>]+@[^\s<>]+|https:\/\/[^\s<>]+)$/, "a mailto: or https:// URL");

const segmentSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "lower-case letters, digits, - and _ (it appears in dedupe keys and file names)"),
    name: z.string().trim().min(1, "a non-empty name").max(120),
    description: z.string().max(1000).default(""),
    when: conditions.default({}),
    /** Addresses (one list, in the segment's locale) and/or lists of their own: { to, locale, timeZone }. */
    recipients: z.array(recipientEntry).min(1, "at least one e-mail address"),
    action: z.string().trim().min(1, "a suggested action for the team").max(2000),
    /** Language of name, description and action, and of the plain addresses' digest (default: the file's, else en-GB). */
    locale: localeTag.optional(),
    /** name, description and action in other languages, by language ("de") or tag ("de-AT"). */
    translations: z.record(z.string(), segmentText).default({}),
    alert: z.boolean().default(false),
    /** Rows in the e-mail body; the CSV attachment always holds the whole segment. */
    maxRows: z.number().int().min(1).max(1000).default(25),
    crmLinkTemplate: crmLinkTemplate.optional(),
    /** List-Unsubscribe target for this segment's mail; default MAIL_LIST_UNSUBSCRIBE, else a mailto: to MAIL_FROM. */
    unsubscribe: unsubscribe.optional(),
  })
  .strict();

type RawSegment = z.output<typeof segmentSchema>;

export interface RecipientList {
  /** Addresses, in file order. */
  to: string[];
  /** Canonical BCP 47 tag, e.g. "de-DE". */
  locale: string;
  /** Shown dates only; default DIGEST_TIMEZONE. */
  timeZone?: string;
}

export interface SegmentText {
  name: string;
  description?: string;
  action: string;
}

export type Segment = Omit<RawSegment, "recipients" | "locale" | "translations"> & {
  /** Every address of every list (alerts' rate limit, logs). */
  recipients: string[];
  /** One digest per list per period, each in its list's locale. */
  lists: RecipientList[];
  /** Language of name, description and action. */
  locale: string;
  /** Canonical tag or language -> texts. */
  translations: Record<string, SegmentText>;
};
export type SegmentConditions = Segment["when"];

const fileSchema = z
  .object({
    /** Default locale of every segment (and its plain addresses). */
    locale: localeTag.optional(),
    segments: z.array(segmentSchema).min(1, "at least one segment"),
  })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.segments.forEach((s, i) => {
      if (seen.has(s.id)) ctx.addIssue({ code: "custom", path: ["segments", i, "id"], message: `duplicate segment id "${s.id}"` });
      seen.add(s.id);
    });
  });

export class SegmentsConfigError extends Error {
  constructor(public readonly file: string, public readonly problems: string[]) {
    super(`invalid segments file ${file}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "SegmentsConfigError";
  }
}

const canonical = (tag: string): string => {
  const c = checkLocale(tag);
  return c.ok ? c.tag : tag;
};
const languageOf = (tag: string): string => new Intl.Locale(tag).language;

/** The texts for a locale: the segment's own when the language is the same, else its translation (tag, then language). */
export function segmentTextFor(segment: Pick<Segment, "name" | "description" | "action" | "locale" | "translations">, locale: string): SegmentText & { description: string } {
  if (languageOf(locale) !== languageOf(segment.locale)) {
    const t = segment.translations[canonical(locale)] ?? segment.translations[languageOf(locale)];
    if (t) return { name: t.name, description: t.description ?? "", action: t.action };
  }
  return { name: segment.name, description: segment.description, action: segment.action };
}

/** Plain addresses form one list in the segment's locale (where the first one stands); each object is a list. */
function normalise(raw: RawSegment, fileLocale: string, label: string, problems: string[]): Segment {
  const locale = canonical(raw.locale ?? fileLocale);
  const lists: RecipientList[] = [];
  let plain: RecipientList | null = null;
  const where = new Map<string, number>();
  raw.recipients.forEach((entry, index) => {
    const addresses = typeof entry === "string" ? [entry] : typeof entry.to === "string" ? [entry.to] : entry.to;
    for (const a of addresses) {
      const key = a.toLowerCase();
      if (where.has(key)) problems.push(`${label}: recipients.${index}: ${a} is already in recipients.${where.get(key)}; an address belongs to one list`);
      else where.set(key, index);
    }
    if (typeof entry === "string") {
      if (plain === null) lists.push((plain = { to: [], locale }));
      plain.to.push(entry);
    } else {
      const list: RecipientList = { to: addresses, locale: canonical(entry.locale ?? locale) };
      if (entry.timeZone !== undefined) list.timeZone = entry.timeZone;
      lists.push(list);
    }
  });
  const translations: Record<string, SegmentText> = {};
  for (const [tag, text] of Object.entries(raw.translations)) {
    const c = checkLocale(tag);
    if (!c.ok) problems.push(`${label}: translations.${tag}: ${c.message}`);
    else translations[tag.includes("-") ? c.tag : c.language] = text;
  }
  const segment: Segment = { ...raw, recipients: lists.flatMap((l) => l.to), lists, locale, translations };
  // A German list must not get English texts under German headings: every list's language needs
  // the segment's texts in it (a description too, when the segment has one).
  lists.forEach((list) => {
    if (languageOf(list.locale) === languageOf(locale)) return;
    const t = translations[list.locale] ?? translations[languageOf(list.locale)];
    const index = raw.recipients.findIndex((e) => typeof e !== "string" && canonical(e.locale ?? locale) === list.locale);
    const missing = !t ? ["name", "action", ...(raw.description ? ["description"] : [])] : raw.description && !t.description ? ["description"] : [];
    if (missing.length) {
      problems.push(
        `${label}: recipients.${index}.locale: ${list.locale} needs the segment's ${missing.join(", ")} in that language ` +
          `(translations: { ${languageOf(list.locale)}: { name, description, action } })`,
      );
    }
  });
  return segment;
}

/**
 * The lifecycle condition's rules, on the raw segment so that they are reported even when another
 * field fails: known stages only; scored (new, active) and win-back (lapsed, cancelled) stages not
 * mixed in one segment, since one digest is ranked by value at risk and the other by value; no
 * score, level or alert on a win-back segment, since its customers have no probability.
 */
function checkLifecycle(raw: unknown, label: string, problems: string[]): void {
  const seg = (typeof raw === "object" && raw !== null ? raw : {}) as { when?: Record<string, unknown> | null; alert?: unknown };
  const stages = seg.when?.lifecycle;
  if (!Array.isArray(stages)) return;
  const known = new Set<string>(SEGMENT_STAGES);
  stages.forEach((stage, i) => {
    if (stage === "prospect") {
      problems.push(`${label}: when.lifecycle.${i}: prospect is not a segment stage: prospects have not bought yet, so they have no value and nothing to win back`);
    } else if (typeof stage === "string" && !known.has(stage)) {
      problems.push(`${label}: when.lifecycle.${i}: unknown stage ${JSON.stringify(stage)}; one of ${SEGMENT_STAGES.join(", ")}`);
    }
  });
  const winback = stages.filter((s): s is Lifecycle => WINBACK_STAGES.includes(s as Lifecycle));
  if (winback.length === 0) return;
  const scored = stages.filter((s) => SCORED_STAGES.has(s as Lifecycle));
  if (scored.length > 0) {
    problems.push(
      `${label}: when.lifecycle: ${scored.join(", ")} (scored, ranked by value at risk) cannot be mixed with ${winback.join(", ")} ` +
        `(not scored, ranked by value) in one segment; make two segments`,
    );
  }
  const stagesText = winback.join(" and ");
  for (const field of ["minScore", "maxScore", "riskLevels"] as const) {
    if (seg.when?.[field] !== undefined) {
      problems.push(
        `${label}: when.${field}: ${stagesText} customers have no churn score or risk level (the model does not score customers ` +
          `who already stopped buying); remove ${field}, or use new/active in when.lifecycle`,
      );
    }
  }
  if (seg.alert === true) {
    problems.push(`${label}: alert: alerts are for customers crossing into high risk, and ${stagesText} customers have no risk level; remove alert: true`);
  }
}

/** True for a win-back segment: its lifecycle condition names only stages the model does not score (lapsed, cancelled). */
export function isWinbackSegment(when: Pick<SegmentConditions, "lifecycle">): boolean {
  return when.lifecycle !== undefined && when.lifecycle.length > 0 && when.lifecycle.every((s) => WINBACK_STAGES.includes(s as Lifecycle));
}

/** Validates already-parsed data; `file` only names the source in errors. */
export function parseSegments(data: unknown, file = "(segments)"): Segment[] {
  // A bare list is accepted too: the `segments:` wrapper leaves room for file-wide settings later.
  const input = Array.isArray(data) ? { segments: data } : data;
  const rawSegments = (input as { segments?: unknown } | null)?.segments;
  const label = (index: number): string => {
    const raw = Array.isArray(rawSegments) ? (rawSegments[index] as { id?: unknown } | undefined) : undefined;
    return typeof raw?.id === "string" ? `segment "${raw.id}"` : `segment #${index + 1}`;
  };
  const problems: string[] = [];
  const parsed = fileSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const [top, index, ...rest] = issue.path;
      if (top === "segments" && typeof index === "number") {
        problems.push(`${label(index)}: ${rest.length ? rest.map(String).join(".") : "(segment)"}: ${issue.message}`);
      } else {
        problems.push(`${issue.path.map(String).join(".") || "(file)"}: ${issue.message}`);
      }
    }
  }
  if (Array.isArray(rawSegments)) {
    rawSegments.forEach((raw, index) => {
      const features = (raw as { when?: { features?: unknown } } | null)?.when?.features;
      if (typeof features !== "object" || features === null) return;
      for (const name of Object.keys(features)) {
        if (!KNOWN_FEATURES.has(name)) {
          problems.push(`${label(index)}: when.features.${name}: unknown feature "${name}"; known features: ${FEATURE_NAMES.join(", ")}`);
        }
      }
    });
  }
  if (Array.isArray(rawSegments)) rawSegments.forEach((raw, index) => checkLifecycle(raw, label(index), problems));
  if (problems.length > 0 || !parsed.success) throw new SegmentsConfigError(file, problems);
  const fileLocale = parsed.data.locale ?? DEFAULT_LOCALE;
  const segments = parsed.data.segments.map((s, i) => normalise(s, fileLocale, label(i), problems));
  if (problems.length > 0) throw new SegmentsConfigError(file, problems);
  return segments;
}

/** Reads and validates a YAML or JSON segments file (YAML is a superset of JSON, so one parser serves both). */
export async function loadSegments(file = DEFAULT_SEGMENTS_FILE): Promise<Segment[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new SegmentsConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw new SegmentsConfigError(file, doc.errors.map((e) => e.message));
  return parseSegments(doc.toJS(), file);
}

/**
 * What segment membership is decided on: the latest score (none for a customer the model does not
 * score), the lifecycle stage, the value and the current feature values.
 */
export interface SegmentCandidate {
  score?: number | null;
  riskLevel?: string | null;
  /** Lifecycle stage; absent or null when unknown (it then matches no lifecycle condition). */
  stage?: string | null;
  value: number;
  features: Readonly<Record<string, number>>;
}

export function matchesFeature(value: number | undefined, c: FeatureCondition): boolean {
  // A feature the customer has no value for matches nothing: "unknown" must not look like "0 breaches".
  if (value === undefined || !Number.isFinite(value)) return false;
  return (
    (c.lt === undefined || value < c.lt) &&
    (c.lte === undefined || value <= c.lte) &&
    (c.gt === undefined || value > c.gt) &&
    (c.gte === undefined || value >= c.gte) &&
    (c.eq === undefined || value === c.eq) &&
    (c.ne === undefined || value !== c.ne)
  );
}

/**
 * All conditions must hold (AND); a segment with no conditions takes every scored customer. A
 * win-back segment's customers come from unscored_customer (select.ts): it never matches a scored one.
 */
export function matchesSegment(customer: SegmentCandidate, when: SegmentConditions): boolean {
  // Like a missing feature, a missing score or stage matches no condition on it.
  const score = customer.score ?? null;
  if (when.minScore !== undefined && (score === null || score < when.minScore)) return false;
  if (when.maxScore !== undefined && (score === null || score > when.maxScore)) return false;
  if (when.riskLevels !== undefined && !(when.riskLevels as readonly string[]).includes(customer.riskLevel ?? "")) return false;
  if (when.lifecycle !== undefined && !(when.lifecycle as readonly string[]).includes(customer.stage ?? "")) return false;
  if (when.minValue !== undefined && customer.value < when.minValue) return false;
  for (const [name, c] of Object.entries(when.features ?? {})) {
    if (!matchesFeature(customer.features[name], c)) return false;
  }
  return true;
}

/** Ids of the segments the customer belongs to, in file order. A customer may be in several. */
export function segmentsFor(customer: SegmentCandidate, segments: readonly Segment[]): string[] {
  return segments.filter((s) => matchesSegment(customer, s.when)).map((s) => s.id);
}
