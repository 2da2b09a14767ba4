import { ValidationError } from './errors';

/** Money is integer minor units (cents) with an ISO 4217 currency (STYLE.md "Data"). */
export function validateMinorUnits(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`${field} must be a non-negative integer in minor units (e.g. cents)`, field);
  }
  return value;
}

export function validateCurrency(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^[A-Z]{3}$/.test(value)) {
    throw new ValidationError(`${field} must be an ISO 4217 code such as EUR`, field);
  }
  return value;
}
