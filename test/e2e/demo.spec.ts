import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createTestDatabase } from '@closeloop/persistence';
import { buildOnce, runCli } from '../support/built-app';

jest.setTimeout(180_000);

/**
 * `npm run demo` as the README's first command runs it: the built CLI starts the API and worker
 * processes, an SMTP sink and an SMSC simulator, and drives the whole loop over HTTP. At 15,000
 * customers the email program has about 6,000 members, enough for B's true lift (6% vs 2% for the
 * control) to be significant with about 95% power whatever the seed; the seed is fixed, so the run
 * is the same every time.
 */
describe('the demo (built CLI, whole loop)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const written: string[] = [];
  beforeAll(async () => {
    buildOnce();
    db = await createTestDatabase();
  });
  afterAll(async () => {
    for (const file of written) rmSync(file, { force: true });
    await db?.drop();
  });

  it('plans, lists, sends, responds, measures and names B the winner, with HTML reports', async () => {
    const run = await runCli(['demo', '--customers', '15000'], {
      DATABASE_URL: db.url,
      REDIS_URL: process.env.REDIS_URL,
      // Test files share one Redis: this run's queues and tracking stream are its own.
      QUEUE_PREFIX: `t${randomBytes(4).toString('hex')}`,
    });
    const out = run.stdout;
    if (run.code !== 0) process.stderr.write(`${out}\n${run.stderr}\n`);
    expect(run.code).toBe(0);
    for (const step of ['1. PLAN', '2. LIST', '3. SEND', '4. RESPOND', '5. MEASURE', '6. ADJUST']) {
      expect(out).toContain(`\n${step}`);
    }
    expect(out).not.toContain('not built yet');
    expect(out).toContain('15,000 synthetic customers (seeded)');
    expect(out).toMatch(/waterfall of LAPSED-\w+:\n\s+select\s+[\d,]+ remain/);

    // Real tracking requests and conversions, all counted by the reports before measuring.
    expect(out).toMatch(
      /the customers: [1-9][\d,]* opens by [1-9][\d,]* people \([1-9][\d,]* of them through Gmail's image proxy: machine opens\), [1-9][\d,]* clicks, [1-9][\d,]* one-click unsubscribes/,
    );
    expect(out).not.toContain('unexpected answers');
    expect(out).toContain('the reports count every open, click, unsubscribe and purchase made');

    // The per-cell table, with the true rates beside the measured ones.
    expect(out).toMatch(
      /cell\s+members\s+delivered\s+opens people\/all\s+clicks\s+unsubs\s+conv\s+rate \(95% CI\)\s+true rate/,
    );
    const row = (name: string) =>
      new RegExp(
        `^\\s+${name}\\s+([\\d,]+)\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+([\\d,]+)\\s+([\\d.]+)% \\(`,
        'm',
      ).exec(out);
    const b = row('B: 10% off, urgent subject');
    const control = row('Control \\(held out\\)');
    expect(b).not.toBeNull();
    expect(control).not.toBeNull();
    expect(b![3]).toMatch(/^[1-9][\d,]*\/[1-9][\d,]*$/); // opens: people / all
    expect(control![2]).toBe('-'); // held out: never delivered anything
    expect(Number(b![7])).toBeGreaterThan(Number(control![7]));

    // The verdict names B as converting better than the control, with its statistics.
    expect(out).toMatch(
      /verdict: .*Cell B: 10% off, urgent subject converts \d+\.\d pts better than control \(\d+\.\d% vs \d+\.\d%, 95% CI [\d.]+ to [\d.]+ pts, p [<=] [\d.]+, Holm-adjusted\)/,
    );
    expect(out).toMatch(/roll out cell B/);

    // Adjust: a drip entered by the customers who clicked but did not buy, with a holdout to measure it.
    const follow = /segment CLICKED-NOT-BOUGHT-\w+ holds the ([\d,]+) customers/.exec(out);
    const drip =
      /drip REMIND-\w+: entered by the segment's ([\d,]+) customers, ([\d,]+) reminders sent, ([\d,]+) held out/.exec(
        out,
      );
    expect(follow).not.toBeNull();
    expect(drip).not.toBeNull();
    const num = (s: string) => Number(s.replace(/,/g, ''));
    expect(num(drip![1])).toBe(num(follow![1]));
    expect(num(drip![2])).toBeGreaterThan(0);
    expect(num(drip![3])).toBeGreaterThan(0);
    expect(num(drip![2]) + num(drip![3])).toBeLessThanOrEqual(num(drip![1]));

    // The HTML reports it printed (two programs and the drip) exist and carry their charts.
    const files = [...out.matchAll(/^\s+(\/\S+\.html)$/gm)].map((m) => m[1]);
    written.push(...files);
    expect(files).toHaveLength(3);
    expect(files[2]).toMatch(/drip-REMIND-\w+\.html$/);
    for (const file of files) {
      expect(existsSync(file)).toBe(true);
      expect(readFileSync(file, 'utf8')).toContain('<svg');
    }
    expect(out).toMatch(/Every run uses new codes \(suffix \w+\) in the same database/);
  });
});
