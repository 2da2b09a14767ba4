import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { RateLimiter } from '@closeloop/delivery';

/** SMTP_RATE / SMS_RATE: one GCRA in Redis shared by every worker process. */
describe('rate limiter in Redis', () => {
  let a: Redis;
  let b: Redis;
  beforeAll(() => {
    a = new Redis(process.env.REDIS_URL!);
    b = new Redis(process.env.REDIS_URL!);
  });
  afterAll(async () => {
    await a.quit();
    await b.quit();
  });

  it('makes the second of two workers wait one interval at 1 message per second', async () => {
    const key = `test:rate:${randomBytes(4).toString('hex')}`;
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
      await new Promise((r) => setTimeout(r, ms));
    };
    const first = new RateLimiter(a, key, 1, 0, sleep);
    const second = new RateLimiter(b, key, 1, 0, sleep);
    await first.acquire();
    expect(waits).toEqual([]);
    await second.acquire();
    // The second slot is one interval (1000 ms) after the first, less the moments between the calls.
    expect(waits.length).toBeGreaterThanOrEqual(1);
    expect(waits[0]).toBeGreaterThan(800);
    expect(waits[0]).toBeLessThanOrEqual(1000);
    await a.del(key);
  });

  it('lets a burst through at once when it is allowed one', async () => {
    const key = `test:rate:${randomBytes(4).toString('hex')}`;
    const waits: number[] = [];
    const limiter = new RateLimiter(a, key, 10, 400, async (ms) => {
      waits.push(ms);
    });
    for (let i = 0; i < 5; i++) await limiter.acquire(); // 0, 100, 200, 300, 400 ms ahead: within the burst
    expect(waits).toEqual([]);
    await a.del(key);
  });
});
