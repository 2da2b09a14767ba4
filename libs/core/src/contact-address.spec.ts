import { ValidationError } from './errors';
import {
  normalizeAddress,
  normalizeEmail,
  normalizePhone,
  validateCountry,
  validateLocale,
  validateTimeZone,
} from './contact-address';

describe('contact addresses', () => {
  it('normalises emails: trims, lower-cases the domain, IDN to ASCII, keeps what was given', () => {
    expect(normalizeEmail('  Ann.Lee@Example.COM ', 'email')).toEqual({
      normalized: 'Ann.Lee@example.com',
      given: 'Ann.Lee@Example.COM',
    });
    expect(normalizeEmail('jo@bücher.de', 'email').normalized).toBe('jo@xn--bcher-kva.de');
  });

  it.each([
    'plain',
    '@example.com',
    'a@b',
    'a b@example.com',
    'a@example.com\r\nBcc: x@y.z',
    '"quoted"@example.com',
    'a(comment)@example.com',
    'a..b@example.com',
    'group: a@example.com;',
    'a@-bad-.com',
    `${'x'.repeat(65)}@example.com`,
  ])('refuses %j naming the field', (bad) => {
    expect(() => normalizeEmail(bad, 'customers[3].email')).toThrow(ValidationError);
    expect(() => normalizeEmail(bad, 'customers[3].email')).toThrow(/^customers\[3\]\.email/);
  });

  it('parses phones to E.164 in the customer country', () => {
    expect(normalizePhone('0151 1234 5678', 'DE', 'phone')).toBe('+4915112345678');
    expect(normalizePhone('+33 6 12 34 56 78', null, 'phone')).toBe('+33612345678');
    expect(() => normalizePhone('0151 1234 5678', null, 'phone')).toThrow('give +country code');
    expect(() => normalizePhone('12', 'DE', 'phone')).toThrow('phone is not a valid phone number for DE');
    expect(normalizeAddress('sms', '+4915112345678', 'address')).toBe('+4915112345678');
    expect(normalizeAddress('email', 'A@B.CO', 'address')).toBe('A@b.co');
  });

  it('validates time zones, countries and locales', () => {
    expect(validateTimeZone('Europe/Berlin', 'timeZone')).toBe('Europe/Berlin');
    expect(() => validateTimeZone('Mars/Olympus', 'timeZone')).toThrow('timeZone must be an IANA time zone');
    expect(validateCountry('de', 'country')).toBe('DE');
    expect(() => validateCountry('DEU', 'country')).toThrow('country');
    expect(validateLocale('de-de', 'locale')).toBe('de-DE');
    expect(() => validateLocale('not a locale!', 'locale')).toThrow('locale');
  });
});
