/** Query helpers shared by the domain libs: id-or-code lookups, keyset pages, code uniqueness. */
import { clampLimit, ConflictError, decodeCursor, encodeCursor, isUuid, NotFoundError } from '@closeloop/core';
import { EntityManager, EntityTarget, ObjectLiteral, SelectQueryBuilder } from 'typeorm';

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

/**
 * One page of a keyset-paginated list, oldest first on (created_at, id): the query builder comes
 * with its filters; this adds order, cursor and limit, and computes the next cursor.
 */
export async function keysetPage<T extends { id: string; createdAt: Date }>(
  qb: SelectQueryBuilder<ObjectLiteral>,
  alias: string,
  query: { limit?: unknown; cursor?: string },
  fetch: (qb: SelectQueryBuilder<ObjectLiteral>) => Promise<T[]> = (q) => q.getMany() as Promise<T[]>,
): Promise<{ rows: T[]; nextCursor: string | null }> {
  const limit = clampLimit(query.limit);
  qb.orderBy(`${alias}.created_at`, 'ASC')
    .addOrderBy(`${alias}.id`, 'ASC')
    .limit(limit + 1);
  if (query.cursor) {
    const { at, id } = decodeCursor(query.cursor);
    qb.andWhere(`(${alias}.created_at, ${alias}.id) > (:cursorAt, :cursorId)`, { cursorAt: at, cursorId: id });
  }
  const rows = await fetch(qb);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    rows: page,
    nextCursor: rows.length > limit && last ? encodeCursor({ at: last.createdAt.toISOString(), id: last.id }) : null,
  };
}

/**
 * Codes are unique case-insensitively (unique index on lower(code)). Checked first for a clear 409
 * without aborting the transaction; the index still settles a race (see isUniqueViolation).
 */
export async function assertCodeFree(
  m: EntityManager,
  entity: EntityTarget<ObjectLiteral>,
  label: string,
  code: string,
): Promise<void> {
  const taken = await m
    .getRepository(entity)
    .createQueryBuilder('e')
    .where('lower(e.code) = lower(:code)', { code })
    .getCount();
  if (taken) throw codeTaken(label, code);
}

export const codeTaken = (label: string, code: string): ConflictError =>
  new ConflictError(`${label} code "${code}" is already taken`);

/** One entity by id or code, or NotFoundError; `lock` takes a row lock for the rest of the transaction. */
export async function findByRef<T extends ObjectLiteral>(
  m: EntityManager,
  entity: EntityTarget<T>,
  label: string,
  ref: string,
  lock = false,
): Promise<T> {
  const qb = whereRef(m.getRepository(entity).createQueryBuilder('e'), 'e', ref);
  if (lock) qb.setLock('pessimistic_write');
  const found = await qb.getOne();
  if (!found) throw new NotFoundError(label, ref);
  return found;
}
