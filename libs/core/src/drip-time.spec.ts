import fc from 'fast-check';
import {
  addDuration,
  anniversaryCandidates,
  dateOccurrence,
  formatIsoDuration,
  IsoDuration,
  nextLocalTime,
  occurrenceKey,
  occurrencesBetween,
  parseIsoDuration,
  parseWaitUntil,
  waitEnd,
  WaitUntil,
} from './drip-time';
import { ValidationError } from './errors';
import { localDateOf } from './local-time';

const at = (iso: string) => new Date(iso);
const iso = (d: Date) => d.toISOString();
const ZERO: IsoDuration = { years: 0, months: 0, weeks: 0, days: 0, hours: 0, minutes: 0, seconds: 0 };
const duration = (parts: Partial<IsoDuration>): IsoDuration => ({ ...ZERO, ...parts });

function refusal(run: () => unknown): { field: string | undefined; message: string } {
  try {
    run();
  } catch (e) {
    if (e instanceof ValidationError) return { field: e.field, message: e.message };
    throw e;
  }
  throw new Error('expected a ValidationError');
}

// 'sv-SE' prints "YYYY-MM-DD HH:MM:SS": a reading of local time by another route than the code under test.
const readers = new Map<string, Intl.DateTimeFormat>();
function localOf(t: Date | number, zone: string): string {
  if (!readers.has(zone)) {
    readers.set(zone, new Intl.DateTimeFormat('sv-SE', { timeZone: zone, dateStyle: 'short', timeStyle: 'medium' }));
  }
  return readers.get(zone)!.format(t);
}

describe('drip time: ISO 8601 durations', () => {
  it.each<[string, Partial<IsoDuration>]>([
    ['P2D', { days: 2 }],
    ['PT6H', { hours: 6 }],
    ['P1W', { weeks: 1 }],
    ['P1M', { months: 1 }],
    ['PT1M', { minutes: 1 }],
    ['PT90S', { seconds: 90 }],
    ['P1Y2M3W4DT5H6M7S', { years: 1, months: 2, weeks: 3, days: 4, hours: 5, minutes: 6, seconds: 7 }],
    ['P0DT1H', { hours: 1 }],
    ['P007D', { days: 7 }],
    ['P10Y', { years: 10 }],
    ['P120M', { months: 120 }],
    ['P3652D', { days: 3652 }],
    ['PT87660H', { hours: 87660 }],
  ])('reads %s', (text, parts) => {
    expect(parseIsoDuration(text, 'duration')).toEqual(duration(parts));
  });

  const invalid = 'steps[2].duration must be an ISO 8601 duration such as P2D or PT6H';
  it.each<[unknown, string]>([
    ['', invalid],
    ['P', invalid],
    ['PT', invalid],
    ['P1DT', invalid],
    ['2D', invalid],
    ['P1H', invalid],
    ['PT1D', invalid],
    ['P1D1M', invalid],
    ['p2d', invalid],
    [' P2D', invalid],
    ['P2D ', invalid],
    ['P1D-', invalid],
    ['P1E3D', invalid],
    ['two days', invalid],
    [2, invalid],
    [null, invalid],
    [undefined, invalid],
    [{ days: 2 }, invalid],
    ['-P1D', 'steps[2].duration must not be negative'],
    ['P-1D', 'steps[2].duration must not be negative'],
    ['PT-6H', 'steps[2].duration must not be negative'],
    ['PT0S', 'steps[2].duration must be longer than zero'],
    ['P0D', 'steps[2].duration must be longer than zero'],
    ['P0Y0M0W0DT0H0M0S', 'steps[2].duration must be longer than zero'],
    ['PT1.5S', 'steps[2].duration must be in whole units, such as PT90M rather than PT1.5H'],
    ['PT0,5H', 'steps[2].duration must be in whole units, such as PT90M rather than PT1.5H'],
    ['P1.5D', 'steps[2].duration must be in whole units, such as PT90M rather than PT1.5H'],
    ['P10Y1D', 'steps[2].duration must be at most 10 years'],
    ['P11Y', 'steps[2].duration must be at most 10 years'],
    ['P121M', 'steps[2].duration must be at most 10 years'],
    ['P3653D', 'steps[2].duration must be at most 10 years'],
    ['PT87661H', 'steps[2].duration must be at most 10 years'],
    ['P99999999999999999999999Y', 'steps[2].duration must be at most 10 years'],
  ])('refuses %j: %s', (text, message) => {
    expect(refusal(() => parseIsoDuration(text, 'steps[2].duration'))).toEqual({ field: 'steps[2].duration', message });
  });

  it.each<[Partial<IsoDuration>, string]>([
    [{ days: 2 }, 'P2D'],
    [{ hours: 24 }, 'PT24H'],
    [{ days: 1, hours: 2 }, 'P1DT2H'],
    [{ weeks: 2, minutes: 30 }, 'P2WT30M'],
    [{ years: 1, months: 2, weeks: 3, days: 4, hours: 5, minutes: 6, seconds: 7 }, 'P1Y2M3W4DT5H6M7S'],
    [{ seconds: 45 }, 'PT45S'],
    [{}, 'PT0S'],
  ])('writes %j as %s', (parts, text) => {
    expect(formatIsoDuration(duration(parts))).toBe(text);
  });

  it('writes the canonical text of what it reads, and reads back what it writes', () => {
    expect(formatIsoDuration(parseIsoDuration('P0Y1DT0H30M', 'd'))).toBe('P1DT30M');
    expect(formatIsoDuration(parseIsoDuration('P007D', 'd'))).toBe('P7D');
    const unit = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 }));
    fc.assert(
      fc.property(fc.tuple(unit, unit, unit, unit, unit, unit, unit), ([y, mo, w, d, h, mi, s]) => {
        const parsed = duration({ years: y % 5, months: mo, weeks: w, days: d, hours: h, minutes: mi, seconds: s });
        fc.pre(formatIsoDuration(parsed) !== 'PT0S');
        const text = formatIsoDuration(parsed);
        expect(parseIsoDuration(text, 'd')).toEqual(parsed);
        expect(formatIsoDuration(parseIsoDuration(text, 'd'))).toBe(text);
      }),
      { numRuns: 300, seed: 20260329 },
    );
  });
});

