import { createServer as createHttpsServer, Server } from 'node:https';
import { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { generate } from 'selfsigned';
import { AppConfig, verifyWebhookSignature } from '@closeloop/core';
import { AUTOMATION_QUEUE } from '@closeloop/automation';
import { APP_CONFIG } from '@closeloop/persistence';
import { SmtpSink } from '../../apps/peers/src/smtp-sink';
import { anActiveDrip, anEmailTemplate, readMessage, someCustomers, until } from '../support/automation-fixtures';
import { uniqueCode } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

const WEBHOOK_SECRET = 'rules-e2e-outbound-webhook-secret';

interface Hit {
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * Business rules end to end: events posted over HTTP, rules evaluated as they arrive, their actions
 * run by the worker (attribute updates, sends through the SMTP sink, drip enrollments, suppressions)
 * and signed webhooks to a real https server on loopback (allowed by configuration).
 */
jest.setTimeout(120_000);

describe('business rules', () => {
  let api: TestApi;
  let sink: SmtpSink;
  let db: Client;
  let queue: Queue;
  let hooks: Server;
  let hookUrl: string;
  const hits: Hit[] = [];
  let answer: (res: ServerResponse, hit: Hit) => void = (res) => res.writeHead(204).end();
  const m = () => api.as('marketer');

  beforeAll(async () => {
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    const caFile = join(mkdtempSync(join(tmpdir(), 'closeloop-rules-')), 'ca.pem');
    writeFileSync(caFile, pems.cert);
    hooks = createHttpsServer({ key: pems.private, cert: pems.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const hit = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        hits.push(hit);
        answer(res, hit);
      });
    });
    await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
    hookUrl = `https://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks/closeloop`;
    sink = new SmtpSink();
    const { url } = await sink.start(0);
    api = await startTestApi(
      {
        SMTP_URL: url,
        MAIL_FROM: 'Shop <news@shop.example>',
        DRIP_TICK_MS: '200',
        DRIP_TRIGGER_INTERVAL_MS: '500',
        SCHEDULER_INTERVAL_MS: '300',
        OUTBOUND_WEBHOOK_HOSTS: '127.0.0.1',
        OUTBOUND_WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32',
        OUTBOUND_WEBHOOK_SECRET: WEBHOOK_SECRET,
        OUTBOUND_WEBHOOK_CA: caFile,
        RULE_MAX_DEPTH: '5',
      },
      { withWorker: true },
    );
    db = new Client({ connectionString: api.databaseUrl });
    await db.connect();
    const config = api.app.get<AppConfig>(APP_CONFIG);
    queue = new Queue(AUTOMATION_QUEUE, { connection: { url: config.redisUrl }, prefix: config.queuePrefix });
  });
  afterAll(async () => {
    await queue?.close();
    await db?.end();
    await api?.close();
    await sink?.stop();
    hooks?.closeAllConnections();
    await new Promise<void>((resolve) => (hooks ? hooks.close(() => resolve()) : resolve()));
  });

  const firing = async (id: string) =>
    (await db.query(`SELECT state, depth, results, error, reason FROM rule_firing WHERE id = $1`, [id])).rows[0];

  it('fires as the event arrives: the firing is recorded and its actions enqueued before the answer, then run', async () => {
    const run = uniqueCode('vip').toLowerCase();
    const [big, small] = await someCustomers(m(), run, 2);
    const template = await anEmailTemplate(m(), 'Welcome-VIP');
    const event = `purchase-${run}`;
    const rule = (
      await m()
        .post('/v1/rules', {
          code: uniqueCode('R'),
          name: 'Big first order',
          event,
          if: {
            all: [
              { field: 'event.amount', op: 'gte', value: 10000 },
              { field: 'attributes.run', op: 'eq', value: run },
            ],
          },
          actions: [
            { type: 'update', set: { vip: true, tier: 'gold' } },
            { type: 'send', template },
            { type: 'webhook', url: hookUrl },
          ],
        })
        .expect(201)
    ).body;
    expect(rule).toMatchObject({ state: 'active', event, program: { code: `rule:${rule.code}` } });

    const answered = (
      await m()
        .post('/v1/events', {
          events: [
            { externalId: big, type: event, properties: { amount: 12000, sku: 'SOFA' }, idempotencyKey: `${run}-1` },
            { externalId: small, type: event, properties: { amount: 500 }, idempotencyKey: `${run}-2` },
          ],
        })
        .expect(200)
    ).body;
    const [first, second] = answered.events;
    expect(second.firings).toEqual([]);
    expect(first.firings).toEqual([{ rule: rule.code, id: expect.any(String), state: 'pending', reason: null }]);
    // When the answer came, the firing was recorded and its action job already in the queue.
    const job = await queue.getJob(`firing.${first.firings[0].id}`);
    expect(job).toBeDefined();
    expect(job!.data).toEqual({ firingId: first.firings[0].id });
    const { rows: timing } = await db.query(
      `SELECT f.created_at - e.created_at AS gap FROM rule_firing f JOIN customer_event e ON e.id = f.event_id WHERE f.id = $1`,
      [first.firings[0].id],
    );
    process.stdout.write(
      `rule fired ${JSON.stringify(timing[0].gap)} after the event was recorded; job enqueued at ${new Date(job!.timestamp).toISOString()}\n`,
    );

    const done = await until(
      'the firing done',
      () => firing(first.firings[0].id),
      (f) => f.state !== 'pending',
    );
    expect(done.state).toBe('done');
    expect(done.results.map((r: { type: string; status: string }) => [r.type, r.status])).toEqual([
      ['update', 'done'],
      ['send', 'done'],
      ['webhook', 'done'],
    ]);
    const customer = (await m().get(`/v1/customers/${big}`).expect(200)).body;
    expect(customer.attributes).toMatchObject({ vip: true, tier: 'gold', run });
    expect((await m().get(`/v1/customers/${small}`).expect(200)).body.attributes.vip).toBeUndefined();
    const mail = await until(
      'the rule message',
      async () =>
        Promise.all(
          sink
            .messages()
            .filter((x) => x.to[0] === `${big}@mail.example`)
            .map(readMessage),
        ),
      (x) => x.length === 1,
    );
    expect(mail[0].subject).toBe('Welcome-VIP Ann0');

    expect(hits).toHaveLength(1);
    const hit = hits[0];
    expect(hit.headers['closeloop-webhook-id']).toBe(`${first.firings[0].id}.a2`);
    expect(
      verifyWebhookSignature(String(hit.headers['closeloop-signature']), hit.body, [WEBHOOK_SECRET], new Date()),
    ).toMatchObject({
      ok: true,
    });
    const payload = JSON.parse(hit.body);
    expect(payload).toMatchObject({
      rule: { code: rule.code },
      event: { type: event, properties: { amount: 12000, sku: 'SOFA' } },
      customer: { externalId: big, email: `${big}@mail.example` },
      firing: { id: first.firings[0].id, depth: 0 },
      cause: first.firings[0].id,
    });

    // A repeat of the event's key changes nothing and answers the first result.
    const again = (
      await m()
        .post('/v1/events', { externalId: big, type: event, properties: { amount: 99999 }, idempotencyKey: `${run}-1` })
        .expect(200)
    ).body;
    expect(again).toMatchObject({
      id: first.id,
      duplicate: true,
      firings: [{ id: first.firings[0].id, state: 'done' }],
    });
    expect((await db.query(`SELECT count(*)::int AS n FROM rule_firing WHERE rule_id = $1`, [rule.id])).rows[0].n).toBe(
      1,
    );
    // A key is the customer's own: another customer's event with the same key is another event.
    const other = (
      await m()
        .post('/v1/events', { externalId: small, type: event, properties: { amount: 1 }, idempotencyKey: `${run}-1` })
        .expect(200)
    ).body;
    expect(other.duplicate).toBe(false);
    expect(other.id).not.toBe(first.id);

    // Analysts read rules, but not the secrets webhook URLs may carry.
    const seen = (await api.as('analyst').get(`/v1/rules/${rule.code}`).expect(200)).body;
    expect(seen.actions[2]).toEqual({ type: 'webhook', url: `${new URL(hookUrl).origin}/…` });
    expect((await m().get(`/v1/rules/${rule.code}`).expect(200)).body.actions[2].url).toBe(hookUrl);

    const view = (await m().get(`/v1/rules/${rule.code}`).expect(200)).body;
    expect(view.firings).toMatchObject({ total: 1, done: 1, pending: 0 });
    const firings = (await m().get(`/v1/rules/${rule.code}/firings`).expect(200)).body;
    expect(firings.items).toMatchObject([{ customer: big, eventType: event, state: 'done', depth: 0 }]);
  });

  it('stops a rule that triggers itself at the depth limit, and says so', async () => {
    const run = uniqueCode('loop').toLowerCase();
    const [who] = await someCustomers(m(), run, 1, () => ({ attributes: { flag: 'a' } }));
    const scope = { field: 'attributes.run', op: 'eq', value: run };
    // Each rule undoes the other: every change raises attribute-changed, which fires the other rule.
    for (const [from, to] of [
      ['a', 'b'],
      ['b', 'a'],
    ]) {
      await m()
        .post('/v1/rules', {
          code: uniqueCode('PING'),
          name: `${from} to ${to}`,
          event: 'attribute-changed',
          if: { all: [scope, { field: 'attributes.flag', op: 'eq', value: from }] },
          actions: [{ type: 'update', set: { flag: to } }],
        })
        .expect(201);
    }
    // A bystander event starts it: a rule on it flips the flag once.
    const start = uniqueCode('START').toLowerCase();
    await m()
      .post('/v1/rules', {
        code: uniqueCode('KICK'),
        name: 'kick',
        event: start,
        if: scope,
        actions: [{ type: 'update', set: { flag: 'b' } }],
      })
      .expect(201);
    await m().post('/v1/events', { externalId: who, type: start }).expect(200);
    const byDepth = await until(
      'the loop cut at the limit',
      async () =>
        (
          await db.query(
            `SELECT f.depth, f.state, f.reason FROM rule_firing f JOIN customer c ON c.id = f.customer_id
              WHERE c.external_id = $1 ORDER BY f.depth`,
            [who],
          )
        ).rows,
      (rows) => rows.some((r) => r.state === 'skipped') && rows.every((r) => r.state !== 'pending'),
    );
    // depth 0: the kick; 1-4: the ping-pong; 5: the limit (RULE_MAX_DEPTH=5), recorded and not run.
    expect(byDepth.map((r) => [r.depth, r.state])).toEqual([
      [0, 'done'],
      [1, 'done'],
      [2, 'done'],
      [3, 'done'],
      [4, 'done'],
      [5, 'skipped'],
    ]);
    expect(byDepth[5].reason).toBe('depth limit');
    await new Promise((r) => setTimeout(r, 1000));
    expect(
      (
        await db.query(
          `SELECT count(*)::int AS n FROM rule_firing f JOIN customer c ON c.id = f.customer_id WHERE c.external_id = $1`,
          [who],
        )
      ).rows[0].n,
    ).toBe(6);
  });

  it('holds out a share of customers to measure the rule, enrolls in drips, suppresses and lifts', async () => {
    const run = uniqueCode('hold').toLowerCase();
    const n = 40;
    const ids = await someCustomers(m(), run, n);
    const template = await anEmailTemplate(m(), 'Thanks');
    const followUp = await anEmailTemplate(m(), 'Follow');
    const drip = await anActiveDrip(m(), {
      trigger: { type: 'event', event: `never-${run}` },
      steps: [{ id: 'f', type: 'send', template: followUp }],
    });
    const event = `review-${run}`;
    const rule = (
      await m()
        .post('/v1/rules', {
          code: uniqueCode('R'),
          name: 'Thank reviewers',
          event,
          holdoutPercent: 50,
          actions: [
            { type: 'send', template },
            { type: 'enroll', drip: drip.code },
          ],
        })
        .expect(201)
    ).body;
    expect(rule.program.cells.map((c: { isControl: boolean }) => c.isControl)).toEqual([false, true]);
    await m()
      .post('/v1/events', { events: ids.map((externalId) => ({ externalId, type: event })) })
      .expect(200);
    const states = await until(
      'every firing ran',
      async () =>
        (
          await db.query(`SELECT state, count(*)::int AS n FROM rule_firing WHERE rule_id = $1 GROUP BY state`, [
            rule.id,
          ])
        ).rows,
      (rows) => rows.reduce((s, r) => s + r.n, 0) === n && rows.every((r) => r.state !== 'pending'),
    );
    const count = (state: string) => states.find((r) => r.state === state)?.n ?? 0;
    expect(count('done') + count('held-out')).toBe(n);
    expect(count('held-out')).toBeGreaterThan(5);
    expect(count('done')).toBeGreaterThan(5);
    // Treated customers get the message and the drip's; the held-out get neither, but their touch is recorded.
    await until(
      'the messages',
      async () => sink.messages().filter((x) => x.to[0].startsWith(`${run}-`)).length,
      (x) => x === 2 * count('done'),
    );
    const heldOut = (
      await db.query(`SELECT count(*)::int AS n FROM send WHERE program_id = $1 AND state = 'held_out'`, [
        rule.program.id,
      ])
    ).rows[0].n;
    expect(heldOut).toBe(count('held-out'));
    const report = (await m().get(`/v1/programs/${rule.program.code}/report`).expect(200)).body;
    expect(report.cells.map((c: { members: number }) => c.members)).toEqual([count('done'), count('held-out')]);
    expect(report.comparisons.length).toBeGreaterThan(0);

    // suppress and unsuppress (manual suppressions only).
    const [who] = ids;
    const blockEvent = `block-${run}`;
    await m()
      .post('/v1/rules', {
        code: uniqueCode('R'),
        name: 'block',
        event: blockEvent,
        actions: [{ type: 'suppress', channel: 'email' }],
      })
      .expect(201);
    const blocked = (await m().post('/v1/events', { externalId: who, type: blockEvent }).expect(200)).body;
    await until(
      'suppressed',
      () => firing(blocked.firings[0].id),
      (f) => f.state === 'done',
    );
    const suppressed = (
      await db.query(`SELECT reason, source FROM suppression WHERE address = $1`, [`${who}@mail.example`])
    ).rows;
    expect(suppressed).toMatchObject([{ reason: 'manual', source: expect.stringMatching(/^rule:/) }]);
    const liftEvent = `lift-${run}`;
    await m()
      .post('/v1/rules', {
        code: uniqueCode('R'),
        name: 'lift',
        event: liftEvent,
        actions: [{ type: 'unsuppress', channel: 'all' }],
      })
      .expect(201);
    const lifted = (await m().post('/v1/events', { externalId: who, type: liftEvent }).expect(200)).body;
    await until(
      'lifted',
      () => firing(lifted.firings[0].id),
      (f) => f.state === 'done',
    );
    expect((await db.query(`SELECT 1 FROM suppression WHERE address = $1`, [`${who}@mail.example`])).rows).toHaveLength(
      0,
    );
  });

  it('retries a webhook that answered 500, once it answers', async () => {
    const run = uniqueCode('retry').toLowerCase();
    const [who] = await someCustomers(m(), run, 1);
    const event = `ping-${run}`;
    await m()
      .post('/v1/rules', { code: uniqueCode('R'), name: 'hook', event, actions: [{ type: 'webhook', url: hookUrl }] })
      .expect(201);
    let calls = 0;
    answer = (res) => res.writeHead(++calls === 1 ? 500 : 200).end();
    const before = hits.length;
    const posted = (await m().post('/v1/events', { externalId: who, type: event }).expect(200)).body;
    const done = await until(
      'the webhook delivered',
      () => firing(posted.firings[0].id),
      (f) => f.state !== 'pending',
      30_000,
    );
    expect(done.state).toBe('done');
    expect(hits.length - before).toBe(2);
    // Both tries carried the same id: the receiver can tell the retry from a new firing.
    expect(hits[before].headers['closeloop-webhook-id']).toBe(hits[before + 1].headers['closeloop-webhook-id']);
    answer = (res) => res.writeHead(204).end();
  });

  it('refuses rules naming what is not there or may not be called, naming the action', async () => {
    const t = await anEmailTemplate(m(), 'Ok');
    const cases: [object, number, RegExp][] = [
      [
        { actions: [{ type: 'webhook', url: 'https://evil.example/x' }] },
        400,
        /actions\[0\]\.url .*not on the allow-list|actions\[0\]\.url/,
      ],
      [
        { actions: [{ type: 'webhook', url: hookUrl.replace('https:', 'http:') }] },
        400,
        /actions\[0\]\.url must use https/,
      ],
      [
        {
          actions: [
            { type: 'update', set: { a: 1 } },
            { type: 'send', template: 'NOPE' },
          ],
        },
        400,
        /actions\[1\]\.template "NOPE" does not exist/,
      ],
      [{ actions: [{ type: 'enroll', drip: 'NO-DRIP' }] }, 400, /actions\[0\]\.drip "NO-DRIP" does not exist/],
      [{ actions: [{ type: 'update', set: { a: 1 } }], holdoutPercent: 10 }, 400, /holdoutPercent needs a send action/],
      [
        { if: { field: 'event.', op: 'eq', value: 1 }, actions: [{ type: 'send', template: t }] },
        400,
        /if\.field "event\." is not a known field/,
      ],
      [{ event: 'Not An Event', actions: [{ type: 'send', template: t }] }, 400, /event must be an event name/],
      [{ actions: [{ type: 'teleport' }] }, 400, /actions\[0\]\.type must be one of/],
    ];
    for (const [over, status, message] of cases) {
      const res = await m().post('/v1/rules', { code: uniqueCode('BAD'), name: 'bad', event: 'signup', ...over });
      expect({ status: res.status, message: res.body.message }).toEqual({
        status,
        message: expect.stringMatching(message),
      });
    }
  });

  it('refuses a batch of events with a bad row whole, naming the row', async () => {
    const run = uniqueCode('bad').toLowerCase();
    const [ok] = await someCustomers(m(), run, 1);
    const before = (await db.query(`SELECT count(*)::int AS n FROM customer_event`)).rows[0].n;
    const res = await m()
      .post('/v1/events', {
        events: [
          { externalId: ok, type: 'signup' },
          { externalId: `${run}-nobody`, type: 'signup' },
        ],
      })
      .expect(400);
    expect(res.body.message).toBe(`events[1].externalId: no customer "${run}-nobody"`);
    const future = await m()
      .post('/v1/events', {
        externalId: ok,
        type: 'signup',
        occurredAt: new Date(Date.now() + 86_400_000).toISOString(),
      })
      .expect(400);
    expect(future.body.message).toBe('body.occurredAt is in the future');
    await m().post('/v1/events', { externalId: ok, type: 'Sign Up' }).expect(400);
    const nul = await m()
      .post('/v1/events', { externalId: ok, type: 'signup', properties: { note: 'a\u0000b' } })
      .expect(400);
    expect(nul.body.message).toBe('body.properties must not contain the NUL character (\\u0000)');
    expect((await db.query(`SELECT count(*)::int AS n FROM customer_event`)).rows[0].n).toBe(before);
  });
});
