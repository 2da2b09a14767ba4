import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { EventBuffer } from '@closeloop/tracking';
import { SmtpSink } from '../../apps/peers/src/smtp-sink';
import { anActiveDrip, anEmailTemplate, readMessage, someCustomers, until } from '../support/automation-fixtures';
import { uniqueCode } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

const SECRET = 'drips-e2e-tracking-secret-0001';

/**
 * Drips end to end: the API and the worker on real PostgreSQL and Redis, messages through a real SMTP
 * conversation, opens through the public tracking endpoint (read back from the messages themselves).
 */
jest.setTimeout(120_000);

describe('drips', () => {
  let api: TestApi;
  let sink: SmtpSink;
  let db: Client;
  let base: string;
  const m = () => api.as('marketer');

  beforeAll(async () => {
    sink = new SmtpSink();
    const { url } = await sink.start(0);
    api = await startTestApi(
      {
        SMTP_URL: url,
        MAIL_FROM: 'Shop <news@shop.example>',
        PUBLIC_URL: 'https://t.shop.example',
        TRACKING_SECRET: SECRET,
        SCHEDULER_INTERVAL_MS: '300',
        DRIP_TICK_MS: '200',
        DRIP_TRIGGER_INTERVAL_MS: '500',
      },
      { withWorker: true },
    );
    await api.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(api.app.getHttpServer().address() as AddressInfo).port}`;
    db = new Client({ connectionString: api.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await api?.close();
    await sink?.stop();
  });

  const messagesTo = async (run: string) =>
    Promise.all(
      sink
        .messages()
        .filter((x) => x.to[0].startsWith(`${run}-`))
        .map(readMessage),
    );
  const enrollments = async (dripId: string) =>
    (
      await db.query(
        `SELECT c.external_id, e.state, e.step_id, e.exit_reason, e.end_step FROM drip_enrollment e
           JOIN customer c ON c.id = e.customer_id WHERE e.drip_id = $1 ORDER BY c.external_id`,
        [dripId],
      )
    ).rows;

  it('sends, waits, and branches on the opens recorded through the tracking endpoint', async () => {
    const run = uniqueCode('br').toLowerCase();
    const ids = await someCustomers(m(), run, 12);
    const hello = await anEmailTemplate(m(), 'Hello');
    const nudge = await anEmailTemplate(m(), 'Nudge');
    const event = `signup-${run}`;
    const drip = await anActiveDrip(m(), {
      trigger: { type: 'event', event },
      steps: [
        { id: 'hello', type: 'send', template: hello },
        { id: 'wait', type: 'wait', duration: 'P1D' },
        { id: 'opened', type: 'branch', if: { opened: { step: 'hello', within: 'P2D' } }, then: 'done', else: 'nudge' },
        { id: 'nudge', type: 'send', template: nudge },
        { id: 'done', type: 'exit', reason: 'engaged or nudged' },
      ],
    });
    const answer = await m()
      .post('/v1/events', { events: ids.map((externalId) => ({ externalId, type: event })) })
      .expect(200);
    expect(answer.body.recorded).toBe(12);
    expect(answer.body.events.every((e: { enrolled: string[] }) => e.enrolled[0] === drip.code)).toBe(true);

    // The first message goes out at once; everyone then waits a day.
    const first = await until(
      'the hello messages',
      () => messagesTo(run),
      (x) => x.length === 12,
    );
    expect(first.every((x) => x.subject.startsWith('Hello'))).toBe(true);
    await until(
      'everyone waiting',
      () => enrollments(drip.id),
      (rows) => rows.every((r) => r.step_id === 'wait'),
    );

    // Half of them open the message, as a mail client would: the pixel in the message itself.
    const openers = first.filter((_, i) => i % 2 === 0);
    for (const msg of openers) {
      const res = await fetch(`${base}${msg.open}`, { headers: { 'User-Agent': 'Thunderbird/128.0' } });
      expect(res.status).toBe(200);
    }
    await api.app.get(EventBuffer).flush();
    await until(
      'opens recorded',
      async () =>
        (
          await db.query(
            `SELECT count(DISTINCT r.send_id)::int AS n FROM response r JOIN send s ON s.id = r.send_id
              WHERE s.origin_id IN (SELECT id FROM drip_enrollment WHERE drip_id = $1) AND r.type = 'open'`,
            [drip.id],
          )
        ).rows[0].n,
      (n) => n === openers.length,
    );

    // The day is over.
    await db.query(`UPDATE drip_enrollment SET due_at = now() WHERE drip_id = $1 AND state = 'active'`, [drip.id]);
    const done = await until(
      'every enrollment ended',
      () => enrollments(drip.id),
      (rows) => rows.every((r) => r.state !== 'active'),
    );
    expect(done.map((r) => [r.state, r.end_step, r.exit_reason])).toEqual(
      done.map(() => ['exited', 'done', 'engaged or nudged']),
    );
    await until(
      'the nudges',
      () => messagesTo(run),
      (x) => x.length === 12 + 6,
    );
    const all = await messagesTo(run);
    const opened = new Set(openers.map((x) => x.to));
    for (const id of ids) {
      const mine = all.filter((x) => x.to === `${id}@mail.example`).map((x) => x.subject.split(' ')[0]);
      expect({ id, got: mine }).toEqual({ id, got: opened.has(`${id}@mail.example`) ? ['Hello'] : ['Hello', 'Nudge'] });
    }

    const report = (await m().get(`/v1/drips/${drip.code}/report`).expect(200)).body;
    const step = (id: string) => report.steps.find((s: { id: string }) => s.id === id);
    expect(report.enrollments).toMatchObject({ total: 12, active: 0, completed: 0, exited: 12 });
    expect(step('hello')).toMatchObject({ entered: 12, sent: 12, delivered: 12, opened: 6 });
    expect(step('opened')).toMatchObject({ entered: 12 });
    expect(step('nudge')).toMatchObject({ entered: 6, sent: 6, opened: 0 });
    expect(step('done')).toMatchObject({ entered: 12, exited: 12, exitReasons: { 'engaged or nudged': 12 } });
    expect(report.main.report.cells[0]).toMatchObject({ members: 12, contacted: 18, opens: 6 });
  });
});
