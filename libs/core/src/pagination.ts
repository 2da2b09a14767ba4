import { ValidationError } from './errors';

export interface CursorPosition {
  at: string;
  id: string;
}

/** Keyset cursors: the (at, id) of the last row of a page, opaque to clients. */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, field = 'cursor'): CursorPosition {
  const invalid = () => new ValidationError(`${field} is not a cursor this API returned`, field);
  if (typeof cursor !== 'string' || cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(value) || value.length !== 2) throw invalid();
  const [at, id] = value as unknown[];
  if (typeof at !== 'string' || typeof id !== 'string' || Number.isNaN(Date.parse(at))) throw invalid();
  if (!/^[0-9a-zA-Z-]{1,64}$/.test(id)) throw invalid();
  return { at, id };
}

export function clampLimit(limit: unknown, field = 'limit'): number {
  if (limit === undefined || limit === null || limit === '') return 50;
  const n = typeof limit === 'string' && /^\d+$/.test(limit) ? Number(limit) : limit;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 200) {
    throw new ValidationError(`${field} must be an integer from 1 to 200`, field);
  }
  return n;
}
