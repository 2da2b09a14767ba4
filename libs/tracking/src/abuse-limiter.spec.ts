import { AbuseLimiter } from './abuse-limiter';

describe('AbuseLimiter', () => {
  const limits = { windowMs: 1000, invalidPerSource: 3, hitsPerToken: 2, maxKeys: 10 };

  it('blocks a source after too many invalid tokens, until the window rolls', () => {
    let now = 0;
    const limiter = new AbuseLimiter(limits, () => now);
    expect([1, 2, 3].map(() => limiter.invalidToken('1.2.3.4'))).toEqual([true, true, true]);
    expect(limiter.invalidToken('1.2.3.4')).toBe(false);
    expect(limiter.blocked('1.2.3.4')).toBe(true);
    expect(limiter.blocked('5.6.7.8')).toBe(false);
    now = 1000;
    expect(limiter.blocked('1.2.3.4')).toBe(false);
  });

  it('stops recording one token hammered from one source, not other tokens or sources', () => {
    const limiter = new AbuseLimiter(limits, () => 0);
    expect([1, 2, 3].map(() => limiter.hit('proxy', 'tokenA'))).toEqual([true, true, false]);
    expect(limiter.hit('proxy', 'tokenB')).toBe(true);
    expect(limiter.hit('other', 'tokenA')).toBe(true);
  });

  it('never holds more keys than its cap', () => {
    const limiter = new AbuseLimiter(limits, () => 0);
    for (let i = 0; i < 25; i++) limiter.hit(`s${i}`, 't');
    expect(limiter.hit('s24', 't')).toBe(true);
  });
});
