import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { ChildProcess } from 'node:child_process';
import { Client } from 'pg';
import { AUTOMATION_QUEUE, AutomationJob } from '@closeloop/automation';
import { BenchContext, freePort, Scenario, startBareServer, startBenchApi, stopApp, waitHealthy } from './harness';
import { cpuMeter, formatCpu, memoryMb } from './send-email';

const CUSTOMERS = 10_000;
// Below the API's pool (10) no request can wait for a connection while holding one: try 8 to compare.
const CONNECTIONS = Number(process.env.BENCH_EVENT_CONNECTIONS ?? 20);
const DURATION_S = 10;
const RULE = 'BENCH-SALE-VISITOR';
const SALE = '/sale';

/**
 * The baseline: a bare node:http server that reads the JSON body, parses it and answers 200 with a
 * small JSON (nothing checked, nothing recorded). Its own process, as ours is.
 */
const BARE_SERVER = `
const http = require('node:http');
const { randomUUID } = require('node:crypto');
http
  .createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/v1/events') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        let event;
        try {
          event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          res.writeHead(400, { 'Content-Type': 'application/json' });
          return res.end('{"message":"bad JSON"}');
        }
        const body = JSON.stringify({ id: randomUUID(), externalId: event.externalId, type: event.type, duplicate: false });
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      });
    } else {
      res.writeHead(req.url === '/health' ? 200 : 404, { 'Content-Type': 'text/plain' });
      res.end(req.url === '/health' ? 'ok' : 'not found');
    }
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

const startBare = (port: number): ChildProcess => startBareServer(BARE_SERVER, port);

/**
 * The bodies requests cycle over: each customer twice, once on a sale page (the rule fires) and once
 * elsewhere (it does not), so half the events fire.
 */
function eventBodies(): string[] {
  return Array.from({ length: 2 * CUSTOMERS }, (_, i) => {
    const customer = i % CUSTOMERS;
    const isSale = (customer + Math.floor(i / CUSTOMERS)) % 2 === 0;
    const path = isSale ? `${SALE}/summer/item-${i % 97}` : `/catalog/item-${i % 89}`;
    return JSON.stringify({ externalId: `e${customer + 1}`, type: 'page_view', properties: { path } });
  });
}

/** CONNECTIONS connections for DURATION_S, one event per request, cycling over the bodies. */
function load(base: string, headers: Record<string, string>, bodies: string[]): Promise<autocannon.Result> {
  let n = 0;
  return autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers,
    requests: [
      { method: 'POST', path: '/v1/events', setupRequest: (req) => ({ ...req, body: bodies[n++ % bodies.length] }) },
    ],
  });
}

const describe = (r: autocannon.Result) =>
  `${r.requests.average.toFixed(0)} req/s (${r.requests.total.toLocaleString('en')} in ${r.duration.toFixed(1)} s), ` +
  `latency p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms; ` +
  `2xx ${r['2xx'].toLocaleString('en')}, non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}`;

const PROBE_MS = 5000;
const PROBE_PATH = '/probe';

/** Whether the API still records an event, within PROBE_MS (a hung pool answers nothing). */
async function isAnswering(base: string, headers: Record<string, string>): Promise<boolean> {
  try {
    const res = await fetch(`${base}/v1/events`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ externalId: 'e1', type: 'page_view', properties: { path: PROBE_PATH } }),
      signal: AbortSignal.timeout(PROBE_MS),
    });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : NaN;

/**
 * Events in through POST /v1/events, one per request, with one active rule on `page_view` (a
 * condition on event.path, an update action): the built API resolves the customer, records the
 * event, evaluates the rule and records its firing in one transaction, and enqueues the firing's
 * `act` job before it answers. No worker runs: the act jobs wait in Redis. Against a bare
 * node:http server that parses the same bodies. 20 connections x 10 s each; figures in requests
 * per second. Then every 2xx must be an event row and every sale-page event a firing with its job.
 */
export const events: Scenario = {
  name: 'events',
  description: `POST /v1/events (1 event, 1 rule on page_view), ${CONNECTIONS} connections x ${DURATION_S} s over ${CUSTOMERS.toLocaleString('en')} customers vs bare node:http`,
  async run(ctx: BenchContext) {
    const { env, api, base, headers, post: call } = await startBenchApi(ctx);
    const barePort = await freePort();
    let bare: ChildProcess | null = null;
    const db = new Client({ connectionString: ctx.databaseUrl });
    await db.connect();
    const queue = new Queue(AUTOMATION_QUEUE, { connection: { url: ctx.redisUrl }, prefix: env.QUEUE_PREFIX });
    try {
      ctx.log(`generating ${CUSTOMERS.toLocaleString('en')} customers with SQL; one rule through the API`);
      await db.query(
        `INSERT INTO customer (external_id, email, email_given, consent_email, lifecycle_stage)
         SELECT 'e' || i, 'visitor' || i || '@example.com', 'visitor' || i || '@example.com', true, 'active'
           FROM generate_series(1, $1::int) AS i`,
        [CUSTOMERS],
      );
      await db.query('ANALYZE');
      const rule = (await call('/v1/rules', {
        code: RULE,
        name: 'Sale page visitors',
        event: 'page_view',
        if: { field: 'event.path', op: 'startsWith', value: SALE },
        actions: [{ type: 'update', set: { saleVisitor: true } }],
      })) as { id: string; state: string };
      if (rule.state !== 'active') throw new Error(`rule ${RULE} is ${rule.state}`);
      const bodies = eventBodies();

      bare = startBare(barePort);
      const bareBase = `http://127.0.0.1:${barePort}`;
      await waitHealthy(bareBase);
      ctx.log(`baseline: bare node:http parsing the body, ${CONNECTIONS} connections x ${DURATION_S} s`);
      const bareCpu = cpuMeter({ bare: bare.pid!, bench: process.pid });
      const baseline = await load(bareBase, headers, bodies);
      const bareCpuUsed = bareCpu.read();
      const bareMb = memoryMb(bare.pid!);
      await stopApp(bare);
      ctx.log(`baseline: ${describe(baseline)}`);
      ctx.log(`baseline: CPU s: ${formatCpu(bareCpuUsed)}; bare peak RSS ${bareMb.peak} MB`);

      ctx.log(`ours: API, no worker (act jobs wait in Redis), ${CONNECTIONS} connections x ${DURATION_S} s`);
      const cpu = cpuMeter({ api: api.pid!, bench: process.pid });
      const ours = await load(base, headers, bodies);
      const cpuUsed = cpu.read();
      const apiMb = memoryMb(api.pid!);
      ctx.log(`ours: ${describe(ours)}`);
      ctx.log(`ours: CPU s: ${formatCpu(cpuUsed)}; api peak RSS ${apiMb.peak} MB`);
      // Requests in flight when autocannon stopped are answered (and recorded) without being counted.
      await new Promise((r) => setTimeout(r, 1000));
      const answers = await isAnswering(base, headers);
      if (!answers) {
        const [stuck] = (
          await db.query(
            `SELECT count(*) AS n, coalesce(round(extract(epoch FROM max(now() - xact_start))), 0) AS s
               FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'closeloop' AND state = 'idle in transaction'`,
          )
        ).rows;
        ctx.log(
          `ours: the API STOPPED ANSWERING: one more event got no answer in ${PROBE_MS / 1000} s; ${stuck.n} of its ` +
            `database sessions are idle in transaction (the oldest for ${stuck.s} s)`,
        );
      }

      const [e] = (
        await db.query(
          `SELECT count(*) AS n, count(*) FILTER (WHERE properties->>'path' LIKE $1 || '%') AS sale
             FROM customer_event WHERE type = 'page_view' AND properties->>'path' <> $2`,
          [SALE, PROBE_PATH],
        )
      ).rows;
      const [f] = (
        await db.query(
          `SELECT count(*) AS n, count(*) FILTER (WHERE f.state = 'pending') AS pending,
                  count(*) FILTER (WHERE e.properties->>'path' LIKE $2 || '%' AND e.customer_id = f.customer_id) AS matched,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.created_at - e.created_at) * 1000) AS p50,
                  percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM f.created_at - e.created_at) * 1000) AS p99,
                  max(extract(epoch FROM f.created_at - e.created_at) * 1000) AS max
             FROM rule_firing f JOIN customer_event e ON e.id = f.event_id
            WHERE f.rule_id = $1`,
          [rule.id, SALE],
        )
      ).rows;
      const recorded = Number(e.n);
      const firings = Number(f.n);
      const ms = (v: unknown) => `${Number(v).toFixed(1)} ms`;

      // The act jobs, waiting for a worker: one per pending firing, added after its commit.
      const eventAt = new Map(
        (
          (
            await db.query(
              `SELECT f.id, e.created_at FROM rule_firing f JOIN customer_event e ON e.id = f.event_id
                WHERE f.rule_id = $1`,
              [rule.id],
            )
          ).rows as { id: string; created_at: Date }[]
        ).map((r) => [r.id, r.created_at.getTime()]),
      );
      const jobs = await queue.getJobs(['wait', 'prioritized', 'delayed'], 0, -1);
      const acts = jobs.filter((j) => j.name === AutomationJob.Act);
      const enqueueMs = acts
        .map((j) => j.timestamp - (eventAt.get((j.data as { firingId: string }).firingId) ?? NaN))
        .filter((x) => !Number.isNaN(x))
        .sort((a, b) => a - b);

      const extra = recorded - ours['2xx'];
      ctx.log(
        `ours: ${recorded.toLocaleString('en')} events recorded for ${ours['2xx'].toLocaleString('en')} 2xx` +
          (extra > 0 ? ` (+${extra} answered in flight when the load stopped)` : '') +
          `; ${Number(e.sale).toLocaleString('en')} on ${SALE} pages; ${firings.toLocaleString('en')} firings ` +
          `(${Number(f.pending).toLocaleString('en')} pending, ${Number(f.matched).toLocaleString('en')} for a ${SALE} event of their customer)`,
      );
      ctx.log(
        `ours: event recorded -> firing recorded (customer_event.created_at -> rule_firing.created_at, API clock, ` +
          `same transaction): p50 ${ms(f.p50)}, p99 ${ms(f.p99)}, max ${ms(f.max)}`,
      );
      ctx.log(
        `ours: ${acts.length.toLocaleString('en')} act jobs waiting in Redis (no worker runs); event recorded -> job ` +
          `added: p50 ${ms(percentile(enqueueMs, 0.5))}, p99 ${ms(percentile(enqueueMs, 0.99))}. The job is added ` +
          `after the commit and before the HTTP answer, so it is inside the request's latency`,
      );

      const problems: string[] = [];
      if (!answers) problems.push(`the API stopped answering POST /v1/events after the load`);
      if (ours.non2xx || ours.errors || ours.timeouts) {
        problems.push(`non-2xx ${ours.non2xx}, errors ${ours.errors}, timeouts ${ours.timeouts}`);
      }
      if (extra < 0) problems.push(`${-extra} events MISSING for 2xx answers`);
      if (extra > CONNECTIONS)
        problems.push(`${extra} more events than 2xx answers (more than ${CONNECTIONS} in flight)`);
      if (firings !== Number(e.sale) || Number(f.matched) !== firings || Number(f.pending) !== firings) {
        problems.push(`${firings} firings (${f.pending} pending, ${f.matched} matched) for ${e.sale} sale-page events`);
      }
      if (acts.length !== firings) problems.push(`${acts.length} act jobs for ${firings} firings`);
      if (problems.length) throw new Error(`events: wrong result:\n  ${problems.join('\n  ')}`);

      const ratio = ours.requests.average / baseline.requests.average;
      return {
        ours: {
          value: ours.requests.average,
          unit: 'req/s',
          detail:
            `p99 ${ours.latency.p99} ms (bare ${baseline.latency.p99} ms); ${recorded.toLocaleString('en')} events for ` +
            `${ours['2xx'].toLocaleString('en')} 2xx, ${firings.toLocaleString('en')} firings, event -> firing ` +
            `p50 ${ms(f.p50)} / p99 ${ms(f.p99)}; ${(ratio * 100).toFixed(0)}% of bare`,
        },
        baseline: { value: baseline.requests.average, unit: 'req/s' },
        higherIsBetter: true,
      };
    } finally {
      if (bare) await stopApp(bare);
      await stopApp(api);
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await db.end();
    }
  },
};
