import fc from 'fast-check';
import {
  DEFAULT_CONTACT_POLICY,
  frequencyCapDecision,
  nextAllowedTime,
  parseContactPolicy,
  QuietHours,
} from './contact-policy';
import { ValidationError } from './errors';

const SMS_QUIET: QuietHours = { start: '21:00', end: '08:00' };
const at = (iso: string) => new Date(iso);
const iso = (d: Date) => d.toISOString();

function fieldOf(input: unknown): string | undefined {
  try {
    parseContactPolicy(input);
  } catch (e) {
    if (e instanceof ValidationError) return e.field;
    throw e;
  }
  throw new Error('expected a ValidationError');
}

describe('contact policy: parsing', () => {
  it('defaults to no cap, SMS allowed 08:00-21:00 local, email at any hour', () => {
    expect(DEFAULT_CONTACT_POLICY).toEqual({
      frequencyCap: null,
      quietHours: { email: null, sms: { start: '21:00', end: '08:00' } },
    });
    expect(parseContactPolicy(undefined)).toEqual(DEFAULT_CONTACT_POLICY);
    expect(parseContactPolicy({})).toEqual(DEFAULT_CONTACT_POLICY);
    expect(parseContactPolicy({ quietHours: {} })).toEqual(DEFAULT_CONTACT_POLICY);
  });

  it('takes a full policy, and null turns a rule off', () => {
    const policy = {
      frequencyCap: { max: 3, periodHours: 168 },
      quietHours: { email: { start: '22:30', end: '06:00' }, sms: null },
    };
    expect(parseContactPolicy(policy)).toEqual(policy);
    expect(parseContactPolicy({ frequencyCap: null, quietHours: { sms: { start: '20:00', end: '09:15' } } })).toEqual({
      frequencyCap: null,
      quietHours: { email: null, sms: { start: '20:00', end: '09:15' } },
    });
  });

  it('stores quiet hours whose start equals their end as none', () => {
    expect(parseContactPolicy({ quietHours: { sms: { start: '09:00', end: '09:00' } } }).quietHours.sms).toBeNull();
  });

  it('hands out copies: changing a parsed policy leaves the default alone', () => {
    const policy = parseContactPolicy(undefined);
    policy.quietHours.sms!.start = '23:00';
    expect(DEFAULT_CONTACT_POLICY.quietHours.sms).toEqual({ start: '21:00', end: '08:00' });
    expect(Object.isFrozen(DEFAULT_CONTACT_POLICY.quietHours.sms)).toBe(true);
  });

  it.each<[unknown, string]>([
    ['strict', 'contactPolicy'],
    [[], 'contactPolicy'],
    [{ cap: 3 }, 'contactPolicy.cap'],
    [{ frequencyCap: 3 }, 'contactPolicy.frequencyCap'],
    [{ frequencyCap: { max: 0, periodHours: 24 } }, 'contactPolicy.frequencyCap.max'],
    [{ frequencyCap: { max: 2.5, periodHours: 24 } }, 'contactPolicy.frequencyCap.max'],
    [{ frequencyCap: { max: '3', periodHours: 24 } }, 'contactPolicy.frequencyCap.max'],
    [{ frequencyCap: { max: 1001, periodHours: 24 } }, 'contactPolicy.frequencyCap.max'],
    [{ frequencyCap: { max: 3 } }, 'contactPolicy.frequencyCap.periodHours'],
    [{ frequencyCap: { max: 3, periodHours: 0 } }, 'contactPolicy.frequencyCap.periodHours'],
    [{ frequencyCap: { max: 3, periodHours: 24, per: 'day' } }, 'contactPolicy.frequencyCap.per'],
    [{ quietHours: null }, 'contactPolicy.quietHours'],
    [{ quietHours: { push: null } }, 'contactPolicy.quietHours.push'],
    [{ quietHours: { sms: '21:00-08:00' } }, 'contactPolicy.quietHours.sms'],
    [{ quietHours: { sms: { start: '21:00' } } }, 'contactPolicy.quietHours.sms.end'],
    [{ quietHours: { sms: { start: '24:00', end: '08:00' } } }, 'contactPolicy.quietHours.sms.start'],
    [{ quietHours: { email: { start: '9:00', end: '08:00' } } }, 'contactPolicy.quietHours.email.start'],
    [{ quietHours: { email: { start: '21:00', end: '08:60' } } }, 'contactPolicy.quietHours.email.end'],
  ])('refuses %j naming %s', (input, field) => {
    expect(fieldOf(input)).toBe(field);
  });

  it('names the path it was given', () => {
    try {
      parseContactPolicy({ frequencyCap: { max: -1, periodHours: 1 } }, 'program.contactPolicy');
    } catch (e) {
      expect((e as ValidationError).field).toBe('program.contactPolicy.frequencyCap.max');
      expect((e as ValidationError).message).toBe(
        'program.contactPolicy.frequencyCap.max must be an integer from 1 to 1000',
      );
      return;
    }
    throw new Error('expected a ValidationError');
  });
});

