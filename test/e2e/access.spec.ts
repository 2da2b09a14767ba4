import request from 'supertest';
import { Role } from '@closeloop/core';
import { startTestApi, TestApi } from '../support/test-api';

const ALL: Role[] = ['admin', 'marketer', 'analyst'];
const WRITE: Role[] = ['admin', 'marketer'];
const ADMIN: Role[] = ['admin'];
/** No API key at all: the request is signed instead (HMAC), so every key alone gets 401. */
const SIGNED: Role[] = [];

/**
 * The expected role table, written independently of the code. The test fails if the API grows a
 * /v1 route that is not listed here, so every new route gets a deliberate access decision.
 */
const EXPECTED: Record<string, Role[]> = {
  'POST /v1/campaigns': WRITE,
  'GET /v1/campaigns': ALL,
  'GET /v1/campaigns/{id}': ALL,
  'PATCH /v1/campaigns/{id}': WRITE,
  'DELETE /v1/campaigns/{id}': WRITE,
  'POST /v1/campaigns/{id}/programs': WRITE,
  'GET /v1/campaigns/{id}/programs': ALL,
  'GET /v1/campaigns/{id}/report': ALL,
  'POST /v1/offers': WRITE,
  'GET /v1/offers': ALL,
  'GET /v1/offers/{id}': ALL,
  'PATCH /v1/offers/{id}': WRITE,
  'DELETE /v1/offers/{id}': WRITE,
  'GET /v1/programs': ALL,
  'GET /v1/programs/{id}': ALL,
  'PATCH /v1/programs/{id}': WRITE,
  'DELETE /v1/programs/{id}': WRITE,
  'POST /v1/programs/{id}/schedule': WRITE,
  'POST /v1/programs/{id}/unschedule': WRITE,
  'POST /v1/programs/{id}/launch': WRITE,
  'POST /v1/programs/{id}/pause': WRITE,
  'POST /v1/programs/{id}/resume': WRITE,
  'POST /v1/programs/{id}/cancel': WRITE,
  'POST /v1/programs/{id}/cells': WRITE,
  'GET /v1/cells/{id}': ALL,
  'PATCH /v1/cells/{id}': WRITE,
  'DELETE /v1/cells/{id}': WRITE,
  'GET /v1/audit': ADMIN,
  'POST /v1/customers': WRITE,
  'POST /v1/imports/{kind}': WRITE,
  'GET /v1/imports': ALL,
  'GET /v1/imports/{id}': ALL,
  'GET /v1/imports/{id}/errors.csv': ALL,
  'POST /v1/orders': WRITE,
  'GET /v1/customers/{id}': ALL,
  'DELETE /v1/customers/{id}': ADMIN,
  'POST /v1/suppressions': WRITE,
  'GET /v1/suppressions': ALL,
  'DELETE /v1/suppressions/{id}': WRITE,
  'POST /v1/segments': WRITE,
  'GET /v1/segments': ALL,
  'POST /v1/segments/preview': ALL,
  'GET /v1/segments/{id}': ALL,
  'POST /v1/programs/{id}/list': WRITE,
  'GET /v1/programs/{id}/list': ALL,
  'GET /v1/programs/{id}/list.csv': ALL,
  'POST /v1/templates': WRITE,
  'GET /v1/templates': ALL,
  'GET /v1/templates/{id}': ALL,
  'PUT /v1/templates/{id}': WRITE,
  'POST /v1/templates/{id}/preview': ALL,
  'GET /v1/programs/{id}/progress': ALL,
  'POST /v1/programs/{id}/test-send': WRITE,
  'GET /v1/contact-policy': ALL,
  'PUT /v1/contact-policy': ADMIN,
  'POST /v1/responses': WRITE,
  'POST /v1/webhooks/delivery-events': SIGNED,
  'GET /v1/programs/{id}/report': ALL,
  'POST /v1/plan/sample-size': ALL,
  'GET /v1/scorecard': ALL,
  'POST /v1/drips': WRITE,
  'GET /v1/drips': ALL,
  'GET /v1/drips/{id}': ALL,
  'PATCH /v1/drips/{id}': WRITE,
  'POST /v1/drips/{id}/activate': WRITE,
  'POST /v1/drips/{id}/pause': WRITE,
  'POST /v1/drips/{id}/archive': WRITE,
  'POST /v1/drips/{id}/enroll': WRITE,
  'POST /v1/drips/{id}/unenroll': WRITE,
  'GET /v1/drips/{id}/report': ALL,
  'POST /v1/events': WRITE,
  'POST /v1/rules': WRITE,
  'GET /v1/rules': ALL,
  'GET /v1/rules/{id}': ALL,
  'PATCH /v1/rules/{id}': WRITE,
  'POST /v1/rules/{id}/activate': WRITE,
  'POST /v1/rules/{id}/pause': WRITE,
  'GET /v1/rules/{id}/firings': ALL,
};

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

