/**
 * Dates in exports come in every shape. A mapping names the shape once ("DD.MM.YYYY HH:mm",
 * "iso", "epoch_s"...) and every value is parsed strictly against it: a row that does not match is
 * reported with its line, never guessed at (is 03/04 the 3rd of April or the 4th of March?).
 */
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

/**
 * @param format "iso" | "epoch_s" | "epoch_ms" | a pattern of YYYY MM DD HH mm ss (M, D, H accept
 *   one or two digits too); other characters are literal.
 * @param utcOffset applied to values without their own offset (default UTC).
 */
export function dateParser(format: string, utcOffset = "Z"): DateParser {
  const offsetMin = parseOffset(utcOffset);
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
      if (!m) return { ok: false, reason: `"${text}" is not an ISO-8601 date or date-time` };
      const [, Y, M, D, h = "0", mi = "0", s = "0", off] = m;
      return build(Number(Y), Number(M), Number(D), Number(h), Number(mi), Number(s), off ? parseOffset(off) : offsetMin, text, fracMs(t));
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
    if (!g) return { ok: false, reason: `"${text}" does not match the date format "${format}"` };
    return build(Number(g.Y), Number(g.M), Number(g.D), Number(g.h ?? 0), Number(g.m ?? 0), Number(g.s ?? 0), offsetMin, text, 0);
  };
}

function fracMs(t: string): number {
  const m = /:\d{2}(\.\d+)/.exec(t);
  return m ? Math.round(Number(`0${m[1]}`) * 1000) : 0;
}

function build(Y: number, M: number, D: number, h: number, mi: number, s: number, offsetMin: number, text: string, ms: number): ReturnType<DateParser> {
  if (M < 1 || M > 12) return { ok: false, reason: `"${text}": month ${M} does not exist` };
  if (D < 1 || D > daysInMonth(Y, M)) return { ok: false, reason: `"${text}": day ${D} does not exist in ${Y}-${String(M).padStart(2, "0")}` };
  if (h > 23 || mi > 59 || s > 59) return { ok: false, reason: `"${text}": time out of range` };
  return { ok: true, ms: Date.UTC(Y, M - 1, D, h, mi, s, ms) - offsetMin * 60_000 };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
