import { Client } from 'pg';
import { SmscSimulator } from '../../apps/peers/src/smsc-simulator';
import { SmtpSink } from '../../apps/peers/src/smtp-sink';
import { anActiveDrip, anEmailTemplate, until } from '../support/automation-fixtures';
import { uniqueCode } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

/**
 * A drip on two channels: an email first, and a text over SMPP for those who did not click it, each
 * through its own peer; the SMS delivery receipts reach the drip's sends like any program's.
 */
jest.setTimeout(120_000);

describe('a drip on email and SMS', () => {
  let api: TestApi;
  let sink: SmtpSink;
  let smsc: SmscSimulator;
  let db: Client;

  beforeAll(async () => {
    sink = new SmtpSink();
    const { url } = await sink.start(0);
    smsc = new SmscSimulator({ systemId: 'closeloop', password: 'secret12' });
    const { port } = await smsc.start(0);
    api = await startTestApi(
      {
        SMTP_URL: url,
        MAIL_FROM: 'Shop <news@shop.example>',
        SMPP_URL: `smpp://closeloop:secret12@127.0.0.1:${port}`,
        SMS_FROM: 'Shop',
        SCHEDULER_INTERVAL_MS: '300',
        DRIP_TICK_MS: '200',
      },
      { withWorker: true },
    );
    db = new Client({ connectionString: api.databaseUrl });
    await db.connect();
    await api
      .as('admin')
      .put('/v1/contact-policy', { frequencyCap: null, quietHours: { email: null, sms: null } })
      .expect(200);
  });
  afterAll(async () => {
    await db?.end();
    await api?.close();
    await sink?.stop();
    await smsc?.stop();
  });

  it('texts those who did not click the email, and records the receipts', async () => {
    const m = api.as('marketer');
    const run = uniqueCode('ch').toLowerCase();
    const customers = Array.from({ length: 6 }, (_, i) => ({
      externalId: `${run}-${i}`,
      email: `${run}-${i}@mail.example`,
      phone: `+4915100001${String(i).padStart(3, '0')}`,
      firstName: `Jo${i}`,
      consent: { email: true, sms: true },
    }));
    await m.post('/v1/customers', { customers }).expect(200);
    const email = await anEmailTemplate(m, 'Offer');
    const sms = uniqueCode('SMS');
    await m
      .post('/v1/templates', { code: sms, channel: 'sms', body: 'Hi {{customer.firstName}}, the offer ends tonight.' })
      .expect(201);
    const drip = await anActiveDrip(m, {
      trigger: { type: 'event', event: `offer-${run}` },
      steps: [
        { id: 'mail', type: 'send', template: email },
        { id: 'w', type: 'wait', duration: 'PT1H' },
        { id: 'b', type: 'branch', if: { clicked: { step: 'mail' } }, then: 'end', else: 'text' },
        { id: 'text', type: 'send', template: sms },
        { id: 'end', type: 'exit', reason: 'done' },
      ],
    });
    expect(drip.channels).toEqual(['email', 'sms']);
    await m
      .post('/v1/events', { events: customers.map((c) => ({ externalId: c.externalId, type: `offer-${run}` })) })
      .expect(200);
    await until(
      'the emails',
      async () => sink.messages().filter((x) => x.to[0].startsWith(`${run}-`)).length,
      (n) => n === 6,
    );
    await until(
      'everyone waiting',
      async () =>
        (
          await db.query(`SELECT count(*)::int AS n FROM drip_enrollment WHERE drip_id = $1 AND step_id = 'w'`, [
            drip.id,
          ])
        ).rows[0].n,
      (n) => n === 6,
    );
    // Customer 0 clicked (recorded as tracking would: a person's click on the email's send).
    await db.query(
      `INSERT INTO response (send_id, customer_id, program_id, cell_id, response_code, type, occurred_at, source, event_id)
       SELECT s.id, s.customer_id, s.program_id, s.cell_id, s.response_code, 'click', now(), 'test', gen_random_uuid()
         FROM send s JOIN customer c ON c.id = s.customer_id WHERE c.external_id = $1 AND s.step_id = 'mail'`,
      [`${run}-0`],
    );
    await db.query(`UPDATE drip_enrollment SET due_at = now() WHERE drip_id = $1`, [drip.id]);
    await until(
      'the texts',
      async () => smsc.messages().filter((x) => x.text.includes('the offer ends tonight')).length,
      (n) => n === 5,
    );
    const texted = smsc.messages().map((x) => x.to.replace(/^\+/, ''));
    expect(texted.sort()).toEqual(
      customers
        .slice(1)
        .map((c) => c.phone.replace(/^\+/, ''))
        .sort(),
    );
    const receipts = await until(
      'the receipts applied',
      async () =>
        (
          await db.query(
            `SELECT state, channel, address FROM send WHERE step_id = 'text' AND origin_id IN
               (SELECT id FROM drip_enrollment WHERE drip_id = $1) ORDER BY address`,
            [drip.id],
          )
        ).rows,
      (rows) => rows.length === 5 && rows.every((r) => r.state === 'delivered'),
    );
    expect(receipts.every((r) => r.channel === 'sms')).toBe(true);
    const report = (await m.get(`/v1/drips/${drip.code}/report`).expect(200)).body;
    expect(report.steps.find((s: { id: string }) => s.id === 'mail')).toMatchObject({ sent: 6, clicked: 1 });
    expect(report.steps.find((s: { id: string }) => s.id === 'text')).toMatchObject({ sent: 5, delivered: 5 });
  });
});
