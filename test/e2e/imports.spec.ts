import { Client } from 'pg';
import { ImportService } from '@closeloop/audience';
import { systemActor } from '@closeloop/core';
import { startTestApi, TestApi } from '../support/test-api';

/** CSV imports end to end: upload -> PostgreSQL -> queue -> worker -> COPY -> merge -> counts and errors. */
describe('imports', () => {
  let api: TestApi;
  let db: Client;
  beforeAll(async () => {
    api = await startTestApi({ IMPORT_MAX_BYTES: '64kb' }, { withWorker: true });
    db = new Client({ connectionString: api.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await api?.close();
  });

  const upload = (kind: string, body: string | Buffer, query = '') =>
    api.http
      .post(`/v1/imports/${kind}${query}`)
      .set('Authorization', `Bearer ${api.keys.marketer}`)
      .set('Content-Type', 'text/csv')
      .send(body);

  async function finished(id: string) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const imp = (await api.as('analyst').get(`/v1/imports/${id}`).expect(200)).body;
      if (imp.state === 'completed' || imp.state === 'failed') return imp;
      if (Date.now() > deadline) throw new Error(`import ${id} still ${imp.state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params)).rows[0].n);

  // A messy file: BOM, CRLF, header spellings, quotes, a line break inside a field, a blank line,
  // bad values of every kind, a row short of fields, a repeated externalId, a formula-looking value.
  const messy = (p: string) =>
    '\uFEFFExternal ID,E-mail,Phone,First Name,Country,Consent Email,consentSms,attributes.tier,attributes.zip\r\n' +
    `${p}-1,Ann@Example.COM,+44 20 7946 0958,Ann,GB,yes,no,gold,01234\r\n` + // 2
    `${p}-2,"bob@example.com","020 7946 0959","Bob ""The Builder""",gb,1,0,silver,\r\n` + // 3
    `${p}-3,not-an-email,,Cee,GB,yes,,,\r\n` + // 4 rejected: email
    `${p}-4,dee@example.com,12345,Dee,GB,yes,,,\r\n` + // 5 rejected: phone
    `,eve@example.com,,Eve,GB,,,,\r\n` + // 6 rejected: externalId
    `${p}-5,fay@example.com,,"Fay\r\nSecond line",DE,no,,,\r\n` + // 7-8
    `${p}-6,gus@example.com,,Gus,GB,maybe,,,\r\n` + // 9 rejected: consent
    `${p}-1,ann.new@example.com,,,,,,platinum,\r\n` + // 10 the last of ${p}-1 wins
    `${p}-7,hal@example.com,,Hal,GB,yes,no\r\n` + // 11 rejected: 7 fields
    `\r\n` + // 12 blank
    `${p}-8,ivy@example.com,,Ivy,GBR,,,,\r\n` + // 13 rejected: country
    `${p}-9,jo@example.com,,=SUM(A1:A9),GB,true,false,bronze,\r\n`; // 14

  it('imports a messy customer file with exact counts, row errors and the last duplicate winning', async () => {
    const res = await upload('customers', messy('m')).expect(202);
    expect(res.headers.location).toBe(`/v1/imports/${res.body.id}`);
    expect(res.body).toMatchObject({ kind: 'customers', mode: 'valid-rows', state: 'queued' });
    const imp = await finished(res.body.id);
    expect(imp).toMatchObject({ state: 'completed', progress: 1, error: null });
    expect(imp.counts).toEqual({ read: 11, inserted: 4, updated: 0, unchanged: 0, rejected: 6, duplicates: 1 });

    const errors = await api.as('analyst').get(imp.errorsUrl).expect(200);
    expect(errors.headers['content-type']).toMatch(/text\/csv/);
    const rows = errors.text.trim().split('\r\n');
    expect(rows[0]).toBe('line,column,reason');
    expect(rows.slice(1).map((r) => r.split(',').slice(0, 2).join(','))).toEqual([
      '4,E-mail',
      '5,Phone',
      '6,External ID',
      '9,Consent Email',
      '11,',
      '13,Country',
    ]);
    expect(rows[5]).toBe('11,,the row has 7 fields; the header has 9');
    expect(rows[4]).toMatch(/consentEmail must be true\/false/);

    const ann = (await api.as('analyst').get('/v1/customers/m-1').expect(200)).body;
    // The whole last row wins: the first row's phone, name and zip are not mixed in.
    expect(ann).toMatchObject({ email: 'ann.new@example.com', phone: null, firstName: null });
    expect(ann.attributes).toEqual({ tier: 'platinum' });
    const bob = (await api.as('analyst').get('/v1/customers/m-2').expect(200)).body;
    expect(bob).toMatchObject({
      email: 'bob@example.com',
      phone: '+442079460959',
      firstName: 'Bob "The Builder"',
      country: 'GB',
      consent: { email: true, sms: false },
    });
    const fay = (await api.as('analyst').get('/v1/customers/m-5').expect(200)).body;
    expect(fay.firstName).toBe('Fay\r\nSecond line');
    const jo = (await api.as('analyst').get('/v1/customers/m-9').expect(200)).body;
    expect(jo.firstName).toBe('=SUM(A1:A9)'); // stored as given; exports escape it
    for (const absent of ['m-3', 'm-4', 'm-6', 'm-7', 'm-8']) {
      await api.as('analyst').get(`/v1/customers/${absent}`).expect(404);
    }

    // The same file again changes nothing and says so.
    const again = await finished((await upload('customers', messy('m')).expect(202)).body.id);
    expect(again.counts).toEqual({ read: 11, inserted: 0, updated: 0, unchanged: 4, rejected: 6, duplicates: 1 });
  });

  it('applies nothing in all-or-nothing mode when a row is rejected', async () => {
    const before = await count(`SELECT count(*) AS n FROM customer`);
    const imp = await finished((await upload('customers', messy('aon'), '?mode=all-or-nothing').expect(202)).body.id);
    expect(imp.state).toBe('failed');
    expect(imp.error).toMatch(/6 rows were rejected; nothing was applied/);
    expect(imp.counts).toMatchObject({ read: 11, inserted: 0, rejected: 6 });
    expect(await count(`SELECT count(*) AS n FROM customer`)).toBe(before);
    const errors = await api.as('analyst').get(imp.errorsUrl).expect(200);
    expect(errors.text.trim().split('\r\n')).toHaveLength(7);

    const clean = 'externalId;email;consentEmail\naon-1;a1@example.com;yes\naon-2;a2@example.com;no\n';
    const ok = await finished(
      (await upload('customers', clean, '?mode=all-or-nothing&delimiter=;').expect(202)).body.id,
    );
    expect(ok).toMatchObject({ state: 'completed', counts: { read: 2, inserted: 2, rejected: 0 } });
  });

  it.each([
    ['a binary file', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x08]), /looks binary/],
    ['a file that is not UTF-8', Buffer.from('externalId,firstName\nx-1,Ren\xe9e\n', 'latin1'), /not UTF-8/],
    ['an unknown column', 'externalId,emial\nbad-1,a@example.com\n', /unknown column "emial"/],
    ['no externalId column', 'email\nbad@example.com\n', /no externalId column/],
    ['an unclosed quote', 'externalId,firstName\nq-1,"never closed\nq-2,x\n', /never closed/],
  ])('fails %s cleanly and changes nothing', async (_what, body, reason) => {
    const before = await count(`SELECT count(*) AS n FROM customer`);
    const imp = await finished((await upload('customers', body).expect(202)).body.id);
    expect(imp.state).toBe('failed');
    expect(imp.error).toMatch(reason);
    expect(imp.counts).toBeNull();
    expect(await count(`SELECT count(*) AS n FROM customer`)).toBe(before);
  });

  it('refuses an upload over IMPORT_MAX_BYTES with 413 and keeps nothing', async () => {
    const before = await count(`SELECT count(*) AS n FROM import`);
    const big = 'externalId,email\n' + 'x'.repeat(70 * 1024) + '\n';
    const res = await upload('customers', big).expect(413);
    expect(res.body.message).toMatch(/over the import limit/);
    expect(await count(`SELECT count(*) AS n FROM import`)).toBe(before);
  });

  it('refuses bad options and content types, naming them', async () => {
    expect((await upload('customers', 'externalId\nx\n', '?mode=some').expect(400)).body.message).toMatch(/mode/);
    expect((await upload('customers', 'externalId\nx\n', '?delimiter=ab').expect(400)).body.message).toMatch(
      /delimiter/,
    );
    await upload('people', 'externalId\nx\n').expect(404);
    const json = await api.as('marketer').post('/v1/imports/customers', { externalId: 'x' }).expect(400);
    expect(json.body.message).toMatch(/Content-Type must be text\/csv or multipart\/form-data/);
    await api.as('analyst').post('/v1/imports/customers').set('Content-Type', 'text/csv').send('a').expect(403);
  });

  it('takes a multipart upload and lists imports', async () => {
    const res = await api.http
      .post('/v1/imports/customers')
      .set('Authorization', `Bearer ${api.keys.admin}`)
      .attach('file', Buffer.from('externalId,email\nmp-1,mp1@example.com\n'), 'crm-export.csv')
      .expect(202);
    const imp = await finished(res.body.id);
    expect(imp).toMatchObject({ state: 'completed', fileName: 'crm-export.csv', counts: { inserted: 1 } });
    const page = (await api.as('analyst').get('/v1/imports?kind=customers&state=completed&limit=200').expect(200)).body;
    expect(page.items.map((i: { id: string }) => i.id)).toContain(imp.id);
  });

  it('imports orders, rejecting unknown customers and amounts that are not minor units', async () => {
    await upload('customers', 'externalId,email\nord-c1,o1@example.com\nord-c2,o2@example.com\n').expect(202);
    await new Promise((r) => setTimeout(r, 10));
    const c = (await api.as('analyst').get('/v1/imports?kind=customers&limit=200').expect(200)).body.items.pop();
    await finished(c.id);
    const csv =
      'order id,customer,date,amount,margin,currency,coupon\n' +
      'o-1,ord-c1,2026-10-01T10:00:00Z,1250,300,EUR,SPRING\n' +
      'o-2,ord-c2,2026-10-02,990,,eur,\n' +
      'o-3,nobody,2026-10-03,500,,EUR,\n' +
      'o-4,ord-c1,2026-10-04,12.50,,EUR,\n' +
      'o-5,ord-c1,yesterday,100,,EUR,\n';
    const imp = await finished((await upload('orders', csv).expect(202)).body.id);
    expect(imp.counts).toEqual({ read: 5, inserted: 2, updated: 0, unchanged: 0, rejected: 3, duplicates: 0 });
    const errors = (await api.as('analyst').get(imp.errorsUrl).expect(200)).text.trim().split('\r\n').slice(1);
    expect(errors.map((r) => r.split(',').slice(0, 2).join(','))).toEqual(['4,customer', '5,amount', '6,date']);
    expect(errors[0]).toMatch(/""nobody"" is not a customer/);
    expect(await count(`SELECT count(*) AS n FROM customer_order WHERE external_id IN ('o-1', 'o-2')`)).toBe(2);
  });

  it('imports suppressions, normalising addresses so they match', async () => {
    const csv =
      'channel,address,reason,source\n' +
      'email, spam.trap@Example.COM ,complaint,isp-feedback\n' +
      'sms,+44 7911 123456,unsubscribed,\n' +
      'fax,123,manual,\n' +
      'email,not-an-address,manual,\n' +
      'email,spam.trap@example.com,manual,\n';
    const imp = await finished((await upload('suppressions', csv).expect(202)).body.id);
    expect(imp.counts).toEqual({ read: 5, inserted: 2, updated: 0, unchanged: 0, rejected: 2, duplicates: 1 });
    const list = (await api.as('analyst').get('/v1/suppressions?limit=200').expect(200)).body.items;
    expect(list).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ channel: 'email', address: 'spam.trap@example.com', reason: 'manual' }),
        expect.objectContaining({ channel: 'sms', address: '+447911123456', reason: 'unsubscribed', source: 'import' }),
      ]),
    );
    const again = await finished((await upload('suppressions', csv).expect(202)).body.id);
    expect(again.counts).toMatchObject({ inserted: 0, unchanged: 2 });
  });

  it('applies an import once when two runners race for it (a retried job after a restart)', async () => {
    const service = api.app.get(ImportService);
    const rows = Array.from({ length: 500 }, (_, i) => `race-${i},race${i}@example.com`).join('\n');
    async function* body() {
      yield `externalId,email\n${rows}\n`;
    }
    const created = await service.create(systemActor('test'), 'customers', {}, body());
    const [a, b] = await Promise.all([service.run(created.id), service.run(created.id)]);
    expect(a.counts).toEqual(b.counts);
    expect(a.counts).toMatchObject({ read: 500, inserted: 500 });
    expect(await count(`SELECT count(*) AS n FROM customer WHERE external_id LIKE 'race-%'`)).toBe(500);
    expect(await count(`SELECT count(*) AS n FROM import_chunk WHERE import_id = $1`, [created.id])).toBe(0);
    expect(
      await count(`SELECT count(*) AS n FROM audit_entry WHERE entity_id = $1 AND action = 'import.apply'`, [
        created.id,
      ]),
    ).toBe(1);
  });
});
