/**
 * Calendar periods in a time zone, without a date library: digests go out at local times and
 * a "day" for a retention team in Berlin starts at Berlin midnight, not UTC midnight.
 */
import { DAY_MS } from "../lib/time.js";

interface LocalParts { year: number; month: number; day: number; hour: number; minute: number; second: number }

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    // Throws RangeError for an unknown zone: callers validate DIGEST_TIMEZONE at start with it.
    f = new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function assertTimeZone(timeZone: string): void {
  formatter(timeZone);
}

function localParts(ms: number, timeZone: string): LocalParts {
  const out: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== "literal") out[p.type] = Number(p.value);
  }
  return { year: out.year!, month: out.month!, day: out.day!, hour: out.hour! % 24, minute: out.minute!, second: out.second! };
}

/** Offset of the zone from UTC at that instant, in ms (positive east of Greenwich). */
function offsetMs(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000));
}

/** "YYYY-MM-DD" of the instant in the zone. */
export function localDate(instant: Date, timeZone: string): string {
  const p = localParts(instant.getTime(), timeZone);
  return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}

/** The instant local midnight of the given local calendar date (day may overflow; Date.UTC normalises). */
export function zonedMidnight(year: number, month: number, day: number, timeZone: string): Date {
  const guess = Date.UTC(year, month - 1, day);
  // Two passes settle DST: the offset at the guess may differ from the offset at the answer.
  let t = guess - offsetMs(guess, timeZone);
  t = guess - offsetMs(t, timeZone);
  return new Date(t);
}

export function startOfLocalDay(instant: Date, timeZone: string): Date {
  const p = localParts(instant.getTime(), timeZone);
  return zonedMidnight(p.year, p.month, p.day, timeZone);
}

export interface Period {
  start: Date;
  end: Date;
}

/** The `days` whole local days before the local day containing `now` (today excluded: it is not over). */
export function trailingDays(now: Date, days: number, timeZone: string): Period {
  const p = localParts(now.getTime(), timeZone);
  return {
    start: zonedMidnight(p.year, p.month, p.day - days, timeZone),
    end: zonedMidnight(p.year, p.month, p.day, timeZone),
  };
}

/** The period of the same local-day length right before `period` (for "change against the previous period"). */
export function previousPeriod(period: Period, timeZone: string): Period {
  const s = localParts(period.start.getTime(), timeZone);
  const days = Math.round((period.end.getTime() - period.start.getTime()) / DAY_MS);
  return { start: zonedMidnight(s.year, s.month, s.day - days, timeZone), end: period.start };
}

/** Local midnight of the Monday of the ISO week containing `instant` (a retention team's week). */
export function startOfLocalWeek(instant: Date, timeZone: string): Date {
  const p = localParts(instant.getTime(), timeZone);
  const weekday = new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay(); // 0 = Sunday
  return zonedMidnight(p.year, p.month, p.day - ((weekday + 6) % 7), timeZone);
}

/** The starts of the `count` local weeks ending with the one containing `instant`, oldest first. */
export function weekStarts(instant: Date, count: number, timeZone: string): Date[] {
  const p = localParts(startOfLocalWeek(instant, timeZone).getTime(), timeZone);
  return Array.from({ length: count }, (_, i) => zonedMidnight(p.year, p.month, p.day - 7 * (count - 1 - i), timeZone));
}
