import { ConflictError, ValidationError } from './errors';

export interface CellWeightInput {
  code: string;
  weight: number;
  isControl: boolean;
}

// Weights are percent with at most 4 decimals; sums are taken in integer ten-thousandths so that
// 33.3333 + 33.3333 + 33.3334 is exactly 100.
const SCALE = 10_000;
const units = (weight: number): number => Math.round(weight * SCALE);

export function validateWeight(weight: unknown, field: string): number {
  if (typeof weight !== 'number' || !Number.isFinite(weight)) {
    throw new ValidationError(`${field} must be a number`, field);
  }
  if (weight <= 0 || weight > 100) {
    throw new ValidationError(`${field} must be more than 0 and at most 100 (percent), got ${weight}`, field);
  }
  if (Math.abs(units(weight) - weight * SCALE) > 1e-6) {
    throw new ValidationError(`${field} has more than 4 decimal places`, field);
  }
  return weight;
}

export function weightSum(cells: readonly Pick<CellWeightInput, 'weight'>[]): number {
  return cells.reduce((sum, c) => sum + units(c.weight), 0) / SCALE;
}

export function checkLaunchableCells(cells: readonly CellWeightInput[]): { ok: true } | { ok: false; reason: string } {
  if (cells.length === 0) return { ok: false, reason: 'the program has no cells' };
  const total = cells.reduce((sum, c) => sum + units(c.weight), 0);
  if (total !== 100 * SCALE) {
    const parts = cells.map((c) => `${c.code} ${c.weight}`).join(', ');
    return { ok: false, reason: `cell weights sum to ${total / SCALE}, not 100 (${parts})` };
  }
  if (cells.every((c) => c.isControl)) {
    return { ok: false, reason: 'every cell is a control: at least one must be contacted' };
  }
  return { ok: true };
}

export function assertLaunchableCells(cells: readonly CellWeightInput[]): void {
  const check = checkLaunchableCells(cells);
  if (!check.ok) throw new ConflictError(check.reason);
}