describe('access: API keys and roles on every route', () => {
  let api: TestApi;
  let routes: { method: Method; path: string; key: string }[];

  beforeAll(async () => {
    api = await startTestApi();
    const doc = (await api.http.get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    routes = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => ({ method: method as Method, path, key: `${method.toUpperCase()} ${path}` })),
      );
  });
  afterAll(async () => {
    await api?.close();
  });

  const call = (method: Method, path: string, key?: string) => {
    const url = path.replace(/\{[^}]+\}/g, 'ROLE-MATRIX-NONE');
    const t = request(api.app.getHttpServer())[method](url);
    if (key !== undefined) t.set('Authorization', key);
    return method === 'get' || method === 'delete' ? t : t.send({});
  };

  it('has an access decision for every /v1 route in the OpenAPI document, and no stale ones', () => {
    expect(routes.map((r) => r.key).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it('answers 401 on every /v1 route without a key, with a malformed key, or a made-up key', async () => {
    for (const r of routes) {
      for (const header of [undefined, 'Bearer', 'Basic abc', `Bearer cl_aaaaaaaaaaaa_${'x'.repeat(43)}`]) {
        const res = await call(r.method, r.path, header);
        expect({ route: r.key, header, status: res.status }).toEqual({ route: r.key, header, status: 401 });
        expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
      }
    }
  });

  it('lets each role call exactly the routes its role allows (403 otherwise, never 5xx)', async () => {
    for (const r of routes) {
      for (const role of ALL) {
        const res = await call(r.method, r.path, `Bearer ${api.keys[role]}`);
        if (EXPECTED[r.key] === SIGNED) {
          expect({ route: r.key, role, status: res.status }).toEqual({ route: r.key, role, status: 401 });
          continue;
        }
        const allowed = EXPECTED[r.key].includes(role);
        const outcome = allowed ? res.status !== 403 && res.status !== 401 && res.status < 500 : res.status === 403;
        expect({ route: r.key, role, status: res.status, ok: outcome }).toEqual({
          route: r.key,
          role,
          status: res.status,
          ok: true,
        });
        if (!allowed) expect(res.body.message).toContain(`role ${role} may not`);
      }
    }
  });

  it('stops accepting a key once it is revoked', async () => {
    const { ApiKeyService } = await import('@closeloop/access');
    const service = api.app.get(ApiKeyService);
    const { key, apiKey } = await service.create({ name: 'short-lived', role: 'analyst' });
    await request(api.app.getHttpServer()).get('/v1/campaigns').set('Authorization', `Bearer ${key}`).expect(200);
    await service.revoke(apiKey.id);
    await request(api.app.getHttpServer()).get('/v1/campaigns').set('Authorization', `Bearer ${key}`).expect(401);
    // A key with the right prefix but a wrong secret is refused too.
    const forged = key.slice(0, -4) + (key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await request(api.app.getHttpServer()).get('/v1/campaigns').set('Authorization', `Bearer ${forged}`).expect(401);
  });

  it('keeps /health and /docs public', async () => {
    await request(api.app.getHttpServer()).get('/health').expect(200);
    await request(api.app.getHttpServer()).get('/docs-json').expect(200);
  });
});
