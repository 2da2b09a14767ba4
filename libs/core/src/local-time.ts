/**
 * Local-time arithmetic in IANA zones, shared by contact policy and drips. A "wall" is a local date
 * and time written as if it were UTC (milliseconds since the epoch), so its fields read off with
 * getUTC* and calendar arithmetic on it is plain addition.
 */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

export const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

export const minutesOf = (hhmm: string): number => {
  const [, h, m] = HH_MM.exec(hhmm)!;
  return Number(h) * 60 + Number(m);
};

const formatters = new Map<string, Intl.DateTimeFormat | null>();

/** A formatter giving the wall time in `zone`, or null when the zone is not a valid IANA name. */
export function formatterFor(zone: string): Intl.DateTimeFormat | null {
  if (!formatters.has(zone)) {
    let formatter: Intl.DateTimeFormat | null;
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      formatter = null;
    }
    formatters.set(zone, formatter);
  }
  return formatters.get(zone)!;
}

/** The formatter for the customer's zone, else for `fallbackZone`, else for UTC. */
export function zoneFormatter(timeZone: string | null, fallbackZone = 'UTC'): Intl.DateTimeFormat {
  return (timeZone ? formatterFor(timeZone) : null) ?? formatterFor(fallbackZone) ?? formatterFor('UTC')!;
}

/**
 * The wall-clock time of instant `t` in the formatter's zone, written as if it were UTC (so its
 * date and time of day read off with getUTC*). Milliseconds carry over: no zone offset has any.
 */
export function wallClock(t: number, formatter: Intl.DateTimeFormat): number {
  // Intl is slow (a drip batch asks for the same few minutes thousands of times): the offset of each
  // minute is kept, when it is the same at both ends of the minute (a transition inside it is read exactly).
  const minute = Math.floor(t / MINUTE_MS) * MINUTE_MS;
  let offsets = OFFSETS.get(formatter);
  if (!offsets) OFFSETS.set(formatter, (offsets = new Map()));
  let offset = offsets.get(minute);
  if (offset === undefined) {
    const last = minute + MINUTE_MS - 1;
    const first = readWallClock(minute, formatter) - minute;
    offset = readWallClock(last, formatter) - last === first ? first : null;
    if (offsets.size >= MAX_KEPT_MINUTES) offsets.clear();
    offsets.set(minute, offset);
  }
  return offset === null ? readWallClock(t, formatter) : t + offset;
}

const OFFSETS = new WeakMap<Intl.DateTimeFormat, Map<number, number | null>>();
const MAX_KEPT_MINUTES = 20_000;

function readWallClock(t: number, formatter: Intl.DateTimeFormat): number {
  const parts: Record<string, number> = {};
  for (const { type, value } of formatter.formatToParts(t)) parts[type] = Number(value);
  const seconds = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return seconds + (((t % 1000) + 1000) % 1000);
}

/** Offsets in force a day either side of `wall`: they cover any single transition near it. */
function offsetsAround(wall: number, formatter: Intl.DateTimeFormat): Set<number> {
  return new Set([
    wallClock(wall - DAY_MS, formatter) - (wall - DAY_MS),
    wallClock(wall + DAY_MS, formatter) - (wall + DAY_MS),
  ]);
}

/** The first instant in [low, high] whose wall time is >= `wall` (high when none is). */
function firstReaching(wall: number, low: number, high: number, formatter: Intl.DateTimeFormat): number {
  while (high - low > 1) {
    const mid = low + Math.floor((high - low) / 2);
    if (wallClock(mid, formatter) >= wall) high = mid;
    else low = mid;
  }
  return wallClock(low, formatter) >= wall ? low : high;
}

/**
 * The first instant at or after `notBefore` whose wall time in the zone is >= `wall`. A wall time
 * that a spring-forward skips resolves to the instant the clock jumps; one a fall-back repeats
 * resolves to its first occurrence not before `notBefore`.
 */
export function firstInstantAtWall(wall: number, notBefore: number, formatter: Intl.DateTimeFormat): number {
  const offsets = offsetsAround(wall, formatter);
  const exact = [...offsets]
    .map((offset) => wall - offset)
    .filter((t) => t >= notBefore && wallClock(t, formatter) === wall)
    .sort((a, b) => a - b);
  if (exact.length) return exact[0];
  // The wall time does not exist: search for the jump between the two readings of it.
  const low = Math.max(notBefore, wall - Math.max(...offsets));
  return firstReaching(wall, low, Math.max(low, wall - Math.min(...offsets)), formatter);
}

/**
 * Every instant whose wall time in the zone is `wall`, in order: one, or two when a fall-back repeats
 * it. A wall time a spring-forward skips gives the one instant the clock jumps.
 */
export function instantsAtWall(wall: number, formatter: Intl.DateTimeFormat): number[] {
  const offsets = offsetsAround(wall, formatter);
  const exact = [...offsets]
    .map((offset) => wall - offset)
    .filter((t) => wallClock(t, formatter) === wall)
    .sort((a, b) => a - b);
  if (exact.length) return exact;
  return [firstReaching(wall, wall - Math.max(...offsets), wall - Math.min(...offsets), formatter)];
}

/** 'YYYY-MM-DD' of a wall (or of a UTC instant). */
export function isoDateOf(wall: number): string {
  const d = new Date(wall);
  const year = d.getUTCFullYear();
  return `${String(year).padStart(4, '0')}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** The local date ('YYYY-MM-DD') of `instant` in the IANA zone (UTC when null or not a zone). */
export function localDateOf(instant: Date, timeZone: string | null): string {
  return isoDateOf(wallClock(instant.getTime(), zoneFormatter(timeZone)));
}
