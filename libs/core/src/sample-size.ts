/**
 * How many members a program needs so that a real difference of a given size between a mailed
 * cell and the control shows up as significant: the sample-size plan, and the "members needed to
 * detect" figure of a verdict.
 *
 * The control converts at the baseline rate p2; a treatment cell at p1 = p2 + d, where d is the
 * minimum detectable effect in rate units (0.01 is one percentage point; a fall, d < 0, is sized
 * the same way). The results are tested with the pooled two-proportion z-test, two-sided, at
 * alpha (see statistics.ts), and the plan asks that it finds d with probability `power`.
 *
 * Formula (Fleiss, Levin & Paik, "Statistical Methods for Rates and Proportions", 3rd ed., 2003,
 * §4.2 and §4.4, without continuity correction; the same as R's power.prop.test when sizes are
 * equal): with r = control size / treatment cell size,
 *
 *   p̄ = (p1 + r·p2) / (1 + r)   the pooled rate the test will see
 *   n = (z(1 - alpha/2)·√(p̄·q̄·(1 + 1/r)) + z(power)·√(p1·q1 + p2·q2/r))² / d²
 *
 * members per treatment cell (q = 1 - p), rounded up; the control gets r·n, rounded up. With equal
 * sizes (r = 1) this is (z(1 - alpha/2)·√(2·p̄·q̄) + z(power)·√(p1·q1 + p2·q2))² / d². The
 * variance under "no difference" is the pooled one the test uses; under the difference, each
 * group's own: the unpooled-only form (z(1 - alpha/2) + z(power))²·(p1·q1 + p2·q2)/d² answers a
 * few members fewer or more.
 *
 * Several treatment cells: each is compared with the one control, at the alpha given. Alpha is not
 * split between the comparisons here; the report adjusts their p-values with Holm, so with more
 * than one cell the real power is somewhat below `power` (pass alpha / cells to plan for
 * Bonferroni instead).
 *
 * Control size: by default the control is the size of a treatment cell. With `controlShare` s, the
 * control is that fraction of all the program's members (0.1: a tenth of everyone), and each
 * treatment cell is sized for a control of r = s·k / (1 - s) times its size (k treatment cells),
 * so the control gets ceil(r·perCell). s = 1/(k + 1) is the same as equal sizes; a smaller control
 * needs larger treatment cells. In all cases total = perCell·cells + controlPerCell.
 */
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { ValidationError } from './errors';

export interface SampleSizeInput {
  /** The control's expected rate, in (0, 1). */
  baselineRate: number;
  /** Absolute, in rate units (0.01 = one percentage point); baselineRate + it must be in (0, 1). */
  minimumDetectableEffect: number;
  /** Two-sided significance level of each treatment-vs-control test; 0.05 by default. */
  alpha?: number;
  /** Chance of finding a true effect of minimumDetectableEffect; 0.8 by default. */
  power?: number;
  /** Treatment (mailed) cells, each compared with the one control; 1 by default. */
  cells?: number;
  /**
   * The control's share of all the program's members, in (0, 1); by default the control is the
   * size of a treatment cell.
   */
  controlShare?: number;
}

export const MAX_TREATMENT_CELLS = 20;

function checkRate(value: number, field: string): void {
  if (!(Number.isFinite(value) && value > 0 && value < 1)) {
    throw new ValidationError(`${field} must be between 0 and 1 (exclusive), got ${value}`, field);
  }
}

function checkEffect(baselineRate: number, effect: number, field: string): void {
  if (!Number.isFinite(effect) || effect === 0) {
    throw new ValidationError(`${field} must be a non-zero number, got ${effect}`, field);
  }
  const rate = baselineRate + effect;
  if (!(rate > 0 && rate < 1)) {
    throw new ValidationError(`baselineRate + ${field} must be between 0 and 1 (exclusive), got ${rate}`, field);
  }
}

