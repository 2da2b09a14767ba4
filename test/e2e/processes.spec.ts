import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createTestDatabase } from '@closeloop/persistence';
import { buildOnce, ROOT } from '../support/built-app';
import { startRedis } from '../support/redis-process';
import { freePort } from '../support/free-port';

function start(app: 'api' | 'worker', env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [join(ROOT, 'dist/apps', app, 'src/main.js')], {
    env: { PATH: process.env.PATH, NODE_ENV: 'test', LOG_LEVEL: 'warn', CLOSELOOP_NO_LOCAL_SERVICES: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out };
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.exitCode !== null || child.signalCode !== null
      ? resolve({ code: child.exitCode, signal: child.signalCode })
      : child.once('exit', (code, signal) => resolve({ code, signal })),
  );

async function until(what: string, probe: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The built programs, as `npm run start:api` / `start:worker` run them, started and stopped for real. */
describe('built API and worker processes', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    buildOnce();
    db = await createTestDatabase();
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await db?.drop();
    await redis?.stop();
  });

  it('the API serves /health and /docs-json, then stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const api = start('api', { DATABASE_URL: db.url, REDIS_URL: redis.url, PORT: String(port) });
    children.push(api.child);
    await until('the API to answer', async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/health`)).ok;
      } catch {
        return false;
      }
    });
    const doc = (await (await fetch(`http://127.0.0.1:${port}/docs-json`)).json()) as { paths: object };
    expect(Object.keys(doc.paths)).toContain('/v1/programs/{id}/launch');
    expect((await fetch(`http://127.0.0.1:${port}/v1/campaigns`)).status).toBe(401);
    api.child.kill('SIGTERM');
    expect(await exited(api.child)).toEqual({ code: 0, signal: null });
  });

  it('the worker starts, and on SIGTERM closes its queues and exits 0 within its bound', async () => {
    const worker = start('worker', { DATABASE_URL: db.url, REDIS_URL: redis.url, SCHEDULER_INTERVAL_MS: '200' });
    children.push(worker.child);
    await until('the worker to start', () => worker.output().includes('started'));
    const stoppedAt = Date.now();
    worker.child.kill('SIGTERM');
    expect(await exited(worker.child)).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(30_000);
    expect(worker.output()).toContain('finishing in-flight work');
  });

  it('a process with a malformed variable stops at start naming it', async () => {
    const api = start('api', { DATABASE_URL: db.url, REDIS_URL: 'http://not-redis' });
    children.push(api.child);
    const { code } = await exited(api.child);
    expect(code).not.toBe(0);
    expect(api.output()).toContain('REDIS_URL');
  });
});
