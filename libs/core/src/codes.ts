import { ValidationError } from './errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CODE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const isUuid = (s: string): boolean => UUID.test(s);

/**
 * Human codes for campaigns, programs, cells and offers. They are usable wherever an id is, so a
 * code may not look like a UUID (ids are UUIDs). Uniqueness is case-insensitive (`codeKey`).
 */
export function validateCode(input: unknown, field: string): string {
  if (typeof input !== 'string') throw new ValidationError(`${field} must be a string`, field);
  const code = input.trim();
  if (code.length < 1 || code.length > 64) {
    throw new ValidationError(`${field} must be 1 to 64 characters`, field);
  }
  if (!CODE.test(code)) {
    throw new ValidationError(
      `${field} may hold only letters, digits, '.', '_' and '-', starting with a letter or digit`,
      field,
    );
  }
  if (isUuid(code)) throw new ValidationError(`${field} must not look like an id (a UUID)`, field);
  return code;
}

export const codeKey = (code: string): string => code.trim().toLowerCase();
