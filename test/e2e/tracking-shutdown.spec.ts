import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { AppConfig, signTrackingToken } from '@closeloop/core';
import { APP_CONFIG } from '@closeloop/persistence';
import { SmtpSink } from '../../apps/peers/src/smtp-sink';
import { buildOnce, ROOT } from '../support/built-app';
import { aLaunchableProgram, completedProgram } from '../support/delivery-fixtures';
import { uniqueCode } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';
import { freePort } from '../support/free-port';

const SECRET = 'tracking-shutdown-e2e-secret';

jest.setTimeout(150_000);

/**
 * RELIABILITY.md "SIGTERM": the API drains buffered tracking events. A built API process takes a
 * stream of pixel hits, is stopped with SIGTERM in the middle of it, and every hit it answered
 * with 200 ends as a response row (written by a worker after the API is gone).
 */
describe('tracking events across an API shutdown', () => {
  let api: TestApi;
  let sink: SmtpSink;
  let db: Client;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    buildOnce();
    sink = new SmtpSink();
    const { url } = await sink.start(0);
    api = await startTestApi(
      { SMTP_URL: url, TRACKING_SECRET: SECRET, SCHEDULER_INTERVAL_MS: '300' },
      { withWorker: true },
    );
    db = new Client({ connectionString: api.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await db?.end();
    await api?.close();
    await sink?.stop();
  });

  it('loses no answered hit when the API is stopped with SIGTERM mid-burst', async () => {
    const m = api.as('marketer');
    const run = uniqueCode('sd').toLowerCase();
    const p = await aLaunchableProgram(m, {
      run,
      channel: 'email',
      customers: Array.from({ length: 40 }, (_, i) => ({
        externalId: `${run}-${i}`,
        email: `${run}-${i}@mail.example`,
        consent: { email: true },
      })),
      template: { subject: 'Hi', html: '<p>Hi</p>' },
    });
    await m.post(`/v1/programs/${p.id}/launch`).expect(200);
    await completedProgram(m, p.id);
    const sends: string[] = (await db.query(`SELECT id FROM send WHERE program_id = $1`, [p.id])).rows.map((r) => r.id);
    const tokens = sends.map((sendId) => signTrackingToken({ kind: 'open', sendId, link: 0 }, [SECRET]));

    const config = api.app.get<AppConfig>(APP_CONFIG);
    const port = await freePort();
    let output = '';
    child = spawn(process.execPath, [join(ROOT, 'dist/apps/api/src/main.js')], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        CLOSELOOP_NO_LOCAL_SERVICES: '1',
        DATABASE_URL: api.databaseUrl,
        REDIS_URL: config.redisUrl,
        QUEUE_PREFIX: config.queuePrefix,
        TRACKING_SECRET: SECRET,
        TRUST_PROXY: '1',
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const up = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health`)).status < 500) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > up) throw new Error(`API did not start: ${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    let answered = 0;
    let sent = 0;
    let stopped = false;
    async function client(n: number) {
      for (let i = 0; ; i++) {
        const k = sent++;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/t/o/${tokens[k % tokens.length]}`, {
            headers: { 'X-Forwarded-For': `10.9.${n}.${i % 250}` },
          });
          await res.arrayBuffer();
          if (res.status === 200) answered++;
        } catch {
          return; // the server is gone
        }
        if (stopped && Date.now() > stopAt + 10_000) return;
      }
    }
    let stopAt = 0;
    const clients = Promise.all(Array.from({ length: 20 }, (_, n) => client(n)));
    while (answered < 1500) await new Promise((r) => setTimeout(r, 5));
    stopped = true;
    stopAt = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await clients;
    expect(answered).toBeGreaterThanOrEqual(1500);
    expect(output).toContain('SIGTERM');

    const rows = async () =>
      Number(
        (
          await db.query(
            `SELECT count(*) AS n FROM response WHERE program_id = $1 AND type = 'open' AND source = 'pixel'`,
            [p.id],
          )
        ).rows[0].n,
      );
    const waitUntil = Date.now() + 30_000;
    while ((await rows()) < answered && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 100));
    expect(await rows()).toBe(answered);
  });
});
