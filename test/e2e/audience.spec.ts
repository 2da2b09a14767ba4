import { startTestApi, TestApi } from '../support/test-api';
import { uniqueCode } from '../support/factories';

const aCustomer = (over: Record<string, unknown> = {}) => ({
  externalId: uniqueCode('C'),
  email: `${uniqueCode('u').toLowerCase()}@Example.COM`,
  country: 'DE',
  locale: 'de-DE',
  timeZone: 'Europe/Berlin',
  consent: { email: true, sms: false },
  ...over,
});

describe('audience: customers, suppressions, segments', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });
  const m = () => api.as('marketer');

  it('upserts one customer by externalId: 201 new, 200 updated, absent fields kept, attributes merged', async () => {
    const input = aCustomer({ phone: '0151 1234 5678', attributes: { tier: 'gold' }, birthDate: '1990-04-17' });
    const created = await m().post('/v1/customers', input).expect(201);
    expect(created.body).toMatchObject({
      externalId: input.externalId,
      email: (input.email as string).replace('Example.COM', 'example.com'),
      phone: '+4915112345678',
      birthDate: '1990-04-17',
      consent: { email: true, sms: false },
      attributes: { tier: 'gold' },
      lifecycleStage: 'prospect',
    });
    const updated = await m()
      .post('/v1/customers', { externalId: input.externalId, firstName: 'Ann', attributes: { score: 7 } })
      .expect(200);
    expect(updated.body).toMatchObject({
      firstName: 'Ann',
      phone: '+4915112345678',
      consent: { email: true, sms: false },
      attributes: { tier: 'gold', score: 7 },
    });
    const byId = await api.as('analyst').get(`/v1/customers/${created.body.id}`).expect(200);
    expect(byId.body.externalId).toBe(input.externalId);
  });

  it('upserts a batch in one go with exact counts; the last of a repeated externalId wins', async () => {
    const existing = aCustomer();
    await m().post('/v1/customers', existing).expect(201);
    const a = aCustomer();
    const res = await m()
      .post('/v1/customers', {
        customers: [
          existing,
          { ...a, firstName: 'first' },
          aCustomer(),
          { ...a, firstName: 'last' },
          { externalId: existing.externalId, lastName: 'Lee' },
        ],
      })
      .expect(200);
    // existing: first row unchanged, last row for it updates lastName (the last wins) -> 1 updated
    expect(res.body).toEqual({ inserted: 2, updated: 1, unchanged: 0 });
    expect((await m().get(`/v1/customers/${a.externalId}`).expect(200)).body.firstName).toBe('last');
    const again = await m()
      .post('/v1/customers', { customers: [existing] })
      .expect(200);
    expect(again.body).toEqual({ inserted: 0, updated: 0, unchanged: 1 });
  });

  it('refuses a batch with one bad row, naming it, and writes nothing', async () => {
    const good = aCustomer();
    for (const [bad, path] of [
      [{ email: 'not-an-email' }, 'customers[1].email'],
      [{ phone: '12' }, 'customers[1].phone'],
      [{ timeZone: 'Mars/Base' }, 'customers[1].timeZone'],
      [{ colour: 'red' }, 'customers[1].colour'],
      [{ consent: { email: 'yes' } }, 'customers[1].consent.email'],
      [{ externalId: '' }, 'customers[1].externalId'],
    ] as const) {
      const res = await m()
        .post('/v1/customers', { customers: [good, aCustomer(bad)] })
        .expect(400);
      expect(res.body.message).toContain(path);
    }
    await m().get(`/v1/customers/${good.externalId}`).expect(404);
    await m().post('/v1/customers', { customers: [] }).expect(400);
    await m().post('/v1/customers', [good]).expect(400);
  });

  it('suppresses by address or customer, refuses duplicates, lists and lifts', async () => {
    const c = aCustomer();
    await m().post('/v1/customers', c).expect(201);
    const byCustomer = await m()
      .post('/v1/suppressions', { channel: 'email', customer: c.externalId, reason: 'manual', source: 'desk' })
      .expect(201);
    expect(byCustomer.body).toMatchObject({
      channel: 'email',
      reason: 'manual',
      source: 'desk',
      createdBy: 'test-marketer',
    });
    const dup = await m()
      .post('/v1/suppressions', {
        channel: 'email',
        address: ` ${(c.email as string).replace('@Example.COM', '@EXAMPLE.com')} `,
        reason: 'complaint',
      })
      .expect(409);
    expect(dup.body.message).toContain('already suppressed');
    const sms = await m()
      .post('/v1/suppressions', { channel: 'sms', address: '+33612345678', reason: 'unsubscribed' })
      .expect(201);
    await m().post('/v1/suppressions', { channel: 'sms', address: 'nope', reason: 'manual' }).expect(400);
    await m().post('/v1/suppressions', { channel: 'sms', reason: 'manual' }).expect(400);
    const list = await api.as('analyst').get('/v1/suppressions?channel=sms&reason=unsubscribed').expect(200);
    expect(list.body.items.map((s: { id: string }) => s.id)).toContain(sms.body.id);
    expect(list.body.items.every((s: { channel: string }) => s.channel === 'sms')).toBe(true);
    await m().delete(`/v1/suppressions/${sms.body.id}`).expect(204);
    await m().delete(`/v1/suppressions/${sms.body.id}`).expect(404);
  });

  it('erases a customer: personal data gone, row kept, address still suppressed (by hash only)', async () => {
    const c = aCustomer({ phone: '+4915199999999', firstName: 'Eve' });
    const created = (await m().post('/v1/customers', c).expect(201)).body;
    await m().delete(`/v1/customers/${c.externalId}`).expect(403);
    await api.as('admin').delete(`/v1/customers/${c.externalId}`).expect(204);
    const erased = (await api.as('admin').get(`/v1/customers/${created.id}`).expect(200)).body;
    expect(erased).toMatchObject({
      email: null,
      phone: null,
      firstName: null,
      attributes: {},
      consent: { email: false, sms: false },
    });
    expect(erased.erasedAt).not.toBeNull();
    expect(erased.externalId).not.toBe(c.externalId);
    await api.as('admin').get(`/v1/customers/${c.externalId}`).expect(404);
    const again = await m()
      .post('/v1/suppressions', { channel: 'email', address: c.email, reason: 'manual' })
      .expect(409);
    expect(again.body.message).toContain('already suppressed');
    const list = await api.as('admin').get('/v1/suppressions?reason=global').expect(200);
    const mine = list.body.items.filter((s: { customerId: string }) => s.customerId === created.id);
    expect(mine).toHaveLength(2);
    expect(mine.every((s: { address: string | null }) => s.address === null)).toBe(true);
    await api.as('admin').delete(`/v1/customers/${created.id}`).expect(204); // erasing twice is harmless
  });

  it('saves segments, counts members on read, previews with the same SQL, refuses bad criteria and cycles', async () => {
    const country = 'LU';
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        (
          await m()
            .post('/v1/customers', aCustomer({ country, attributes: { score: i } }))
            .expect(201)
        ).body.externalId,
      );
    const code = uniqueCode('SEG');
    const seg = await m()
      .post('/v1/segments', { code, name: 'Luxembourg', criteria: { field: 'country', op: 'eq', value: country } })
      .expect(201);
    expect(seg.body).toMatchObject({ code, criteria: { field: 'country', op: 'eq', value: country } });
    expect((await api.as('analyst').get(`/v1/segments/${code}`).expect(200)).body.count).toBe(3);
    const preview = await api
      .as('analyst')
      .post('/v1/segments/preview', {
        criteria: {
          all: [
            { op: 'inSegment', value: code },
            { field: 'attributes.score', op: 'gte', value: 1 },
          ],
        },
        sampleSize: 5,
      })
      .expect(200);
    expect(preview.body.count).toBe(2);
    expect(preview.body.sample.map((c: { externalId: string }) => c.externalId).sort()).toEqual(ids.slice(1).sort());
    const bad = await m()
      .post('/v1/segments', {
        code: uniqueCode('S'),
        name: 'x',
        criteria: {
          all: [
            { field: 'country', op: 'eq', value: 'DE' },
            { field: 'shoe', op: 'eq', value: 1 },
          ],
        },
      })
      .expect(400);
    expect(bad.body.message).toContain('criteria.all[1].field');
    const self = uniqueCode('SELF');
    const cyc = await m()
      .post('/v1/segments', { code: self, name: 'x', criteria: { op: 'inSegment', value: self } })
      .expect(400);
    expect(cyc.body.message).toContain('refers to itself');
    const unknown = await m()
      .post('/v1/segments', { code: uniqueCode('S'), name: 'x', criteria: { op: 'inSegment', value: 'nope' } })
      .expect(400);
    expect(unknown.body.message).toContain('does not exist');
    await m()
      .post('/v1/segments', { code, name: 'dup', criteria: { field: 'country', op: 'eq', value: 'DE' } })
      .expect(409);
    const list = await api.as('analyst').get('/v1/segments').expect(200);
    expect(list.body.items.map((s: { code: string }) => s.code)).toContain(code);
  });

  it('takes orders in batches, attached by customer externalId, and segments read them', async () => {
    const a = aCustomer({ country: 'LI' });
    const b = aCustomer({ country: 'LI' });
    await m()
      .post('/v1/customers', { customers: [a, b] })
      .expect(200);
    const order = (over: Record<string, unknown>) => ({
      externalId: uniqueCode('O'),
      customerExternalId: a.externalId,
      orderedAt: '2026-05-01T10:00:00Z',
      amount: 4990,
      margin: -120,
      currency: 'EUR',
      items: [{ sku: 'SKU-1', quantity: 2, price: 2495 }],
      ...over,
    });
    const repeated = order({});
    const res = await m()
      .post('/v1/orders', {
        orders: [
          repeated,
          order({ amount: 10_000 }),
          order({ customerExternalId: b.externalId }),
          { ...repeated, amount: 5990 },
        ],
      })
      .expect(200);
    expect(res.body).toEqual({ inserted: 3, updated: 0, unchanged: 0 });
    const again = await m()
      .post('/v1/orders', { orders: [{ ...repeated, amount: 5990 }] })
      .expect(200);
    expect(again.body).toEqual({ inserted: 0, updated: 0, unchanged: 1 });
    const big = await m()
      .post('/v1/segments/preview', {
        criteria: {
          all: [
            { field: 'country', op: 'eq', value: 'LI' },
            { field: 'orders.total', op: 'gte', value: 15_990 },
          ],
        },
      })
      .expect(200);
    expect(big.body.sample.map((c: { externalId: string }) => c.externalId)).toEqual([a.externalId]);
    const twice = await m()
      .post('/v1/segments/preview', {
        criteria: {
          all: [
            { field: 'country', op: 'eq', value: 'LI' },
            { field: 'orders.count', op: 'eq', value: 1 },
          ],
        },
      })
      .expect(200);
    expect(twice.body.sample.map((c: { externalId: string }) => c.externalId)).toEqual([b.externalId]);
    for (const [bad, path] of [
      [{ customerExternalId: 'nobody' }, 'orders[1].customerExternalId'],
      [{ amount: 1.5 }, 'orders[1].amount'],
      [{ currency: 'euro' }, 'orders[1].currency'],
      [{ orderedAt: 'yesterday' }, 'orders[1].orderedAt'],
      [{ items: [{ sku: 'X', quantity: 0, price: 1 }] }, 'orders[1].items[0].quantity'],
    ] as const) {
      const refused = await m()
        .post('/v1/orders', { orders: [order({}), order(bad)] })
        .expect(400);
      expect(refused.body.message).toContain(path);
    }
  });

  it('leaves erased customers out of segments', async () => {
    const c = aCustomer({ country: 'MT' });
    await m().post('/v1/customers', c).expect(201);
    const before = await m()
      .post('/v1/segments/preview', { criteria: { field: 'country', op: 'eq', value: 'MT' } })
      .expect(200);
    await api.as('admin').delete(`/v1/customers/${c.externalId}`).expect(204);
    const after = await m()
      .post('/v1/segments/preview', { criteria: { field: 'country', op: 'eq', value: 'MT' } })
      .expect(200);
    expect(after.body.count).toBe(before.body.count - 1);
  });
});
