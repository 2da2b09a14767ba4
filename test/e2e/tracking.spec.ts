import fc from 'fast-check';
import { Client } from 'pg';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { signTrackingToken, signWebhook } from '@closeloop/core';
import { EventBuffer, ResponseWriter, TrackingEvent } from '@closeloop/tracking';
import { SmtpSink } from '../../apps/peers/src/smtp-sink';
import { aLaunchableProgram } from '../support/delivery-fixtures';
import { aCampaign, uniqueCode } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

const SECRET = 'tracking-e2e-signing-secret-new';
const OLD_SECRET = 'tracking-e2e-signing-secret-old';
const WEBHOOK_SECRET = 'tracking-e2e-webhook-secret';

/**
 * Response tracking end to end: a real program sent through a real SMTP conversation, then opens,
 * clicks and unsubscribes through the public endpoints over HTTP, ingested by the worker through
 * Redis into response rows; provider webhooks; conversions and attribution.
 */
jest.setTimeout(150_000);

describe('response tracking', () => {
  let api: TestApi;
  let sink: SmtpSink;
  let db: Client;
  let base: string;
  let program: { id: string; code: string; cells: { id: string; code: string; responseCode: string }[] };
  let sends: { id: string; customer_id: string; cell: string; address: string; state: string; external_id: string }[];
  const run = uniqueCode('trk').toLowerCase();

  const m = () => api.as('marketer');
  const token = (kind: 'open' | 'click' | 'unsubscribe', sendId: string, link = 0, secrets = [SECRET]) =>
    signTrackingToken({ kind, sendId, link }, secrets);
  const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params)).rows[0].n);
  async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (ok(v)) return v;
      if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const flushed = () => api.app.get(EventBuffer).flush();

  async function launchProgram(prefix: string, n: number, extra: Record<string, unknown> = {}) {
    const customers = Array.from({ length: n }, (_, i) => ({
      externalId: `${prefix}-${i}`,
      email: `${prefix}-${i}@mail.example`,
      firstName: `Ann${i}`,
      locale: i === 0 ? 'fr-FR' : 'en-GB',
      consent: { email: true },
      attributes: { run: prefix },
    }));
    await m().post('/v1/customers', { customers }).expect(200);
    return launchOn(
      prefix,
      {
        subject: 'Hello {{customer.firstName}}',
        html: '<p>Hi</p><a href="https://shop.example/sale?x=1">Sale</a> <a href="https://shop.example/new">New</a>',
      },
      {
        seed: 7,
        attributionWindowDays: 7,
        cells: (code: string) => [
          { code: `${code}-A`, name: 'A', weight: 45 },
          { code: `${code}-B`, name: 'B', weight: 45 },
          { code: `${code}-CTL`, name: 'Control', weight: 10, isControl: true },
        ],
        ...extra,
      },
    );
  }

  /** A program to the customers of run `prefix` (its own segment and email template), launched and completed. */
  async function launchOn(
    prefix: string,
    template: { subject: string; html: string },
    options: { cells?: (code: string) => object[] } & Record<string, unknown> = {},
  ) {
    const segment = uniqueCode('SEG');
    await m()
      .post('/v1/segments', {
        code: segment,
        name: segment,
        criteria: { field: 'attributes.run', op: 'eq', value: prefix },
      })
      .expect(201);
    const templateCode = uniqueCode('T');
    await m()
      .post('/v1/templates', { code: templateCode, channel: 'email', ...template })
      .expect(201);
    const campaign = (await m().post('/v1/campaigns', aCampaign()).expect(201)).body;
    const code = uniqueCode('P');
    const { cells = (c: string) => [{ code: `${c}-A`, name: 'A', weight: 100 }], ...rest } = options;
    const p = (
      await m()
        .post(`/v1/campaigns/${campaign.id}/programs`, {
          code,
          name: code,
          channel: 'email',
          segment,
          template: templateCode,
          cells: cells(code),
          ...rest,
        })
        .expect(201)
    ).body;
    await m().post(`/v1/programs/${p.id}/launch`).expect(200);
    await until(
      'program completed',
      async () => (await m().get(`/v1/programs/${p.id}/progress`).expect(200)).body,
      (pr) => pr.state === 'completed' || !!pr.error,
      120_000,
    );
    return p;
  }

  async function sendsOf(programId: string) {
    return (
      await db.query(
        `SELECT s.id, s.customer_id, ce.code AS cell, s.address, s.state, c.external_id
           FROM send s JOIN cell ce ON ce.id = s.cell_id JOIN customer c ON c.id = s.customer_id
          WHERE s.program_id = $1 ORDER BY c.external_id`,
        [programId],
      )
    ).rows;
  }

  beforeAll(async () => {
    sink = new SmtpSink();
    const { url } = await sink.start(0);
    api = await startTestApi(
      {
        SMTP_URL: url,
        MAIL_FROM: 'Shop <news@shop.example>',
        PUBLIC_URL: 'https://t.shop.example',
        TRACKING_SECRET: `${SECRET},${OLD_SECRET}`,
        WEBHOOK_SECRET,
        SCHEDULER_INTERVAL_MS: '300',
        TRUST_PROXY: '1',
      },
      { withWorker: true },
    );
    await api.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(api.app.getHttpServer().address() as AddressInfo).port}`;
    db = new Client({ connectionString: api.databaseUrl });
    await db.connect();
    program = await launchProgram(run, 200);
    sends = await sendsOf(program.id);
  });
  afterAll(async () => {
    await db?.end();
    await api?.close();
    await sink?.stop();
  });

  const treated = () => sends.filter((s) => s.state === 'sent');

  it('answers the pixel with a no-cache GIF and records an open only for a valid open token', async () => {
    const s = treated()[0];
    const res = await fetch(`${base}/t/o/${token('open', s.id)}`, { headers: { 'User-Agent': 'Thunderbird/128.0' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(res.headers.get('cache-control')).toContain('no-store');
    const gif = Buffer.from(await res.arrayBuffer());
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(gif.length).toBe(Number(res.headers.get('content-length')));
    // A token signed with the older secret (rotation) still verifies.
    const old = treated()[1];
    await fetch(`${base}/t/o/${token('open', old.id, 0, [OLD_SECRET])}`, { headers: { 'User-Agent': 'Outlook' } });
    // A HEAD (link checkers) is answered but records nothing.
    const head = await fetch(`${base}/t/o/${token('open', treated()[7].id)}`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-type')]).toEqual([200, 'image/gif']);
    for (const bad of [
      'nope',
      token('open', randomUUID()).slice(0, 53),
      token('click', s.id), // a click token on the open endpoint
      token('open', s.id, 0, ['someone-elses-secret-1234']),
      `${token('open', s.id).slice(0, 30)}A${token('open', s.id).slice(31)}`,
      '%2F%2Fevil.com',
    ]) {
      const r = await fetch(`${base}/t/o/${bad}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('image/gif');
    }
    await flushed();
    const rows = await until(
      'opens written',
      async () =>
        (
          await db.query(
            `SELECT send_id, type, source, program_id, cell_id, response_code, machine FROM response
              WHERE program_id = $1 AND type = 'open'`,
            [program.id],
          )
        ).rows,
      (r) => r.length >= 2,
    );
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r.send_id))).toEqual(new Set([s.id, old.id]));
    const sendRow = (await db.query(`SELECT cell_id, response_code FROM send WHERE id = $1`, [s.id])).rows[0];
    expect(rows.find((r) => r.send_id === s.id)).toMatchObject({
      source: 'pixel',
      cell_id: sendRow.cell_id,
      response_code: sendRow.response_code,
      machine: false,
    });
  });

  it('redirects a click to the link that was in the message, implies the open, and refuses hostile tokens', async () => {
    const s = treated()[2];
    const res = await fetch(`${base}/t/c/${token('click', s.id, 1)}`, {
      redirect: 'manual',
      headers: { 'User-Agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/132.0' },
    });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://shop.example/new');
    const valid = token('click', s.id, 0);
    const hostile = [
      token('click', s.id, 7), // a link index the message did not have
      token('click', s.id, 0, ['forged-secret-of-an-attacker']),
      token('open', s.id),
      token('unsubscribe', s.id),
      token('click', randomUUID(), 0), // signed, but no such send
      valid.slice(0, -1),
      `${valid}A`,
      `${valid.slice(0, 20)}${valid[20] === 'x' ? 'y' : 'x'}${valid.slice(21)}`,
      '%2F%2Fevil.com',
      'https%3A%2F%2Fevil.com',
      '..%2F..%2Fevil.com',
      encodeURIComponent('//evil.com'),
      'a'.repeat(5000),
    ];
    for (const bad of hostile) {
      const r = await fetch(`${base}/t/c/${bad}`, { redirect: 'manual' });
      expect([bad, r.status]).toEqual([bad, 404]);
      expect(r.headers.get('location')).toBeNull();
    }
    for (const path of ['/t/c//evil.com', '/t/c/https://evil.com', `/t/c/${valid}/..%2F%2Fevil.com`]) {
      const r = await fetch(`${base}${path}`, { redirect: 'manual' });
      expect(r.status).toBe(404);
    }
    // The query string is never a destination.
    const q = await fetch(`${base}/t/c/${valid}?url=https://evil.com&redirect=//evil.com`, { redirect: 'manual' });
    expect(q.headers.get('location')).toBe('https://shop.example/sale?x=1');
    await flushed();
    const rows = await until(
      'click and implied open written',
      async () =>
        (await db.query(`SELECT type, link, source FROM response WHERE send_id = $1 ORDER BY type, link`, [s.id])).rows,
      (r) => r.length >= 3,
    );
    expect(rows).toEqual([
      { type: 'click', link: 0, source: 'link' },
      { type: 'click', link: 1, source: 'link' },
      { type: 'open', link: null, source: 'implied-by-click' },
    ]);
    // Only the valid clicks were recorded, for no other send.
    expect(
      await count(`SELECT count(*) AS n FROM response WHERE type = 'click' AND program_id = $1`, [program.id]),
    ).toBe(2);
  });

  it('never answers 5xx or redirects for arbitrary tokens (property-based)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 80 }), fc.base64String({ maxLength: 80 })), async (raw) => {
        const path = encodeURIComponent(raw) || 'x';
        const ip = { 'X-Forwarded-For': `10.77.${n % 250}.${(n++ >> 8) % 250}` };
        const click = await fetch(`${base}/t/c/${path}`, { redirect: 'manual', headers: ip });
        expect([raw, click.status, click.headers.get('location')]).toEqual([raw, 404, null]);
        const open = await fetch(`${base}/t/o/${path}`, { headers: ip });
        expect(open.status).toBe(200);
        const page = await fetch(`${base}/u/${path}`, { method: 'POST', headers: ip });
        expect(page.status).toBe(404);
        await Promise.all([click.arrayBuffer(), open.arrayBuffer(), page.arrayBuffer()]);
      }),
      { numRuns: 150 },
    );
  });

  it('flags machine opens and scanner clicks, and counts them apart from people', async () => {
    const [a, b, c] = treated().slice(3, 6);
    await fetch(`${base}/t/o/${token('open', a.id)}`, {
      headers: {
        'User-Agent': 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
      },
    });
    await fetch(`${base}/t/o/${token('open', b.id)}`, {
      headers: { 'User-Agent': 'Mozilla/5.0', 'X-Forwarded-For': '17.58.100.1' },
    });
    // Within seconds of the send: a link scanner, not a reader.
    await db.query(`UPDATE send SET sent_at = now() WHERE id = $1`, [c.id]);
    await fetch(`${base}/t/c/${token('click', c.id)}`, {
      redirect: 'manual',
      headers: { 'User-Agent': 'Mozilla/5.0 (Macintosh) Safari/605.1.15' },
    });
    await flushed();
    const rows = await until(
      'flags written',
      async () =>
        (
          await db.query(
            `SELECT send_id, type, machine, machine_reason FROM response WHERE send_id = ANY($1) ORDER BY send_id, type`,
            [[a.id, b.id, c.id]],
          )
        ).rows,
      (r) => r.length >= 4,
    );
    const of = (id: string, type: string) => rows.find((r) => r.send_id === id && r.type === type);
    expect(of(a.id, 'open')).toMatchObject({ machine: true, machine_reason: 'gmail-proxy' });
    expect(of(b.id, 'open')).toMatchObject({ machine: true, machine_reason: 'apple-mpp' });
    expect(of(c.id, 'click')).toMatchObject({ machine: true, machine_reason: 'scanner-timing' });
    expect(of(c.id, 'open')).toMatchObject({ machine: true });
  });

  it('shows an unsubscribe page without writing, and a one-click POST suppresses before it answers', async () => {
    const s = treated()[6];
    const u = token('unsubscribe', s.id);
    const page = await fetch(`${base}/u/${u}`, { headers: { 'Accept-Language': 'de-DE,de;q=0.9' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<form method="post">');
    expect(html).toContain('lang="en"'); // the customer's locale (en-GB) before the browser's
    expect(html).not.toContain(s.address); // masked
    expect(await count(`SELECT count(*) AS n FROM suppression WHERE address = $1`, [s.address])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM response WHERE send_id = $1 AND type = 'unsubscribe'`, [s.id])).toBe(
      0,
    );

    const bad = await fetch(`${base}/u/${u.slice(0, -2)}xx`, { method: 'POST', headers: { 'Accept-Language': 'de' } });
    expect(bad.status).toBe(404);
    expect(await bad.text()).toContain('lang="de"'); // no customer known: the browser's language

    const post = await fetch(`${base}/u/${u}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(post.status).toBe(200);
    // Written before the answer: no waiting here.
    const suppressed = (await db.query(`SELECT reason, source FROM suppression WHERE address = $1`, [s.address])).rows;
    expect(suppressed).toEqual([{ reason: 'unsubscribed', source: `one-click:${program.code}` }]);
    const responses = (
      await db.query(`SELECT type, program_id, source FROM response WHERE send_id = $1 AND type = 'unsubscribe'`, [
        s.id,
      ])
    ).rows;
    expect(responses).toEqual([{ type: 'unsubscribe', program_id: program.id, source: 'one-click' }]);
    // Again: harmless, and says so.
    const again = await fetch(`${base}/u/${u}`, { method: 'POST' });
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('already');
    expect(await count(`SELECT count(*) AS n FROM response WHERE send_id = $1 AND type = 'unsubscribe'`, [s.id])).toBe(
      1,
    );

    // The French customer gets the French page.
    const fr = sends.find((x) => x.external_id === `${run}-0`)!;
    const frPage = await (
      await fetch(`${base}/u/${token('unsubscribe', fr.id)}`, { headers: { 'Accept-Language': 'de' } })
    ).text();
    expect(frPage).toContain('lang="fr"');

    // The next program to this audience skips the address.
    const next = await launchOn(run, { subject: 'Again', html: '<p>Again</p>' });
    const nextSends = await sendsOf(next.id);
    expect(nextSends.find((x) => x.address === s.address)).toBeUndefined();
    expect(sink.messages().filter((msg) => msg.to.includes(s.address))).toHaveLength(1);
  });

  it('ingests a burst of 20,000 pixel hits with duplicates: every hit a row, unique opens per cell exact', async () => {
    const before = await count(`SELECT count(*) AS n FROM response WHERE program_id = $1 AND source = 'pixel'`, [
      program.id,
    ]);
    const targets = treated().slice(10, 130);
    const expectedOpeners = new Map<string, Set<string>>();
    let next = 0;
    let ok = 0;
    const hits = 20_000;
    async function client() {
      while (next < hits) {
        const i = next++;
        const s = targets[(i * 7919) % targets.length];
        const res = await fetch(`${base}/t/o/${token('open', s.id)}`, {
          headers: { 'User-Agent': 'Thunderbird/128.0', 'X-Forwarded-For': `10.1.${i % 200}.${(i >> 8) % 250}` },
        });
        await res.arrayBuffer();
        if (res.status === 200) ok++;
        const set = expectedOpeners.get(s.cell) ?? new Set<string>();
        set.add(s.customer_id);
        expectedOpeners.set(s.cell, set);
      }
    }
    await Promise.all(Array.from({ length: 40 }, client));
    expect(ok).toBe(hits);
    await flushed();
    await until(
      'burst written',
      () => count(`SELECT count(*) AS n FROM response WHERE program_id = $1 AND source = 'pixel'`, [program.id]),
      (n) => n >= before + hits,
      60_000,
    );
    expect(
      await count(`SELECT count(*) AS n FROM response WHERE program_id = $1 AND source = 'pixel'`, [program.id]),
    ).toBe(before + hits);
    const unique = (
      await db.query(
        `SELECT ce.code AS cell, count(DISTINCT r.customer_id)::int AS n FROM response r JOIN cell ce ON ce.id = r.cell_id
          WHERE r.program_id = $1 AND r.type = 'open' AND r.send_id = ANY($2) GROUP BY ce.code`,
        [program.id, targets.map((t) => t.id)],
      )
    ).rows;
    expect(Object.fromEntries(unique.map((u) => [u.cell, u.n]))).toEqual(
      Object.fromEntries([...expectedOpeners].map(([cell, set]) => [cell, set.size])),
    );
  });

  it('writes a batch read twice from the stream only once (event ids), implied opens included', async () => {
    const s = treated()[140];
    const events: TrackingEvent[] = [
      { id: randomUUID(), kind: 'open', sendId: s.id, link: 0, at: new Date().toISOString(), userAgent: 'x', ip: null },
      { id: randomUUID(), kind: 'open', sendId: s.id, link: 0, at: new Date().toISOString(), userAgent: 'x', ip: null },
    ];
    const t = treated()[141];
    events.push({
      id: randomUUID(),
      kind: 'click',
      sendId: t.id,
      link: 0,
      at: new Date().toISOString(),
      userAgent: 'x',
      ip: null,
    });
    const writer = api.app.get(ResponseWriter);
    expect(await writer.write(events)).toMatchObject({ written: 4, implied: 1, unknown: 0 });
    expect(await writer.write(events)).toMatchObject({ written: 0 });
    expect(await count(`SELECT count(*) AS n FROM response WHERE send_id = ANY($1)`, [[s.id, t.id]])).toBe(4);
  });

  describe('provider webhooks', () => {
    const post = (body: object, sign: (raw: string) => string | undefined) => {
      const raw = JSON.stringify(body);
      const signature = sign(raw);
      return fetch(`${base}/v1/webhooks/delivery-events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(signature ? { 'Closeloop-Signature': signature } : {}) },
        body: raw,
      });
    };
    const now = () => Math.floor(Date.now() / 1000);

    it('refuses a missing, bad, old or replayed signature and records nothing', async () => {
      const s = treated()[150];
      const body = { events: [{ id: `ev-${randomUUID()}`, type: 'complaint', sendId: s.id }] };
      expect((await post(body, () => undefined)).status).toBe(401);
      expect((await post(body, (raw) => signWebhook('not-the-secret', raw, now()))).status).toBe(401);
      expect((await post(body, (raw) => signWebhook(WEBHOOK_SECRET, raw, now() - 3600))).status).toBe(401);
      expect((await post(body, (raw) => signWebhook(WEBHOOK_SECRET, `${raw} `, now()))).status).toBe(401);
      const first = await post(body, (raw) => signWebhook(WEBHOOK_SECRET, raw, now() - 1));
      expect(first.status).toBe(200);
      const replay = await post(body, (raw) => signWebhook(WEBHOOK_SECRET, raw, now() - 1));
      expect(replay.status).toBe(401);
      expect(((await replay.json()) as { message: string }).message).toMatch(/replay/);
      expect(await count(`SELECT count(*) AS n FROM response WHERE send_id = $1`, [s.id])).toBe(1);
    });

    it('applies deliveries, hard bounces (suppressed), soft bounces and complaints, once per provider event', async () => {
      const [d, h, soft, c] = treated().slice(151, 155);
      const events = [
        { id: 'e1', type: 'delivered', messageId: `<${d.id}@shop.example>`, provider: 'esp' },
        {
          id: 'e2',
          type: 'bounce',
          bounceType: 'hard',
          sendId: h.id,
          detail: '550 5.1.1 no such user',
          provider: 'esp',
        },
        { id: 'e3', type: 'bounce', bounceType: 'soft', sendId: soft.id, detail: '452 mailbox full', provider: 'esp' },
        { id: 'e4', type: 'complaint', messageId: `${c.id}@shop.example`, provider: 'esp' },
        { id: 'e5', type: 'delivered', sendId: randomUUID(), provider: 'esp' },
      ];
      const res = await post({ events }, (raw) => signWebhook(WEBHOOK_SECRET, raw, now()));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: 5, applied: 4, unknown: 1, duplicates: 0 });
      const state = async (id: string) => (await db.query(`SELECT state FROM send WHERE id = $1`, [id])).rows[0].state;
      expect(await state(d.id)).toBe('delivered');
      expect(await state(h.id)).toBe('bounced');
      expect(await state(soft.id)).toBe('sent');
      const reasons = (
        await db.query(`SELECT address, reason FROM suppression WHERE address = ANY($1) ORDER BY reason`, [
          [h.address, soft.address, c.address],
        ])
      ).rows;
      expect(reasons).toEqual([
        { address: c.address, reason: 'complaint' },
        { address: h.address, reason: 'hard-bounce' },
      ]);
      const types = (
        await db.query(`SELECT send_id, type FROM response WHERE send_id = ANY($1) ORDER BY type`, [
          [d.id, h.id, soft.id, c.id],
        ])
      ).rows;
      expect(types).toEqual([
        { send_id: h.id, type: 'bounce' },
        { send_id: c.id, type: 'complaint' },
        { send_id: soft.id, type: 'soft-bounce' },
      ]);
      const again = await post({ events: events.slice(0, 4) }, (raw) => signWebhook(WEBHOOK_SECRET, raw, now()));
      expect(await again.json()).toEqual({ received: 4, applied: 0, unknown: 0, duplicates: 4 });
      expect(
        await count(`SELECT count(*) AS n FROM response WHERE send_id = ANY($1)`, [[d.id, h.id, soft.id, c.id]]),
      ).toBe(3);
    });

    it('pauses a running program whose complaint rate passes 0.3%', async () => {
      sink.setDelayMs(150); // slow enough that the program is still running when the complaints come
      const prefix = uniqueCode('cmp').toLowerCase();
      try {
        const customers = Array.from({ length: 300 }, (_, i) => ({
          externalId: `${prefix}-${i}`,
          email: `${prefix}-${i}@mail.example`,
          consent: { email: true },
        }));
        const p = await aLaunchableProgram(m(), {
          run: prefix,
          channel: 'email',
          customers,
          template: { subject: 'Hi', html: '<p>Hi</p>' },
        });
        await m().post(`/v1/programs/${p.id}/launch`).expect(200);
        const sent = await until(
          'some sent',
          async () =>
            (await db.query(`SELECT id FROM send WHERE program_id = $1 AND state = 'sent' LIMIT 5`, [p.id])).rows,
          (r) => r.length >= 5,
        );
        const events = sent.slice(0, 3).map((r, i) => ({ id: `cmp-${prefix}-${i}`, type: 'complaint', sendId: r.id }));
        const res = await post({ events }, (raw) => signWebhook(WEBHOOK_SECRET, raw, now()));
        expect(await res.json()).toMatchObject({ applied: 3 });
        const program = (await m().get(`/v1/programs/${p.id}`).expect(200)).body;
        expect(program.state).toBe('paused');
        await m().post(`/v1/programs/${p.id}/cancel`).expect(200);
      } finally {
        sink.setDelayMs(0);
      }
    });

    it('answers 400 naming the field for a malformed event (signed)', async () => {
      const res = await post({ events: [{ id: 'x', type: 'exploded' }] }, (raw) =>
        signWebhook(WEBHOOK_SECRET, raw, now()),
      );
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toContain('events[0].type');
    });
  });

  describe('conversions', () => {
    const inWindow = () => new Date(Date.now() + 60_000).toISOString();
    const conversion = (who: { external_id: string }, value: number, occurredAt: string, idempotencyKey?: string) => ({
      externalId: who.external_id,
      type: 'conversion',
      value,
      currency: 'EUR',
      occurredAt,
      idempotencyKey: idempotencyKey ?? `c-${randomUUID()}`,
    });

    it('attributes by response code, by window (control members included), and not outside the window', async () => {
      const cellB = program.cells.find((c) => c.code.endsWith('-B'))!;
      const someone = treated().find((s) => s.cell.endsWith('-A'))!;
      const byCode = await m()
        .post('/v1/responses', {
          externalId: someone.external_id,
          type: 'conversion',
          value: 4999,
          currency: 'EUR',
          occurredAt: inWindow(),
          responseCode: cellB.responseCode.toLowerCase(),
          idempotencyKey: `order-${randomUUID()}`,
        })
        .expect(200);
      expect(byCode.body).toMatchObject({
        program: program.code,
        cell: cellB.code,
        attribution: 'response-code',
        value: 4999,
      });

      const control = sends.find((s) => s.cell.endsWith('-CTL'))!;
      // Before any later program to the same audience (the unsubscribe test sends one): last touch is this program.
      const later = (
        await db.query(
          `SELECT min(launched_at) AS at FROM program WHERE launched_at > (SELECT launched_at FROM program WHERE id = $1)`,
          [program.id],
        )
      ).rows[0].at as Date | null;
      const at = later ? new Date(later.getTime() - 1).toISOString() : inWindow();
      const treatedA = treated().filter((s) => s.cell.endsWith('-A'))[5];
      const key = `order-${randomUUID()}`;
      const rows = [
        conversion(control, 100, at),
        conversion(treatedA, 200, at, key),
        // Before the program launched: outside every window.
        conversion(treatedA, 300, '2020-01-01T00:00:00Z'),
        conversion(treatedA, 200, at, key),
      ];
      // Eight days ahead: refused (in the future), and nothing of the batch is written.
      const future = new Date(Date.now() + 8 * 86_400_000).toISOString();
      const batch = await m()
        .post('/v1/responses', { responses: [...rows.slice(0, 3), conversion(treatedA, 400, future), rows[3]] })
        .expect(400);
      expect(batch.body.message).toContain('responses[3].occurredAt');
      expect(await count(`SELECT count(*) AS n FROM response WHERE idempotency_key = $1`, [`key:${key}`])).toBe(0);

      const ok = await m().post('/v1/responses', { responses: rows }).expect(200);
      expect(ok.body.recorded).toBe(3);
      expect(ok.body.duplicates).toBe(1);
      const [c0, c1, c2, c3] = ok.body.responses;
      expect(c0).toMatchObject({ cell: control.cell, attribution: 'window', duplicate: false });
      expect(c1).toMatchObject({ cell: treatedA.cell, program: program.code, attribution: 'window', duplicate: false });
      expect(c2).toMatchObject({ cell: null, program: null, attribution: 'none' });
      expect(c3).toMatchObject({ id: c1.id, duplicate: true });
      // A later repeat of the key returns the first result and records nothing.
      const repeat = await m()
        .post('/v1/responses', conversion(treatedA, 999, inWindow(), key))
        .expect(200);
      expect(repeat.body).toMatchObject({ id: c1.id, value: 200, duplicate: true });
      expect(await count(`SELECT count(*) AS n FROM response WHERE idempotency_key = $1`, [`key:${key}`])).toBe(1);
    });

    it('does not attribute a conversion after the attribution window closed', async () => {
      // A customer contacted by every program it is in (an uncontacted member's touch is the launch time).
      const uncontacted = new Set(
        (await db.query(`SELECT customer_id FROM send WHERE sent_at IS NULL`)).rows.map((r) => r.customer_id),
      );
      const late = treated().filter((s) => s.cell.endsWith('-A') && !uncontacted.has(s.customer_id))[9];
      // Every touch of this customer moved 40 days back: its windows (7 days, and 30 for the unsubscribe
      // test's program) are over now.
      await db.query(`UPDATE send SET sent_at = sent_at - interval '40 days' WHERE customer_id = $1`, [
        late.customer_id,
      ]);
      const sixDaysIn = (
        await db.query(`SELECT max(sent_at) + interval '6 days' AS at FROM send WHERE customer_id = $1`, [
          late.customer_id,
        ])
      ).rows[0].at as Date;
      const res = await m()
        .post('/v1/responses', {
          responses: [conversion(late, 1, inWindow()), conversion(late, 1, sixDaysIn.toISOString())],
        })
        .expect(200);
      expect(res.body.responses.map((r: { attribution: string }) => r.attribution)).toEqual(['none', 'window']);
    });

    it('makes orders with an offer or response code conversions, once, whichever path comes first', async () => {
      const cellA = program.cells.find((c) => c.code.endsWith('-A'))!;
      const buyer = treated().find((s) => s.cell.endsWith('-B'))!;
      const orderId = `ord-${randomUUID()}`;
      const plain = `ord-${randomUUID()}`;
      await m()
        .post('/v1/orders', {
          orders: [
            {
              externalId: orderId,
              customerExternalId: buyer.external_id,
              orderedAt: inWindow(),
              amount: 2500,
              currency: 'EUR',
              offerCode: cellA.responseCode,
            },
            {
              externalId: plain,
              customerExternalId: buyer.external_id,
              orderedAt: inWindow(),
              amount: 10,
              currency: 'EUR',
            },
          ],
        })
        .expect(200);
      const rows = (
        await db.query(
          `SELECT r.type, r.value, r.source, ce.code AS cell FROM response r LEFT JOIN cell ce ON ce.id = r.cell_id
            WHERE r.idempotency_key = ANY($1)`,
          [[`key:${orderId}`, `key:${plain}`]],
        )
      ).rows;
      // The code decides the cell (A), not the customer's own cell (B); an order without a code is not a conversion.
      expect(rows).toEqual([{ type: 'conversion', value: '2500', source: 'order', cell: cellA.code }]);
      const posted = await m()
        .post('/v1/responses', {
          externalId: buyer.external_id,
          type: 'conversion',
          value: 2500,
          currency: 'EUR',
          occurredAt: inWindow(),
          idempotencyKey: orderId,
        })
        .expect(200);
      expect(posted.body).toMatchObject({ duplicate: true, cell: cellA.code, attribution: 'response-code' });
    });

    it('names the row and field of bad input', async () => {
      const someone = treated()[0];
      const r1 = await m()
        .post('/v1/responses', {
          responses: [
            { externalId: someone.external_id, type: 'conversion', occurredAt: inWindow(), idempotencyKey: 'k1' },
            { externalId: 'nobody-at-all', type: 'conversion', occurredAt: inWindow(), idempotencyKey: 'k2' },
          ],
        })
        .expect(400);
      expect(r1.body.message).toContain('responses[1].externalId');
      const r2 = await m()
        .post('/v1/responses', {
          externalId: someone.external_id,
          type: 'conversion',
          occurredAt: inWindow(),
          responseCode: 'NO-SUCH-CODE',
          idempotencyKey: 'k3',
        })
        .expect(400);
      expect(r2.body.message).toContain('responseCode');
      const r3 = await m()
        .post('/v1/responses', {
          externalId: someone.external_id,
          type: 'open',
          occurredAt: inWindow(),
          idempotencyKey: 'k4',
        })
        .expect(400);
      expect(r3.body.message).toContain('type');
      const r4 = await m()
        .post('/v1/responses', {
          externalId: someone.external_id,
          type: 'conversion',
          value: 10,
          occurredAt: inWindow(),
          idempotencyKey: 'k5',
        })
        .expect(400);
      expect(r4.body.message).toContain('currency');
      await m()
        .post('/v1/responses', {
          responses: [
            {
              externalId: someone.external_id,
              type: 'conversion',
              value: 1.5,
              currency: 'EUR',
              occurredAt: inWindow(),
              idempotencyKey: 'k6',
            },
          ],
        })
        .expect(400)
        .expect((r) => expect(r.body.message).toContain('responses[0].value'));
      await api.as('analyst').post('/v1/responses', {}).expect(403);
      expect(await count(`SELECT count(*) AS n FROM response WHERE idempotency_key LIKE 'key:k%'`)).toBe(0);
    });
  });
});
