import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { domainToASCII } from 'node:url';
import { ValidationError } from './errors';

export interface NormalizedEmail {
  /** What matching, dedupe and suppression use: trimmed, IDN domain in ASCII, domain lower-cased. */
  normalized: string;
  given: string;
}

// A deliberately strict addr-spec: dot-atom local part, no quoted strings, comments, groups or
// whitespace (and so no CR/LF header injection), a domain of dot-separated labels.
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function normalizeEmail(input: unknown, field: string): NormalizedEmail {
  if (typeof input !== 'string') throw new ValidationError(`${field} must be a string`, field);
  const given = input.trim();
  const at = given.lastIndexOf('@');
  if (at < 1 || at === given.length - 1 || given.length > 254) {
    throw new ValidationError(`${field} is not an email address: "${given.slice(0, 80)}"`, field);
  }
  const local = given.slice(0, at);
  const domain = domainToASCII(given.slice(at + 1).toLowerCase());
  const labels = domain.split('.');
  if (!LOCAL.test(local) || local.length > 64 || !domain || labels.length < 2 || !labels.every((l) => LABEL.test(l))) {
    throw new ValidationError(`${field} is not an email address: "${given.slice(0, 80)}"`, field);
  }
  return { normalized: `${local}@${domain}`, given };
}

/** Phones are stored E.164; a national number is read in the customer's country. */
export function normalizePhone(input: unknown, country: string | null | undefined, field: string): string {
  if (typeof input !== 'string' || !input.trim()) throw new ValidationError(`${field} must be a phone number`, field);
  const region = country && /^[A-Z]{2}$/.test(country) ? (country as CountryCode) : undefined;
  const phone = parsePhoneNumberFromString(input.trim(), region);
  if (!phone || !phone.isValid()) {
    throw new ValidationError(
      `${field} is not a valid phone number${region ? ` for ${region}` : ' (give +country code, or the customer country)'}: "${input.trim().slice(0, 40)}"`,
      field,
    );
  }
  return phone.number;
}

const TIME_ZONES = new Set(Intl.supportedValuesOf('timeZone'));
TIME_ZONES.add('UTC');

export function validateTimeZone(input: unknown, field: string): string {
  if (typeof input !== 'string' || !TIME_ZONES.has(input)) {
    throw new ValidationError(`${field} must be an IANA time zone such as Europe/Berlin`, field);
  }
  return input;
}

export function validateCountry(input: unknown, field: string): string {
  if (typeof input !== 'string' || !/^[A-Za-z]{2}$/.test(input.trim())) {
    throw new ValidationError(`${field} must be an ISO 3166-1 alpha-2 code such as DE`, field);
  }
  return input.trim().toUpperCase();
}

export function validateLocale(input: unknown, field: string): string {
  if (typeof input !== 'string') throw new ValidationError(`${field} must be a locale such as de-DE`, field);
  try {
    return Intl.getCanonicalLocales(input.trim())[0];
  } catch {
    throw new ValidationError(`${field} must be a locale such as de-DE`, field);
  }
}

/** The address a suppression matches on for a channel: normalised email, or E.164 phone. */
export function normalizeAddress(channel: 'email' | 'sms', input: unknown, field: string): string {
  return channel === 'email' ? normalizeEmail(input, field).normalized : normalizePhone(input, null, field);
}
