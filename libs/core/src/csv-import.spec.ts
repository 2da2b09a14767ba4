import {
  copyValue,
  csvAttributeValue,
  mapImportHeader,
  parseByteSize,
  parseCsvBoolean,
  parseDelimiter,
  recordLines,
} from './csv-import';
import { ValidationError } from './errors';

const fails = (fn: () => unknown, match: RegExp) => {
  expect(fn).toThrow(ValidationError);
  expect(fn).toThrow(match);
};

describe('import header mapping', () => {
  it('maps spellings case-, space- and underscore-insensitively, attributes keep their name', () => {
    expect(
      mapImportHeader('customers', ['External ID', 'E-Mail', 'first_name', 'CONSENT EMAIL', 'attributes.loyaltyTier']),
    ).toEqual([
      { header: 'External ID', field: 'externalId' },
      { header: 'E-Mail', field: 'email' },
      { header: 'first_name', field: 'firstName' },
      { header: 'CONSENT EMAIL', field: 'consentEmail' },
      { header: 'attributes.loyaltyTier', field: 'attributes', attribute: 'loyaltyTier' },
    ]);
    expect(
      mapImportHeader('orders', ['order id', 'customer', 'date', 'total', 'currency', 'coupon']).map((c) => c.field),
    ).toEqual(['externalId', 'customerExternalId', 'orderedAt', 'amount', 'currency', 'offerCode']);
  });

  it('refuses unknown, repeated, empty and missing required columns, naming them', () => {
    fails(() => mapImportHeader('customers', ['externalId', 'emial']), /unknown column "emial"/);
    fails(
      () => mapImportHeader('customers', ['externalId', 'email', 'E-mail']),
      /"email" and "E-mail" both give email/,
    );
    fails(() => mapImportHeader('customers', ['email']), /no externalId column/);
    fails(() => mapImportHeader('customers', ['externalId', '']), /column 2 has an empty header/);
    fails(() => mapImportHeader('suppressions', ['channel', 'address']), /no reason column/);
    fails(() => mapImportHeader('customers', ['externalId', 'attributes.bad-name']), /unknown column/);
  });
});

describe('CSV values', () => {
  it('reads booleans in the documented spellings', () => {
    expect(['true', 'YES', 'y', '1', ' True '].map((v) => parseCsvBoolean(v, 'consentEmail'))).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['false', 'No', 'n', '0'].map((v) => parseCsvBoolean(v, 'consentEmail'))).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(parseCsvBoolean('', 'consentEmail')).toBeUndefined();
    fails(() => parseCsvBoolean('maybe', 'consentSms'), /consentSms must be true\/false/);
  });

  it('types attribute cells without mangling codes', () => {
    expect(csvAttributeValue('42')).toBe(42);
    expect(csvAttributeValue('-3.5')).toBe(-3.5);
    expect(csvAttributeValue('01234')).toBe('01234');
    expect(csvAttributeValue('true')).toBe(true);
    expect(csvAttributeValue('gold')).toBe('gold');
    expect(csvAttributeValue('1e5')).toBe('1e5');
  });

  it('escapes COPY text format', () => {
    expect(copyValue(null)).toBe('\\N');
    expect(copyValue('a\tb\nc\\d\re')).toBe('a\\tb\\nc\\\\d\\re');
    expect(copyValue('\\N')).toBe('\\\\N');
    expect(copyValue(7)).toBe('7');
  });

  it('counts the physical lines of a record', () => {
    expect(recordLines(['a', 'b'])).toBe(1);
    expect(recordLines(['line one\nline two', 'x\r\ny'])).toBe(3);
  });

  it('reads delimiters and sizes', () => {
    expect(parseDelimiter(undefined)).toBe(',');
    expect(parseDelimiter('tab')).toBe('\t');
    expect(parseDelimiter(';')).toBe(';');
    fails(() => parseDelimiter('"'), /delimiter must be one character/);
    fails(() => parseDelimiter(';;'), /delimiter/);
    expect(parseByteSize('2gb')).toBe(2 * 1024 ** 3);
    expect(parseByteSize('10 mb')).toBeUndefined();
  });
});
