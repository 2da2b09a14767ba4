import { simpleParser } from 'mailparser';
import { Client } from 'pg';
import { verifyTrackingToken } from '@closeloop/core';
import { SmtpSink } from '../../apps/peers/src/smtp-sink';
import { aCampaign, uniqueCode } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

const SECRET = 'delivery-e2e-tracking-secret-1';

/**
 * The executor end to end: API -> dispatcher -> queue -> worker -> render -> real SMTP conversation
 * with a sink on loopback -> ledger. Counts are checked message by message at the sink.
 */
// Real sends through a real SMTP conversation: more than the default minute on a loaded 2-core machine.
jest.setTimeout(150_000);

describe('email delivery', () => {
  let api: TestApi;
  let sink: SmtpSink;
  let db: Client;
  beforeAll(async () => {
    sink = new SmtpSink();
    const { url } = await sink.start(0);
    api = await startTestApi(
      {
        SMTP_URL: url,
        MAIL_FROM: 'Closeloop Shop <news@shop.example>',
        PUBLIC_URL: 'https://t.shop.example',
        TRACKING_SECRET: SECRET,
        SCHEDULER_INTERVAL_MS: '300',
        SEND_BATCH_SIZE: '40',
      },
      { withWorker: true },
    );
    db = new Client({ connectionString: api.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await api?.close();
    await sink?.stop();
  });
  const m = () => api.as('marketer');

  async function customers(prefix: string, n: number, over: (i: number) => Record<string, unknown> = () => ({})) {
    const list = Array.from({ length: n }, (_, i) => ({
      externalId: `${prefix}-${i}`,
      email: `${prefix}-${i}@mail${i % 3}.example`,
      firstName: `Ann${i}`,
      consent: { email: true },
      timeZone: 'UTC',
      attributes: { run: prefix },
      ...over(i),
    }));
    for (let i = 0; i < list.length; i += 5000) {
      await m()
        .post('/v1/customers', { customers: list.slice(i, i + 5000) })
        .expect(200);
    }
    const segment = uniqueCode('SEG');
    await m()
      .post('/v1/segments', {
        code: segment,
        name: segment,
        criteria: { field: 'attributes.run', op: 'eq', value: prefix },
      })
      .expect(201);
    return segment;
  }

  async function template(code: string, subject: string, html: string) {
    return (await m().post('/v1/templates', { code, channel: 'email', subject, html }).expect(201)).body;
  }

  async function program(segment: string, templateCode: string, cells: Record<string, unknown>[]) {
    const campaign = (await m().post('/v1/campaigns', aCampaign()).expect(201)).body;
    const code = uniqueCode('P');
    return (
      await m()
        .post(`/v1/campaigns/${campaign.id}/programs`, {
          code,
          name: code,
          channel: 'email',
          segment,
          template: templateCode,
          seed: 11,
          cells: cells.map((c) => ({ ...c, code: `${code}-${c.code}` })),
        })
        .expect(201)
    ).body;
  }

  async function settled(programId: string, ms = 120_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const p = (await m().get(`/v1/programs/${programId}/progress`).expect(200)).body;
      if (p.state === 'completed' || p.state === 'cancelled' || p.error) return p;
      if (Date.now() > deadline) throw new Error(`program still ${p.state}: ${JSON.stringify(p.counts)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function builtList(programId: string) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const list = (await m().get(`/v1/programs/${programId}/list`).expect(200)).body;
      if (list.state === 'built' || list.state === 'failed') return list;
      if (Date.now() > deadline) throw new Error(`list still ${list.state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const sinkTo = (prefix: string) => sink.messages().filter((msg) => msg.to.some((t) => t.startsWith(`${prefix}-`)));

  it('sends one message per non-control member, rendered per cell, with tracking and one-click unsubscribe', async () => {
    const run = uniqueCode('r').toLowerCase();
    const segment = await customers(run, 2000);
    const tA = uniqueCode('TA');
    const tB = uniqueCode('TB');
    await template(
      tA,
      'A: hello {{customer.firstName}}',
      '<p>Hi {{customer.firstName}}</p><a href="https://shop.example/a?x=1&amp;y=2">Shop</a> <a href="mailto:help@shop.example">Help</a>',
    );
    await template(tB, 'B: a gift for {{customer.firstName}}', '<p>Gift</p><a href="https://shop.example/b">Gift</a>');
    const p = await program(segment, tA, [
      { code: 'A', name: 'A', weight: 45 },
      { code: 'B', name: 'B', weight: 45, template: tB },
      { code: 'CTL', name: 'Control', weight: 10, isControl: true },
    ]);
    await m().post(`/v1/programs/${p.id}/launch`).expect(200);
    const progress = await settled(p.id);
    expect(progress.state).toBe('completed');
    expect(progress.counts).toMatchObject({ sent: 1800, held_out: 200, queued: 0, sending: 0, failed: 0 });
    expect(progress.total).toBe(2000);

    const messages = sinkTo(run);
    expect(messages).toHaveLength(1800);
    const recipients = new Set(messages.flatMap((msg) => msg.to));
    expect(recipients.size).toBe(1800);

    const { rows: sends } = await db.query(
      `SELECT s.id, s.address, s.state, ce.code AS cell FROM send s JOIN cell ce ON ce.id = s.cell_id
        WHERE s.program_id = $1`,
      [p.id],
    );
    expect(sends).toHaveLength(2000);
    const control = sends.filter((s) => s.cell.endsWith('-CTL'));
    expect(control).toHaveLength(200);
    expect(control.every((s) => s.state === 'held_out')).toBe(true);
    for (const s of control) expect(recipients.has(s.address)).toBe(false);

    const byAddress = new Map(sends.map((s) => [s.address, s]));
    let checkedA = 0;
    let checkedB = 0;
    // Thirty messages of each cell, checked header by header (arrival order mixes the cells unevenly).
    for (const raw of messages) {
      const send = byAddress.get(raw.to[0])!;
      if ((send.cell.endsWith('-A') ? checkedA : checkedB) >= 30) continue;
      const mail = await simpleParser(raw.raw);
      expect(mail.messageId).toBe(`<${send.id}@shop.example>`);
      const head = raw.raw.toString('utf8').split('\r\n\r\n')[0];
      const unsubscribe = /^List-Unsubscribe: (.*)$/m.exec(head)![1];
      expect(unsubscribe).toMatch(
        /^<https:\/\/t\.shop\.example\/u\/[\w-]+>, <mailto:unsubscribe@shop\.example\?subject=unsubscribe-[\w-]+>$/,
      );
      expect(head).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
      const unsubscribeToken = /\/u\/([\w-]+)>/.exec(unsubscribe)![1];
      expect(verifyTrackingToken(unsubscribeToken, [SECRET])).toMatchObject({ kind: 'unsubscribe', sendId: send.id });
      const html = String(mail.html);
      const clicks = [...html.matchAll(/href="https:\/\/t\.shop\.example\/t\/c\/([\w-]+)"/g)].map((x) => x[1]);
      expect(clicks.length).toBeGreaterThanOrEqual(1);
      expect(verifyTrackingToken(clicks[0], [SECRET])).toMatchObject({ kind: 'click', sendId: send.id, link: 0 });
      expect(html).not.toContain('href="https://shop.example/');
      const pixel = /<img[^>]+src="https:\/\/t\.shop\.example\/t\/o\/([\w-]+)"/.exec(html);
      expect(verifyTrackingToken(pixel![1], [SECRET])).toMatchObject({ kind: 'open', sendId: send.id });
      const n = raw.to[0].split('@')[0].split('-').pop();
      if (send.cell.endsWith('-A')) {
        expect(mail.subject).toBe(`A: hello Ann${n}`);
        expect(html).toContain(`Hi Ann${n}`);
        expect(html).toContain('href="mailto:help@shop.example"');
        checkedA++;
      } else {
        expect(send.cell.endsWith('-B')).toBe(true);
        expect(mail.subject).toBe(`B: a gift for Ann${n}`);
        checkedB++;
      }
    }
    expect(checkedA).toBe(30);
    expect(checkedB).toBe(30);
    // The click destination is looked up from the ledger by index, exactly as it was in the message.
    const { rows: linked } = await db.query(
      `SELECT links FROM send s JOIN cell ce ON ce.id = s.cell_id
                                               WHERE s.program_id = $1 AND ce.code LIKE '%-A' LIMIT 1`,
      [p.id],
    );
    expect(linked[0].links).toEqual(['https://shop.example/a?x=1&y=2']);
  });

  it('retries 4xx answers until delivered, bounces and suppresses 5xx, and a second program skips them', async () => {
    const run = uniqueCode('f').toLowerCase();
    const segment = await customers(run, 30);
    const t = uniqueCode('T');
    await template(t, 'Hi {{customer.firstName}}', '<p>Hello</p>');
    for (let i = 0; i < 3; i++) sink.addRule({ address: `${run}-${i}@mail${i % 3}.example`, code: 451, times: 2 });
    for (let i = 3; i < 6; i++) sink.addRule({ address: `${run}-${i}@mail${i % 3}.example`, code: 550 });
    const p = await program(segment, t, [{ code: 'A', name: 'A', weight: 100 }]);
    await m().post(`/v1/programs/${p.id}/launch`).expect(200);
    const progress = await settled(p.id);
    expect(progress.counts).toMatchObject({ sent: 27, bounced: 3, failed: 0, deferred: 0 });
    const attempts = sink.stats().attemptsByAddress;
    for (let i = 0; i < 3; i++) expect(attempts.get(`${run}-${i}@mail${i % 3}.example`)).toBe(3);
    expect(sinkTo(run)).toHaveLength(27);
    const { rows: sup } = await db.query(
      `SELECT address, reason FROM suppression WHERE address LIKE $1 ORDER BY address`,
      [`${run}-%`],
    );
    expect(sup).toEqual([3, 4, 5].map((i) => ({ address: `${run}-${i}@mail${i % 3}.example`, reason: 'hard-bounce' })));

    sink.clearRules();
    const again = await program(segment, t, [{ code: 'A', name: 'A', weight: 100 }]);
    await m().post(`/v1/programs/${again.id}/launch`).expect(200);
    const second = await settled(again.id);
    expect(second.counts).toMatchObject({ sent: 27, bounced: 0 });
    const list = (await m().get(`/v1/programs/${again.id}/list`).expect(200)).body;
    const suppress = list.waterfall.find((w: { step: string }) => w.step === 'suppress');
    expect(suppress.removed).toBe(3);
    expect(sinkTo(run)).toHaveLength(54);
  });

  it('pauses, resumes and cancels mid-send: paused stops sending, resume sends only the rest, cancel cancels it', async () => {
    const run = uniqueCode('s').toLowerCase();
    const segment = await customers(run, 400);
    const t = uniqueCode('T');
    await template(t, 'Slow {{customer.firstName}}', '<p>Hello</p>');
    sink.setDelayMs(40);
    try {
      const p = await program(segment, t, [{ code: 'A', name: 'A', weight: 100 }]);
      await m().post(`/v1/programs/${p.id}/launch`).expect(200);
      const deadline = Date.now() + 30_000;
      while (sinkTo(run).length < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await m().post(`/v1/programs/${p.id}/pause`).expect(200);
      // What was in flight when the pause came settles; then nothing more goes out.
      await new Promise((r) => setTimeout(r, 4000));
      const atPause = sinkTo(run).length;
      expect(atPause).toBeGreaterThanOrEqual(50);
      expect(atPause).toBeLessThan(400);
      await new Promise((r) => setTimeout(r, 1500));
      expect(sinkTo(run).length).toBe(atPause);
      const paused = (await m().get(`/v1/programs/${p.id}/progress`).expect(200)).body;
      expect(paused.state).toBe('paused');
      expect(paused.counts.sent).toBe(atPause);
      expect(paused.counts.queued).toBe(400 - atPause);

      await m().post(`/v1/programs/${p.id}/resume`).expect(200);
      const done = await settled(p.id);
      expect(done.state).toBe('completed');
      expect(done.counts.sent).toBe(400);
      expect(new Set(sinkTo(run).flatMap((x) => x.to)).size).toBe(400);
      expect(sinkTo(run)).toHaveLength(400);

      const c = await program(segment, t, [{ code: 'A', name: 'A', weight: 100 }]);
      const before = sinkTo(run).length;
      await m().post(`/v1/programs/${c.id}/launch`).expect(200);
      while (sinkTo(run).length < before + 30) await new Promise((r) => setTimeout(r, 50));
      await m().post(`/v1/programs/${c.id}/cancel`).expect(200);
      await new Promise((r) => setTimeout(r, 4000));
      const cancelled = (await m().get(`/v1/programs/${c.id}/progress`).expect(200)).body;
      expect(cancelled.state).toBe('cancelled');
      expect(cancelled.pending).toBe(0);
      expect(cancelled.counts.cancelled).toBeGreaterThan(0);
      expect(cancelled.counts.sent + cancelled.counts.cancelled).toBe(400);
      expect(sinkTo(run).length - before).toBe(cancelled.counts.sent);
    } finally {
      sink.setDelayMs(0);
    }
  });

  it('defers for quiet hours and frequency caps instead of dropping, to the exact allowed time', async () => {
    const run = uniqueCode('q').toLowerCase();
    const segment = await customers(run, 10, (i) => ({ timeZone: i < 5 ? 'Asia/Tokyo' : 'America/New_York' }));
    const t = uniqueCode('T');
    await template(t, 'Hi', '<p>Hello</p>');
    // Frequency cap: one email per customer per 24 hours, across programs.
    await api
      .as('admin')
      .put('/v1/contact-policy', { frequencyCap: { max: 1, periodHours: 24 }, quietHours: { email: null, sms: null } })
      .expect(200);
    const first = await program(segment, t, [{ code: 'A', name: 'A', weight: 100 }]);
    // The second program's list is built before the first one sends: everyone is on it...
    const second = await program(segment, t, [{ code: 'A', name: 'A', weight: 100 }]);
    await m().post(`/v1/programs/${second.id}/list`).expect(202);
    const secondList = await builtList(second.id);
    expect(secondList.waterfall.find((w: { step: string }) => w.step === 'policy')).toEqual({
      step: 'policy',
      remaining: 10,
      removed: 0,
    });
    await m().post(`/v1/programs/${first.id}/launch`).expect(200);
    expect((await settled(first.id)).counts.sent).toBe(10);
    await new Promise((r) => setTimeout(r, 5500)); // the policy cache in the worker is 5 s
    // ...so the cap holds at send time: deferred to exactly 24 hours after each customer's last send.
    await m().post(`/v1/programs/${second.id}/launch`).expect(200);
    const deadline = Date.now() + 20_000;
    let deferred: { not_before: Date; error: string; sent_at: Date }[] = [];
    while (deferred.length < 10 && Date.now() < deadline) {
      deferred = (
        await db.query(
          `SELECT s2.not_before, s2.error, s1.sent_at FROM send s2
             JOIN send s1 ON s1.customer_id = s2.customer_id AND s1.program_id = $1
            WHERE s2.program_id = $2 AND s2.state = 'deferred'`,
          [first.id, second.id],
        )
      ).rows;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(deferred).toHaveLength(10);
    for (const d of deferred) {
      expect(d.error).toBe('frequency cap');
      expect(new Date(d.not_before).getTime()).toBe(new Date(d.sent_at).getTime() + 24 * 3600_000);
    }
    expect((await m().get(`/v1/programs/${second.id}/progress`).expect(200)).body).toMatchObject({
      state: 'running',
      pending: 10,
    });
    await m().post(`/v1/programs/${second.id}/cancel`).expect(200);
    // A list built now leaves them out, counted in the waterfall's policy step.
    const third = await program(segment, t, [{ code: 'A', name: 'A', weight: 100 }]);
    await m().post(`/v1/programs/${third.id}/list`).expect(202);
    expect((await builtList(third.id)).waterfall.find((w: { step: string }) => w.step === 'policy')).toEqual({
      step: 'policy',
      remaining: 0,
      removed: 10,
      reasons: { 'frequency cap': 10 },
    });

    // Quiet hours: a window around the current UTC hour, so every UTC customer is inside it now.
    const now = new Date();
    const hh = (h: number) => `${String((h + 24) % 24).padStart(2, '0')}:00`;
    await api
      .as('admin')
      .put('/v1/contact-policy', {
        frequencyCap: null,
        quietHours: { email: { start: hh(now.getUTCHours()), end: hh(now.getUTCHours() + 2) }, sms: null },
      })
      .expect(200);
    await new Promise((r) => setTimeout(r, 5500));
    const qrun = uniqueCode('qh').toLowerCase();
    const qsegment = await customers(qrun, 5);
    const quietProgram = await program(qsegment, t, [{ code: 'A', name: 'A', weight: 100 }]);
    await m().post(`/v1/programs/${quietProgram.id}/launch`).expect(200);
    let quiet: { not_before: Date; error: string }[] = [];
    const until = Date.now() + 20_000;
    while (quiet.length < 5 && Date.now() < until) {
      quiet = (
        await db.query(`SELECT not_before, error FROM send WHERE program_id = $1 AND state = 'deferred'`, [
          quietProgram.id,
        ])
      ).rows;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(quiet).toHaveLength(5);
    const resume = new Date(now);
    resume.setUTCHours(now.getUTCHours() + 2, 0, 0, 0);
    for (const q of quiet) {
      expect(q.error).toBe('quiet hours');
      expect(new Date(q.not_before).toISOString()).toBe(resume.toISOString());
    }
    expect(sinkTo(qrun)).toHaveLength(0);
    await api
      .as('admin')
      .put('/v1/contact-policy', {
        frequencyCap: null,
        quietHours: { email: null, sms: { start: '21:00', end: '08:00' } },
      })
      .expect(200);
    await m().post(`/v1/programs/${quietProgram.id}/cancel`).expect(200);
  });

  it('refuses a template that does not compile with 422 naming line and column, and previews with warnings', async () => {
    const bad = await m()
      .post('/v1/templates', {
        code: uniqueCode('BAD'),
        channel: 'email',
        subject: 'Hi',
        html: '<p>one</p>\n<p>two</p>\n{{#if customer.firstName}}<p>open',
      })
      .expect(422);
    expect(bad.body.message).toMatch(/html.*line 3/i);
    const unknown = await m()
      .post('/v1/templates', {
        code: uniqueCode('BAD'),
        channel: 'email',
        subject: 'Hi',
        html: '<p>{{shout customer.firstName}}</p>',
      })
      .expect(422);
    expect(unknown.body.message).toContain('shout');

    const run = uniqueCode('v').toLowerCase();
    await customers(run, 1, () => ({ firstName: undefined }));
    const code = uniqueCode('PV');
    await template(code, 'Hello {{customer.firstName}}', '<p>Dear {{customer.firstName}}</p>');
    const preview = (
      await m()
        .post(`/v1/templates/${code}/preview`, { customer: `${run}-0` })
        .expect(200)
    ).body;
    expect(preview.subject).toBe('Hello');
    expect(preview.warnings.join(' ')).toContain('customer.firstName');

    const sms = (
      await m()
        .post('/v1/templates', {
          code: uniqueCode('SMS'),
          channel: 'sms',
          body: 'Hi {{customer.externalId}} – €5 off {{offerCode}}',
        })
        .expect(201)
    ).body;
    const smsPreview = (
      await m()
        .post(`/v1/templates/${sms.id}/preview`, { customer: `${run}-0` })
        .expect(200)
    ).body;
    expect(smsPreview.sms).toMatchObject({ encoding: 'UCS-2', segments: 1, perSegment: 70 });

    const v2 = (
      await m().put(`/v1/templates/${code}`, { subject: 'V2 {{customer.firstName}}', html: '<p>v2</p>' }).expect(200)
    ).body;
    expect(v2).toMatchObject({ version: 2, currentVersion: 2, subject: 'V2 {{customer.firstName}}' });
    expect((await m().get(`/v1/templates/${code}?version=1`).expect(200)).body.subject).toBe(
      'Hello {{customer.firstName}}',
    );
  });

  it('refuses to launch a program whose template does not exist or is for the other channel', async () => {
    const run = uniqueCode('n').toLowerCase();
    const segment = await customers(run, 2);
    const p = await program(segment, uniqueCode('NOPE'), [{ code: 'A', name: 'A', weight: 100 }]);
    const res = await m().post(`/v1/programs/${p.id}/launch`).expect(409);
    expect(res.body.message).toMatch(/template "NOPE-[\w]+" does not exist/);
    const sms = uniqueCode('SMS');
    await m().post('/v1/templates', { code: sms, channel: 'sms', body: 'Hi' }).expect(201);
    const q = await program(segment, sms, [{ code: 'A', name: 'A', weight: 100 }]);
    const wrong = await m().post(`/v1/programs/${q.id}/launch`).expect(409);
    expect(wrong.body.message).toContain('is for sms, the program sends email');
  });

  it('test-sends the program message to given addresses, marked [TEST] and not recorded as sends', async () => {
    const run = uniqueCode('ts').toLowerCase();
    const segment = await customers(run, 3);
    const t = uniqueCode('T');
    await template(t, 'Hello {{customer.firstName}}', '<p>Dear {{customer.firstName}}</p>');
    const p = await program(segment, t, [{ code: 'A', name: 'A', weight: 100 }]);
    const res = (
      await m()
        .post(`/v1/programs/${p.id}/test-send`, { addresses: [`Me.${run}@Proof.Example`], customer: `${run}-1` })
        .expect(200)
    ).body;
    expect(res).toMatchObject({
      template: t,
      version: 1,
      results: [{ address: `Me.${run}@proof.example`, status: 'sent', error: null }],
    });
    const proof = sink.messages().filter((x) => x.to.includes(`Me.${run}@proof.example`));
    expect(proof).toHaveLength(1);
    expect((await simpleParser(proof[0].raw)).subject).toBe('[TEST] Hello Ann1');
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM send WHERE program_id = $1`, [p.id]);
    expect(rows[0].n).toBe(0);
    const bad = await m()
      .post(`/v1/programs/${p.id}/test-send`, { addresses: ['not an address'] })
      .expect(400);
    expect(bad.body.message).toContain('addresses[0]');
  });
});
