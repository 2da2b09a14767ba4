import fc from 'fast-check';
import { cellForRank, cellRankBounds, largestRemainderShares, sampleCount } from './cell-allocation';

describe('cell allocation', () => {
  it('splits exactly, by the largest remainder', () => {
    expect(largestRemainderShares(100_000, [45, 45, 10])).toEqual([45_000, 45_000, 10_000]);
    expect(largestRemainderShares(7, [45, 45, 10])).toEqual([3, 3, 1]); // 3.15, 3.15, 0.7
    expect(largestRemainderShares(10, [33.3333, 33.3333, 33.3334])).toEqual([3, 3, 4]);
    expect(largestRemainderShares(2, [50, 50])).toEqual([1, 1]);
    expect(largestRemainderShares(1, [50, 50])).toEqual([1, 0]); // tie goes to the earlier cell
    expect(largestRemainderShares(0, [45, 45, 10])).toEqual([0, 0, 0]);
  });

  it('always adds up and keeps every cell within one member of its exact share', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5_000_000 }),
        fc.array(
          fc.integer({ min: 1, max: 1_000_000 }).map((n) => n / 10_000),
          { minLength: 1, maxLength: 26 },
        ),
        (total, weights) => {
          const shares = largestRemainderShares(total, weights);
          const sum = weights.reduce((a, b) => a + b, 0);
          expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
          shares.forEach((s, i) => expect(Math.abs(s - (total * weights[i]) / sum)).toBeLessThan(1));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('maps ranks to cells by cumulative bounds', () => {
    const bounds = cellRankBounds(20, [45, 45, 10]);
    expect(bounds).toEqual([9, 18, 20]);
    const counts = [0, 0, 0];
    for (let r = 1; r <= 20; r++) counts[cellForRank(r, bounds)]++;
    expect(counts).toEqual([9, 9, 2]);
    expect(() => cellForRank(0, bounds)).toThrow('rank 0');
    expect(() => cellForRank(21, bounds)).toThrow('rank 21');
  });

  it('sizes samples', () => {
    expect(sampleCount(1000, null)).toBe(1000);
    expect(sampleCount(1000, { size: 250 })).toBe(250);
    expect(sampleCount(100, { size: 250 })).toBe(100);
    expect(sampleCount(1001, { percent: 0.5 })).toBe(5);
    expect(sampleCount(1000, { percent: 12.5 })).toBe(125);
    expect(sampleCount(3, { percent: 50 })).toBe(2);
  });
});