describe('contact policy: quiet hours', () => {
  it('defers a Tokyo customer at 22:30 local to 08:00 local the next day', () => {
    // 2026-06-01 22:30 JST (UTC+9)
    const now = at('2026-06-01T13:30:00.000Z');
    expect(iso(nextAllowedTime(now, SMS_QUIET, 'Asia/Tokyo'))).toBe('2026-06-01T23:00:00.000Z');
    // 03:00 JST on the 2nd: the same morning
    expect(iso(nextAllowedTime(at('2026-06-01T18:00:00.000Z'), SMS_QUIET, 'Asia/Tokyo'))).toBe(
      '2026-06-01T23:00:00.000Z',
    );
  });

  it('returns the same instant when sending is allowed', () => {
    const noon = at('2026-06-01T03:00:00.000Z');
    expect(nextAllowedTime(noon, SMS_QUIET, 'Asia/Tokyo')).toBe(noon);
    expect(nextAllowedTime(noon, null, 'Asia/Tokyo')).toBe(noon);
    expect(nextAllowedTime(noon, { start: '12:00', end: '12:00' }, 'Asia/Tokyo')).toBe(noon);
  });

  it('is quiet from start (inclusive) to end (exclusive), to the millisecond', () => {
    const check = (utc: string) => iso(nextAllowedTime(at(utc), SMS_QUIET, 'UTC'));
    expect(check('2026-06-01T20:59:59.999Z')).toBe('2026-06-01T20:59:59.999Z');
    expect(check('2026-06-01T21:00:00.000Z')).toBe('2026-06-02T08:00:00.000Z');
    expect(check('2026-06-01T23:59:59.999Z')).toBe('2026-06-02T08:00:00.000Z');
    expect(check('2026-06-02T00:00:00.000Z')).toBe('2026-06-02T08:00:00.000Z');
    expect(check('2026-06-02T07:59:59.999Z')).toBe('2026-06-02T08:00:00.000Z');
    expect(check('2026-06-02T08:00:00.000Z')).toBe('2026-06-02T08:00:00.000Z');
  });

  it('handles quiet hours inside one day and ending at midnight', () => {
    const lunch = { start: '12:00', end: '13:00' };
    expect(iso(nextAllowedTime(at('2026-06-01T12:30:00.000Z'), lunch, 'UTC'))).toBe('2026-06-01T13:00:00.000Z');
    expect(iso(nextAllowedTime(at('2026-06-01T11:59:00.000Z'), lunch, 'UTC'))).toBe('2026-06-01T11:59:00.000Z');
    expect(iso(nextAllowedTime(at('2026-06-01T13:00:00.000Z'), lunch, 'UTC'))).toBe('2026-06-01T13:00:00.000Z');
    const lateEvening = { start: '22:00', end: '00:00' };
    expect(iso(nextAllowedTime(at('2026-12-31T23:00:00.000Z'), lateEvening, 'UTC'))).toBe('2027-01-01T00:00:00.000Z');
  });

  describe('across DST changes', () => {
    it('Europe/Berlin spring forward (2026-03-29, 02:00 CET -> 03:00 CEST)', () => {
      // 22:30 CET on the 28th; 08:00 next morning is already CEST (UTC+2), not 07:00Z
      expect(iso(nextAllowedTime(at('2026-03-28T21:30:00.000Z'), SMS_QUIET, 'Europe/Berlin'))).toBe(
        '2026-03-29T06:00:00.000Z',
      );
      // quiet until 02:30, which does not exist that night: resume when the clock jumps to 03:00
      const skipped = { start: '01:00', end: '02:30' };
      expect(iso(nextAllowedTime(at('2026-03-29T00:15:00.000Z'), skipped, 'Europe/Berlin'))).toBe(
        '2026-03-29T01:00:00.000Z',
      );
      // the instant after the jump is 03:00 CEST: allowed
      const after = at('2026-03-29T01:00:00.000Z');
      expect(nextAllowedTime(after, skipped, 'Europe/Berlin')).toBe(after);
    });

    it('Europe/Berlin fall back (2026-10-25, 03:00 CEST -> 02:00 CET)', () => {
      // 22:00 CEST on the 24th; 08:00 next morning is CET (UTC+1)
      expect(iso(nextAllowedTime(at('2026-10-24T20:00:00.000Z'), SMS_QUIET, 'Europe/Berlin'))).toBe(
        '2026-10-25T07:00:00.000Z',
      );
      const repeated = { start: '01:00', end: '02:30' };
      // 02:15 CEST, first pass: resume at 02:30 CEST
      expect(iso(nextAllowedTime(at('2026-10-25T00:15:00.000Z'), repeated, 'Europe/Berlin'))).toBe(
        '2026-10-25T00:30:00.000Z',
      );
      // 02:45 CEST: allowed
      const allowed = at('2026-10-25T00:45:00.000Z');
      expect(nextAllowedTime(allowed, repeated, 'Europe/Berlin')).toBe(allowed);
      // 02:00 CET, second pass through the repeated hour: resume at 02:30 CET
      expect(iso(nextAllowedTime(at('2026-10-25T01:00:00.000Z'), repeated, 'Europe/Berlin'))).toBe(
        '2026-10-25T01:30:00.000Z',
      );
    });

    it('America/New_York (2026-03-08 and 2026-11-01)', () => {
      // 22:00 EST on 7 March; 08:00 EDT (UTC-4) on the 8th
      expect(iso(nextAllowedTime(at('2026-03-08T03:00:00.000Z'), SMS_QUIET, 'America/New_York'))).toBe(
        '2026-03-08T12:00:00.000Z',
      );
      // quiet until 02:30, skipped: 01:45 EST resumes at 03:00 EDT
      expect(
        iso(nextAllowedTime(at('2026-03-08T06:45:00.000Z'), { start: '01:30', end: '02:30' }, 'America/New_York')),
      ).toBe('2026-03-08T07:00:00.000Z');
      // 22:00 EDT on 31 October; 08:00 EST (UTC-5) on 1 November
      expect(iso(nextAllowedTime(at('2026-11-01T02:00:00.000Z'), SMS_QUIET, 'America/New_York'))).toBe(
        '2026-11-01T13:00:00.000Z',
      );
    });

    it('a zone that skipped a whole day (Pacific/Apia, 2011-12-30)', () => {
      // 22:00 on the 29th (UTC-10); the 30th never happened there and midnight on the 31st (UTC+14) is still quiet
      expect(iso(nextAllowedTime(at('2011-12-30T08:00:00.000Z'), SMS_QUIET, 'Pacific/Apia'))).toBe(
        '2011-12-30T18:00:00.000Z',
      );
    });
  });

  it('falls back when the zone is missing or not a zone', () => {
    const now = at('2026-06-01T13:30:00.000Z'); // 22:30 in Tokyo, 13:30 in UTC
    expect(iso(nextAllowedTime(now, SMS_QUIET, 'Mars/Olympus_Mons', 'Asia/Tokyo'))).toBe('2026-06-01T23:00:00.000Z');
    expect(iso(nextAllowedTime(now, SMS_QUIET, null, 'Asia/Tokyo'))).toBe('2026-06-01T23:00:00.000Z');
    expect(iso(nextAllowedTime(now, SMS_QUIET, '', 'Asia/Tokyo'))).toBe('2026-06-01T23:00:00.000Z');
    // default fallback UTC: 13:30 is allowed
    expect(nextAllowedTime(now, SMS_QUIET, 'Not/AZone')).toBe(now);
    // a bad fallback ends at UTC too
    expect(nextAllowedTime(now, SMS_QUIET, null, 'Nowhere')).toBe(now);
    expect(iso(nextAllowedTime(at('2026-06-01T22:00:00.000Z'), SMS_QUIET, null, 'Nowhere'))).toBe(
      '2026-06-02T08:00:00.000Z',
    );
  });

  it('always lands on the first allowed instant (property, checked with an independent wall-clock reader)', () => {
    // 'sv-SE' prints "YYYY-MM-DD HH:MM:SS"; a different route from the code under test.
    const minuteOfDay = (t: number, zone: string) => {
      const [h, m] = new Date(t).toLocaleString('sv-SE', { timeZone: zone }).split(' ')[1].split(':').map(Number);
      return h * 60 + m;
    };
    const quietAt = (t: number, zone: string, q: QuietHours) => {
      const m = minuteOfDay(t, zone);
      const [s, e] = [q.start, q.end].map((x) => Number(x.slice(0, 2)) * 60 + Number(x.slice(3)));
      return s < e ? m >= s && m < e : m >= s || m < e;
    };
    const hhmm = fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 15, 30, 45))
      .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') }),
        fc.constantFrom('Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Lord_Howe', 'Asia/Kolkata'),
        hhmm,
        hhmm,
        (t, zone, start, end) => {
          fc.pre(start !== end);
          const quiet = { start, end };
          const next = nextAllowedTime(new Date(t), quiet, zone).getTime();
          expect(next).toBeGreaterThanOrEqual(t);
          expect(quietAt(next, zone, quiet)).toBe(false);
          if (next > t) {
            expect(quietAt(next - 1, zone, quiet)).toBe(true);
            expect(quietAt(t, zone, quiet)).toBe(true);
            for (let probe = t; probe < next; probe += 10 * 60_000) expect(quietAt(probe, zone, quiet)).toBe(true);
          }
        },
      ),
      { numRuns: 300, seed: 20260329 },
    );
  });
});