function checkAlphaPower(alpha: number, power: number): void {
  if (!(Number.isFinite(alpha) && alpha > 0 && alpha < 0.5)) {
    throw new ValidationError(`alpha must be between 0 and 0.5 (exclusive), got ${alpha}`, 'alpha');
  }
  if (!(Number.isFinite(power) && power > 0.5 && power < 1)) {
    throw new ValidationError(`power must be between 0.5 and 1 (exclusive), got ${power}`, 'power');
  }
}

/** Math.ceil, forgiving the last bits of floating-point noise (200.00000000000003 is 200). */
const ceilMembers = (x: number): number => Math.ceil(x * (1 - 1e-12));

/** Unrounded members per treatment cell, for a control r times that size. */
function treatmentMembers(p2: number, d: number, alpha: number, power: number, r: number): number {
  const p1 = p2 + d;
  const pooled = (p1 + r * p2) / (1 + r);
  const zAlpha = -normalQuantile(alpha / 2, 0, 1); // z(1 - alpha/2), from the tail it lies in
  const zBeta = normalQuantile(power, 0, 1);
  const underNull = zAlpha * Math.sqrt(pooled * (1 - pooled) * (1 + 1 / r));
  const underEffect = zBeta * Math.sqrt(p1 * (1 - p1) + (p2 * (1 - p2)) / r);
  return (underNull + underEffect) ** 2 / (d * d);
}

export function sampleSize(input: SampleSizeInput): { perCell: number; controlPerCell: number; total: number } {
  const { baselineRate, minimumDetectableEffect, alpha = 0.05, power = 0.8, cells = 1, controlShare } = input;
  checkRate(baselineRate, 'baselineRate');
  checkEffect(baselineRate, minimumDetectableEffect, 'minimumDetectableEffect');
  checkAlphaPower(alpha, power);
  if (!(Number.isInteger(cells) && cells >= 1 && cells <= MAX_TREATMENT_CELLS)) {
    throw new ValidationError(`cells must be a whole number from 1 to ${MAX_TREATMENT_CELLS}, got ${cells}`, 'cells');
  }
  if (controlShare !== undefined) checkRate(controlShare, 'controlShare');

  const r = controlShare === undefined ? 1 : (controlShare * cells) / (1 - controlShare);
  const perCell = ceilMembers(treatmentMembers(baselineRate, minimumDetectableEffect, alpha, power, r));
  const controlPerCell = controlShare === undefined ? perCell : ceilMembers(r * perCell);
  return { perCell, controlPerCell, total: perCell * cells + controlPerCell };
}

/**
 * Members per cell needed to detect `effect` (absolute) from `baselineRate` at alpha/power: used in
 * verdicts. Equal-sized cell and control, the formula above with r = 1, rounded up.
 */
export function membersToDetect(baselineRate: number, effect: number, alpha = 0.05, power = 0.8): number {
  checkRate(baselineRate, 'baselineRate');
  checkEffect(baselineRate, effect, 'effect');
  checkAlphaPower(alpha, power);
  return ceilMembers(treatmentMembers(baselineRate, effect, alpha, power, 1));
}

/**
 * The smallest absolute lift over `baselineRate` that a cell of `members` compared with a reference
 * cell of `referenceMembers` detects at alpha (two-sided) and power: the inverse of the formula above,
 * found by bisection (the members needed fall as the lift grows). Null when even the largest possible
 * lift (to a rate of 1) needs more members, or either side is empty. Used by list previews.
 */
export function detectableEffect(
  baselineRate: number,
  members: number,
  referenceMembers: number,
  alpha = 0.05,
  power = 0.8,
): number | null {
  checkRate(baselineRate, 'baselineRate');
  checkAlphaPower(alpha, power);
  if (!(members >= 1 && referenceMembers >= 1)) return null;
  const r = referenceMembers / members;
  const needs = (d: number) => treatmentMembers(baselineRate, d, alpha, power, r);
  let lo = 1e-9;
  let hi = 1 - baselineRate - 1e-9;
  if (needs(hi) > members) return null;
  for (let i = 0; i < 100 && hi - lo > 1e-9; i++) {
    const mid = (lo + hi) / 2;
    if (needs(mid) > members) lo = mid;
    else hi = mid;
  }
  return hi;
}
