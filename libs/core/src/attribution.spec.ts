import { AttributedConversion, attributeByWindow, attributionWindowEnd, conversionCounts, Touch } from './attribution';

const DAY = 86_400_000;
const d = (iso: string) => new Date(iso);

const touch = (over: Partial<Touch> = {}): Touch => ({
  programId: 'p-spring',
  cellId: 'c-spring-a',
  responseCode: 'AAAAAAAA',
  isControl: false,
  at: d('2024-03-01T10:00:00.000Z'),
  windowDays: 30,
  ...over,
});

describe('attributionWindowEnd', () => {
  it('adds windowDays days of 24 hours to at', () => {
    expect(attributionWindowEnd(touch())).toEqual(d('2024-03-31T10:00:00.000Z'));
    expect(attributionWindowEnd(touch({ windowDays: 1 }))).toEqual(d('2024-03-02T10:00:00.000Z'));
    expect(attributionWindowEnd(touch({ windowDays: 0 }))).toEqual(d('2024-03-01T10:00:00.000Z'));
  });

  it('counts 24-hour days across a daylight saving change', () => {
    // Europe moved its clocks on 2024-03-31; UTC milliseconds do not care.
    const t = touch({ at: d('2024-03-30T12:00:00.000Z'), windowDays: 2 });
    expect(attributionWindowEnd(t).getTime() - t.at.getTime()).toBe(2 * DAY);
  });
});

describe('attributeByWindow', () => {
  const t = touch(); // window [2024-03-01T10:00Z, 2024-03-31T10:00Z)

  it('credits a conversion from the instant of the send up to, not including, the end of the window', () => {
    expect(attributeByWindow([t], d('2024-03-01T10:00:00.000Z'))).toBe(t);
    expect(attributeByWindow([t], d('2024-03-15T00:00:00.000Z'))).toBe(t);
    expect(attributeByWindow([t], d('2024-03-31T09:59:59.999Z'))).toBe(t);
    expect(attributeByWindow([t], d('2024-03-31T10:00:00.000Z'))).toBeNull();
    expect(attributeByWindow([t], d('2024-04-10T00:00:00.000Z'))).toBeNull();
  });

  it('never credits a conversion made before the touch', () => {
    expect(attributeByWindow([t], d('2024-03-01T09:59:59.999Z'))).toBeNull();
    expect(attributeByWindow([t], d('2024-02-01T00:00:00.000Z'))).toBeNull();
  });

  it('gives nothing to nobody', () => {
    expect(attributeByWindow([], d('2024-03-15T00:00:00.000Z'))).toBeNull();
  });

  it('credits the latest of two overlapping programs', () => {
    // spring: sent 1 March, 30 days; flash: sent 10 March, 7 days -> [10 March, 17 March)
    const spring = touch();
    const flash = touch({
      programId: 'p-flash',
      cellId: 'c-flash-a',
      at: d('2024-03-10T08:00:00.000Z'),
      windowDays: 7,
    });
    expect(attributeByWindow([spring, flash], d('2024-03-05T00:00:00.000Z'))).toBe(spring); // before flash
    expect(attributeByWindow([spring, flash], d('2024-03-12T00:00:00.000Z'))).toBe(flash); // both open
    expect(attributeByWindow([flash, spring], d('2024-03-12T00:00:00.000Z'))).toBe(flash); // order of the list
    expect(attributeByWindow([spring, flash], d('2024-03-17T08:00:00.000Z'))).toBe(spring); // flash closed
    expect(attributeByWindow([spring, flash], d('2024-03-31T10:00:00.000Z'))).toBeNull(); // both closed
  });

  it('credits a later touch even when its window ends before an earlier one', () => {
    const long = touch({ programId: 'p-long', windowDays: 90 });
    const short = touch({ programId: 'p-short', at: d('2024-03-20T10:00:00.000Z'), windowDays: 1 });
    expect(attributeByWindow([long, short], d('2024-03-20T11:00:00.000Z'))).toBe(short);
    expect(attributeByWindow([long, short], d('2024-03-21T10:00:00.000Z'))).toBe(long);
  });

  it('credits a control-cell member like anyone else, from the program launch', () => {
    const control = touch({
      programId: 'p-summer',
      cellId: 'c-summer-control',
      isControl: true,
      at: d('2024-03-05T00:00:00.000Z'), // launch
      windowDays: 14,
    });
    const spring = touch();
    expect(attributeByWindow([control], d('2024-03-06T00:00:00.000Z'))).toBe(control);
    expect(attributeByWindow([control], d('2024-03-04T23:59:59.999Z'))).toBeNull(); // before launch
    // the launch is later than the spring send, so the control cell gets the conversion...
    expect(attributeByWindow([spring, control], d('2024-03-06T00:00:00.000Z'))).toBe(control);
    // ...until its 14 days are over, on 19 March at midnight
    expect(attributeByWindow([spring, control], d('2024-03-19T00:00:00.000Z'))).toBe(spring);
    expect(attributeByWindow([control], d('2024-03-19T00:00:00.000Z'))).toBeNull();
  });

  it('breaks a tie on at by programId, then cellId, ascending', () => {
    const at = d('2024-03-10T00:00:00.000Z');
    const b1 = touch({ programId: 'p-b', cellId: 'c-1', at });
    const a2 = touch({ programId: 'p-a', cellId: 'c-2', at });
    const a1 = touch({ programId: 'p-a', cellId: 'c-1', at });
    const when = d('2024-03-11T00:00:00.000Z');
    for (const order of [
      [b1, a2, a1],
      [a1, a2, b1],
      [a2, b1, a1],
    ]) {
      expect(attributeByWindow(order, when)).toBe(a1);
    }
    expect(attributeByWindow([b1, a2], when)).toBe(a2);
    // a later touch still beats a smaller programId
    const later = touch({ programId: 'p-z', at: d('2024-03-10T00:00:00.001Z') });
    expect(attributeByWindow([a1, later], when)).toBe(later);
  });

  it('compares ids by code unit, not by locale', () => {
    const at = d('2024-03-10T00:00:00.000Z');
    const upper = touch({ programId: 'Z', at });
    const lower = touch({ programId: 'a', at });
    expect(attributeByWindow([lower, upper], d('2024-03-11T00:00:00.000Z'))).toBe(upper);
  });

  it('attributes nothing by window for a window of 0 days, even at the instant of the send', () => {
    const zero = touch({ windowDays: 0 });
    expect(attributeByWindow([zero], zero.at)).toBeNull();
    expect(attributeByWindow([zero], d('2024-03-02T00:00:00.000Z'))).toBeNull();
    // and does not hide an older touch that is still open
    const older = touch({ programId: 'p-older', at: d('2024-02-20T00:00:00.000Z') });
    expect(attributeByWindow([older, zero], d('2024-03-02T00:00:00.000Z'))).toBe(older);
  });
});