describe('contact policy: frequency cap', () => {
  const now = at('2026-06-01T12:00:00.000Z');
  const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);
  const cap = { max: 3, periodHours: 24 };

  it('allows anything without a cap', () => {
    expect(frequencyCapDecision(now, [hoursAgo(1), hoursAgo(2), hoursAgo(3), hoursAgo(4)], null)).toEqual({
      allowed: true,
    });
  });

  it('allows while fewer than max sends are in the window', () => {
    expect(frequencyCapDecision(now, [], cap)).toEqual({ allowed: true });
    expect(frequencyCapDecision(now, [hoursAgo(1), hoursAgo(5)], cap)).toEqual({ allowed: true });
  });

  it('at the cap, waits until the oldest send in the window leaves it', () => {
    expect(frequencyCapDecision(now, [hoursAgo(1), hoursAgo(23), hoursAgo(10)], cap)).toEqual({
      allowed: false,
      notBefore: at('2026-06-01T13:00:00.000Z'),
    });
  });

  it('does not count sends outside the window (a send exactly periodHours ago has left it)', () => {
    expect(frequencyCapDecision(now, [hoursAgo(1), hoursAgo(10), hoursAgo(25)], cap)).toEqual({ allowed: true });
    expect(frequencyCapDecision(now, [hoursAgo(1), hoursAgo(10), hoursAgo(24)], cap)).toEqual({ allowed: true });
    expect(
      frequencyCapDecision(now, [hoursAgo(1), hoursAgo(10), hoursAgo(24), hoursAgo(30), hoursAgo(23.5)], cap),
    ).toEqual({
      allowed: false,
      notBefore: at('2026-06-01T12:30:00.000Z'),
    });
  });

  it('over the cap, waits until enough sends leave the window for one more', () => {
    // four in the window, max 3: two must leave, so the second oldest decides
    expect(frequencyCapDecision(now, [hoursAgo(2), hoursAgo(20), hoursAgo(22), hoursAgo(1)], cap)).toEqual({
      allowed: false,
      notBefore: at('2026-06-01T16:00:00.000Z'),
    });
    // and at notBefore it is allowed
    const later = at('2026-06-01T16:00:00.000Z');
    expect(frequencyCapDecision(later, [hoursAgo(2), hoursAgo(20), hoursAgo(22), hoursAgo(1)], cap)).toEqual({
      allowed: true,
    });
  });

  it('uses a one-per-week cap', () => {
    expect(frequencyCapDecision(now, [hoursAgo(100)], { max: 1, periodHours: 168 })).toEqual({
      allowed: false,
      notBefore: at('2026-06-04T08:00:00.000Z'), // 100 h ago + 168 h = 68 h from now
    });
  });
});
