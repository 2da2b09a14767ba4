import { ValidationError } from './errors';

/**
 * 32 symbols: digits 2-9 and the letters without I and O (0/O and 1/I are the classic misreads;
 * L stays: once 1 is gone it has nothing to be confused with). Upper case only.
 */
export const RESPONSE_CODE_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
const N = RESPONSE_CODE_ALPHABET.length; // 32
const BODY_LENGTH = 7;

// Check symbol: Damm's algorithm over the totally anti-symmetric quasigroup x * y = a*x + y in
// GF(32) (a = the field generator, x^5 + x^2 + 1). Unlike Luhn mod 32, which misses swaps of the
// symbols with values 0 and 31, it detects every single substitution and every adjacent swap.
const timesGenerator = (v: number): number => {
  const shifted = v << 1;
  return shifted & 0b100000 ? shifted ^ 0b100101 : shifted;
};

function interim(symbols: string): number {
  let state = 0;
  for (const ch of symbols) state = timesGenerator(state) ^ RESPONSE_CODE_ALPHABET.indexOf(ch);
  return state;
}

const checkSymbol = (body: string): string => RESPONSE_CODE_ALPHABET[timesGenerator(interim(body))];

export function generateResponseCode(randomInt: (maxExclusive: number) => number): string {
  let body = '';
  for (let i = 0; i < BODY_LENGTH; i++) body += RESPONSE_CODE_ALPHABET[randomInt(N)];
  return body + checkSymbol(body);
}

export function isResponseCodeChecksumValid(code: string): boolean {
  const c = normalizeResponseCode(code);
  if (c.length !== BODY_LENGTH + 1 || [...c].some((ch) => !RESPONSE_CODE_ALPHABET.includes(ch))) return false;
  return interim(c) === 0;
}

/** What people type: any case, with spaces or hyphens. */
export function normalizeResponseCode(input: string): string {
  return input
    .trim()
    .toUpperCase()
    .replace(/[\s-]+/g, '');
}

/** A response code chosen by the marketer (e.g. printed on a coupon): no checksum required. */
export function validateCustomResponseCode(input: string, field: string): string {
  const code = typeof input === 'string' ? input.trim().toUpperCase() : '';
  if (!/^[A-Z0-9-]{4,32}$/.test(code)) {
    throw new ValidationError(`${field} must be 4 to 32 letters, digits or hyphens`, field);
  }
  return code;
}