describe('conversionCounts', () => {
  const conv = (customerId: string, cellId: string, value: number, programId = 'p-spring'): AttributedConversion => ({
    customerId,
    programId,
    cellId,
    value,
  });

  it('counts converters once per customer, and every conversion for revenue', () => {
    // cell A: alice twice (12.00 + 8.00), bob once (5.00); cell B: carol, a sign-up worth 0
    const counts = conversionCounts([
      conv('alice', 'c-a', 1200),
      conv('bob', 'c-a', 500),
      conv('alice', 'c-a', 800),
      conv('carol', 'c-b', 0),
    ]);
    expect(counts).toEqual(
      new Map([
        ['c-a', { converters: 2, conversions: 3, revenue: 2500 }],
        ['c-b', { converters: 1, conversions: 1, revenue: 0 }],
      ]),
    );
  });

  it('counts a customer once in each program cell it converted in', () => {
    const counts = conversionCounts([
      conv('alice', 'c-spring-a', 1000, 'p-spring'),
      conv('alice', 'c-flash-control', 300, 'p-flash'),
      conv('alice', 'c-flash-control', 300, 'p-flash'),
    ]);
    expect(counts.get('c-spring-a')).toEqual({ converters: 1, conversions: 1, revenue: 1000 });
    expect(counts.get('c-flash-control')).toEqual({ converters: 1, conversions: 2, revenue: 600 });
  });

  it('returns an empty map for no conversions, and no entry for cells without any', () => {
    expect(conversionCounts([]).size).toBe(0);
    expect(conversionCounts([conv('bob', 'c-a', 1)]).has('c-b')).toBe(false);
  });
});
