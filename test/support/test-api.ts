import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { Role } from '@closeloop/core';
import { ApiKeyService } from '@closeloop/access';
import { createTestDatabase } from '@closeloop/persistence';
import { createApiApp } from '../../apps/api/src/create-app';
import { WorkerModule } from '../../apps/worker/src/worker.module';

export interface TestApi {
  app: NestExpressApplication;
  http: ReturnType<typeof request>;
  keys: Record<Role, string>;
  databaseUrl: string;
  /** A request with the given role's key. */
  as(role: Role): RoleClient;
  close(): Promise<void>;
}

export interface RoleClient {
  get(path: string): request.Test;
  post(path: string, body?: object): request.Test;
  patch(path: string, body?: object): request.Test;
  put(path: string, body?: object): request.Test;
  delete(path: string): request.Test;
}

/**
 * The API exactly as `main.ts` builds it, on its own fresh database, with one key per role.
 * `env` overrides environment variables for this app (e.g. a throwaway REDIS_URL); `withWorker`
 * also runs the worker module in-process on the same database and queues.
 */
export async function startTestApi(
  env: Record<string, string> = {},
  options: { withWorker?: boolean } = {},
): Promise<TestApi> {
  const db = await createTestDatabase();
  const saved = { ...process.env };
  // Its own queue prefix too: test files share one Redis, and one file's worker must not take another's jobs.
  Object.assign(
    process.env,
    { DATABASE_URL: db.url, NODE_ENV: 'test', LOG_LEVEL: 'error', QUEUE_PREFIX: `t${randomBytes(4).toString('hex')}` },
    env,
  );
  let app: NestExpressApplication;
  let worker: INestApplicationContext | undefined;
  try {
    app = await createApiApp({ logger: false });
    await app.init();
    if (options.withWorker) {
      worker = await NestFactory.createApplicationContext(WorkerModule.forRoot(), { logger: false });
      await worker.init();
    }
  } finally {
    process.env = saved;
  }
  const service = app.get(ApiKeyService);
  const keys = {} as Record<Role, string>;
  for (const role of ['admin', 'marketer', 'analyst'] as Role[]) {
    keys[role] = (await service.create({ name: `test-${role}`, role })).key;
  }
  const server = app.getHttpServer();
  const as = (role: Role): RoleClient => {
    const auth = (t: request.Test) => t.set('Authorization', `Bearer ${keys[role]}`);
    return {
      get: (p) => auth(request(server).get(p)),
      post: (p, b) => auth(request(server).post(p)).send(b ?? {}),
      patch: (p, b) => auth(request(server).patch(p)).send(b ?? {}),
      put: (p, b) => auth(request(server).put(p)).send(b ?? {}),
      delete: (p) => auth(request(server).delete(p)),
    };
  };
  return {
    app,
    http: request(server),
    keys,
    databaseUrl: db.url,
    as,
    close: async () => {
      await worker?.close();
      await (app as INestApplication).close();
      await db.drop();
    },
  };
}
