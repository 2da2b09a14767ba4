import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { DispatcherService } from '@closeloop/delivery';
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

  it('splits into arms measured like program cells, holds the holdout out, and keeps a customer in their arm', async () => {
    const run = uniqueCode('ab').toLowerCase();
    const n = 200;
    const ids = await someCustomers(m(), run, n);
    const a = await anEmailTemplate(m(), 'Alpha');
    const b = await anEmailTemplate(m(), 'Beta');
    const event = `join-${run}`;
    const arm = uniqueCode('ARM');
    const drip = await anActiveDrip(m(), {
      trigger: { type: 'event', event },
      reentry: 'after-exit',
      steps: [
        {
          id: 'ab',
          type: 'split',
          seed: 7,
          cells: [
            { code: `${arm}-A`, name: 'Alpha', weight: 45, next: 'sa' },
            { code: `${arm}-B`, name: 'Beta', weight: 45, next: 'sb' },
            { code: `${arm}-H`, name: 'Holdout', weight: 10, isControl: true, next: 'sa' },
          ],
        },
        { id: 'sa', type: 'send', template: a },
        { id: 'xa', type: 'exit', reason: 'sent alpha' },
        { id: 'sb', type: 'send', template: b },
        { id: 'xb', type: 'exit', reason: 'sent beta' },
      ],
    });
    const split = drip.programs.find((p: { scope: string }) => p.scope === 'ab');
    expect(split.cells.map((c: { code: string; isControl: boolean }) => [c.code, c.isControl])).toEqual([
      [`${arm}-A`, false],
      [`${arm}-B`, false],
      [`${arm}-H`, true],
    ]);
    await m()
      .post('/v1/events', { events: ids.map((externalId) => ({ externalId, type: event })) })
      .expect(200);
    await until(
      'every enrollment ended',
      () => enrollments(drip.id),
      (rows) => rows.length === n && rows.every((r) => r.state === 'exited'),
    );
    const arms = new Map(
      (
        await db.query(
          `SELECT c.external_id, ce.code FROM program_member pm JOIN customer c ON c.id = pm.customer_id
             JOIN cell ce ON ce.id = pm.cell_id WHERE pm.program_id = $1`,
          [split.id],
        )
      ).rows.map((r) => [r.external_id, r.code]),
    );
    expect(arms.size).toBe(n);
    const size = (code: string) => [...arms.values()].filter((c) => c === code).length;
    // A keyed hash spreads arms by weight: 45/45/10 of 200, give or take chance (4 standard deviations).
    expect(Math.abs(size(`${arm}-A`) - 90)).toBeLessThan(29);
    expect(Math.abs(size(`${arm}-H`) - 20)).toBeLessThan(17);
    const held = size(`${arm}-H`);
    const messages = await until(
      'the arms messages',
      () => messagesTo(run),
      (x) => x.length === n - held,
    );
    for (const msg of messages) {
      const id = msg.to.split('@')[0];
      expect({ id, subject: msg.subject.split(' ')[0] }).toEqual({
        id,
        subject: arms.get(id) === `${arm}-B` ? 'Beta' : 'Alpha',
      });
      expect(arms.get(id)).not.toBe(`${arm}-H`);
    }
    const heldOut = (
      await db.query(`SELECT count(*)::int AS n FROM send WHERE program_id = $1 AND state = 'held_out'`, [split.id])
    ).rows[0].n;
    expect(heldOut).toBe(held);

    // Conversions of some members of each arm, the holdout's included, credited by the attribution window.
    const converters = ids.filter((_, i) => i % 4 === 0);
    await m()
      .post('/v1/responses', {
        responses: converters.map((externalId, i) => ({
          externalId,
          type: 'conversion',
          value: 1000,
          currency: 'EUR',
          occurredAt: new Date().toISOString(),
          idempotencyKey: `${run}-order-${i}`,
        })),
      })
      .expect(200);
    const report = (await m().get(`/v1/drips/${drip.id}/report`).expect(200)).body;
    const splitReport = report.splits.find((x: { step: string }) => x.step === 'ab').report;
    for (const code of [`${arm}-A`, `${arm}-B`, `${arm}-H`]) {
      const cell = splitReport.cells.find((c: { code: string }) => c.code === code);
      const members = ids.filter((id) => arms.get(id) === code);
      expect({ code, members: cell.members, conversions: cell.conversions, contacted: cell.contacted }).toEqual({
        code,
        members: members.length,
        conversions: members.filter((id) => converters.includes(id)).length,
        contacted: code.endsWith('-H') ? 0 : members.length,
      });
    }
    expect(splitReport.comparisons.map((c: { cell: string; against: string }) => `${c.cell}/${c.against}`)).toContain(
      `${arm}-A/${arm}-H`,
    );
    expect(splitReport.verdict).toMatch(/\S/);
    expect(report.steps.find((s: { id: string }) => s.id === 'sa')).toMatchObject({
      entered: size(`${arm}-A`) + held,
      sent: size(`${arm}-A`),
      heldOut: held,
    });
    const html = await m().get(`/v1/drips/${drip.id}/report?format=html`).expect(200);
    expect(html.headers['content-type']).toContain('text/html');
    expect(html.text).toContain(`${arm}-A`);
    const csv = await m().get(`/v1/drips/${drip.id}/report?format=csv`).expect(200);
    expect(csv.text.split('\r\n')[0]).toContain('row');

    // Entering again (after the first enrollment ended), a customer keeps their arm.
    const again = ids.slice(0, 20);
    await m()
      .post('/v1/events', { events: again.map((externalId) => ({ externalId, type: event })) })
      .expect(200);
    await until(
      'the second round ended',
      () => enrollments(drip.id),
      (rows) => rows.length === n + 20 && rows.every((r) => r.state === 'exited'),
    );
    const after = new Map(
      (
        await db.query(
          `SELECT c.external_id, ce.code FROM program_member pm JOIN customer c ON c.id = pm.customer_id
             JOIN cell ce ON ce.id = pm.cell_id WHERE pm.program_id = $1`,
          [split.id],
        )
      ).rows.map((r) => [r.external_id, r.code]),
    );
    expect(after).toEqual(arms);
    const second = (
      await db.query(
        `SELECT c.external_id, ce.code FROM send s JOIN customer c ON c.id = s.customer_id JOIN cell ce ON ce.id = s.cell_id
          WHERE s.program_id = $1 AND c.external_id = ANY($2)`,
        [split.id, again],
      )
    ).rows;
    expect(second).toHaveLength(40);
    for (const row of second) expect(row.code).toBe(arms.get(row.external_id));
  });

  it('ends an enrollment early on an unsubscribe, a conversion or an exit event, and sends it nothing more', async () => {
    const run = uniqueCode('ex').toLowerCase();
    const ids = await someCustomers(m(), run, 4);
    const one = await anEmailTemplate(m(), 'One');
    const two = await anEmailTemplate(m(), 'Two');
    const event = `trial-${run}`;
    const drip = await anActiveDrip(m(), {
      trigger: { type: 'event', event },
      exit: { unsubscribed: true, converted: true, events: [`cancel-${run}`] },
      steps: [
        { id: 's1', type: 'send', template: one },
        { id: 'w', type: 'wait', duration: 'P1D' },
        { id: 's2', type: 'send', template: two },
      ],
    });
    await m()
      .post('/v1/events', { events: ids.map((externalId) => ({ externalId, type: event })) })
      .expect(200);
    const first = await until(
      'the first messages',
      () => messagesTo(run),
      (x) => x.length === 4,
    );
    await until(
      'everyone waiting',
      () => enrollments(drip.id),
      (rows) => rows.every((r) => r.step_id === 'w'),
    );
    const of = (i: number) => first.find((x) => x.to === `${ids[i]}@mail.example`)!;

    // 0 unsubscribes with one click (RFC 8058), from the message's own List-Unsubscribe header.
    const post = await fetch(`${base}${of(0).unsubscribe}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(post.status).toBe(200);
    // 1 buys.
    await m()
      .post('/v1/responses', {
        externalId: ids[1],
        type: 'conversion',
        value: 2500,
        currency: 'EUR',
        occurredAt: new Date().toISOString(),
        idempotencyKey: `${run}-order`,
      })
      .expect(200);
    // 2 cancels: the event ends the enrollment in the same request.
    const cancelled = await m()
      .post('/v1/events', { externalId: ids[2], type: `cancel-${run}` })
      .expect(200);
    expect(cancelled.body.exited).toBe(1);

    // The sweep ends 0 and 1 while they wait; 3 waits on.
    const rows = await until(
      'exits while waiting',
      () => enrollments(drip.id),
      (r) => r.filter((x) => x.state === 'exited').length === 3,
    );
    expect(rows.map((r) => [r.external_id, r.state, r.exit_reason])).toEqual([
      [ids[0], 'exited', 'unsubscribed'],
      [ids[1], 'exited', 'converted'],
      [ids[2], 'exited', 'exit event'],
      [ids[3], 'active', null],
    ]);
    await db.query(`UPDATE drip_enrollment SET due_at = now() WHERE drip_id = $1 AND state = 'active'`, [drip.id]);
    await until(
      'the last one completed',
      () => enrollments(drip.id),
      (r) => r[3].state === 'completed',
    );
    await until(
      'its second message',
      () => messagesTo(run),
      (x) => x.length === 5,
    );
    const all = await messagesTo(run);
    expect(all.filter((x) => x.subject.startsWith('Two')).map((x) => x.to)).toEqual([`${ids[3]}@mail.example`]);
    const report = (await m().get(`/v1/drips/${drip.code}/report`).expect(200)).body;
    expect(report.enrollments).toMatchObject({
      total: 4,
      completed: 1,
      exited: 3,
      exitReasons: { unsubscribed: 1, converted: 1, 'exit event': 1 },
    });
    expect(report.steps.find((s: { id: string }) => s.id === 'w')).toMatchObject({
      entered: 4,
      exited: 3,
      exitReasons: { unsubscribed: 1, converted: 1, 'exit event': 1 },
    });
    expect(report.steps.find((s: { id: string }) => s.id === 's2')).toMatchObject({ entered: 1, completed: 1 });
  });

  it('refuses invalid definitions with errors naming the step, and saves nothing', async () => {
    const t = await anEmailTemplate(m(), 'Valid');
    const base = (steps: object[], extra: object = {}) => ({
      code: uniqueCode('BAD'),
      name: 'bad',
      trigger: { type: 'event', event: 'signup' },
      steps,
      ...extra,
    });
    const cases: [object, RegExp][] = [
      [
        base([{ id: 's1', type: 'send', template: 'NO-SUCH-TEMPLATE' }]),
        /steps\[0\] \(send "s1"\)\.template "NO-SUCH-TEMPLATE" does not exist/,
      ],
      [
        base([
          { id: 'b1', type: 'branch', if: { purchased: true }, then: 's1' },
          { id: 's1', type: 'send', template: t },
        ]),
        /steps\[0\] \(branch "b1"\) has no else path/,
      ],
      [base([{ id: 'w1', type: 'wait', duration: '-P2D' }]), /steps\[0\]\.duration must not be negative/],
      [base([{ id: 'w1', type: 'wait', duration: 'PT0S' }]), /steps\[0\]\.duration must be longer than zero/],
      [base([{ id: 'w1', type: 'wait' }]), /steps\[0\] \(wait "w1"\) needs a duration/],
      [
        base([
          { id: 's1', type: 'send', template: t },
          { id: 'b1', type: 'branch', if: { opened: { step: 's1' } }, then: 's1', else: 's1' },
        ]),
        /steps\[1\] \(branch "b1"\)\.then "s1" jumps back/,
      ],
      [
        base([
          { id: 'b1', type: 'branch', if: { opened: { step: 'later' } }, then: 'later', else: 'later' },
          { id: 'later', type: 'send', template: t },
        ]),
        /steps\[0\] \(branch "b1"\)\.if\.opened\.step "later" is not a send step before this branch/,
      ],
      [
        base([
          {
            id: 'x',
            type: 'split',
            cells: [
              { code: uniqueCode('C'), weight: 50 },
              { code: uniqueCode('C'), weight: 40 },
            ],
          },
        ]),
        /steps\[0\] \(split "x"\): cell weights sum to 90, not 100/,
      ],
      [
        base([
          { id: 's1', type: 'send', template: t },
          { id: 's1', type: 'exit' },
        ]),
        /steps\[1\] \(exit "s1"\) repeats the id of steps\[0\]/,
      ],
      [
        base([{ id: 'u', type: 'update', set: { 'bad name': 1 } }]),
        /steps\[0\] \(update "u"\): "bad name" is not an attribute name/,
      ],
      [
        base([{ id: 's1', type: 'send', template: t }], { trigger: { type: 'segment', segment: 'NO-SUCH-SEGMENT' } }),
        /trigger\.segment "NO-SUCH-SEGMENT" does not exist/,
      ],
      [
        base([{ id: 's1', type: 'send', template: t }], { exit: { leftSegment: true } }),
        /exit\.leftSegment applies only to a segment trigger/,
      ],
      [base([{ id: 's1', type: 'teleport' }]), /steps\[0\] \(teleport "s1"\)\.type must be one of/],
    ];
    const before = (await db.query(`SELECT count(*)::int AS n FROM drip`)).rows[0].n;
    for (const [body, message] of cases) {
      const res = await m().post('/v1/drips', body);
      expect({ status: res.status, message: res.body.message }).toEqual({
        status: 400,
        message: expect.stringMatching(message),
      });
    }
    expect((await db.query(`SELECT count(*)::int AS n FROM drip`)).rows[0].n).toBe(before);
  });

  it('makes a new version when an active drip changes: enrolled customers finish the version they entered', async () => {
    const run = uniqueCode('ver').toLowerCase();
    const ids = await someCustomers(m(), run, 2);
    const [t1, t2, t3] = [
      await anEmailTemplate(m(), 'First'),
      await anEmailTemplate(m(), 'Old'),
      await anEmailTemplate(m(), 'New'),
    ];
    const drip = await anActiveDrip(m(), {
      trigger: { type: 'event', event: `v-${run}` },
      steps: [
        { id: 's1', type: 'send', template: t1 },
        { id: 'w', type: 'wait', duration: 'P1D' },
        { id: 's2', type: 'send', template: t2 },
      ],
    });
    await m()
      .post('/v1/events', { externalId: ids[0], type: `v-${run}` })
      .expect(200);
    await until(
      'the first waits',
      () => enrollments(drip.id),
      (r) => r.length === 1 && r[0].step_id === 'w',
    );
    const edited = (
      await m()
        .patch(`/v1/drips/${drip.id}`, {
          steps: [
            { id: 's1', type: 'send', template: t1 },
            { id: 'w', type: 'wait', duration: 'P1D' },
            { id: 's2', type: 'send', template: t3 },
          ],
        })
        .expect(200)
    ).body;
    expect(edited.version).toBe(2);
    expect(
      edited.versions.map((v: { version: number; activatedAt: string | null }) => [v.version, !!v.activatedAt]),
    ).toEqual([
      [1, true],
      [2, true],
    ]);
    expect((await m().get(`/v1/drips/${drip.id}?version=1`).expect(200)).body.steps[2].template).toBe(t2);
    await m()
      .post('/v1/events', { externalId: ids[1], type: `v-${run}` })
      .expect(200);
    await until(
      'both wait',
      () => enrollments(drip.id),
      (r) => r.length === 2 && r.every((x) => x.step_id === 'w'),
    );
    await db.query(`UPDATE drip_enrollment SET due_at = now() WHERE drip_id = $1 AND state = 'active'`, [drip.id]);
    await until(
      'both completed',
      () => enrollments(drip.id),
      (r) => r.every((x) => x.state === 'completed'),
    );
    const all = await until(
      'four messages',
      () => messagesTo(run),
      (x) => x.length === 4,
    );
    const second = (i: number) =>
      all.filter((x) => x.to === `${ids[i]}@mail.example`).map((x) => x.subject.split(' ')[0]);
    expect(second(0).sort()).toEqual(['First', 'Old']);
    expect(second(1).sort()).toEqual(['First', 'New']);
    const versions = (
      await db.query(`SELECT version FROM drip_enrollment WHERE drip_id = $1 ORDER BY entered_at`, [drip.id])
    ).rows;
    expect(versions.map((v) => v.version)).toEqual([1, 2]);
  });

  it('stands still while paused (queued messages wait too) and goes on when activated again', async () => {
    const run = uniqueCode('pz').toLowerCase();
    const ids = await someCustomers(m(), run, 3);
    const t = await anEmailTemplate(m(), 'Later');
    const drip = await anActiveDrip(m(), {
      trigger: { type: 'event', event: `p-${run}` },
      steps: [
        { id: 'w', type: 'wait', duration: 'P1D' },
        { id: 's', type: 'send', template: t },
      ],
    });
    await m()
      .post('/v1/events', { events: ids.map((externalId) => ({ externalId, type: `p-${run}` })) })
      .expect(200);
    await until(
      'waiting',
      () => enrollments(drip.id),
      (r) => r.length === 3 && r.every((x) => x.step_id === 'w'),
    );
    const paused = (await m().post(`/v1/drips/${drip.id}/pause`).expect(200)).body;
    expect(paused.state).toBe('paused');
    expect(paused.programs.every((p: { state: string }) => p.state === 'paused')).toBe(true);
    await m().post(`/v1/drips/${drip.id}/pause`).expect(409);
    // Its programs move only with it, and are listed with the campaigns' programs only when asked for.
    const listed = (await m().get('/v1/programs?limit=200').expect(200)).body.items.map(
      (p: { code: string }) => p.code,
    );
    expect(listed).not.toContain(paused.programs[0].code);
    const managed = (await m().get('/v1/programs?managed=only&limit=200').expect(200)).body.items;
    expect(managed.find((p: { code: string }) => p.code === paused.programs[0].code)).toMatchObject({
      campaign: null,
      managedBy: { type: 'drip', id: drip.id },
    });
    const mainProgram = paused.programs[0].code;
    const refused = await m().post(`/v1/programs/${mainProgram}/resume`).expect(409);
    expect(refused.body.message).toContain('/v1/drips');
    await db.query(`UPDATE drip_enrollment SET due_at = now() WHERE drip_id = $1`, [drip.id]);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await enrollments(drip.id)).every((x) => x.step_id === 'w' && x.state === 'active')).toBe(true);
    expect(await messagesTo(run)).toHaveLength(0);
    // An event for a paused drip enrolls nobody.
    const none = await m()
      .post('/v1/events', { externalId: ids[0], type: `p-${run}` })
      .expect(200);
    expect(none.body.enrolled).toEqual([]);

    // One customer is taken out by hand before it resumes.
    const out = (
      await m()
        .post(`/v1/drips/${drip.id}/unenroll`, { customers: [ids[2]] })
        .expect(200)
    ).body;
    expect(out).toEqual({ removed: 1 });

    const resumed = (await m().post(`/v1/drips/${drip.id}/activate`).expect(200)).body;
    expect(resumed.programs.every((p: { state: string }) => p.state === 'running')).toBe(true);
    await until(
      'sent after resuming',
      () => messagesTo(run),
      (x) => x.length === 2,
    );
    const ended = await until(
      'completed',
      () => enrollments(drip.id),
      (r) => r.every((x) => x.state !== 'active'),
    );
    expect(ended.map((x) => [x.external_id, x.state, x.exit_reason])).toEqual([
      [ids[0], 'completed', null],
      [ids[1], 'completed', null],
      [ids[2], 'exited', 'removed'],
    ]);
    expect((await messagesTo(run)).map((x) => x.to).sort()).toEqual([
      `${ids[0]}@mail.example`,
      `${ids[1]}@mail.example`,
    ]);

    const archived = (await m().post(`/v1/drips/${drip.id}/archive`).expect(200)).body;
    expect(archived.state).toBe('archived');
    await m().post(`/v1/drips/${drip.id}/activate`).expect(409);
    await m().patch(`/v1/drips/${drip.id}`, { name: 'x' }).expect(409);
  });

  it('is paused when the complaint guard pauses one of its programs', async () => {
    const t = await anEmailTemplate(m(), 'Guarded');
    const drip = await anActiveDrip(m(), {
      trigger: { type: 'event', event: `g-${uniqueCode('g').toLowerCase()}` },
      steps: [{ id: 's', type: 'send', template: t }],
    });
    // What tracking does at a 0.3% complaint rate (DeliveryEventsService.watchComplaints).
    const paused = await api.app
      .get(DispatcherService)
      .pauseProgram(drip.programs[0].id, 'complaint rate 0.40% (3 of 750)');
    expect(paused).toBe(true);
    const view = (await m().get(`/v1/drips/${drip.id}`).expect(200)).body;
    expect(view.state).toBe('paused');
    const audit = (await api.as('admin').get(`/v1/audit?entityType=drip&entity=${drip.id}`).expect(200)).body.items;
    expect(audit.map((a: { action: string; actor: { name: string } }) => [a.action, a.actor.name])).toContainEqual([
      'drip.pause',
      `automation: program ${drip.programs[0].code} was paused (delivery: complaint rate 0.40% (3 of 750))`,
    ]);
  });
});
