import { Client } from 'pg';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createTestDatabase } from '@closeloop/persistence';
import { buildOnce, runCli } from '../support/built-app';
import { startTestApi, TestApi } from '../support/test-api';

describe('operator CLI (the built program, run as a process)', () => {
  let api: TestApi;
  let env: Record<string, string>;
  beforeAll(async () => {
    buildOnce();
    api = await startTestApi();
    env = { DATABASE_URL: api.databaseUrl, REDIS_URL: process.env.REDIS_URL!, LOG_LEVEL: 'error' };
  });
  afterAll(async () => {
    await api?.close();
  });

  it('apikey create prints the key alone on the last line; the key works; revoke stops it', async () => {
    const created = await runCli(['apikey', 'create', '--role', 'analyst', '--name', 'ops-reader'], env);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const lines = created.stdout.trimEnd().split('\n');
    const key = lines[lines.length - 1];
    expect(key).toMatch(/^cl_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const server = api.app.getHttpServer();
    await request(server).get('/v1/campaigns').set('Authorization', `Bearer ${key}`).expect(200);
    await request(server).post('/v1/campaigns').set('Authorization', `Bearer ${key}`).send({}).expect(403);

    const listed = await runCli(['apikey', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('ops-reader');
    expect(listed.stdout).not.toContain(key.slice(16));

    const revoked = await runCli(['apikey', 'revoke', 'ops-reader'], env);
    expect(revoked.code).toBe(0);
    await request(server).get('/v1/campaigns').set('Authorization', `Bearer ${key}`).expect(401);
  });

  it('refuses a bad role or a missing name with a clear message and creates nothing', async () => {
    const bad = await runCli(['apikey', 'create', '--role', 'root', '--name', 'x'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('role must be one of admin, marketer, analyst');
    const missing = await runCli(['apikey', 'create', '--role', 'admin'], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('--name');
  });

  it('import customers FILE imports in-process, prints counts, lists rejected rows and exits 1 for them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'closeloop-cli-'));
    const file = join(dir, 'customers.csv');
    writeFileSync(file, 'externalId\temail\ncli-1\tcli1@example.com\ncli-2\tnot-an-email\ncli-3\tcli3@example.com\n');
    const errors = join(dir, 'errors.csv');
    const run = await runCli(['import', 'customers', file, '--delimiter', 'tab', '--errors', errors], env);
    expect(run.stdout).toMatch(/completed: 3 read, 2 inserted, 0 updated, 0 unchanged, 1 rejected, 0 duplicates/);
    expect(run.code).toBe(1);
    expect(readFileSync(errors, 'utf8')).toMatch(/^line,column,reason\r\n3,email,/);
    const server = api.app.getHttpServer();
    const c = await request(server).get('/v1/customers/cli-3').set('Authorization', `Bearer ${api.keys.analyst}`);
    expect(c.body.email).toBe('cli3@example.com');

    writeFileSync(file, 'externalId,email\ncli-1,cli1@example.com\ncli-4,cli4@example.com\n');
    const clean = await runCli(['import', 'customers', file], env);
    expect(clean.stdout).toMatch(/completed: 2 read, 1 inserted, 0 updated, 1 unchanged, 0 rejected/);
    expect(clean.code).toBe(0);

    const missing = await runCli(['import', 'people', file], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('kind must be one of customers, orders, suppressions');
  });

  it('migrate applies every migration to an empty database once, then reports it up to date', async () => {
    const db = await createTestDatabase();
    try {
      const client = new Client({ connectionString: db.url });
      await client.connect();
      await client.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
      await client.end();
      const first = await runCli(['migrate'], { ...env, DATABASE_URL: db.url });
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/applied \d+ migration\(s\)/);
      const second = await runCli(['migrate'], { ...env, DATABASE_URL: db.url });
      expect(second.code).toBe(0);
      expect(second.stdout).toContain('database is up to date');
    } finally {
      await db.drop();
    }
  });

  it('stops at start naming a missing or malformed variable', async () => {
    const missing = await runCli(['apikey', 'list'], {
      ...env,
      DATABASE_URL: undefined,
      CLOSELOOP_NO_LOCAL_SERVICES: '1',
    });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('DATABASE_URL');
    const malformed = await runCli(['apikey', 'list'], { ...env, PORT: 'eighty' });
    expect(malformed.code).not.toBe(0);
    expect(malformed.stderr).toContain('PORT');
  });

  it('lists its commands with --help', async () => {
    const help = await runCli(['--help'], env);
    expect(help.code).toBe(0);
    for (const command of ['migrate', 'apikey', 'demo']) expect(help.stdout).toContain(command);
  });
});
