import autocannon from 'autocannon';
import { randomBytes, randomInt } from 'node:crypto';
import { Pool } from 'pg';
import { generateResponseCode } from '@closeloop/core';
import { BenchContext, cli, freePort, Scenario, startApp, stopApp, waitHealthy } from './harness';

const PROGRAMS = 2000;
const CAMPAIGNS = 20;
const CONNECTIONS = 8;

const cellsFor = (code: string) => [
  { code: `${code}-A`, weight: 45 },
  { code: `${code}-B`, weight: 45 },
  { code: `${code}-CTL`, weight: 10, isControl: true },
];

/**
 * 2,000 programs with 3 cells each created through the API (auth, validation, code checks,
 * response-code issuance, audit, one transaction each) by 8 concurrent clients, against the same
 * rows inserted with plain `pg` by 8 concurrent connections, one transaction per program.
 */
export const plannerApi: Scenario = {
  name: 'planner-api',
  description: `create ${PROGRAMS} programs x 3 cells: POST /v1/campaigns/:id/programs vs plain pg inserts`,
  async run(ctx: BenchContext) {
    const env = { DATABASE_URL: ctx.databaseUrl, REDIS_URL: ctx.redisUrl };
    const out = cli(['apikey', 'create', '--role', 'marketer', '--name', `bench-${Date.now()}`], env)
      .trimEnd()
      .split('\n');
    const key = out[out.length - 1];
    const port = await freePort();
    const api = startApp('api', { ...env, PORT: String(port) });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitHealthy(base);
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const run = randomBytes(3).toString('hex').toUpperCase();
      const campaigns: string[] = [];
      for (let i = 0; i < CAMPAIGNS; i++) {
        const res = await fetch(`${base}/v1/campaigns`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ code: `BENCH-${run}-${i}`, name: `bench ${i}` }),
        });
        if (res.status !== 201) throw new Error(`campaign create failed: ${res.status} ${await res.text()}`);
        campaigns.push(((await res.json()) as { id: string }).id);
      }
      let n = 0;
      let failures = 0;
      ctx.log(`ours: ${PROGRAMS} programs over HTTP, ${CONNECTIONS} connections`);
      const result = await autocannon({
        url: base,
        connections: CONNECTIONS,
        amount: PROGRAMS,
        requests: [
          {
            method: 'POST',
            headers,
            setupRequest: (req) => {
              const i = n++;
              const code = `P-${run}-${i}`;
              return {
                ...req,
                path: `/v1/campaigns/${campaigns[i % CAMPAIGNS]}/programs`,
                body: JSON.stringify({ code, name: code, channel: 'email', cells: cellsFor(code) }),
              };
            },
            onResponse: (status) => {
              if (status !== 201) failures++;
            },
          },
        ],
      });
      if (failures || result.non2xx) throw new Error(`${failures || result.non2xx} program creations failed`);
      const seconds = result.duration;
      const ours = PROGRAMS / seconds;

      ctx.log(`baseline: the same rows with plain pg, ${CONNECTIONS} connections`);
      const pool = new Pool({ connectionString: ctx.databaseUrl, max: CONNECTIONS });
      const campaignIds = (
        await pool.query(`SELECT id FROM campaign WHERE code LIKE $1 ORDER BY code`, [`BENCH-${run}-%`])
      ).rows.map((r: { id: string }) => r.id);
      let next = 0;
      const started = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          const client = await pool.connect();
          try {
            for (let i = next++; i < PROGRAMS; i = next++) {
              const code = `Q-${run}-${i}`;
              await client.query('BEGIN');
              const { rows } = await client.query(
                `INSERT INTO program (campaign_id, code, name, channel) VALUES ($1, $2, $2, 'email') RETURNING id`,
                [campaignIds[i % CAMPAIGNS], code],
              );
              for (const [position, cell] of cellsFor(code).entries()) {
                const rc = generateResponseCode((max) => randomInt(max));
                await client.query('INSERT INTO response_code (code) VALUES ($1)', [rc]);
                await client.query(
                  `INSERT INTO cell (program_id, code, name, weight, is_control, response_code, position)
                   VALUES ($1, $2, $2, $3, $4, $5, $6)`,
                  [rows[0].id, cell.code, cell.weight, cell.isControl ?? false, rc, position],
                );
              }
              await client.query('COMMIT');
            }
          } finally {
            client.release();
          }
        }),
      );
      const baselineSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      await pool.end();
      return {
        ours: {
          value: ours,
          unit: 'programs/s',
          detail: `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`,
        },
        baseline: { value: PROGRAMS / baselineSeconds, unit: 'programs/s' },
        higherIsBetter: true,
      };
    } finally {
      await stopApp(api);
    }
  },
};