describe('drip time: wait until', () => {
  it('takes a time alone, or with weekdays lower-cased and in week order', () => {
    expect(parseWaitUntil({ time: '09:00' }, 'until')).toEqual({ time: '09:00' });
    expect(parseWaitUntil({ time: '09:00', weekdays: null }, 'until')).toEqual({ time: '09:00' });
    expect(parseWaitUntil({ time: '23:59', weekdays: ['SUN', 'Mon', 'fri'] }, 'until')).toEqual({
      time: '23:59',
      weekdays: ['mon', 'fri', 'sun'],
    });
    expect(parseWaitUntil({ time: '00:00', weekdays: ['sat'] }, 'until')).toEqual({ time: '00:00', weekdays: ['sat'] });
  });

  it.each<[unknown, string, string]>([
    ['09:00', 'steps[1].until', 'steps[1].until must be an object with a time (HH:MM) and optional weekdays'],
    [null, 'steps[1].until', 'steps[1].until must be an object with a time (HH:MM) and optional weekdays'],
    [[], 'steps[1].until', 'steps[1].until must be an object with a time (HH:MM) and optional weekdays'],
    [{}, 'steps[1].until.time', 'steps[1].until.time must be a local time HH:MM (00:00 to 23:59)'],
    [{ time: '9:00' }, 'steps[1].until.time', 'steps[1].until.time must be a local time HH:MM (00:00 to 23:59)'],
    [{ time: '24:00' }, 'steps[1].until.time', 'steps[1].until.time must be a local time HH:MM (00:00 to 23:59)'],
    [{ time: '09:60' }, 'steps[1].until.time', 'steps[1].until.time must be a local time HH:MM (00:00 to 23:59)'],
    [{ time: 900 }, 'steps[1].until.time', 'steps[1].until.time must be a local time HH:MM (00:00 to 23:59)'],
    [
      { time: '09:00', day: 'mon' },
      'steps[1].until.day',
      'steps[1].until.day is not allowed (expected time, weekdays)',
    ],
    [
      { time: '09:00', weekdays: [] },
      'steps[1].until.weekdays',
      'steps[1].until.weekdays must be a non-empty list of days (mon to sun)',
    ],
    [
      { time: '09:00', weekdays: 'mon' },
      'steps[1].until.weekdays',
      'steps[1].until.weekdays must be a non-empty list of days (mon to sun)',
    ],
    [
      { time: '09:00', weekdays: ['mon', 'monday'] },
      'steps[1].until.weekdays[1]',
      'steps[1].until.weekdays[1] must be one of mon, tue, wed, thu, fri, sat, sun',
    ],
    [
      { time: '09:00', weekdays: [1] },
      'steps[1].until.weekdays[0]',
      'steps[1].until.weekdays[0] must be one of mon, tue, wed, thu, fri, sat, sun',
    ],
    [
      { time: '09:00', weekdays: ['mon', 'tue', 'Mon'] },
      'steps[1].until.weekdays[2]',
      'steps[1].until.weekdays[2] repeats mon',
    ],
  ])('refuses %j naming %s', (input, field, message) => {
    expect(refusal(() => parseWaitUntil(input, 'steps[1].until'))).toEqual({ field, message });
  });
});

