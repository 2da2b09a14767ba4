import { BackoffPolicy, DEFAULT_SEND_BACKOFF, retryDelayMs, seededRandom, shouldRetry } from './retry-backoff';

const policy: BackoffPolicy = { baseMs: 1_000, maxMs: 30_000, maxAttempts: 4 };
const always = (r: number) => () => r;
// The largest double below 1, which a [0, 1) generator may return.
const almostOne = 1 - Number.EPSILON / 2;

describe('retry backoff', () => {
  it('doubles the ceiling per attempt until maxMs', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 40].map((attempt) => retryDelayMs(attempt, policy, always(almostOne)));
    expect(ceilings).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('spreads the delay over [0, ceiling] (full jitter)', () => {
    expect(retryDelayMs(3, policy, always(0))).toBe(0);
    expect(retryDelayMs(3, policy, always(0.5))).toBe(2_000);
    expect(retryDelayMs(3, policy, always(0.25))).toBe(1_000);
    const random = seededRandom(7);
    const delays = Array.from({ length: 2_000 }, () => retryDelayMs(4, policy, random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(8_000);
    // uniform: each quarter of the range gets about a quarter of the draws
    const quarters = [0, 1, 2, 3].map((q) => delays.filter((d) => Math.min(3, Math.floor(d / 2_000)) === q).length);
    for (const count of quarters) expect(Math.abs(count - 500)).toBeLessThan(100);
  });

  it('stays inside the range whatever the generator returns, and treats attempt < 1 as the first', () => {
    expect(retryDelayMs(2, policy, always(1))).toBe(2_000);
    expect(retryDelayMs(2, policy, always(-0.5))).toBe(0);
    expect(retryDelayMs(0, policy, always(almostOne))).toBe(1_000);
    expect(retryDelayMs(2_000, policy, always(almostOne))).toBe(30_000);
  });

  it('allows maxAttempts attempts in all', () => {
    expect([0, 1, 2, 3, 4, 5].map((made) => shouldRetry(made, policy))).toEqual([true, true, true, true, false, false]);
    expect(DEFAULT_SEND_BACKOFF).toEqual({ baseMs: 2_000, maxMs: 600_000, maxAttempts: 6 });
    expect(shouldRetry(5, DEFAULT_SEND_BACKOFF)).toBe(true);
    expect(shouldRetry(6, DEFAULT_SEND_BACKOFF)).toBe(false);
    expect(Object.isFrozen(DEFAULT_SEND_BACKOFF)).toBe(true);
  });
});

describe('seeded random', () => {
  it('is mulberry32 (values from an independent implementation)', () => {
    const take = (seed: number) => {
      const random = seededRandom(seed);
      return [random(), random(), random()];
    };
    expect(take(42)).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
    expect(take(0)).toEqual([0.26642920868471265, 0.0003297457005828619, 0.2232720274478197]);
    // seeds are taken as unsigned 32-bit integers
    expect(take(-1)).toEqual([0.8964226141106337, 0.189478256739676, 0.7156526781618595]);
    expect(take(-1)).toEqual(take(2 ** 32 - 1));
  });

  it('replays the same sequence for the same seed and stays in [0, 1)', () => {
    const a = seededRandom(123);
    const b = seededRandom(123);
    const draws = Array.from({ length: 10_000 }, () => a());
    expect(Array.from({ length: 10_000 }, () => b())).toEqual(draws);
    expect(draws.every((r) => r >= 0 && r < 1)).toBe(true);
    expect(seededRandom(124)()).not.toBe(draws[0]);
  });
});
