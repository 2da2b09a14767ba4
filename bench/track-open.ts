import autocannon from 'autocannon';
import { ChildProcess } from 'node:child_process';
import { Client } from 'pg';
import { signTrackingToken } from '@closeloop/core';
import {
  BenchContext,
  freePort,
  Scenario,
  startApp,
  startBareServer,
  startBenchApi,
  stopApp,
  waitHealthy,
} from './harness';
import { cpuMeter, formatCpu, memoryMb } from './send-email';

const SENDS = Number(process.env.BENCH_SENDS ?? 50_000);
const CONNECTIONS = 50;
const DURATION_S = 10;
// The API records at most 30 hits per (client IP, token) a minute: hits cycle over every send.
const HITS_PER_TOKEN = 30;
const TRACKING_SECRET = 'closeloop-bench-track-open-secret';
// A mail client's, so that rows are not flagged as machine opens for a missing or bot user agent.
const USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.0';
// Ingestion that has not moved for this long will not finish (lost events, say).
const STALL_MS = 30_000;

/**
 * The baseline: a bare node:http server answering the same 1x1 GIF with the same headers as
 * TrackingController.open (nothing verified, nothing recorded). Its own process, as ours is.
 */
const BARE_SERVER = `
const http = require('node:http');
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const HEADERS = {
  'Content-Type': 'image/gif',
  'Content-Length': String(PIXEL.length),
  'Cache-Control': 'no-store, no-cache, must-revalidate, private, max-age=0',
  Pragma: 'no-cache',
  Expires: '0',
};
http
  .createServer((req, res) => {
    if (req.method === 'GET' && req.url.startsWith('/t/o/')) {
      res.writeHead(200, HEADERS);
      res.end(PIXEL);
    } else {
      res.writeHead(req.url === '/health' ? 200 : 404, { 'Content-Type': 'text/plain' });
      res.end(req.url === '/health' ? 'ok' : 'not found');
    }
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

const startBare = (port: number): ChildProcess => startBareServer(BARE_SERVER, port);

/** Response headers that say something about the answer (not Date, Connection, Keep-Alive). */
async function pixelHeaders(base: string): Promise<string> {
  const res = await fetch(`${base}/t/o/not-a-token`, { headers: { 'user-agent': USER_AGENT } });
  await res.arrayBuffer();
  return [...res.headers.entries()]
    .filter(([name]) => !['date', 'connection', 'keep-alive'].includes(name))
    .map(([name, value]) => `${name}: ${value}`)
    .sort()
    .join('; ');
}

/** 50 connections for 10 s, each request the pixel of the next send (cycling over all of them). */
function load(base: string, paths: string[]): Promise<autocannon.Result> {
  let n = 0;
  return autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers: { 'user-agent': USER_AGENT },
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: paths[n++ % paths.length] }) }],
  });
}

const describe = (r: autocannon.Result) =>
  `${r.requests.average.toFixed(0)} req/s (${r.requests.total.toLocaleString('en')} in ${r.duration.toFixed(1)} s), ` +
  `latency p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms; ` +
  `2xx ${r['2xx'].toLocaleString('en')}, non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}`;

/** Sends in a launched program (two cells), as the executor leaves them: state sent, sent an hour ago. */
async function seedSends(db: Client, call: (path: string, body: unknown) => Promise<unknown>): Promise<string[]> {
  await call('/v1/campaigns', { code: 'BENCH', name: 'bench' });
  await call('/v1/campaigns/BENCH/programs', {
    code: 'BENCH-OPEN',
    name: 'bench',
    channel: 'email',
    cells: [
      { code: 'BENCH-OPEN-A', weight: 50 },
      { code: 'BENCH-OPEN-B', weight: 50 },
    ],
  });
  const program = (await db.query(`SELECT id FROM program WHERE code = 'BENCH-OPEN'`)).rows[0].id as string;
  const cells = (
    await db.query(`SELECT id, response_code FROM cell WHERE program_id = $1 ORDER BY position`, [program])
  ).rows as { id: string; response_code: string }[];
  await db.query(
    `UPDATE program SET state = 'completed', launched_at = now() - interval '1 hour',
                        dispatched_at = now() - interval '1 hour', ended_at = now() - interval '50 minutes'
      WHERE id = $1`,
    [program],
  );
  await db.query(
    `INSERT INTO customer (external_id, email, email_given, consent_email, lifecycle_stage)
     SELECT 'o' || i, 'reader' || i || '@example.com', 'reader' || i || '@example.com', true, 'active'
       FROM generate_series(1, $1::int) AS i`,
    [SENDS],
  );
  await db.query(
    `INSERT INTO send (program_id, customer_id, cell_id, response_code, channel, address, state, attempts, sent_at)
     SELECT $1, c.id, ($2::uuid[])[1 + c.seq % 2], ($3::text[])[1 + c.seq % 2], 'email', c.email, 'sent', 1,
            now() - interval '1 hour'
       FROM customer c`,
    [program, cells.map((c) => c.id), cells.map((c) => c.response_code)],
  );
  await db.query('ANALYZE');
  return (await db.query(`SELECT id FROM send WHERE program_id = $1 ORDER BY id`, [program])).rows.map(
    (r: { id: string }) => r.id,
  );
}

/**
 * The open pixel under load: GET /t/o/:token against the built API (token verified, per-token
 * abuse limit, event buffered and appended to the Redis stream) with the built worker writing
 * `response` rows meanwhile, vs a bare node:http server answering the same GIF. 50 connections,
 * 10 s each; figures in requests per second. Then every 2xx hit must become an open row.
 */
export const trackOpen: Scenario = {
  name: 'track-open',
  description: `GET /t/o/:token, ${CONNECTIONS} connections x ${DURATION_S} s over ${SENDS.toLocaleString('en')} sends vs bare node:http`,
  async run(ctx: BenchContext) {
    const { env, api, base, post: call } = await startBenchApi(ctx, { TRACKING_SECRET });
    const worker = startApp('worker', env);
    const barePort = await freePort();
    let bare: ChildProcess | null = null;
    const db = new Client({ connectionString: ctx.databaseUrl });
    await db.connect();
    try {
      ctx.log(`generating ${SENDS.toLocaleString('en')} customers and sent sends with SQL`);
      const sendIds = await seedSends(db, call);
      const paths = sendIds.map(
        (sendId) => `/t/o/${signTrackingToken({ kind: 'open', sendId, link: 0 }, [TRACKING_SECRET])}`,
      );

      bare = startBare(barePort);
      const bareBase = `http://127.0.0.1:${barePort}`;
      await waitHealthy(bareBase);
      const [oursHeaders, bareHeaders] = [await pixelHeaders(base), await pixelHeaders(bareBase)];
      if (oursHeaders !== bareHeaders) {
        ctx.log(`note: pixel headers differ\n    ours:     ${oursHeaders}\n    baseline: ${bareHeaders}`);
      }

      ctx.log(`baseline: bare node:http, ${CONNECTIONS} connections x ${DURATION_S} s`);
      const bareCpu = cpuMeter({ bare: bare.pid!, bench: process.pid });
      const baseline = await load(bareBase, paths);
      const bareCpuUsed = bareCpu.read();
      const bareMb = memoryMb(bare.pid!);
      await stopApp(bare);
      ctx.log(`baseline: ${describe(baseline)}`);
      ctx.log(`baseline: CPU s: ${formatCpu(bareCpuUsed)}; bare peak RSS ${bareMb.peak} MB`);

      ctx.log(`ours: API (+ worker ingesting), ${CONNECTIONS} connections x ${DURATION_S} s`);
      const rows = async () =>
        Number(
          (await db.query(`SELECT count(*) AS n FROM response WHERE type = 'open' AND source = 'pixel'`)).rows[0].n,
        );
      const before = await rows();
      const cpu = cpuMeter({ api: api.pid!, worker: worker.pid!, bench: process.pid });
      const ours = await load(base, paths);
      const loadEnded = Date.now();
      const cpuUsed = cpu.read();
      const atEnd = (await rows()) - before;
      ctx.log(`ours: ${describe(ours)}`);
      ctx.log(`ours: CPU s during load: ${formatCpu(cpuUsed)}`);
      const expected = ours['2xx'];
      if (expected > HITS_PER_TOKEN * SENDS) {
        ctx.log(`warning: ${expected} hits over ${SENDS} tokens: some are over the per-token limit and not recorded`);
      }

      // Every 2xx is a row; a few more may come from requests in flight when autocannon stopped
      // (answered by the server, never counted by autocannon).
      ctx.log(
        `ours: ${atEnd.toLocaleString('en')} open rows when the load ended; waiting for ${expected.toLocaleString('en')}`,
      );
      let written = atEnd;
      let caughtUpAt: number | null = null;
      let movedAt = Date.now();
      for (;;) {
        await new Promise((r) => setTimeout(r, 100));
        const n = (await rows()) - before;
        if (n !== written) movedAt = Date.now();
        written = n;
        if (caughtUpAt === null && written >= expected) caughtUpAt = Date.now();
        // Caught up, then quiet for a second: the stragglers (if any) are in.
        if (caughtUpAt !== null && Date.now() - movedAt > 1000) break;
        if (caughtUpAt === null && Date.now() - movedAt > STALL_MS) {
          ctx.log(`warning: ingestion stalled at ${written} of ${expected} rows for ${STALL_MS / 1000} s`);
          break;
        }
        if (worker.exitCode !== null || worker.signalCode !== null) throw new Error('the worker exited');
      }
      const lagSeconds = caughtUpAt === null ? NaN : (caughtUpAt - loadEnded) / 1000;
      const totalCpu = cpu.read();
      const apiMb = memoryMb(api.pid!);
      const workerMb = memoryMb(worker.pid!);
      const [check] = (
        await db.query(
          `SELECT count(*) AS n, count(DISTINCT r.send_id) AS sends, count(*) FILTER (WHERE r.machine) AS machine,
                  count(*) FILTER (WHERE r.program_id = s.program_id AND r.cell_id = s.cell_id
                                     AND r.customer_id = s.customer_id) AS matched
             FROM response r LEFT JOIN send s ON s.id = r.send_id
            WHERE r.type = 'open' AND r.source = 'pixel'`,
        )
      ).rows;
      const extra = written - expected;
      ctx.log(
        `ours: ${written.toLocaleString('en')} open rows for ${expected.toLocaleString('en')} 2xx ` +
          `(${extra >= 0 ? `+${extra} answered in flight when the load stopped` : `${-extra} MISSING`}); ` +
          `caught up ${Number.isNaN(lagSeconds) ? 'never' : `${lagSeconds.toFixed(2)} s`} after the load ended`,
      );
      ctx.log(
        `ours: rows over ${Number(check.sends).toLocaleString('en')} sends, ${check.matched} carry their send's ` +
          `program/cell/customer, ${check.machine} flagged machine`,
      );
      ctx.log(`ours: CPU s load + ingestion: ${formatCpu(totalCpu)}`);
      ctx.log(
        `ours: peak RSS api ${apiMb.peak} MB (now ${apiMb.rss}), worker ${workerMb.peak} MB (now ${workerMb.rss})`,
      );
      const ratio = ours.requests.average / baseline.requests.average;
      ctx.log(`target: ours >= 50% of bare: ${(ratio * 100).toFixed(0)}% ${ratio >= 0.5 ? 'met' : 'NOT met'}`);
      return {
        ours: {
          value: ours.requests.average,
          unit: 'req/s',
          detail:
            `p99 ${ours.latency.p99} ms (bare ${baseline.latency.p99} ms); ${written.toLocaleString('en')} open rows ` +
            `for ${expected.toLocaleString('en')} 2xx, ingestion caught up ` +
            `${Number.isNaN(lagSeconds) ? 'never' : `${lagSeconds.toFixed(2)} s`} after the load`,
        },
        baseline: { value: baseline.requests.average, unit: 'req/s' },
        higherIsBetter: true,
      };
    } finally {
      if (bare) await stopApp(bare);
      await stopApp(api);
      await stopApp(worker);
      await db.end();
    }
  },
};