describe('drip time: addDuration', () => {
  const add = (from: string, text: string, zone: string | null) =>
    iso(addDuration(at(from), parseIsoDuration(text, 'd'), zone));

  it('keeps the wall time for P1D across DST; PT24H is exact elapsed time', () => {
    // Europe/Berlin, spring forward 2026-03-29: 09:00 CET -> 09:00 CEST
    expect(add('2026-03-28T08:00:00.000Z', 'P1D', 'Europe/Berlin')).toBe('2026-03-29T07:00:00.000Z');
    expect(add('2026-03-28T08:00:00.000Z', 'PT24H', 'Europe/Berlin')).toBe('2026-03-29T08:00:00.000Z');
    // fall back 2026-10-25: 09:00 CEST -> 09:00 CET
    expect(add('2026-10-24T07:00:00.000Z', 'P1D', 'Europe/Berlin')).toBe('2026-10-25T08:00:00.000Z');
    expect(add('2026-10-24T07:00:00.000Z', 'PT24H', 'Europe/Berlin')).toBe('2026-10-25T07:00:00.000Z');
    // America/New_York, 2026-03-08 and 2026-11-01
    expect(add('2026-03-07T14:00:00.000Z', 'P1D', 'America/New_York')).toBe('2026-03-08T13:00:00.000Z');
    expect(add('2026-03-07T14:00:00.000Z', 'PT24H', 'America/New_York')).toBe('2026-03-08T14:00:00.000Z');
    expect(add('2026-10-31T13:00:00.000Z', 'P1D', 'America/New_York')).toBe('2026-11-01T14:00:00.000Z');
    expect(add('2026-10-31T13:00:00.000Z', 'PT1440M', 'America/New_York')).toBe('2026-11-01T13:00:00.000Z');
    // a week over the change: Wednesday 09:00 CET -> Wednesday 09:00 CEST
    expect(add('2026-03-25T08:00:00.000Z', 'P1W', 'Europe/Berlin')).toBe('2026-04-01T07:00:00.000Z');
  });

  it('adds the calendar part first, then elapsed time', () => {
    // 09:00 CET + P1D = 09:00 CEST, then two hours
    expect(add('2026-03-28T08:00:00.000Z', 'P1DT2H', 'Europe/Berlin')).toBe('2026-03-29T09:00:00.000Z');
    // 01:30 CEST on the 25th + PT1H30M crosses the repeated hour: 02:00 CET
    expect(add('2026-10-24T23:30:00.000Z', 'PT1H30M', 'Europe/Berlin')).toBe('2026-10-25T01:00:00.000Z');
    expect(add('2026-06-01T10:00:00.250Z', 'PT45S', 'Europe/Berlin')).toBe('2026-06-01T10:00:45.250Z');
  });

  it('resolves a skipped local time to the jump, a repeated one to its first pass', () => {
    // 02:30 on 2026-03-29 does not exist in Berlin: the clock jumps to 03:00 CEST
    expect(add('2026-03-28T01:30:00.000Z', 'P1D', 'Europe/Berlin')).toBe('2026-03-29T01:00:00.000Z');
    // 02:30 on 2026-10-25 happens twice: the CEST one
    expect(add('2026-10-24T00:30:00.000Z', 'P1D', 'Europe/Berlin')).toBe('2026-10-25T00:30:00.000Z');
    // starting in the second pass (02:30 CET), elapsed time alone leaves the instant as it is
    expect(add('2026-10-25T01:30:00.000Z', 'PT30M', 'Europe/Berlin')).toBe('2026-10-25T02:00:00.000Z');
    // 02:30 on 2026-03-08 does not exist in New York: 03:00 EDT
    expect(add('2026-03-07T07:30:00.000Z', 'P1D', 'America/New_York')).toBe('2026-03-08T07:00:00.000Z');
  });

  it('clamps to the end of a shorter month', () => {
    expect(add('2026-01-31T10:00:00.000Z', 'P1M', 'UTC')).toBe('2026-02-28T10:00:00.000Z');
    expect(add('2028-01-31T10:00:00.000Z', 'P1M', 'UTC')).toBe('2028-02-29T10:00:00.000Z');
    expect(add('2026-03-31T10:00:00.000Z', 'P1M', 'UTC')).toBe('2026-04-30T10:00:00.000Z');
    expect(add('2026-08-31T10:00:00.000Z', 'P6M', 'UTC')).toBe('2027-02-28T10:00:00.000Z');
    expect(add('2026-12-31T10:00:00.000Z', 'P2M', 'UTC')).toBe('2027-02-28T10:00:00.000Z');
    expect(add('2028-02-29T10:00:00.000Z', 'P1Y', 'UTC')).toBe('2029-02-28T10:00:00.000Z');
    expect(add('2028-02-29T10:00:00.000Z', 'P4Y', 'UTC')).toBe('2032-02-29T10:00:00.000Z');
    expect(add('2026-01-30T10:00:00.000Z', 'P1Y1M', 'UTC')).toBe('2027-02-28T10:00:00.000Z');
    // months before days: Jan 31 + 1 month = Feb 28, + 1 day = Mar 1
    expect(add('2026-01-31T10:00:00.000Z', 'P1M1D', 'UTC')).toBe('2026-03-01T10:00:00.000Z');
    // the month ends where the customer is: Jan 31 00:00 in Tokyo is still Jan 30 in UTC
    expect(add('2026-01-30T15:00:00.000Z', 'P1M', 'Asia/Tokyo')).toBe('2026-02-27T15:00:00.000Z');
    expect(add('2026-01-30T15:00:00.000Z', 'P1M', 'UTC')).toBe('2026-02-28T15:00:00.000Z');
  });

  it('falls back to UTC when the zone is missing or not a zone', () => {
    expect(add('2026-03-28T08:00:00.000Z', 'P1D', null)).toBe('2026-03-29T08:00:00.000Z');
    expect(add('2026-03-28T08:00:00.000Z', 'P1D', 'Mars/Olympus_Mons')).toBe('2026-03-29T08:00:00.000Z');
    expect(add('2026-03-28T08:00:00.000Z', 'P1D', '')).toBe('2026-03-29T08:00:00.000Z');
  });
});

