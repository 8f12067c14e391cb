/**
 * Dates in exports come in every shape. A mapping names the shape once ("DD.MM.YYYY HH:mm",
 * "iso", "epoch_s"...) and every value is parsed strictly against it: a row that does not match is
 * reported with its line, never guessed at (is 03/04 the 3rd of April or the 4th of March?).
 *
 * Local times without an offset are read in the mapping's `timeZone` (an IANA name such as
 * Europe/Berlin, DST-correct: the offset is the one in force at that date) or its fixed
 * `utcOffset`. Around a DST change a local time can be ambiguous (autumn: 02:30 happens twice) or
 * missing (spring: 02:30 never happens). Ambiguous times take the earlier instant (the first
 * 02:30, as java.time and Python's fold=0 do); missing ones are moved forward by the gap (02:30
 * becomes 03:30 summer time, the instant a clock that did not jump would have shown).
 */
import { IANAZone } from "luxon";

export type DateParser = (text: string) => { ok: true; ms: number } | { ok: false; reason: string };

const TOKENS: Record<string, string> = {
  YYYY: "(?<Y>\\d{4})",
  MM: "(?<M>\\d{1,2})",
  M: "(?<M>\\d{1,2})",
  DD: "(?<D>\\d{1,2})",
  D: "(?<D>\\d{1,2})",
  HH: "(?<h>\\d{1,2})",
  H: "(?<h>\\d{1,2})",
  mm: "(?<m>\\d{2})",
  ss: "(?<s>\\d{2})",
};

/** "+01:00", "-0530", "Z" -> minutes east of UTC. */
export function parseOffset(offset: string): number {
  if (offset === "Z" || offset === "UTC") return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(offset);
  if (!m) throw new RangeError(`utcOffset must look like +01:00, -05:30 or Z, got "${offset}"`);
  return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** Checks an IANA time-zone name; throws with an example when it is not one. */
export function checkTimeZone(name: string): IANAZone {
  if (!IANAZone.isValidZone(name)) {
    throw new RangeError(`timeZone "${name}" is not an IANA time-zone name such as Europe/Berlin, America/New_York or UTC`);
  }
  return IANAZone.create(name);
}

/** Where local times (no offset of their own) are: a fixed offset in minutes, or a named zone. */
export type LocalTime = { offsetMinutes: number } | { zone: IANAZone };

/** Epoch ms of a wall-clock time (given as if it were UTC) in the local-time setting; see the module comment. */
export function localToUtc(wallAsUtc: number, local: LocalTime): number {
  if ("offsetMinutes" in local) return wallAsUtc - local.offsetMinutes * 60_000;
  const zone = local.zone;
  // Offsets a day before and after: DST changes are months apart, so these are the two candidates.
  const before = zone.offset(wallAsUtc - 86_400_000);
  const after = zone.offset(wallAsUtc + 86_400_000);
  const valid = [before, after].map((o) => wallAsUtc - o * 60_000).filter((u) => wallAsUtc - zone.offset(u) * 60_000 === u);
  if (valid.length > 0) return Math.min(...valid); // two when ambiguous: the earlier instant
  return wallAsUtc - before * 60_000; // in the spring gap: forward by the gap
}

/**
 * @param format "iso" | "epoch_s" | "epoch_ms" | a pattern of YYYY MM DD HH mm ss (M, D, H accept
 *   one or two digits too); other characters are literal.
 * @param utcOffset applied to values without their own offset (default UTC).
 * @param timeZone instead of utcOffset: an IANA zone whose offset at each date applies.
 */
export function dateParser(format: string, utcOffset = "Z", timeZone?: string): DateParser {
  const local: LocalTime = timeZone !== undefined ? { zone: checkTimeZone(timeZone) } : { offsetMinutes: parseOffset(utcOffset) };
  if (format === "epoch_s" || format === "epoch_ms") {
    const scale = format === "epoch_s" ? 1000 : 1;
    return (text) => {
      const n = Number(text.trim());
      return text.trim() !== "" && Number.isFinite(n) ? { ok: true, ms: Math.round(n * scale) } : { ok: false, reason: `"${text}" is not a number of ${format === "epoch_s" ? "seconds" : "milliseconds"}` };
    };
  }
  if (format === "iso") {
    return (text) => {
      const t = text.trim();
      const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(t);
      if (!m) return { ok: false, reason: `"${text}" is not an ISO-8601 date or date-time (set "dateFormat" in the mapping to the column's shape, e.g. "DD.MM.YYYY HH:mm")` };
      const [, Y, M, D, h = "0", mi = "0", s = "0", off] = m;
      return build(Number(Y), Number(M), Number(D), Number(h), Number(mi), Number(s), off ? { offsetMinutes: parseOffset(off) } : local, text, fracMs(t));
    };
  }
  let source = "";
  const tokenRe = /YYYY|MM|DD|HH|mm|ss|M|D|H/g;
  let last = 0;
  for (const match of format.matchAll(tokenRe)) {
    source += escapeRe(format.slice(last, match.index)) + TOKENS[match[0]]!;
    last = match.index! + match[0].length;
  }
  source += escapeRe(format.slice(last));
  if (!/\(\?<Y>/.test(source) || !/\(\?<M>/.test(source) || !/\(\?<D>/.test(source)) {
    throw new RangeError(`dateFormat "${format}" needs YYYY, MM and DD (or use "iso", "epoch_s", "epoch_ms")`);
  }
  const re = new RegExp(`^${source}$`);
  return (text) => {
    const g = re.exec(text.trim())?.groups;
    if (!g) return { ok: false, reason: `"${text}" does not match the date format "${format}" (set "dateFormat" in the mapping to the shape of this column, e.g. "DD.MM.YYYY HH:mm", "iso" or "epoch_s")` };
    return build(Number(g.Y), Number(g.M), Number(g.D), Number(g.h ?? 0), Number(g.m ?? 0), Number(g.s ?? 0), local, text, 0);
  };
}

function fracMs(t: string): number {
  const m = /:\d{2}(\.\d+)/.exec(t);
  return m ? Math.round(Number(`0${m[1]}`) * 1000) : 0;
}

function build(Y: number, M: number, D: number, h: number, mi: number, s: number, local: LocalTime, text: string, ms: number): ReturnType<DateParser> {
  if (M < 1 || M > 12) return { ok: false, reason: `"${text}": month ${M} does not exist` };
  if (D < 1 || D > daysInMonth(Y, M)) return { ok: false, reason: `"${text}": day ${D} does not exist in ${Y}-${String(M).padStart(2, "0")}` };
  if (h > 23 || mi > 59 || s > 59) return { ok: false, reason: `"${text}": time out of range` };
  return { ok: true, ms: localToUtc(Date.UTC(Y, M - 1, D, h, mi, s, ms), local) };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
