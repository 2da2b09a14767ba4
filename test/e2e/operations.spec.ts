import request from 'supertest';
import { startRedis } from '../support/redis-process';
import { startTestApi, TestApi } from '../support/test-api';

describe('operations: OpenAPI, health, error shapes', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ BODY_LIMIT: '64kb' });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('serves the OpenAPI document with every planner route, its DTOs and error responses', async () => {
    const doc = (await api.http.get('/docs-json').expect(200)).body;
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of [
      '/v1/campaigns',
      '/v1/campaigns/{id}',
      '/v1/campaigns/{id}/programs',
      '/v1/offers',
      '/v1/offers/{id}',
      '/v1/programs/{id}',
      '/v1/programs/{id}/launch',
      '/v1/programs/{id}/cells',
      '/v1/cells/{id}',
      '/v1/audit',
      '/health',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    for (const schema of [
      'CreateCampaignDto',
      'CreateProgramDto',
      'CreateCellDto',
      'CreateOfferDto',
      'ErrorResponse',
    ]) {
      expect(Object.keys(doc.components.schemas)).toContain(schema);
    }
    const launch = doc.paths['/v1/programs/{id}/launch'].post;
    expect(Object.keys(launch.responses)).toEqual(expect.arrayContaining(['401', '403', '404', '409']));
    expect(doc.components.schemas.CreateCellDto.required).toEqual(expect.arrayContaining(['code', 'weight']));
    expect(launch.responses['200'].content['application/json'].schema.$ref).toBe('#/components/schemas/ProgramView');
    // Every /v1 operation documents its success response: a schema, or 204 No Content.
    for (const [path, ops] of Object.entries(
      doc.paths as Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>>,
    )) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(ops)) {
        const ok = Object.entries(op.responses).filter(([status]) => status.startsWith('2'));
        expect({
          op: `${method} ${path}`,
          documented: ok.length === 1 && (ok[0][0] === '204' || !!ok[0][1].content),
        }).toEqual({
          op: `${method} ${path}`,
          documented: true,
        });
      }
    }
    const html = await api.http.get('/docs').redirects(1).expect(200);
    expect(html.text).toContain('swagger');
  });

  it('reports database and Redis in /health', async () => {
    const res = await api.http.get('/health').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' }, redis: { status: 'up' } } });
  });

  it('answers 413 for a body over the limit, 400 for malformed JSON, 404 for unknown routes, all in one shape', async () => {
    const big = { code: 'BIG', name: 'x'.repeat(70 * 1024) };
    const tooLarge = await api.as('admin').post('/v1/campaigns', big).expect(413);
    expect(tooLarge.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    const malformed = await request(api.app.getHttpServer())
      .post('/v1/campaigns')
      .set('Authorization', `Bearer ${api.keys.admin}`)
      .set('Content-Type', 'application/json')
      .send('{"code": ')
      .expect(400);
    expect(malformed.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'request body is not valid JSON',
    });
    const unknown = await api.as('admin').get('/v1/nothing-here').expect(404);
    expect(unknown.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('echoes a caller request id and makes one otherwise', async () => {
    const given = await api.http.get('/health').set('X-Request-Id', 'trace-123').expect(200);
    expect(given.headers['x-request-id']).toBe('trace-123');
    const made = await api.http.get('/health').expect(200);
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('health when Redis goes away', () => {
  it('turns 503 naming redis when its Redis stops, and stays up for the database', async () => {
    const redis = await startRedis();
    let api: TestApi | undefined;
    try {
      api = await startTestApi({ REDIS_URL: redis.url });
      await api.http.get('/health').expect(200);
      await redis.stop();
      const res = await api.http.get('/health').expect(503);
      expect(res.body).toMatchObject({
        status: 'error',
        error: { redis: { status: 'down' } },
        info: { database: { status: 'up' } },
      });
    } finally {
      await api?.close();
      await redis.stop();
    }
  });
});
