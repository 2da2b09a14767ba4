import { ValidationError } from './errors';

/**
 * Exact cell sizes for a list of `total` members split by `weights` (percent or any positive
 * numbers): the largest-remainder (Hamilton) method, so every cell is within one member of its
 * exact share and the sizes add up to `total`. Ties in the remainders go to the earlier cell, so
 * the result depends only on the inputs.
 */
export function largestRemainderShares(total: number, weights: readonly number[]): number[] {
  if (!Number.isSafeInteger(total) || total < 0)
    throw new ValidationError('total must be a non-negative integer', 'total');
  if (weights.length === 0) throw new ValidationError('at least one weight is needed', 'weights');
  if (weights.some((w) => !(w > 0) || !Number.isFinite(w))) {
    throw new ValidationError('weights must be positive numbers', 'weights');
  }
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const shares = exact.map(Math.floor);
  let left = total - shares.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((x, i) => ({ i, remainder: x - Math.floor(x) }))
    .sort((a, b) => b.remainder - a.remainder || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left === 0) break;
    shares[i]++;
    left--;
  }
  return shares;
}

/**
 * Upper bounds (inclusive, 1-based) of each cell over members ranked 1..total. A list build ranks
 * members by a keyed hash of (seed, customer id) in SQL and gives rank r to the first cell whose
 * bound is >= r: the same customers, seed and weights give the same assignment, whatever the
 * physical row order or the order of customer ids.
 */
export function cellRankBounds(total: number, weights: readonly number[]): number[] {
  const shares = largestRemainderShares(total, weights);
  let running = 0;
  return shares.map((s) => (running += s));
}

/** The cell index (0-based) of a member with 1-based `rank`. */
export function cellForRank(rank: number, bounds: readonly number[]): number {
  if (!Number.isInteger(rank) || rank < 1 || rank > (bounds[bounds.length - 1] ?? 0)) {
    throw new ValidationError(`rank ${rank} is outside 1..${bounds[bounds.length - 1] ?? 0}`, 'rank');
  }
  let lo = 0;
  let hi = bounds.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bounds[mid] >= rank) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export type SampleSpec = { size: number } | { percent: number };

/**
 * How many of `available` members a sample keeps: `size` caps at what is there; `percent` rounds
 * half up (so 0.5% of 1,001 is 5). No sample keeps everyone.
 */
export function sampleCount(available: number, sample: SampleSpec | null | undefined): number {
  if (!sample) return available;
  if ('size' in sample) return Math.min(available, sample.size);
  return Math.min(available, Math.floor((available * sample.percent) / 100 + 0.5));
}