describe('drip time: nextLocalTime', () => {
  const next = (from: string, until: WaitUntil, zone: string | null) => iso(nextLocalTime(at(from), until, zone));

  it('finds the next local time today or tomorrow', () => {
    expect(next('2026-06-01T08:00:00.000Z', { time: '09:00' }, 'UTC')).toBe('2026-06-01T09:00:00.000Z');
    expect(next('2026-06-01T10:00:00.000Z', { time: '09:00' }, 'UTC')).toBe('2026-06-02T09:00:00.000Z');
    // 22:30 JST -> 09:00 JST the next day
    expect(next('2026-06-01T13:30:00.000Z', { time: '09:00' }, 'Asia/Tokyo')).toBe('2026-06-02T00:00:00.000Z');
    expect(next('2026-06-01T13:30:00.000Z', { time: '00:00' }, 'Asia/Tokyo')).toBe('2026-06-01T15:00:00.000Z');
  });

  it('returns from itself when it is exactly at the time, and tomorrow a millisecond later', () => {
    const exactly = at('2026-06-01T07:00:00.000Z'); // 09:00 CEST
    expect(nextLocalTime(exactly, { time: '09:00' }, 'Europe/Berlin')).toBe(exactly);
    expect(next('2026-06-01T07:00:00.001Z', { time: '09:00' }, 'Europe/Berlin')).toBe('2026-06-02T07:00:00.000Z');
    expect(next('2026-06-01T06:59:59.999Z', { time: '09:00' }, 'Europe/Berlin')).toBe('2026-06-01T07:00:00.000Z');
  });

  it('waits for one of the weekdays', () => {
    // Friday 2026-06-05 10:00 CEST -> Monday 2026-06-08 09:00 CEST
    expect(next('2026-06-05T08:00:00.000Z', { time: '09:00', weekdays: ['mon'] }, 'Europe/Berlin')).toBe(
      '2026-06-08T07:00:00.000Z',
    );
    // Monday 08:00 -> the same Monday; Monday 09:30 -> Tuesday when allowed, else next Monday
    expect(next('2026-06-08T06:00:00.000Z', { time: '09:00', weekdays: ['mon'] }, 'Europe/Berlin')).toBe(
      '2026-06-08T07:00:00.000Z',
    );
    expect(next('2026-06-08T07:30:00.000Z', { time: '09:00', weekdays: ['mon', 'tue'] }, 'Europe/Berlin')).toBe(
      '2026-06-09T07:00:00.000Z',
    );
    expect(next('2026-06-08T07:30:00.000Z', { time: '09:00', weekdays: ['mon'] }, 'Europe/Berlin')).toBe(
      '2026-06-15T07:00:00.000Z',
    );
    // the weekday is the customer's: Sunday 23:30 UTC is already Monday 08:30 in Tokyo
    expect(next('2026-06-07T23:30:00.000Z', { time: '09:00', weekdays: ['mon'] }, 'Asia/Tokyo')).toBe(
      '2026-06-08T00:00:00.000Z',
    );
    expect(next('2026-06-07T23:30:00.000Z', { time: '09:00', weekdays: ['sun'] }, 'Asia/Tokyo')).toBe(
      '2026-06-14T00:00:00.000Z',
    );
  });

  it('takes the jump for a local time a spring-forward skips', () => {
    // Berlin 2026-03-29: 02:30 never shows; from midnight CET the wait ends at 03:00 CEST
    expect(next('2026-03-28T23:00:00.000Z', { time: '02:30' }, 'Europe/Berlin')).toBe('2026-03-29T01:00:00.000Z');
    expect(next('2026-03-28T23:00:00.000Z', { time: '02:30', weekdays: ['sun'] }, 'Europe/Berlin')).toBe(
      '2026-03-29T01:00:00.000Z',
    );
    const jump = at('2026-03-29T01:00:00.000Z');
    expect(nextLocalTime(jump, { time: '02:30' }, 'Europe/Berlin')).toBe(jump);
    // after the jump, that day's 02:30 has passed: Monday 02:30 CEST
    expect(next('2026-03-29T01:10:00.000Z', { time: '02:30' }, 'Europe/Berlin')).toBe('2026-03-30T00:30:00.000Z');
    // New York 2026-03-08: 02:30 skipped, 03:00 EDT
    expect(next('2026-03-08T05:00:00.000Z', { time: '02:30' }, 'America/New_York')).toBe('2026-03-08T07:00:00.000Z');
  });

  it('takes the first pass of a repeated local time, and the second when from is between them', () => {
    // Berlin 2026-10-25: 02:30 CEST (00:30Z), then 02:30 CET (01:30Z)
    expect(next('2026-10-24T23:00:00.000Z', { time: '02:30' }, 'Europe/Berlin')).toBe('2026-10-25T00:30:00.000Z');
    expect(next('2026-10-25T00:45:00.000Z', { time: '02:30' }, 'Europe/Berlin')).toBe('2026-10-25T01:30:00.000Z');
    expect(next('2026-10-25T01:45:00.000Z', { time: '02:30' }, 'Europe/Berlin')).toBe('2026-10-26T01:30:00.000Z');
    // New York 2026-11-01: 01:30 EDT (05:30Z), then 01:30 EST (06:30Z)
    expect(next('2026-11-01T04:00:00.000Z', { time: '01:30' }, 'America/New_York')).toBe('2026-11-01T05:30:00.000Z');
    expect(next('2026-11-01T06:00:00.000Z', { time: '01:30' }, 'America/New_York')).toBe('2026-11-01T06:30:00.000Z');
  });

  it('takes the second pass of a day a zone repeated (America/Juneau, 1867-10-18)', () => {
    // Alaska moved from Russian to American time: Saturday 19 October (+15:02:19) went back to Friday 18 (-08:57:41)
    expect(next('1867-10-18T21:00:00.000Z', { time: '20:00' }, 'America/Juneau')).toBe('1867-10-19T04:57:41.000Z');
  });

  it('passes over a day the zone skipped (Pacific/Apia, 2011-12-30)', () => {
    // Thursday 22:00 (UTC-10) -> Saturday 31 December 09:00 (UTC+14)
    expect(next('2011-12-30T08:00:00.000Z', { time: '09:00' }, 'Pacific/Apia')).toBe('2011-12-30T19:00:00.000Z');
    // that Friday never was: the next Friday
    expect(next('2011-12-30T08:00:00.000Z', { time: '09:00', weekdays: ['fri'] }, 'Pacific/Apia')).toBe(
      '2012-01-05T19:00:00.000Z',
    );
  });

  it('falls back to UTC, and refuses a malformed until', () => {
    expect(next('2026-06-01T08:00:00.000Z', { time: '09:00' }, 'Not/AZone')).toBe('2026-06-01T09:00:00.000Z');
    expect(next('2026-06-01T08:00:00.000Z', { time: '09:00' }, null)).toBe('2026-06-01T09:00:00.000Z');
    expect(refusal(() => nextLocalTime(at('2026-06-01T08:00:00Z'), { time: '9am' }, 'UTC')).field).toBe('until.time');
    expect(refusal(() => nextLocalTime(at('2026-06-01T08:00:00Z'), { time: '09:00', weekdays: [] }, 'UTC')).field).toBe(
      'until.weekdays',
    );
  });

  it('always lands on the first matching instant (property, checked with an independent wall-clock reader)', () => {
    const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
    const weekdayIn = (t: number, zone: string) =>
      dayNames[new Date(`${localOf(t, zone).slice(0, 10)}T00:00:00Z`).getUTCDay()];
    const hhmm = fc
      .tuple(fc.integer({ min: 4, max: 23 }), fc.constantFrom(0, 15, 30, 45))
      .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') }),
        fc.constantFrom('Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Lord_Howe', 'Asia/Kolkata'),
        hhmm,
        fc.option(fc.subarray(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const, { minLength: 1 })),
        (t, zone, time, weekdays) => {
          const until: WaitUntil = weekdays ? { time, weekdays: [...weekdays] } : { time };
          const days: readonly string[] = weekdays ?? dayNames;
          const matches = (x: number) => localOf(x, zone).slice(11, 16) === time && days.includes(weekdayIn(x, zone));
          const found = nextLocalTime(new Date(t), until, zone).getTime();
          expect(found).toBeGreaterThanOrEqual(t);
          expect(localOf(found, zone).slice(11)).toBe(`${time}:00`);
          expect(matches(found)).toBe(true);
          // no earlier quarter hour matches (these zones' offsets are whole quarter hours, and none skips 04:00 or later)
          for (let probe = Math.ceil(t / 900_000) * 900_000; probe < found; probe += 900_000) {
            if (matches(probe)) throw new Error(`missed ${new Date(probe).toISOString()}`);
          }
        },
      ),
      { numRuns: 60, seed: 20261025 },
    );
  });
});

