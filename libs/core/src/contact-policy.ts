import { ValidationError } from './errors';
import {
  DAY_MS,
  firstInstantAtWall,
  HH_MM,
  HOUR_MS,
  MINUTE_MS,
  minutesOf,
  wallClock,
  zoneFormatter,
} from './local-time';

/**
 * Contact policy: quiet hours per channel in the customer's local time, and a frequency cap across
 * programs. Applied at send time (a send in quiet hours is deferred, never dropped) and counted
 * when a list is built.
 */
export interface QuietHours {
  /** 'HH:MM' local: sending stops. */
  start: string;
  /** 'HH:MM' local: sending may resume. */
  end: string;
}

export interface FrequencyCap {
  max: number;
  periodHours: number;
}

export interface ContactPolicy {
  frequencyCap: FrequencyCap | null;
  quietHours: { email: QuietHours | null; sms: QuietHours | null };
}

/** No cap; SMS only between 08:00 and 21:00 local (RELIABILITY.md), email at any hour. */
export const DEFAULT_CONTACT_POLICY: ContactPolicy = Object.freeze({
  frequencyCap: null,
  quietHours: Object.freeze({ email: null, sms: Object.freeze({ start: '21:00', end: '08:00' }) }),
});

const MAX_CAP = 1_000;
const MAX_PERIOD_HOURS = 24 * 366;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyKeys(input: Record<string, unknown>, allowed: string[], path: string): void {
  for (const key of Object.keys(input)) {
    if (!allowed.includes(key)) {
      throw new ValidationError(`${path}.${key} is not allowed (expected ${allowed.join(', ')})`, `${path}.${key}`);
    }
  }
}

/**
 * Checks a contact policy someone wrote. A missing key keeps its default, an explicit null turns
 * the rule off, and quiet hours whose start equals their end are stored as none.
 */
export function parseContactPolicy(input: unknown, path = 'contactPolicy'): ContactPolicy {
  if (input === undefined || input === null) return structuredClone(DEFAULT_CONTACT_POLICY);
  if (!isObject(input)) throw new ValidationError(`${path} must be an object`, path);
  onlyKeys(input, ['frequencyCap', 'quietHours'], path);
  return {
    frequencyCap:
      input.frequencyCap === undefined
        ? DEFAULT_CONTACT_POLICY.frequencyCap
        : parseFrequencyCap(input.frequencyCap, `${path}.frequencyCap`),
    quietHours: parseQuietHoursByChannel(input.quietHours, `${path}.quietHours`),
  };
}

function parseFrequencyCap(input: unknown, path: string): FrequencyCap | null {
  if (input === null) return null;
  if (!isObject(input)) throw new ValidationError(`${path} must be an object or null`, path);
  onlyKeys(input, ['max', 'periodHours'], path);
  const { max, periodHours } = input;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_CAP) {
    throw new ValidationError(`${path}.max must be an integer from 1 to ${MAX_CAP}`, `${path}.max`);
  }
  if (
    typeof periodHours !== 'number' ||
    !Number.isInteger(periodHours) ||
    periodHours < 1 ||
    periodHours > MAX_PERIOD_HOURS
  ) {
    throw new ValidationError(
      `${path}.periodHours must be an integer from 1 to ${MAX_PERIOD_HOURS}`,
      `${path}.periodHours`,
    );
  }
  return { max, periodHours };
}

function parseQuietHoursByChannel(input: unknown, path: string): ContactPolicy['quietHours'] {
  const defaults = DEFAULT_CONTACT_POLICY.quietHours;
  if (input === undefined) return structuredClone(defaults);
  if (!isObject(input)) throw new ValidationError(`${path} must be an object`, path);
  onlyKeys(input, ['email', 'sms'], path);
  const channel = (name: 'email' | 'sms') =>
    input[name] === undefined ? structuredClone(defaults[name]) : parseQuietHours(input[name], `${path}.${name}`);
  return { email: channel('email'), sms: channel('sms') };
}

function parseQuietHours(input: unknown, path: string): QuietHours | null {
  if (input === null) return null;
  if (!isObject(input)) throw new ValidationError(`${path} must be an object or null`, path);
  onlyKeys(input, ['start', 'end'], path);
  for (const key of ['start', 'end'] as const) {
    const value = input[key];
    if (typeof value !== 'string' || !HH_MM.test(value)) {
      throw new ValidationError(`${path}.${key} must be a local time HH:MM (00:00 to 23:59)`, `${path}.${key}`);
    }
  }
  const { start, end } = input as unknown as QuietHours;
  return start === end ? null : { start, end };
}

function isQuiet(wall: number, startMinutes: number, endMinutes: number): boolean {
  const time = wall - Math.floor(wall / DAY_MS) * DAY_MS;
  const start = startMinutes * MINUTE_MS;
  const end = endMinutes * MINUTE_MS;
  return start < end ? time >= start && time < end : time >= start || time < end;
}

/**
 * When a message may go out given quiet hours in the customer's IANA time zone (`fallbackZone`
 * when the zone is null or not valid). Returns `now` itself when sending is allowed now;
 * otherwise the first instant whose local time is >= quiet.end, exact across DST changes.
 */
export function nextAllowedTime(
  now: Date,
  quiet: QuietHours | null,
  timeZone: string | null,
  fallbackZone = 'UTC',
): Date {
  if (!quiet || quiet.start === quiet.end) return now;
  const formatter = zoneFormatter(timeZone, fallbackZone);
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  let t = now.getTime();
  // Twice more at most, for zones that skip a whole day (Pacific/Apia on 2011-12-30).
  for (let guard = 0; guard < 3; guard++) {
    const wall = wallClock(t, formatter);
    if (!isQuiet(wall, start, end)) return guard === 0 ? now : new Date(t);
    const midnight = Math.floor(wall / DAY_MS) * DAY_MS;
    // Quiet hours that wrap midnight and began this evening end tomorrow.
    const endDay = start > end && wall - midnight >= start * MINUTE_MS ? midnight + DAY_MS : midnight;
    t = firstInstantAtWall(endDay + end * MINUTE_MS, t, formatter);
  }
  return new Date(t);
}

/**
 * Frequency cap over sends on one channel (any program). `recent` are the times of this customer's
 * sends; those at or before now - periodHours fall outside the window and do not count. When the
 * cap is reached, notBefore is when enough of them leave the window for one more.
 */
export function frequencyCapDecision(
  now: Date,
  recent: readonly Date[],
  cap: FrequencyCap | null,
): { allowed: true } | { allowed: false; notBefore: Date } {
  if (!cap) return { allowed: true };
  const period = cap.periodHours * HOUR_MS;
  const windowStart = now.getTime() - period;
  const inWindow = recent
    .map((d) => d.getTime())
    .filter((t) => t > windowStart)
    .sort((a, b) => a - b);
  if (inWindow.length < cap.max) return { allowed: true };
  // Once the (count - max + 1) oldest sends have left the window, max - 1 remain.
  return { allowed: false, notBefore: new Date(inWindow[inWindow.length - cap.max] + period) };
}
