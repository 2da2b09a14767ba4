import { Client } from 'pg';
import { planSms } from '@closeloop/core';
import { SmscSimulator } from '../../apps/peers/src/smsc-simulator';
import { aLaunchableProgram, completedProgram } from '../support/delivery-fixtures';
import { uniqueCode } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

/**
 * SMS end to end: API -> dispatcher -> worker -> SMPP (bind_transceiver, submit_sm with UDH) -> an
 * SMSC simulator on loopback -> delivery receipts back into the ledger.
 */
describe('SMS delivery over SMPP', () => {
  let api: TestApi;
  let smsc: SmscSimulator;
  let db: Client;
  const undeliverable = '+4915100000019';
  beforeAll(async () => {
    smsc = new SmscSimulator({ systemId: 'closeloop', password: 'secret12', undeliverable: [undeliverable] });
    const { port } = await smsc.start(0);
    api = await startTestApi(
      { SMPP_URL: `smpp://closeloop:secret12@127.0.0.1:${port}`, SMS_FROM: 'Shop', SCHEDULER_INTERVAL_MS: '300' },
      { withWorker: true },
    );
    db = new Client({ connectionString: api.databaseUrl });
    await db.connect();
    // Quiet hours are on for SMS by default (21:00-08:00 local): off here, so the test runs at any hour.
    await api
      .as('admin')
      .put('/v1/contact-policy', { frequencyCap: null, quietHours: { email: null, sms: null } })
      .expect(200);
  });
  afterAll(async () => {
    await db?.end();
    await api?.close();
    await smsc?.stop();
  });

  it('sends concatenated segments, retries a throttled submit, and applies delivery receipts', async () => {
    const m = api.as('marketer');
    const run = uniqueCode('m').toLowerCase();
    const phones = Array.from({ length: 20 }, (_, i) => `+49151000000${String(i).padStart(2, '0')}`);
    const body =
      'Hi {{customer.firstName}}, spring is here and so is our biggest sale of the year: everything in the shop ' +
      'is 20 percent off until Sunday night. Show this message at the till or order online. Reply STOP to opt out';
    const p = await aLaunchableProgram(m, {
      run,
      channel: 'sms',
      customers: phones.map((phone, i) => ({
        externalId: `${run}-${i}`,
        phone,
        firstName: `Jo${i}`,
        consent: { sms: true },
      })),
      template: { body },
    });
    smsc.addRule({ to: phones[3], status: 0x58, times: 1 }); // ESME_RTHROTTLED once
    await m.post(`/v1/programs/${p.id}/launch`).expect(200);

    const deadline = Date.now() + 100_000;
    let progress;
    for (;;) {
      progress = (await m.get(`/v1/programs/${p.id}/progress`).expect(200)).body;
      const settled =
        progress.state === 'completed' && progress.counts.delivered === 19 && progress.counts.failed === 1;
      if (settled || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(progress.state).toBe('completed');
    expect(progress.counts).toMatchObject({ delivered: 19, failed: 1, sent: 0, deferred: 0 });

    const messages = smsc.messages();
    expect(messages).toHaveLength(20);
    const expected = (i: number) => body.replace('{{customer.firstName}}', `Jo${i}`);
    for (const msg of messages) {
      const i = phones.indexOf(msg.to.startsWith('+') ? msg.to : `+${msg.to}`);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(msg.text).toBe(expected(i));
      expect(msg.dataCoding).toBe(0);
      expect(msg.segments).toBe(planSms(expected(i)).segments);
    }
    expect(messages[0].segments).toBe(2);

    const { rows } = await db.query(
      `SELECT address, state, attempts, segments, error FROM send WHERE program_id = $1 ORDER BY address`,
      [p.id],
    );
    expect(rows.find((r) => r.address === phones[3])).toMatchObject({ state: 'delivered', attempts: 2, segments: 2 });
    expect(rows.find((r) => r.address === undeliverable)).toMatchObject({ state: 'failed' });
    expect(rows.find((r) => r.address === undeliverable)!.error).toContain('UNDELIV');
    // Every receipt is kept in the provider-event history too, by SMSC message id and status.
    const events = await db.query(
      `SELECT e.type, count(DISTINCT e.send_id)::int AS sends FROM delivery_event e JOIN send s ON s.id = e.send_id
        WHERE s.program_id = $1 AND e.provider = 'smpp' GROUP BY e.type ORDER BY e.type`,
      [p.id],
    );
    expect(events.rows).toEqual([
      { type: 'delivered', sends: 19 },
      { type: 'failed', sends: 1 },
    ]);
  }, 120_000);

  it('fails every send of an email program, saying why, when the worker has no SMTP_URL', async () => {
    const m = api.as('marketer');
    const run = uniqueCode('e').toLowerCase();
    const p = await aLaunchableProgram(m, {
      run,
      channel: 'email',
      customers: Array.from({ length: 3 }, (_, i) => ({
        externalId: `${run}-${i}`,
        email: `${run}-${i}@example.org`,
        consent: { email: true },
      })),
      template: { subject: 'Hi', html: '<p>Hi</p>' },
    });
    await m.post(`/v1/programs/${p.id}/launch`).expect(200);
    const deadline = Date.now() + 60_000;
    let progress;
    do {
      await new Promise((r) => setTimeout(r, 200));
      progress = (await m.get(`/v1/programs/${p.id}/progress`).expect(200)).body;
    } while (progress.state !== 'completed' && Date.now() < deadline);
    expect(progress).toMatchObject({ state: 'completed', pending: 0, counts: { failed: 3, sent: 0 } });
    const { rows } = await db.query(`SELECT DISTINCT error FROM send WHERE program_id = $1`, [p.id]);
    expect(rows).toEqual([{ error: 'SMTP_URL is not set: email cannot be sent' }]);
  });
  it('applies STOP, START and replies sent back over SMPP, and the next program skips a stopped number', async () => {
    const m = api.as('marketer');
    const run = uniqueCode('mo').toLowerCase();
    const phones = ['+4915200000001', '+4915200000002', '+4915200000003'];
    const customers = phones.map((phone, i) => ({ externalId: `${run}-${i}`, phone, consent: { sms: true } }));
    const launch = async (tag: string) => {
      const p = await aLaunchableProgram(m, {
        run: `${run}${tag}`,
        channel: 'sms',
        customers,
        template: { body: 'Sale!' },
      });
      await m.post(`/v1/programs/${p.id}/launch`).expect(200);
      await completedProgram(m, p.id);
      return p;
    };
    const first = await launch('a');
    // The whole message decides, in any case and with spaces around it; the reply is acknowledged once applied.
    await smsc.sendMo(phones[0].slice(1), 'Shop', '  Stop ');
    await smsc.sendMo(phones[1], 'Shop', 'When does the sale end? <b>soon</b>');
    await smsc.sendMo(phones[2], 'Shop', 'STOP');
    await smsc.sendMo(phones[2], 'Shop', 'start');
    const suppressed = await db.query(
      `SELECT address, reason, source FROM suppression WHERE channel = 'sms' AND address = ANY($1) ORDER BY address`,
      [phones],
    );
    expect(suppressed.rows).toEqual([{ address: phones[0], reason: 'unsubscribed', source: 'sms-stop' }]);
    const responses = await db.query(
      `SELECT c.phone, r.type, r.program_id, r.detail->>'text' AS text FROM response r
         JOIN customer c ON c.id = r.customer_id WHERE c.phone = ANY($1) ORDER BY c.phone, r.id`,
      [phones],
    );
    expect(responses.rows).toEqual([
      { phone: phones[0], type: 'unsubscribe', program_id: first.id, text: 'Stop' },
      { phone: phones[1], type: 'reply', program_id: first.id, text: 'When does the sale end? <b>soon</b>' },
      { phone: phones[2], type: 'unsubscribe', program_id: first.id, text: 'STOP' },
      { phone: phones[2], type: 'resubscribe', program_id: first.id, text: 'start' },
    ]);
    const before = smsc.messages().length;
    const second = await launch('b');
    const sent = await db.query(`SELECT address, state FROM send WHERE program_id = $1 ORDER BY address`, [second.id]);
    expect(sent.rows.map((r) => r.address)).toEqual([phones[1], phones[2]]);
    const arrived = smsc
      .messages()
      .slice(before)
      .map((msg) => (msg.to.startsWith('+') ? msg.to : `+${msg.to}`));
    expect(arrived.sort()).toEqual([phones[1], phones[2]]);
  }, 120_000);
});