describe('drip time: waitEnd', () => {
  it('waits the duration, then for the next local time', () => {
    // Friday 10:00 CEST + P2D = Sunday 10:00, then the next weekday 09:00: Monday
    const weekday: WaitUntil = { time: '09:00', weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'] };
    expect(
      iso(
        waitEnd(at('2026-06-05T08:00:00.000Z'), { duration: duration({ days: 2 }), until: weekday }, 'Europe/Berlin'),
      ),
    ).toBe('2026-06-08T07:00:00.000Z');
    // Friday 10:00 + PT12H = Friday 22:00, then 09:00 any day: Saturday
    expect(
      iso(
        waitEnd(
          at('2026-06-05T08:00:00.000Z'),
          { duration: duration({ hours: 12 }), until: { time: '09:00' } },
          'Europe/Berlin',
        ),
      ),
    ).toBe('2026-06-06T07:00:00.000Z');
  });

  it('takes either part alone', () => {
    expect(iso(waitEnd(at('2026-06-05T08:00:00.000Z'), { duration: duration({ days: 2 }) }, 'Europe/Berlin'))).toBe(
      '2026-06-07T08:00:00.000Z',
    );
    expect(iso(waitEnd(at('2026-06-05T08:00:00.000Z'), { until: { time: '09:00' } }, 'Europe/Berlin'))).toBe(
      '2026-06-06T07:00:00.000Z',
    );
  });
});

describe('drip time: date triggers', () => {
  const occurrence = (
    date: string,
    year: number,
    offsetDays: number,
    time: string,
    zone: string | null,
    recurrence: 'yearly' | 'once' = 'yearly',
  ) => iso(dateOccurrence(date, year, offsetDays, time, zone, recurrence));

  it('fires on the anniversary at the local time, in the customer zone', () => {
    expect(occurrence('1990-07-15', 2026, 0, '09:00', 'Asia/Tokyo')).toBe('2026-07-15T00:00:00.000Z');
    expect(occurrence('1985-07-15', 2026, 0, '09:00', 'Europe/London')).toBe('2026-07-15T08:00:00.000Z');
    expect(occurrence('1985-01-15', 2026, 0, '09:00', 'Europe/London')).toBe('2026-01-15T09:00:00.000Z');
    expect(occurrence('1990-03-07', 2026, 0, '09:00', 'America/Los_Angeles')).toBe('2026-03-07T17:00:00.000Z');
    expect(occurrence('1990-03-08', 2026, 0, '09:00', 'America/Los_Angeles')).toBe('2026-03-08T16:00:00.000Z');
    // UTC+14: local new year's day 09:00 is still 31 December in UTC
    expect(occurrence('1990-01-01', 2027, 0, '09:00', 'Pacific/Kiritimati')).toBe('2026-12-31T19:00:00.000Z');
    expect(occurrence('1990-01-01', 2027, 0, '09:00', null)).toBe('2027-01-01T09:00:00.000Z');
  });

  it('resolves a skipped or repeated local time as addDuration does', () => {
    // 02:30 on 2026-03-08 is skipped in Los Angeles: 03:00 PDT
    expect(occurrence('1990-03-08', 2026, 0, '02:30', 'America/Los_Angeles')).toBe('2026-03-08T10:00:00.000Z');
    // 01:30 on 2026-11-01 is repeated: the PDT one
    expect(occurrence('1990-11-01', 2026, 0, '01:30', 'America/Los_Angeles')).toBe('2026-11-01T08:30:00.000Z');
  });

  it('fires a Feb 29 birthday on Feb 28 in a common year', () => {
    expect(occurrence('2000-02-29', 2027, 0, '09:00', 'America/Los_Angeles')).toBe('2027-02-28T17:00:00.000Z');
    expect(occurrence('2000-02-29', 2028, 0, '09:00', 'America/Los_Angeles')).toBe('2028-02-29T17:00:00.000Z');
    expect(occurrenceKey('2000-02-29', 2027, 0, 'yearly')).toBe('2027-02-28');
    expect(occurrenceKey('2000-02-29', 2028, 0, 'yearly')).toBe('2028-02-29');
    // a week before: from the clamped date
    expect(occurrence('2000-02-29', 2027, -7, '09:00', 'Asia/Tokyo')).toBe('2027-02-21T00:00:00.000Z');
    expect(occurrence('2000-02-29', 2028, -7, '09:00', 'Asia/Tokyo')).toBe('2028-02-22T00:00:00.000Z');
  });

  it('moves by offsetDays across month and year ends', () => {
    // the 2027 birthday on 3 January is reminded on 27 December 2026
    expect(occurrence('1990-01-03', 2027, -7, '09:00', 'Asia/Tokyo')).toBe('2026-12-27T00:00:00.000Z');
    expect(occurrenceKey('1990-01-03', 2027, -7, 'yearly')).toBe('2026-12-27');
    expect(occurrence('1990-03-05', 2026, -7, '09:00', 'Europe/London')).toBe('2026-02-26T09:00:00.000Z');
    expect(occurrenceKey('1990-03-05', 2028, -7, 'yearly')).toBe('2028-02-27');
    expect(occurrence('1990-12-28', 2026, 7, '09:00', 'Europe/London')).toBe('2027-01-04T09:00:00.000Z');
    expect(occurrenceKey('1990-12-28', 2026, 7, 'yearly')).toBe('2027-01-04');
  });

  it("fires 'once' on the date itself plus offsetDays, whatever the year", () => {
    expect(occurrence('2026-09-01', 1999, -1, '09:00', 'Europe/Berlin', 'once')).toBe('2026-08-31T07:00:00.000Z');
    expect(occurrence('2026-09-01', 2040, -1, '09:00', 'Europe/Berlin', 'once')).toBe('2026-08-31T07:00:00.000Z');
    expect(occurrenceKey('2026-09-01', 2040, -1, 'once')).toBe('2026-08-31');
  });

  it.each<[() => unknown, string]>([
    [() => dateOccurrence('1990-02-30', 2026, 0, '09:00', 'UTC', 'yearly'), 'date'],
    [() => dateOccurrence('1990-02-29', 2028, 0, '09:00', 'UTC', 'yearly'), 'date'],
    [() => dateOccurrence('1990-7-15', 2026, 0, '09:00', 'UTC', 'yearly'), 'date'],
    [() => dateOccurrence('1990-07-15T00:00:00Z', 2026, 0, '09:00', 'UTC', 'yearly'), 'date'],
    [() => dateOccurrence('1990-07-15', 2026, 0, '9:00', 'UTC', 'yearly'), 'at'],
    [() => dateOccurrence('1990-07-15', 2026, 0.5, '09:00', 'UTC', 'yearly'), 'offsetDays'],
    [() => occurrenceKey('1990-13-01', 2026, 0, 'once'), 'date'],
    [() => anniversaryCandidates(at('2026-01-01T00:00:00Z'), at('2026-01-02T00:00:00Z'), 1.5), 'offsetDays'],
  ])('refuses bad input (%#) naming %s', (run, field) => {
    expect(refusal(run).field).toBe(field);
  });
});

describe('drip time: occurrencesBetween', () => {
  const between = (
    date: string,
    after: string,
    upTo: string,
    offsetDays: number,
    time: string,
    zone: string | null,
    recurrence: 'yearly' | 'once' = 'yearly',
  ) => occurrencesBetween(date, at(after), at(upTo), offsetDays, time, zone, recurrence).map((o) => [iso(o.at), o.key]);

  it('returns one occurrence per year over several years, in order', () => {
    expect(
      between('1990-06-15', '2024-01-01T00:00:00.000Z', '2029-01-01T00:00:00.000Z', 0, '09:00', 'Europe/Berlin'),
    ).toEqual([
      ['2024-06-15T07:00:00.000Z', '2024-06-15'],
      ['2025-06-15T07:00:00.000Z', '2025-06-15'],
      ['2026-06-15T07:00:00.000Z', '2026-06-15'],
      ['2027-06-15T07:00:00.000Z', '2027-06-15'],
      ['2028-06-15T07:00:00.000Z', '2028-06-15'],
    ]);
    expect(
      between('2000-02-29', '2026-01-01T00:00:00.000Z', '2030-01-01T00:00:00.000Z', 0, '09:00', 'America/Los_Angeles'),
    ).toEqual([
      ['2026-02-28T17:00:00.000Z', '2026-02-28'],
      ['2027-02-28T17:00:00.000Z', '2027-02-28'],
      ['2028-02-29T17:00:00.000Z', '2028-02-29'],
      ['2029-02-28T17:00:00.000Z', '2029-02-28'],
    ]);
  });

  it('excludes after and includes upTo', () => {
    const occurrenceAt = '2026-06-15T07:00:00.000Z';
    expect(between('1990-06-15', occurrenceAt, '2026-12-31T00:00:00.000Z', 0, '09:00', 'Europe/Berlin')).toEqual([]);
    expect(between('1990-06-15', '2026-06-15T06:59:59.999Z', occurrenceAt, 0, '09:00', 'Europe/Berlin')).toEqual([
      [occurrenceAt, '2026-06-15'],
    ]);
    expect(between('1990-06-15', occurrenceAt, occurrenceAt, 0, '09:00', 'Europe/Berlin')).toEqual([]);
    expect(between('1990-06-15', '2026-12-31T00:00:00.000Z', occurrenceAt, 0, '09:00', 'Europe/Berlin')).toEqual([]);
  });

  it('finds the occurrence of the next local year in the last UTC hours of this one', () => {
    expect(
      between('1990-01-01', '2026-12-31T00:00:00.000Z', '2027-01-01T00:00:00.000Z', 0, '09:00', 'Pacific/Kiritimati'),
    ).toEqual([['2026-12-31T19:00:00.000Z', '2027-01-01']]);
    expect(
      between('1990-01-03', '2026-12-26T00:00:00.000Z', '2026-12-28T00:00:00.000Z', -7, '09:00', 'Asia/Tokyo'),
    ).toEqual([['2026-12-27T00:00:00.000Z', '2026-12-27']]);
  });

  it("finds a 'once' occurrence only in its window", () => {
    const window = ['2026-08-01T00:00:00.000Z', '2026-09-01T00:00:00.000Z'] as const;
    expect(between('2026-09-01', ...window, -1, '09:00', 'Europe/Berlin', 'once')).toEqual([
      ['2026-08-31T07:00:00.000Z', '2026-08-31'],
    ]);
    expect(between('2026-09-01', ...window, 0, '09:00', 'Europe/Berlin', 'once')).toEqual([]);
    expect(between('2025-08-31', ...window, 0, '09:00', 'Europe/Berlin', 'once')).toEqual([]);
  });

  it('gives exactly one per year over five years, each on its key at the local time (property)', () => {
    // Dates and offsets that keep every occurrence months away from the window's edges (1 July).
    const farFromJuly = fc
      .tuple(
        fc.constantFrom(1, 2, 3, 4, 9, 10, 11, 12),
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 0, max: 3 }),
      )
      .map(([month, day, year]) => {
        const leap = year === 0;
        const last = month === 2 ? (leap ? 29 : 28) : [4, 9, 11].includes(month) ? 30 : 31;
        return `${1988 + year}-${String(month).padStart(2, '0')}-${String(Math.min(day, last)).padStart(2, '0')}`;
      });
    fc.assert(
      fc.property(
        farFromJuly,
        fc.integer({ min: -30, max: 30 }),
        fc.constantFrom('Asia/Tokyo', 'Europe/London', 'America/Los_Angeles', 'Pacific/Kiritimati', 'Etc/GMT+12'),
        fc.constantFrom('06:00', '09:00', '12:30', '23:59'),
        (date, offsetDays, zone, time) => {
          const found = occurrencesBetween(
            date,
            at('2021-07-01T00:00:00Z'),
            at('2026-07-01T00:00:00Z'),
            offsetDays,
            time,
            zone,
            'yearly',
          );
          expect(found).toHaveLength(5);
          const keyYears = found.map((o) => Number(o.key.slice(0, 4)));
          expect(keyYears).toEqual([0, 1, 2, 3, 4].map((i) => keyYears[0] + i));
          for (const o of found) expect(localOf(o.at, zone)).toBe(`${o.key} ${time}:00`);
        },
      ),
      { numRuns: 200, seed: 20280229 },
    );
  });
});

