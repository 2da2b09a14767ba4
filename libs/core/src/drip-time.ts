import { ValidationError } from './errors';
import {
  DAY_MS,
  HH_MM,
  HOUR_MS,
  instantsAtWall,
  isoDateOf,
  MINUTE_MS,
  minutesOf,
  wallClock,
  zoneFormatter,
} from './local-time';

/**
 * Drip time: how long a wait step lasts, when a date trigger (a birthday, a renewal) fires, all in
 * the customer's own time zone. Calendar units follow the wall clock; hours, minutes and seconds are
 * elapsed time.
 */
export interface IsoDuration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface WaitUntil {
  /** 'HH:MM' local, 00:00 to 23:59. */
  time: string;
  /** Absent: any day. */
  weekdays?: Weekday[];
}

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;
// Counted with a year of 365.25 days and a month of a twelfth of that, so P10Y, P120M and PT87660H all fit.
const SECONDS_PER_UNIT = [31_557_600, 2_629_800, 604_800, 86_400, 3_600, 60, 1];
const MAX_SECONDS = 10 * SECONDS_PER_UNIT[0];

const matchDuration = (text: string): RegExpExecArray | null => {
  const match = DURATION.exec(text);
  // 'P', 'PT' and a trailing 'T' match the pattern but name no amount.
  return match && match.slice(1).some((n) => n !== undefined) && !text.endsWith('T') ? match : null;
};

/**
 * An ISO 8601 duration, PnYnMnWnDTnHnMnS, in whole units (ISO allows a fraction on the smallest
 * unit; a wait step does not need one). Between zero (excluded) and 10 years (included).
 */
export function parseIsoDuration(text: unknown, field: string): IsoDuration {
  const invalid = `${field} must be an ISO 8601 duration such as P2D or PT6H`;
  if (typeof text !== 'string') throw new ValidationError(invalid, field);
  const unsigned = text.replace(/^-(?=P)|-(?=\d)/g, '');
  if (unsigned !== text && matchDuration(unsigned)) {
    throw new ValidationError(`${field} must not be negative`, field);
  }
  if (matchDuration(text.replace(/(\d)[.,]\d+/g, '$1')) && !matchDuration(text)) {
    throw new ValidationError(`${field} must be in whole units, such as PT90M rather than PT1.5H`, field);
  }
  const match = matchDuration(text);
  if (!match) throw new ValidationError(invalid, field);
  const amounts = match.slice(1).map((n) => (n === undefined ? 0 : Number(n)));
  const total = amounts.reduce((sum, n, i) => sum + n * SECONDS_PER_UNIT[i], 0);
  if (total === 0) throw new ValidationError(`${field} must be longer than zero`, field);
  if (total > MAX_SECONDS) throw new ValidationError(`${field} must be at most 10 years`, field);
  const [years, months, weeks, days, hours, minutes, seconds] = amounts;
  return { years, months, weeks, days, hours, minutes, seconds };
}

