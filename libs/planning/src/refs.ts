import { isUuid } from '@closeloop/core';
import { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/** Codes are usable wherever an id is (API.md): a UUID is looked up as an id, anything else as a code. */
export function whereRef<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  ref: string,
): SelectQueryBuilder<T> {
  return isUuid(ref)
    ? qb.andWhere(`${alias}.id = :ref`, { ref })
    : qb.andWhere(`lower(${alias}.code) = lower(:ref)`, { ref });
}

export const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** PostgreSQL unique violation on the given index, raised by a race the pre-check could not see. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; driverError?: { code?: string; constraint?: string }; constraint?: string };
  const code = e?.driverError?.code ?? e?.code;
  const name = e?.driverError?.constraint ?? e?.constraint;
  return code === '23505' && (!constraint || name === constraint);
}

export function toDate(value: string | null | undefined): Date | null | undefined {
  if (value === undefined) return undefined;
  return value === null ? null : new Date(value);
}
