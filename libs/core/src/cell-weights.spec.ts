import { assertLaunchableCells, checkLaunchableCells, validateWeight, weightSum } from './cell-weights';
import { ConflictError, ValidationError } from './errors';

const cell = (code: string, weight: number, isControl = false) => ({ code, weight, isControl });

describe('cell weights', () => {
  it('accepts positive percents up to 100 with up to 4 decimals', () => {
    for (const w of [0.0001, 1, 33.3333, 45, 100]) expect(validateWeight(w, 'weight')).toBe(w);
  });

  it.each([[0], [-1], [100.0001], [NaN], [Infinity], ['45'], [null], [12.34567]])(
    'refuses %p naming the field',
    (w) => {
      expect(() => validateWeight(w, 'cells[2].weight')).toThrow(ValidationError);
      expect(() => validateWeight(w, 'cells[2].weight')).toThrow(/cells\[2\]\.weight/);
    },
  );

  it('sums exactly in ten-thousandths (no float drift)', () => {
    expect(weightSum([cell('A', 33.3333), cell('B', 33.3333), cell('C', 33.3334)])).toBe(100);
    expect(weightSum([cell('A', 0.1), cell('B', 0.2)])).toBe(0.3);
    expect(checkLaunchableCells([cell('A', 33.3333), cell('B', 33.3333), cell('C', 33.3334, true)])).toEqual({
      ok: true,
    });
  });

  it('refuses a launch when weights do not sum to 100, naming the sum and cells', () => {
    expect(checkLaunchableCells([cell('A', 45), cell('B', 45)])).toEqual({
      ok: false,
      reason: 'cell weights sum to 90, not 100 (A 45, B 45)',
    });
    expect(checkLaunchableCells([cell('A', 60), cell('B', 45)])).toMatchObject({
      ok: false,
      reason: expect.stringContaining('105'),
    });
  });

  it('refuses no cells, and all-control cells', () => {
    expect(checkLaunchableCells([])).toEqual({ ok: false, reason: 'the program has no cells' });
    expect(checkLaunchableCells([cell('C', 100, true)])).toEqual({
      ok: false,
      reason: 'every cell is a control: at least one must be contacted',
    });
    expect(() => assertLaunchableCells([cell('C', 100, true)])).toThrow(ConflictError);
    expect(() => assertLaunchableCells([cell('A', 90), cell('C', 10, true)])).not.toThrow();
  });
});