describe('drip time: anniversaryCandidates', () => {
  it('names the anniversaries a day window could reach from UTC-12 to UTC+14', () => {
    // 10 June UTC: June 9 late evening at UTC-12 up to June 11 morning at UTC+14
    const oneDay = anniversaryCandidates(at('2026-06-10T00:00:00Z'), at('2026-06-11T00:00:00Z'), 0);
    expect(oneDay).toEqual(expect.arrayContaining([609, 610, 611]));
    expect(oneDay.length).toBeLessThanOrEqual(6);
    expect(oneDay).toEqual([...oneDay].sort((a, b) => a - b));
    // a reminder a week ahead: birthdays a week later
    expect(anniversaryCandidates(at('2026-06-10T00:00:00Z'), at('2026-06-11T00:00:00Z'), -7)).toEqual(
      expect.arrayContaining([616, 617, 618]),
    );
    // across the year end: a 3 January birthday reminded on 27 December
    expect(anniversaryCandidates(at('2026-12-27T00:00:00Z'), at('2026-12-27T01:00:00Z'), -7)).toContain(103);
  });

  it('names 229 with 228, in every year', () => {
    const common = anniversaryCandidates(at('2027-02-28T08:00:00Z'), at('2027-02-28T09:00:00Z'), 0);
    expect(common).toEqual(expect.arrayContaining([228, 229]));
    expect(anniversaryCandidates(at('2028-02-29T08:00:00Z'), at('2028-02-29T09:00:00Z'), 0)).toEqual(
      expect.arrayContaining([228, 229]),
    );
  });

  it('names every day for a window of a year or more, and none for an empty one', () => {
    const all = anniversaryCandidates(at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z'), 0);
    expect(all).toHaveLength(366);
    expect(all[0]).toBe(101);
    expect(all).toContain(229);
    expect(all[365]).toBe(1231);
    expect(anniversaryCandidates(at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:00Z'), 0)).toEqual([]);
    expect(anniversaryCandidates(at('2026-01-02T00:00:00Z'), at('2026-01-01T00:00:00Z'), 0)).toEqual([]);
  });

  const DAY = 86_400_000;
  const everyDay = Array.from({ length: 366 }, (_, i) => new Date(Date.UTC(2000, 0, 1 + i)).toISOString().slice(0, 10));

  /** The anniversaries (as 'MMDD' numbers) that dateOccurrence puts in (after, upTo] but the candidates leave out. */
  function missed(after: number, upTo: number, offsetDays: number, zone: string, time: string): string[] {
    const candidates = new Set(anniversaryCandidates(new Date(after), new Date(upTo), offsetDays));
    const misses: string[] = [];
    for (const date of everyDay) {
      const [month, day] = [Number(date.slice(5, 7)), Number(date.slice(8))];
      if (candidates.has(month * 100 + day)) continue;
      for (let year = new Date(after).getUTCFullYear() - 1; year <= new Date(upTo).getUTCFullYear() + 1; year++) {
        // No zone is three days off UTC: only occurrences that near the window need the real computation.
        const near = Date.UTC(year, month - 1, day + offsetDays);
        if (near < after - 3 * DAY || near > upTo + 3 * DAY) continue;
        const t = dateOccurrence(date, year, offsetDays, time, zone, 'yearly').getTime();
        if (t > after && t <= upTo) misses.push(`${date.slice(5)} in ${year} at ${new Date(t).toISOString()}`);
      }
    }
    return misses;
  }

  it('never misses at the extremes: UTC-12 at 23:59 and UTC+14 at 00:00, an hour window at every hour', () => {
    for (const day of ['2027-02-27', '2027-02-28', '2028-02-28', '2028-02-29', '2026-12-31', '2027-01-01']) {
      for (let hour = 0; hour < 24; hour++) {
        const after = Date.parse(`${day}T00:00:00Z`) + hour * 3_600_000;
        for (const [zone, time] of [
          ['Etc/GMT+12', '23:59'],
          ['Etc/GMT+12', '00:00'],
          ['Pacific/Kiritimati', '00:00'],
          ['Pacific/Kiritimati', '23:59'],
        ]) {
          for (const offsetDays of [0, -7, 7]) {
            expect(missed(after, after + 3_600_000, offsetDays, zone, time)).toEqual([]);
          }
        }
      }
    }
  });

  it('never misses an anniversary whose occurrence falls in the window (brute force)', () => {
    const hhmm = fc.oneof(
      fc.constantFrom('00:00', '23:59', '02:30', '12:00'),
      fc
        .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
        .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`),
    );
    // Windows often start near a year end or a Feb 28/29, where the arithmetic turns.
    const start = fc.oneof(
      fc.integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2032-01-01T00:00:00Z') }),
      fc
        .tuple(
          fc.integer({ min: 2020, max: 2031 }),
          fc.constantFrom('01-01', '12-31', '02-28', '02-29', '03-01'),
          fc.integer({ min: -2 * DAY, max: 2 * DAY }),
        )
        .map(([year, day, jitter]) => {
          const base = Date.parse(`${year}-${day}T00:00:00Z`);
          return (Number.isNaN(base) ? Date.parse(`${year}-03-01T00:00:00Z`) : base) + jitter;
        }),
    );
    const zone = fc.constantFrom(
      'Pacific/Kiritimati',
      'Etc/GMT+12',
      'Pacific/Pago_Pago',
      'Pacific/Chatham',
      'America/Los_Angeles',
      'America/St_Johns',
      'Europe/London',
      'Asia/Kathmandu',
      'Australia/Lord_Howe',
      'UTC',
    );
    const length = fc.oneof(fc.integer({ min: 1, max: 3 * 3_600_000 }), fc.integer({ min: 1, max: 20 * DAY }));
    fc.assert(
      fc.property(start, length, fc.integer({ min: -40, max: 40 }), zone, hhmm, (after, span, offsetDays, z, time) => {
        const count = anniversaryCandidates(new Date(after), new Date(after + span), offsetDays).length;
        expect(count).toBeLessThanOrEqual(Math.ceil(span / DAY) + 5);
        expect(missed(after, after + span, offsetDays, z, time)).toEqual([]);
      }),
      { numRuns: 1000, seed: 20261231 },
    );
  });
});

describe('local time: localDateOf', () => {
  it('reads the date in the zone, UTC when the zone is missing or not one', () => {
    expect(localDateOf(at('2026-12-31T19:00:00Z'), 'Pacific/Kiritimati')).toBe('2027-01-01');
    expect(localDateOf(at('2026-12-31T19:00:00Z'), 'America/Los_Angeles')).toBe('2026-12-31');
    expect(localDateOf(at('2027-01-01T11:59:59.999Z'), 'Etc/GMT+12')).toBe('2026-12-31');
    expect(localDateOf(at('2026-12-31T19:00:00Z'), null)).toBe('2026-12-31');
    expect(localDateOf(at('2026-12-31T19:00:00Z'), 'Nowhere/Else')).toBe('2026-12-31');
  });
});
