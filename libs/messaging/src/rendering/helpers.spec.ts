import { formatDate, formatMoney, IntlFormats, offerCode, toDateValue, toMinorUnits } from './helpers';
import { RenderContext, RenderState } from './render-state';

const stateFor = (customer: Record<string, unknown>, extra: Partial<RenderContext> = {}) =>
  new RenderState({ customer, unsubscribeUrl: 'https://t.example/u/1', ...extra }, null);

describe('formatDate', () => {
  const formats = new IntlFormats();

  it('shows an instant as the calendar day of the customer time zone', () => {
    const tokyo = stateFor({ locale: 'en-US', timeZone: 'Asia/Tokyo' });
    expect(formatDate(formats, tokyo, '2026-12-31T23:30:00Z', 'long')).toBe('January 1, 2027');
    expect(formatDate(formats, tokyo, new Date('2026-12-31T23:30:00Z'), 'short')).toBe('1/1/27');
    expect(formatDate(formats, tokyo, Date.UTC(2026, 11, 31, 23, 30), 'medium')).toBe('Jan 1, 2027');
    const newYork = stateFor({ locale: 'en-US', timeZone: 'America/New_York' });
    expect(formatDate(formats, newYork, '2026-12-31T23:30:00Z', 'long')).toBe('December 31, 2026');
  });

  it('shows a bare date as that day in every time zone', () => {
    for (const timeZone of ['Pacific/Kiritimati', 'Pacific/Pago_Pago', 'UTC']) {
      expect(formatDate(formats, stateFor({ locale: 'en-US', timeZone }), '1990-05-01', 'long')).toBe('May 1, 1990');
    }
  });

  it('defaults to the long style, en-US and UTC, and survives a bad locale or time zone', () => {
    expect(formatDate(formats, stateFor({}), '2026-05-31T23:30:00Z', undefined)).toBe('May 31, 2026');
    expect(
      formatDate(
        formats,
        stateFor({ locale: 'xx-invalid-!!', timeZone: 'Mars/Olympus' }),
        '2026-05-31T12:00:00Z',
        'long',
      ),
    ).toBe('May 31, 2026');
  });

  it('renders nothing for a missing value, and notes a value that is not a date', () => {
    const state = stateFor({});
    expect(formatDate(formats, state, null, 'long')).toBe('');
    expect(formatDate(formats, state, '', 'long')).toBe('');
    expect(state.notes).toEqual([]);
    expect(formatDate(formats, state, 'soon', 'long')).toBe('');
    expect(state.notes).toEqual(['formatDate: "soon" is not a date']);
  });
});

describe('formatMoney', () => {
  const formats = new IntlFormats();

  it('reads integer minor units with the currency digits, in the customer locale', () => {
    expect(formatMoney(formats, stateFor({ locale: 'de-DE' }), 1999, 'EUR')).toBe('19,99\u00a0€');
    expect(formatMoney(formats, stateFor({ locale: 'en-US' }), 1999, 'EUR')).toBe('€19.99');
    expect(formatMoney(formats, stateFor({ locale: 'en-US' }), 1999, 'USD')).toBe('$19.99');
    expect(formatMoney(formats, stateFor({ locale: 'ja-JP' }), 1500, 'JPY')).toBe('￥1,500');
    expect(formatMoney(formats, stateFor({ locale: 'en-US' }), '12345', 'KWD')).toBe('KWD\u00a012.345');
  });

  it('notes what it cannot format', () => {
    const state = stateFor({ locale: 'en-US' });
    expect(formatMoney(formats, state, 19.99, 'EUR')).toBe('');
    expect(formatMoney(formats, state, 1999, 'EURO')).toBe('');
    expect(formatMoney(formats, state, undefined, 'EUR')).toBe('');
    expect(state.notes).toEqual([
      'money: "19.99" is not an amount in minor units',
      'money: "EURO" is not a currency code',
    ]);
  });
});

describe('value parsing', () => {
  it('toMinorUnits accepts integers only', () => {
    expect([1999, '1999', ' -5 ', '100.00', 10n, 1.5, '1e3', 'abc'].map(toMinorUnits)).toEqual([
      1999,
      1999,
      -5,
      100,
      10,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('toDateValue tells a calendar day from an instant', () => {
    expect(toDateValue('2026-05-01')).toEqual({ date: new Date('2026-05-01T00:00:00Z'), isCalendarDay: true });
    expect(toDateValue('2026-05-01T10:00:00+02:00')).toEqual({
      date: new Date('2026-05-01T08:00:00Z'),
      isCalendarDay: false,
    });
    expect(toDateValue('2026-02-30x')).toBeUndefined();
  });
});

describe('offerCode', () => {
  it('prefers the cell response code, then the offer code, and notes when there is neither', () => {
    expect(offerCode(stateFor({}, { cell: { responseCode: 'K7Q2M9XD' }, offer: { code: 'SPRING' } }))).toBe('K7Q2M9XD');
    expect(offerCode(stateFor({}, { cell: { responseCode: '' }, offer: { code: 'SPRING' } }))).toBe('SPRING');
    const state = stateFor({}, { cell: null, offer: null });
    expect(offerCode(state)).toBe('');
    expect(state.notes).toEqual(['offerCode: this customer has neither a response code nor an offer code']);
  });
});
