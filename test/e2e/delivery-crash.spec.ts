import { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { SmtpSink } from '../../apps/peers/src/smtp-sink';
import { buildOnce, exited, runCli, startBuiltWorker } from '../support/built-app';
import { aLaunchableProgram } from '../support/delivery-fixtures';
import { uniqueCode } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

/**
 * RELIABILITY.md "Faults to survive": a worker process killed with SIGKILL mid-send, then a new one
 * started. Every member gets the message; the only duplicates possible are the sends the dead worker
 * had in flight (accepted by SMTP, not yet recorded), and the test reports how many there were.
 */
describe('a worker killed mid-send', () => {
  let api: TestApi;
  let sink: SmtpSink;
  let db: Client;
  let env: Record<string, string>;
  const workers: ChildProcess[] = [];
  beforeAll(async () => {
    buildOnce();
    sink = new SmtpSink();
    const { url } = await sink.start(0);
    env = {
      SMTP_URL: url,
      MAIL_FROM: 'news@shop.example',
      SCHEDULER_INTERVAL_MS: '300',
      SEND_CLAIM_TIMEOUT_MS: '2000',
      SEND_BATCH_SIZE: '20',
      QUEUE_PREFIX: `k${randomBytes(4).toString('hex')}`,
    };
    api = await startTestApi(env);
    db = new Client({ connectionString: api.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await db?.end();
    await api?.close();
    await sink?.stop();
  });

  const startWorker = () => startBuiltWorker(api.databaseUrl, env, workers);

  it('loses nothing and duplicates at most the in-flight sends', async () => {
    const m = api.as('marketer');
    const run = uniqueCode('k').toLowerCase();
    const n = 1000;
    const p = await aLaunchableProgram(m, {
      run,
      channel: 'email',
      customers: Array.from({ length: n }, (_, i) => ({
        externalId: `${run}-${i}`,
        email: `${run}-${i}@example.org`,
        consent: { email: true },
      })),
      template: { subject: 'Hi', html: '<p>Hi</p>' },
    });

    sink.setDelayMs(20);
    const first = startWorker();
    await m.post(`/v1/programs/${p.id}/launch`).expect(200);
    const deadline = Date.now() + 60_000;
    while (sink.count() < 150 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    first.kill('SIGKILL');
    await exited(first);
    const atKill = sink.count();
    const { rows: inFlight } = await db.query(
      `SELECT count(*)::int AS n FROM send WHERE program_id = $1 AND state = 'sending'`,
      [p.id],
    );
    expect(atKill).toBeGreaterThanOrEqual(150);
    expect(atKill).toBeLessThan(n);

    sink.setDelayMs(0);
    startWorker();
    const end = Date.now() + 90_000;
    let progress;
    for (;;) {
      progress = (await m.get(`/v1/programs/${p.id}/progress`).expect(200)).body;
      if (progress.state === 'completed' || Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(progress.state).toBe('completed');
    expect(progress.counts.sent).toBe(n);

    const perAddress = new Map<string, number>();
    for (const msg of sink.messages()) for (const to of msg.to) perAddress.set(to, (perAddress.get(to) ?? 0) + 1);
    const duplicates = [...perAddress.values()].filter((c) => c > 1).length;
    expect(perAddress.size).toBe(n); // nobody lost
    const { rows: flagged } = await db.query(
      `SELECT count(*)::int AS n FROM send WHERE program_id = $1 AND possible_duplicate`,
      [p.id],
    );
    // Only sends claimed by the dead worker can have gone twice, and each is flagged in the ledger.
    expect(duplicates).toBeLessThanOrEqual(inFlight[0].n);
    expect(flagged[0].n).toBe(inFlight[0].n);
    expect([...perAddress.values()].every((c) => c <= 2)).toBe(true);
    process.stdout.write(
      `worker SIGKILL after ${atKill} messages: ${inFlight[0].n} sends in flight, ${duplicates} delivered twice\n`,
    );
    // Report counters, kept by the database as sends changed state, still equal history after the crash.
    const reconciled = await runCli(['reconcile', '--program', p.code], {
      DATABASE_URL: api.databaseUrl,
      REDIS_URL: process.env.REDIS_URL!,
      LOG_LEVEL: 'error',
    });
    expect(reconciled.stdout).toContain('0 difference(s)');
    expect(reconciled.code).toBe(0);
  }, 120_000);
});
