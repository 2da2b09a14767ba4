import { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { SmtpSink } from '../../apps/peers/src/smtp-sink';
import { anActiveDrip, anEmailTemplate, readMessage, someCustomers, until } from '../support/automation-fixtures';
import { buildOnce, exited, startBuiltWorker } from '../support/built-app';
import { uniqueCode } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

/**
 * A drip's waits are due times in PostgreSQL, not timers in a process: a worker killed with SIGKILL
 * while customers wait, and another started, fires every step exactly once.
 */
describe('a worker killed while drip enrollments wait', () => {
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
      DRIP_TICK_MS: '200',
      DRIP_BATCH_SIZE: '40',
      QUEUE_PREFIX: `r${randomBytes(4).toString('hex')}`,
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

  it('fires each step exactly once across the restart', async () => {
    const m = api.as('marketer');
    const run = uniqueCode('rs').toLowerCase();
    const n = 300;
    const ids = await someCustomers(m, run, n);
    const one = await anEmailTemplate(m, 'One');
    const two = await anEmailTemplate(m, 'Two');
    const event = `start-${run}`;
    const drip = await anActiveDrip(m, {
      trigger: { type: 'event', event },
      steps: [
        { id: 's1', type: 'send', template: one },
        { id: 'w', type: 'wait', duration: 'PT4S' },
        { id: 's2', type: 'send', template: two },
      ],
    });
    const first = startWorker();
    await m.post('/v1/events', { events: ids.map((externalId) => ({ externalId, type: event })) }).expect(200);
    await until(
      'the first messages',
      async () => sink.count(),
      (c) => c === n,
      60_000,
    );
    await until(
      'every first send recorded',
      async () =>
        (await db.query(`SELECT count(*)::int AS n FROM send WHERE step_id = 's1' AND state = 'sent'`)).rows[0].n,
      (c) => c === n,
    );
    const { rows: waiting } = await db.query(
      `SELECT count(*)::int AS n FROM drip_enrollment WHERE drip_id = $1 AND step_id = 'w' AND waiting AND due_at > now()`,
      [drip.id],
    );
    expect(waiting[0].n).toBe(n);
    first.kill('SIGKILL');
    await exited(first);

    startWorker();
    await until(
      'every enrollment completed',
      async () =>
        (
          await db.query(`SELECT count(*)::int AS n FROM drip_enrollment WHERE drip_id = $1 AND state = 'completed'`, [
            drip.id,
          ])
        ).rows[0].n,
      (c) => c === n,
      60_000,
    );
    await until(
      'the second messages',
      async () => sink.count(),
      (c) => c >= 2 * n,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const messages = await Promise.all(sink.messages().map(readMessage));
    const perCustomer = new Map<string, string[]>();
    for (const msg of messages) {
      perCustomer.set(msg.to, [...(perCustomer.get(msg.to) ?? []), msg.subject.split(' ')[0]]);
    }
    expect(perCustomer.size).toBe(n);
    for (const [to, subjects] of perCustomer)
      expect({ to, subjects: subjects.sort() }).toEqual({ to, subjects: ['One', 'Two'] });
    const counters = (
      await db.query(`SELECT step_id, metric, value::int FROM drip_counter WHERE drip_id = $1 ORDER BY 1, 2`, [drip.id])
    ).rows;
    expect(counters).toEqual([
      { step_id: '', metric: 'completed', value: n },
      { step_id: '', metric: 'enrolled', value: n },
      { step_id: 's1', metric: 'entered', value: n },
      { step_id: 's2', metric: 'completed', value: n },
      { step_id: 's2', metric: 'entered', value: n },
      { step_id: 'w', metric: 'entered', value: n },
    ]);
  }, 150_000);
});
