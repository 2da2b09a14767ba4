import { KeyedConcurrency } from './rate-limiter';

describe('KeyedConcurrency', () => {
  it('keeps at most the limit in flight per key, and runs other keys alongside', async () => {
    const limiter = new KeyedConcurrency(2);
    const inFlight = new Map<string, number>();
    const most = new Map<string, number>();
    const releases: (() => void)[] = [];
    const task = (key: string) =>
      limiter.run(key, async () => {
        inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
        most.set(key, Math.max(most.get(key) ?? 0, inFlight.get(key)!));
        await new Promise<void>((r) => releases.push(r));
        inFlight.set(key, inFlight.get(key)! - 1);
        return key;
      });
    const all = [...Array.from({ length: 5 }, () => task('gmail.com')), task('web.de')];
    for (let i = 0; i < 20 && releases.length < 6; i++) {
      await new Promise((r) => setImmediate(r));
      while (releases.length) releases.shift()!();
    }
    // Drain whatever is left.
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setImmediate(r));
      while (releases.length) releases.shift()!();
    }
    expect(await Promise.all(all)).toEqual(['gmail.com', 'gmail.com', 'gmail.com', 'gmail.com', 'gmail.com', 'web.de']);
    expect(most.get('gmail.com')).toBe(2);
    expect(most.get('web.de')).toBe(1);
  });

  it('frees the slot when a task fails', async () => {
    const limiter = new KeyedConcurrency(1);
    await expect(limiter.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run('a', async () => 'ok')).resolves.toBe('ok');
  });
});
