/**
 * Keeps abusive sources from filling the response history without ever blocking a mail client.
 * Image proxies (Gmail, Apple, Yahoo) fetch for millions of people from a few addresses, so nothing
 * is limited per address alone. Two things are:
 *
 * - invalid tokens per source address: someone guessing or replaying garbage. Past the limit the
 *   click and unsubscribe endpoints answer 429 (the pixel still answers its GIF);
 * - hits on one token from one source address: a script hammering one link. Past the limit the
 *   request is still answered (pixel or redirect) but not recorded.
 *
 * Counted in fixed windows in this process's memory: a limit per API process, which is what stops
 * a flood where it lands. The maps are cleared each window and capped in size.
 */
export interface AbuseLimits {
  windowMs: number;
  invalidPerSource: number;
  hitsPerToken: number;
  maxKeys: number;
}

export const DEFAULT_ABUSE_LIMITS: AbuseLimits = {
  windowMs: 60_000,
  invalidPerSource: 120,
  hitsPerToken: 30,
  maxKeys: 200_000,
};

export class AbuseLimiter {
  private invalid = new Map<string, number>();
  private hits = new Map<string, number>();
  private windowStart = 0;

  constructor(
    private readonly limits: AbuseLimits = DEFAULT_ABUSE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts an invalid token from `source`; false once the source is over its limit. */
  invalidToken(source: string): boolean {
    return this.count(this.invalid, source) <= this.limits.invalidPerSource;
  }

  /** Whether `source` is over its invalid-token limit (without counting). */
  blocked(source: string): boolean {
    this.roll();
    return (this.invalid.get(source) ?? 0) > this.limits.invalidPerSource;
  }

  /** Counts a hit on a valid token; false when this one should not be recorded. */
  hit(source: string, token: string): boolean {
    return this.count(this.hits, `${source} ${token}`) <= this.limits.hitsPerToken;
  }

  private count(map: Map<string, number>, key: string): number {
    this.roll();
    if (map.size >= this.limits.maxKeys && !map.has(key)) map.clear();
    const n = (map.get(key) ?? 0) + 1;
    map.set(key, n);
    return n;
  }

  private roll(): void {
    const now = this.now();
    if (now - this.windowStart >= this.limits.windowMs) {
      this.windowStart = now;
      this.invalid = new Map();
      this.hits = new Map();
    }
  }
}
