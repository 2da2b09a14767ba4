import { Client } from 'pg';
import { buildOnce, runCli } from '../support/built-app';
import { aCampaign } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

jest.setTimeout(120_000);

type Cell = { id: string; code: string; responseCode: string };
type Program = { id: string; code: string; cells: Cell[] };

/**
 * The scorecard on a small data set whose every figure is worked out by hand below. Customers and
 * orders come through the API, stages from `npm run cli -- lifecycle --at 2025-04-01`, and program
 * history (list, sends, responses) is written as rows, from which the database's own triggers keep
 * the report counters the scorecard reads. Period: March 2025 (`from=2025-03-01&to=2025-03-31`).
 *
 * | customer | country | orders (EUR unless said)                     | stage on 2025-04-01                   |
 * | -------- | ------- | -------------------------------------------- | ------------------------------------- |
 * | c1       | DE      | 2025-03-05 10000 (margin 3000)               | new (first order in March)            |
 * | c2       | DE      | 2024-01-10 5000; 2025-03-20 20000 (m 5000)   | won-back (gap of 435 days)            |
 * | c3       | FR      | 2024-11-01 8000; 2025-03-15 4000 (no margin) | active                                |
 * | c4       | DE      | 2024-03-10 7000                              | lapsed, and lost in March (+365 days) |
 * | c5       | FR      | 2024-02-15 3000                              | lapsed, lost in February              |
 * | c6       | FR      | 2024-09-01 6000                              | at-risk                               |
 * | c7       | FR      | none                                         | prospect (untouched)                  |
 * | c8       | FR      | 2025-03-25 JPY 3000 (m 1000)                 | new                                   |
 * | c9       | DE      | 2025-03-10 1000 (m 200), then erased         | new                                   |
 */
