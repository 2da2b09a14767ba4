import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { BenchContext, cli, freePort, Scenario, startApp, stopApp, waitHealthy } from './harness';

const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 1_000_000);

/** Peak resident memory of a process, from /proc (Linux). */
const peakRssMb = (pid: number): number => {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
};

/**
 * A target list over 1,000,000 customers (5% suppressed, 45/45/10 cells) built by the worker
 * through the API, against one raw INSERT ... SELECT of the same eligible rows with a hash-based cell.
 */
export const listBuild: Scenario = {
  name: 'list-build',
  description: `target list over ${CUSTOMERS.toLocaleString('en')} customers (5% suppressed), 45/45/10 vs one raw INSERT ... SELECT`,
  async run(ctx: BenchContext) {
    const db = new Client({ connectionString: ctx.databaseUrl });
    await db.connect();
    ctx.log(
      `generating ${CUSTOMERS.toLocaleString('en')} customers and ${(CUSTOMERS / 20).toLocaleString('en')} suppressions with SQL`,
    );
    await db.query(
      `INSERT INTO customer (external_id, email, email_given, country, consent_email, lifecycle_stage)
       SELECT 'b' || i, 'shopper' || i || '@example.com', 'shopper' || i || '@example.com',
              (ARRAY['DE','AT','CH','FR'])[1 + i % 4], true, 'lapsed'
         FROM generate_series(1, $1::int) AS i`,
      [CUSTOMERS],
    );
    await db.query(
      `INSERT INTO suppression (channel, address, address_hash, reason, source, created_by)
       SELECT 'email', email, sha256(convert_to(email, 'UTF8')), 'unsubscribed', 'bench', 'bench'
         FROM customer WHERE (substr(external_id, 2))::int % 20 = 0`,
    );
    await db.query('ANALYZE');

    const env = { DATABASE_URL: ctx.databaseUrl, REDIS_URL: ctx.redisUrl, QUEUE_PREFIX: `bench${Date.now()}` };
    const out = cli(['apikey', 'create', '--role', 'marketer', '--name', `bench-${Date.now()}`], env)
      .trimEnd()
      .split('\n');
    const key = out[out.length - 1];
    const port = await freePort();
    const api = startApp('api', { ...env, PORT: String(port) });
    const worker = startApp('worker', env);
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitHealthy(base);
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        if (res.status >= 300) throw new Error(`${method} ${path} -> ${res.status} ${await res.text()}`);
        return res.json();
      };
      await call('POST', '/v1/segments', {
        code: 'bench-dach',
        name: 'bench',
        criteria: { field: 'lifecycleStage', op: 'eq', value: 'lapsed' },
      });
      await call('POST', '/v1/campaigns', { code: 'BENCH', name: 'bench' });
      await call('POST', '/v1/campaigns/BENCH/programs', {
        code: 'BENCH-LIST',
        name: 'bench',
        channel: 'email',
        segment: 'bench-dach',
        seed: 1,
        cells: [
          { code: 'BENCH-A', weight: 45 },
          { code: 'BENCH-B', weight: 45 },
          { code: 'BENCH-CTL', weight: 10, isControl: true },
        ],
      });
      ctx.log('ours: POST /v1/programs/BENCH-LIST/list, until built');
      const started = process.hrtime.bigint();
      await call('POST', '/v1/programs/BENCH-LIST/list');
      let list: { state: string; error: string | null; cells: { members: number }[] };
      do {
        await new Promise((r) => setTimeout(r, 100));
        list = (await call('GET', '/v1/programs/BENCH-LIST/list')) as typeof list;
      } while (list.state === 'queued' || list.state === 'building');
      const ours = Number(process.hrtime.bigint() - started) / 1e9;
      if (list.state !== 'built') throw new Error(`list build ${list.state}: ${list.error}`);
      const members = list.cells.reduce((a, c) => a + c.members, 0);
      const rss = peakRssMb(worker.pid!);

      ctx.log('baseline: one INSERT ... SELECT of the eligible rows with a hash-based cell');
      await db.query(`CREATE TABLE raw_list (customer_id uuid, cell int, address text)`);
      const t0 = process.hrtime.bigint();
      await db.query(
        `INSERT INTO raw_list
         SELECT c.id, CASE WHEN h < 45 THEN 1 WHEN h < 90 THEN 2 ELSE 3 END, c.email
           FROM (SELECT c.*, abs(hashtext('1:' || c.id::text)) % 100 AS h FROM customer c
                  WHERE c.lifecycle_stage = 'lapsed' AND c.email IS NOT NULL AND c.consent_email) c
          WHERE NOT EXISTS (SELECT 1 FROM suppression s
                             WHERE s.channel = 'email' AND s.address_hash = sha256(convert_to(c.email, 'UTF8')))`,
      );
      const baseline = Number(process.hrtime.bigint() - t0) / 1e9;
      return {
        ours: {
          value: ours,
          unit: 's',
          detail: `${members.toLocaleString('en')} members, waterfall and exact 45/45/10 split; worker peak RSS ${rss} MB`,
        },
        baseline: { value: baseline, unit: 's' },
        higherIsBetter: false,
      };
    } finally {
      await stopApp(worker);
      await stopApp(api);
      await db.end();
    }
  },
};