/** Canonical text: zero units left out, units kept as given (PT24H is not P1D); the zero duration is PT0S. */
export function formatIsoDuration(d: IsoDuration): string {
  const part = (units: readonly (keyof IsoDuration)[], letters: string) =>
    units.map((unit, i) => (d[unit] ? `${d[unit]}${letters[i]}` : '')).join('');
  const date = part(['years', 'months', 'weeks', 'days'], 'YMWD');
  const time = part(['hours', 'minutes', 'seconds'], 'HMS');
  if (!date && !time) return 'PT0S';
  return `P${date}${time ? `T${time}` : ''}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a wait-until someone wrote; weekdays come back lower-cased in week order (null counts as absent). */
export function parseWaitUntil(input: unknown, field: string): WaitUntil {
  if (!isObject(input)) {
    throw new ValidationError(`${field} must be an object with a time (HH:MM) and optional weekdays`, field);
  }
  for (const key of Object.keys(input)) {
    if (key !== 'time' && key !== 'weekdays') {
      throw new ValidationError(`${field}.${key} is not allowed (expected time, weekdays)`, `${field}.${key}`);
    }
  }
  const { time, weekdays } = input;
  if (typeof time !== 'string' || !HH_MM.test(time)) {
    throw new ValidationError(`${field}.time must be a local time HH:MM (00:00 to 23:59)`, `${field}.time`);
  }
  if (weekdays === undefined || weekdays === null) return { time };
  if (!Array.isArray(weekdays) || weekdays.length === 0) {
    throw new ValidationError(`${field}.weekdays must be a non-empty list of days (mon to sun)`, `${field}.weekdays`);
  }
  const seen = new Set<string>();
  weekdays.forEach((value: unknown, i) => {
    const day = typeof value === 'string' ? value.toLowerCase() : '';
    if (!(WEEKDAYS as readonly string[]).includes(day)) {
      throw new ValidationError(
        `${field}.weekdays[${i}] must be one of ${WEEKDAYS.join(', ')}`,
        `${field}.weekdays[${i}]`,
      );
    }
    if (seen.has(day)) throw new ValidationError(`${field}.weekdays[${i}] repeats ${day}`, `${field}.weekdays[${i}]`);
    seen.add(day);
  });
  return { time, weekdays: WEEKDAYS.filter((day) => seen.has(day)) };
}

const floorDay = (wall: number) => Math.floor(wall / DAY_MS) * DAY_MS;
const isLeapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysInMonth = (y: number, month: number) =>
  month === 2 ? (isLeapYear(y) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

/** Midnight of a local date as a wall. setUTCFullYear, because Date.UTC reads years 0-99 as 1900-1999. */
function wallOfDate(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime();
}

/** Years and months first, the day clamped to the month's last, then days: as Temporal adds them. */
function addCalendar(wall: number, months: number, days: number): number {
  const date = new Date(wall);
  const index = date.getUTCFullYear() * 12 + date.getUTCMonth() + months;
  const year = Math.floor(index / 12);
  const month = index - year * 12 + 1;
  const day = Math.min(date.getUTCDate(), daysInMonth(year, month));
  return wallOfDate(year, month, day) + days * DAY_MS + (wall - floorDay(wall));
}

/**
 * from + d in the customer's IANA zone (UTC when null or not a zone). Years, months, weeks and days
 * move the local wall clock (09:00 stays 09:00 across a DST change; Jan 31 + P1M is the last day of
 * February); hours, minutes and seconds are elapsed time, added after. A local time a spring-forward
 * skips becomes the instant the clock jumps; one a fall-back repeats, its first occurrence.
 */
export function addDuration(from: Date, d: IsoDuration, timeZone: string | null): Date {
  let t = from.getTime();
  const months = d.years * 12 + d.months;
  const days = d.weeks * 7 + d.days;
  // Without calendar units `from` stays as it is, even in the second pass of a repeated hour.
  if (months || days) {
    const formatter = zoneFormatter(timeZone);
    t = instantsAtWall(addCalendar(wallClock(t, formatter), months, days), formatter)[0];
  }
  return new Date(t + d.hours * HOUR_MS + d.minutes * MINUTE_MS + d.seconds * 1000);
}

/**
 * The first instant >= from whose local wall time is `until.time` on one of `until.weekdays` (any
 * day when absent); `from` itself when it is one. When a fall-back repeats the time, its second pass
 * counts too; when a spring-forward skips it, the instant the clock jumps stands in for it.
 */
export function nextLocalTime(from: Date, until: WaitUntil, timeZone: string | null): Date {
  const { time, weekdays } = parseWaitUntil(until, 'until');
  const formatter = zoneFormatter(timeZone);
  const timeOfDay = minutesOf(time) * MINUTE_MS;
  const allowed = new Set(weekdays ?? WEEKDAYS);
  const start = from.getTime();
  const today = floorDay(wallClock(start, formatter));
  // From yesterday: a fall-back across midnight repeats its last hour after `from`. Ten days cover a
  // week and a day a zone skipped (Pacific/Apia, 2011-12-30).
  for (let day = today - DAY_MS; day <= today + 10 * DAY_MS; day += DAY_MS) {
    if (!allowed.has(WEEKDAYS[(new Date(day).getUTCDay() + 6) % 7])) continue;
    for (const t of instantsAtWall(day + timeOfDay, formatter)) {
      // The instant a skipped day jumps to lies on a later date: that day had no such time.
      if (t >= start && floorDay(wallClock(t, formatter)) === day) return t === start ? from : new Date(t);
    }
  }
  throw new ValidationError(`until.time ${time} does not occur in ${timeZone}`, 'until.time');
}

/** When a wait step ends for an enrollment that reached it at `from`: the duration first, then the next `until`. */
export function waitEnd(
  from: Date,
  wait: { duration?: IsoDuration; until?: WaitUntil },
  timeZone: string | null,
): Date {
  const afterDuration = wait.duration ? addDuration(from, wait.duration, timeZone) : from;
  return wait.until ? nextLocalTime(afterDuration, wait.until, timeZone) : afterDuration;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseDate(text: string): { year: number; month: number; day: number } {
  const match = typeof text === 'string' ? ISO_DATE.exec(text) : null;
  const [year, month, day] = match ? match.slice(1).map(Number) : [];
  if (!match || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw new ValidationError('date must be a calendar date YYYY-MM-DD', 'date');
  }
  return { year, month, day };
}

function timeOfDayMs(at: string): number {
  if (typeof at !== 'string' || !HH_MM.test(at)) {
    throw new ValidationError('at must be a local time HH:MM (00:00 to 23:59)', 'at');
  }
  return minutesOf(at) * MINUTE_MS;
}

/** Local midnight (as a wall) of the day an occurrence falls on. */
function occurrenceDay(date: string, year: number, offsetDays: number, recurrence: 'yearly' | 'once'): number {
  const d = parseDate(date);
  if (!Number.isInteger(offsetDays)) throw new ValidationError('offsetDays must be a whole number', 'offsetDays');
  if (recurrence === 'once') return wallOfDate(d.year, d.month, d.day) + offsetDays * DAY_MS;
  if (recurrence !== 'yearly') throw new ValidationError('recurrence must be yearly or once', 'recurrence');
  if (!Number.isInteger(year)) throw new ValidationError('year must be a whole number', 'year');
  // Feb 29 falls on Feb 28 in a common year.
  return wallOfDate(year, d.month, Math.min(d.day, daysInMonth(year, d.month))) + offsetDays * DAY_MS;
}

/**
 * When a date trigger fires in local calendar year `year`: the anniversary of `date` that year (Feb 29
 * on Feb 28 in a common year) plus offsetDays calendar days, at local time `at` (a skipped time at the
 * jump, a repeated one at its first pass, as addDuration). For 'once', `date` itself plus offsetDays.
 */
export function dateOccurrence(
  date: string,
  year: number,
  offsetDays: number,
  at: string,
  timeZone: string | null,
  recurrence: 'yearly' | 'once',
): Date {
  const formatter = zoneFormatter(timeZone);
  return new Date(instantsAtWall(occurrenceDay(date, year, offsetDays, recurrence) + timeOfDayMs(at), formatter)[0]);
}

/**
 * The local date (YYYY-MM-DD) an occurrence falls on: the key that makes a trigger fire once per
 * occurrence. It is the calendar date, kept even where a zone skipped that day.
 */
export function occurrenceKey(date: string, year: number, offsetDays: number, recurrence: 'yearly' | 'once'): string {
  return isoDateOf(occurrenceDay(date, year, offsetDays, recurrence));
}

/**
 * The occurrences of `date` in (after, upTo], in time order, with their keys: the reference the SQL
 * scan is tested against.
 */
export function occurrencesBetween(
  date: string,
  after: Date,
  upTo: Date,
  offsetDays: number,
  at: string,
  timeZone: string | null,
  recurrence: 'yearly' | 'once',
): { at: Date; key: string }[] {
  const formatter = zoneFormatter(timeZone);
  const timeOfDay = timeOfDayMs(at);
  const occurrence = (year: number) => {
    const day = occurrenceDay(date, year, offsetDays, recurrence);
    return { at: new Date(instantsAtWall(day + timeOfDay, formatter)[0]), key: isoDateOf(day) };
  };
  const low = after.getTime();
  const high = upTo.getTime();
  const inWindow = (o: { at: Date }) => o.at.getTime() > low && o.at.getTime() <= high;
  if (recurrence === 'once') return [occurrence(0)].filter(inWindow);
  if (!(high > low)) return [];
  // A local year is at most a day off the UTC year; offsetDays moves an occurrence by that many days more.
  const spread = Math.ceil(Math.abs(offsetDays) / 365) + 1;
  const found: { at: Date; key: string }[] = [];
  for (let year = after.getUTCFullYear() - spread; year <= upTo.getUTCFullYear() + spread; year++) {
    const o = occurrence(year);
    if (inWindow(o)) found.push(o);
  }
  return found.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** Every month*100+day of a leap year, 101 to 1231. */
const ALL_ANNIVERSARIES = Array.from({ length: 366 }, (_, i) => {
  const date = new Date(Date.UTC(2000, 0, 1 + i));
  return (date.getUTCMonth() + 1) * 100 + date.getUTCDate();
});

/**
 * Month*100+day of every anniversary whose occurrence (with offsetDays, at any local time in any zone
 * from UTC-12 to UTC+14) could fall in (after, upTo]: a prefilter for an index on birth month and
 * day. It never misses one and may name a few more.
 */
export function anniversaryCandidates(after: Date, upTo: Date, offsetDays: number): number[] {
  const low = after.getTime();
  const high = upTo.getTime();
  if (!Number.isInteger(offsetDays)) throw new ValidationError('offsetDays must be a whole number', 'offsetDays');
  if (!(high > low)) return [];
  // An instant t reads as local t-12h to t+14h; a day more either side for historical offsets beyond that.
  const first = floorDay(low - 12 * HOUR_MS) - DAY_MS;
  const last = floorDay(high + 14 * HOUR_MS) + DAY_MS;
  if ((last - first) / DAY_MS + 1 >= 366) return [...ALL_ANNIVERSARIES];
  const found = new Set<number>();
  for (let day = first; day <= last; day += DAY_MS) {
    const anniversary = new Date(day - offsetDays * DAY_MS);
    found.add((anniversary.getUTCMonth() + 1) * 100 + anniversary.getUTCDate());
  }
  // Feb 29 birthdays fire on Feb 28 in common years.
  if (found.has(228)) found.add(229);
  return [...found].sort((a, b) => a - b);
}