describe('scorecard', () => {
  let api: TestApi;
  let db: Client;
  let spring: Program;
  const m = () => api.as('marketer');
  const a = () => api.as('analyst');
  const march = '/v1/scorecard?from=2025-03-01&to=2025-03-31';

  async function program(code: string, channel: 'email' | 'sms', cells: object[]): Promise<Program> {
    const campaign = (await m().post('/v1/campaigns', aCampaign()).expect(201)).body;
    return (await m().post(`/v1/campaigns/${campaign.id}/programs`, { code, name: code, channel, cells }).expect(201))
      .body;
  }

  /** A program as it stands after its run: launched at `at`, with its list sizes, sends and responses. */
  async function history(
    p: Program,
    at: string,
    members: Record<string, number>,
    sends: [customer: string, cell: string, state: string][],
    responses: [customer: string, cell: string, type: string, value?: number, machine?: boolean][],
  ) {
    await db.query(`UPDATE program SET state = 'completed', launched_at = $2 WHERE id = $1`, [p.id, at]);
    await db.query(
      `INSERT INTO target_list (program_id, state, cells, requested_by) VALUES ($1, 'built', $2, 'test')`,
      [p.id, JSON.stringify(Object.entries(members).map(([code, n]) => ({ code, members: n })))],
    );
    const cell = (code: string) => p.cells.find((c) => c.code === code)!;
    for (const [customer, code, state] of sends) {
      await db.query(
        `INSERT INTO send (program_id, customer_id, cell_id, response_code, channel, address, state)
         SELECT $1, c.id, $3, $4, 'email', $2 || '@mail.example', $5 FROM customer c WHERE c.external_id = $2`,
        [p.id, customer, cell(code).id, cell(code).responseCode, state],
      );
    }
    for (const [customer, code, type, value, machine] of responses) {
      await db.query(
        `INSERT INTO response (customer_id, program_id, cell_id, type, occurred_at, value, currency, machine)
         SELECT c.id, $1, $3, $4, '2025-03-12T10:00:00Z', $5::bigint, CASE WHEN $5::bigint IS NULL THEN NULL ELSE 'EUR' END, $6
           FROM customer c WHERE c.external_id = $2`,
        [p.id, customer, cell(code).id, type, value ?? null, machine ?? false],
      );
    }
  }

  beforeAll(async () => {
    buildOnce();
    api = await startTestApi();
    db = new Client({ connectionString: api.databaseUrl });
    await db.connect();

    const customers = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9'].map((id) => ({
      externalId: id,
      email: `${id}@mail.example`,
      country: ['c1', 'c2', 'c4', 'c9'].includes(id) ? 'DE' : 'FR',
      consent: { email: true },
    }));
    await m().post('/v1/customers', { customers }).expect(200);
    const order = (externalId: string, customer: string, orderedAt: string, amount: number, extra: object = {}) => ({
      externalId,
      customerExternalId: customer,
      orderedAt,
      amount,
      currency: 'EUR',
      ...extra,
    });
    await m()
      .post('/v1/orders', {
        orders: [
          order('o1', 'c1', '2025-03-05T10:00:00Z', 10000, { margin: 3000 }),
          order('o2a', 'c2', '2024-01-10T10:00:00Z', 5000),
          order('o2b', 'c2', '2025-03-20T10:00:00Z', 20000, { margin: 5000 }),
          order('o3a', 'c3', '2024-11-01T10:00:00Z', 8000),
          order('o3b', 'c3', '2025-03-15T10:00:00Z', 4000),
          order('o4', 'c4', '2024-03-10T12:00:00Z', 7000),
          order('o5', 'c5', '2024-02-15T10:00:00Z', 3000),
          order('o6', 'c6', '2024-09-01T10:00:00Z', 6000),
          order('o8', 'c8', '2025-03-25T10:00:00Z', 3000, { margin: 1000, currency: 'JPY' }),
          order('o9', 'c9', '2025-03-10T10:00:00Z', 1000, { margin: 200 }),
        ],
      })
      .expect(200);
    await api.as('admin').delete('/v1/customers/c9').expect(204);

    await m()
      .post('/v1/segments', { code: 'DE', name: 'Germany', criteria: { field: 'country', op: 'eq', value: 'DE' } })
      .expect(201);
    await m()
      .post('/v1/segments', {
        code: 'DE-WON-BACK',
        name: 'Won back in Germany',
        criteria: {
          all: [
            { op: 'inSegment', value: 'DE' },
            { field: 'lifecycleStage', op: 'eq', value: 'won-back' },
          ],
        },
      })
      .expect(201);
    // A saved segment whose reference is gone: the scorecard reports it instead of failing.
    await db.query(
      `INSERT INTO segment (code, name, criteria) VALUES ('ZZ-BROKEN', 'Broken', '{"op": "inSegment", "value": "NOPE"}')`,
    );

    // SPRING (email, March 10): 6 treatment members, 2 in control.
    spring = await program('SPRING', 'email', [
      { code: 'SPRING-A', name: 'A', weight: 75 },
      { code: 'SPRING-CTL', name: 'Control', weight: 25, isControl: true },
    ]);
    await history(
      spring,
      '2025-03-10T09:00:00Z',
      { 'SPRING-A': 6, 'SPRING-CTL': 2 },
      [
        ['c1', 'SPRING-A', 'delivered'],
        ['c2', 'SPRING-A', 'sent'],
        ['c3', 'SPRING-A', 'sent'],
        ['c4', 'SPRING-A', 'bounced'],
        ['c5', 'SPRING-A', 'sent'],
        ['c6', 'SPRING-A', 'failed'],
        ['c7', 'SPRING-CTL', 'held_out'],
        ['c8', 'SPRING-CTL', 'held_out'],
      ],
      [
        ['c1', 'SPRING-A', 'open'],
        ['c1', 'SPRING-A', 'click'],
        ['c1', 'SPRING-A', 'conversion', 5000],
        ['c2', 'SPRING-A', 'click', undefined, true], // a link scanner: not a responder
        ['c3', 'SPRING-A', 'conversion', 2500],
        ['c3', 'SPRING-A', 'conversion', 2500],
        ['c5', 'SPRING-A', 'unsubscribe'],
        ['c5', 'SPRING-A', 'complaint'],
        ['c6', 'SPRING-A', 'click'], // its send failed: not contacted, so not a responder
        ['c8', 'SPRING-CTL', 'conversion', 1000], // control: converts, never contacted
      ],
    );
    // FLASH (sms, March 20): launched, nothing built yet.
    const flash = await program('FLASH', 'sms', [{ code: 'FLASH-A', name: 'A', weight: 100 }]);
    await db.query(`UPDATE program SET state = 'running', launched_at = '2025-03-20T10:00:00Z' WHERE id = $1`, [
      flash.id,
    ]);
    // WINTER (February): outside the period, left out.
    const winter = await program('WINTER', 'email', [{ code: 'WINTER-A', name: 'A', weight: 100 }]);
    await history(
      winter,
      '2025-02-01T09:00:00Z',
      { 'WINTER-A': 1 },
      [['c1', 'WINTER-A', 'delivered']],
      [['c1', 'WINTER-A', 'conversion', 9999]],
    );
  });
  afterAll(async () => {
    await db?.end();
    await api?.close();
  });

  it('recomputes lifecycle stages from the CLI and prints what moved', async () => {
    const env = { DATABASE_URL: api.databaseUrl, REDIS_URL: process.env.REDIS_URL!, LOG_LEVEL: 'error' };
    const run = await runCli(['lifecycle', '--at', '2025-04-01T00:00:00Z'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      'lifecycle at 2025-04-01T00:00:00.000Z: 8 customer(s) with orders, 8 changed stage ' +
        '(new 3, active 1, at-risk 1, lapsed 2, won-back 1)\n',
    );
    const { rows } = await db.query(`SELECT external_id, lifecycle_stage FROM customer ORDER BY external_id`);
    expect(
      Object.fromEntries(
        rows.map((r) => [r.external_id.startsWith('erased:') ? 'c9' : r.external_id, r.lifecycle_stage]),
      ),
    ).toEqual({
      c1: 'new',
      c2: 'won-back',
      c3: 'active',
      c4: 'lapsed',
      c5: 'lapsed',
      c6: 'at-risk',
      c7: 'prospect',
      c8: 'new',
      c9: 'new',
    });
    const again = await runCli(['lifecycle', '--at', '2025-04-01T00:00:00Z'], env);
    expect(again.stdout).toContain('8 customer(s) with orders, 0 changed stage');
    const bad = await runCli(['lifecycle', '--at', 'yesterday'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--at must be an ISO 8601 time');
  });

  it('counts customers, new and lost, and money per currency, by stage and by segment', async () => {
    const body = (await a().get(march).expect(200)).body;
    expect(body.period).toEqual({ from: '2025-03-01T00:00:00.000Z', to: '2025-04-01T00:00:00.000Z' });
    expect(body.lifecycleThresholds).toEqual({
      newWithinDays: 90,
      activeWithinDays: 180,
      lapsedAfterDays: 365,
      wonBackGapDays: 365,
    });
    // c1..c8 (c9 is erased); new: c1, c8 and c9 (first order in March); lost: c4 only.
    expect(body.customers).toEqual({ total: 8, new: 3, lost: 1 });
    const eur = (orders: number, buyers: number, revenue: number, margin: number, ordersWithMargin: number) => ({
      currency: 'EUR',
      orders,
      buyers,
      revenue,
      margin,
      ordersWithMargin,
      averageOrderValue: revenue / orders,
    });
    const jpy = {
      currency: 'JPY',
      orders: 1,
      buyers: 1,
      revenue: 3000,
      margin: 1000,
      ordersWithMargin: 1,
      averageOrderValue: 3000,
    };
    // o1 + o2b + o3b + o9 (erased customers' orders are kept); o8 in JPY
    expect(body.money).toEqual([eur(4, 4, 35000, 8200, 3), jpy]);
    expect(body.lifecycleStages).toEqual([
      { stage: 'prospect', customers: 1, money: [] },
      { stage: 'new', customers: 2, money: [eur(2, 2, 11000, 3200, 2), jpy] },
      { stage: 'active', customers: 1, money: [eur(1, 1, 4000, 0, 0)] },
      { stage: 'at-risk', customers: 1, money: [] },
      { stage: 'lapsed', customers: 2, money: [] },
      { stage: 'won-back', customers: 1, money: [eur(1, 1, 20000, 5000, 1)] },
    ]);
    expect(body.segments).toEqual([
      { code: 'DE', name: 'Germany', customers: 3, money: [eur(2, 2, 30000, 8000, 2)], error: null },
      {
        code: 'DE-WON-BACK',
        name: 'Won back in Germany',
        customers: 1,
        money: [eur(1, 1, 20000, 5000, 1)],
        error: null,
      },
      {
        code: 'ZZ-BROKEN',
        name: 'Broken',
        customers: null,
        money: [],
        error: expect.stringContaining('"NOPE" does not exist'),
      },
    ]);
    expect(body.segmentsOmitted).toBe(0);
  });

  it('gives response, conversion, unsubscribe, bounce and complaint rates per program and channel', async () => {
    const body = (await a().get(march).expect(200)).body;
    const springFigures = {
      members: 8,
      contacted: 5, // delivered c1, sent c2 c3 c5, bounced c4 (c6 failed, control held out)
      delivered: 4,
      bounced: 1,
      responders: 2, // c1 clicked and bought, c3 bought
      conversions: 3, // c1, c3, and c8 in control
      unsubscribes: 1,
      complaints: 1,
      responseRate: 2 / 5,
      conversionRate: 3 / 8,
      unsubscribeRate: 1 / 4,
      bounceRate: 1 / 5,
      complaintRate: 1 / 4,
    };
    const empty = {
      members: 0,
      contacted: 0,
      delivered: 0,
      bounced: 0,
      responders: 0,
      conversions: 0,
      unsubscribes: 0,
      complaints: 0,
      responseRate: null,
      conversionRate: null,
      unsubscribeRate: null,
      bounceRate: null,
      complaintRate: null,
    };
    expect(body.programs).toEqual([
      {
        id: spring.id,
        code: 'SPRING',
        name: 'SPRING',
        channel: 'email',
        state: 'completed',
        launchedAt: '2025-03-10T09:00:00.000Z',
        revenue: 11000,
        currency: 'EUR',
        ...springFigures,
      },
      expect.objectContaining({
        code: 'FLASH',
        channel: 'sms',
        state: 'running',
        revenue: 0,
        currency: null,
        ...empty,
      }),
    ]);
    expect(body.programsOmitted).toBe(0);
    expect(body.channels).toEqual([
      { channel: 'email', programs: 1, ...springFigures },
      { channel: 'sms', programs: 1, ...empty },
    ]);
    expect(body.contact).toEqual(springFigures);
  });

  it('defaults to the last 30 days and checks the period, naming the field', async () => {
    const body = (await a().get('/v1/scorecard').expect(200)).body;
    const from = Date.parse(body.period.from);
    const to = Date.parse(body.period.to);
    expect(to - from).toBe(30 * 86_400_000);
    expect(Math.abs(to - Date.now())).toBeLessThan(60_000);
    expect(body.customers).toMatchObject({ total: 8, new: 0 }); // every order is from 2025 or before
    expect(body.programs).toEqual([]);
    const times = (await a().get('/v1/scorecard?from=2025-03-10T09:00:00Z&to=2025-03-10T09:00:01%2B00:00').expect(200))
      .body;
    expect(times.period).toEqual({ from: '2025-03-10T09:00:00.000Z', to: '2025-03-10T09:00:01.000Z' });
    expect(times.programs.map((p: { code: string }) => p.code)).toEqual(['SPRING']);

    for (const [query, field] of [
      ['from=2025-13-01', 'from'],
      ['from=2025-02-30', 'from'],
      ['to=yesterday', 'to'],
      ['from=2025-03-01&from=2025-03-02', 'from'],
      ['from=2025-04-01&to=2025-03-01', 'from must be before to'],
      ['from=2025-03-01&to=2025-02-28T23:00:00Z', 'from must be before to'],
      ['format=pdf', 'format'],
    ]) {
      const res = await a().get(`/v1/scorecard?${query}`).expect(400);
      expect({ query, message: res.body.message }).toEqual({ query, message: expect.stringContaining(field) });
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    }
  });

  it('gives the same figures as CSV (formula-safe) and as a self-contained HTML page', async () => {
    const csv = await a().get(`${march}&format=csv`).expect(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.headers['content-disposition']).toBe('attachment; filename="scorecard-2025-03-01-2025-04-01.csv"');
    const [header, ...lines] = csv.text.trimEnd().split('\r\n');
    const columns = header.split(',');
    const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [columns[i], v])));
    expect(rows.map((r) => r.row)).toEqual([
      'summary',
      'money',
      'money',
      'stage',
      'stage',
      'stage-money',
      'stage-money',
      'stage',
      'stage-money',
      'stage',
      'stage',
      'stage',
      'stage-money',
      'segment',
      'segment-money',
      'segment',
      'segment-money',
      'segment',
      'program',
      'program',
      'channel',
      'channel',
      'contact',
    ]);
    expect(rows[0]).toMatchObject({ customers: '8', newCustomers: '3', lostCustomers: '1' });
    expect(rows.find((r) => r.row === 'program' && r.key === 'SPRING')).toMatchObject({
      responders: '2',
      responseRate: '0.4',
      conversionRate: '0.375',
      bounceRate: '0.2',
      revenue: '11000',
    });

    const html = await a().get(`${march}&format=html`).expect(200);
    expect(html.headers['content-type']).toContain('text/html');
    expect(html.headers['content-security-policy']).toContain("default-src 'none'");
    expect(html.text).toContain('<title>Scorecard: 2025-03-01 to 2025-03-31</title>');
    for (const id of ['stage-chart', 'segment-chart', 'program-chart']) expect(html.text).toContain(`<svg id="${id}"`);
    expect(html.text).toContain('<strong>SPRING</strong>');
    expect(html.text).toContain('EUR 350.00'); // 35,000 cents in March
    expect(html.text).toContain('JPY 3,000');
    expect(html.text).not.toMatch(/<script|https?:\/\//);
  });
});
