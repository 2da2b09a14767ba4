import type Redis from 'ioredis';

/**
 * GCRA in one Lua call: the key holds the theoretical arrival time (ms) of the next message. A
 * message may go when that time is at most `burst` ahead of now; otherwise the caller waits.
 * Redis keeps the state, so the rate holds across every worker process.
 */
const GCRA = `
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
if tat < now then tat = now end
local wait = tat - now - burst
if wait > 0 then return wait end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil(tat + interval - now + 1000))
return 0
`;

export class RateLimiter {
  private readonly intervalMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    perSecond: number,
    private readonly burstMs = 0,
    private readonly sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
  ) {
    this.intervalMs = 1000 / perSecond;
  }

  /** Resolves when one message may go (each call takes one slot). */
  async acquire(): Promise<void> {
    for (;;) {
      const wait = Number(await this.redis.eval(GCRA, 1, this.key, Date.now(), this.intervalMs, this.burstMs));
      if (wait <= 0) return;
      await this.sleep(Math.min(wait, 1000));
    }
  }
}

/** Messages in flight per key (a recipient domain), in this process: one mailbox provider is not flooded. */
export class KeyedConcurrency {
  private readonly active = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(private readonly limit: number) {}

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    if ((this.active.get(key) ?? 0) >= this.limit) {
      await new Promise<void>((resolve) => {
        const queue = this.waiting.get(key) ?? [];
        queue.push(resolve);
        this.waiting.set(key, queue);
      });
    }
    this.active.set(key, (this.active.get(key) ?? 0) + 1);
    try {
      return await task();
    } finally {
      const left = (this.active.get(key) ?? 1) - 1;
      const next = this.waiting.get(key)?.shift();
      if (left === 0 && !next) this.active.delete(key);
      else this.active.set(key, left);
      if (!this.waiting.get(key)?.length) this.waiting.delete(key);
      next?.();
    }
  }
}
