import fc from 'fast-check';
import request from 'supertest';
import { startTestApi, TestApi } from '../support/test-api';
import { aCampaign, aProgram } from '../support/factories';

/** RELIABILITY.md: no input makes a 500; every refusal has the error shape and changes nothing. */
describe('fuzzing the planner edges', () => {
  let api: TestApi;
  let campaignId: string;
  let programId: string;
  let cellId: string;
  let dripId: string;
  beforeAll(async () => {
    api = await startTestApi();
    campaignId = (await api.as('marketer').post('/v1/campaigns', aCampaign()).expect(201)).body.id;
    const program = (await api.as('marketer').post(`/v1/campaigns/${campaignId}/programs`, aProgram()).expect(201))
      .body;
    programId = program.id;
    cellId = program.cells[0].id;
    dripId = (
      await api
        .as('marketer')
        .post('/v1/drips', {
          code: 'FUZZ-DRIP',
          name: 'fuzz',
          trigger: { type: 'event', event: 'signup' },
          steps: [{ id: 'x', type: 'exit' }],
        })
        .expect(201)
    ).body.id;
  });
  afterAll(async () => {
    await api?.close();
  });

  const jsonValue = fc.jsonValue({ maxDepth: 3 });
  const fieldish = fc.constantFrom(
    'code',
    'name',
    'channel',
    'weight',
    'isControl',
    'cells',
    'budget',
    'startsAt',
    'endsAt',
    'sample',
    'seed',
    'offer',
    'type',
    'value',
    'currency',
    'scheduledAt',
    'attributionWindowDays',
    'responseCode',
    'externalId',
    'occurredAt',
    'idempotencyKey',
    'responses',
    'trigger',
    'steps',
    'exit',
    'reentry',
    'events',
    'properties',
    'cause',
    'actions',
    'if',
    'event',
    'holdoutPercent',
    'customers',
    '__proto__',
    'constructor',
  );
  const body = fc.oneof(
    fc.dictionary(fieldish, jsonValue, { maxKeys: 8 }),
    fc.dictionary(fc.string(), jsonValue, { maxKeys: 4 }),
    jsonValue,
  );
  const targets: [string, () => string][] = [
    ['post', () => '/v1/campaigns'],
    ['patch', () => `/v1/campaigns/${campaignId}`],
    ['post', () => `/v1/campaigns/${campaignId}/programs`],
    ['patch', () => `/v1/programs/${programId}`],
    ['post', () => `/v1/programs/${programId}/cells`],
    ['patch', () => `/v1/cells/${cellId}`],
    ['post', () => `/v1/programs/${programId}/schedule`],
    ['post', () => '/v1/offers'],
    ['post', () => '/v1/customers'],
    ['post', () => '/v1/orders'],
    ['post', () => '/v1/suppressions'],
    ['post', () => '/v1/segments'],
    ['post', () => '/v1/segments/preview'],
    ['post', () => '/v1/responses'],
    ['post', () => '/v1/drips'],
    ['patch', () => `/v1/drips/${dripId}`],
    ['post', () => `/v1/drips/${dripId}/enroll`],
    ['post', () => '/v1/events'],
    ['post', () => '/v1/rules'],
  ];

  it('answers every random body with a 2xx or a 4xx in the error shape, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), body, async ([method, path], payload) => {
        // Sent as JSON text, as a real client would, so top-level scalars and arrays arrive too.
        const res = await request(api.app.getHttpServer())
          [method as 'post' | 'patch'](path())
          .set('Authorization', `Bearer ${api.keys.marketer}`)
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(payload));
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) {
          expect(res.body).toEqual({ statusCode: res.status, error: expect.any(String), message: expect.any(String) });
        }
      }),
      { numRuns: 500 },
    );
  });

  it('answers drips built of random steps with a 201 or a 4xx, never a 5xx', async () => {
    const stepField = fc.constantFrom(
      'template',
      'duration',
      'until',
      'if',
      'then',
      'else',
      'cells',
      'set',
      'reason',
      'seed',
      'next',
    );
    const value = fc.oneof(
      jsonValue,
      fc.constantFrom('a', 'b', 'c', 'P1D', 'PT0S', '-P1D', '09:00', 'NOPE'),
      fc.record({ opened: fc.constantFrom('a', 'b', { step: 'a' }), within: fc.constantFrom('P1D', 'x', 3) }),
      fc.array(fc.record({ code: fc.constantFrom('A', 'B', 'a'), weight: fc.oneof(fc.integer(), fc.double()) })),
    );
    const step = fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'A', '', 'x y'),
      type: fc.constantFrom('wait', 'send', 'branch', 'split', 'update', 'exit', 'nope'),
      extra: fc.dictionary(stepField, value, { maxKeys: 4 }),
    });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 5 }),
        fc.oneof(jsonValue, fc.constant({ type: 'event', event: 'x' })),
        async (steps, trigger) => {
          const res = await api.as('marketer').post('/v1/drips', {
            code: `FUZZ-${++n}`,
            name: 'fuzz',
            trigger,
            steps: steps.map(({ id, type, extra }) => ({ id, type, ...extra })),
          });
          expect(res.status === 201 || (res.status >= 400 && res.status < 500)).toBe(true);
          if (res.status >= 400) {
            expect(res.body).toEqual({
              statusCode: res.status,
              error: expect.any(String),
              message: expect.any(String),
            });
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers random ids, cursors and filters without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 80 }), async (raw) => {
        const s = encodeURIComponent(raw);
        for (const path of [
          `/v1/campaigns/${s}`,
          `/v1/programs/${s}`,
          `/v1/cells/${s}`,
          `/v1/offers/${s}`,
          `/v1/campaigns?cursor=${s}`,
          `/v1/programs?state=${s}&campaign=${s}`,
          `/v1/campaigns?limit=${s}`,
          `/v1/drips/${s}`,
          `/v1/drips/${s}/report`,
          `/v1/drips/${dripId}?version=${s}`,
          `/v1/drips/${dripId}/report?version=${s}&format=${s}`,
          `/v1/rules/${s}`,
          `/v1/rules/${s}/firings?cursor=${s}`,
          `/v1/drips?state=${s}`,
        ]) {
          const res = await api.as('analyst').get(path);
          expect({ path, status: res.status < 500 }).toEqual({ path, status: true });
        }
      }),
      { numRuns: 60 },
    );
  });
});
