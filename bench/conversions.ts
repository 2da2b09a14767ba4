import { Client, Pool } from 'pg';
import { BenchContext, Scenario, startBenchApi, stopApp } from './harness';
import { cpuMeter, formatCpu, memoryMb } from './send-email';

const CONVERSIONS = Number(process.env.BENCH_CONVERSIONS ?? 100_000);
const BATCH = 10_000;
const CONCURRENCY = 2;

interface Touch {
  customerId: string;
  externalId: string;
  cellId: string;
  responseCode: string;
  sentAt: Date;
}

interface BatchView {
  recorded: number;
  duplicates: number;
  responses: { attribution: string; program: string | null }[];
}

/** The conversion of customer i: a minute after its latest send, a value in cents, a unique key. */
const conversionOf = (t: Touch, i: number) => ({
  occurredAt: new Date(t.sentAt.getTime() + 60_000).toISOString(),
  value: 1000 + ((i * 7919) % 20_000),
  key: `bench-conv-${i}`,
});

/** Runs jobs CONCURRENCY at a time; resolves with the wall seconds from the first start to the last end. */
async function timed(jobs: (() => Promise<void>)[]): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < jobs.length) await jobs[next++]();
    }),
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * Two launched programs (two cells each) with every customer in both: an older one (10 days ago)
 * and a newer one (a day ago, sends spread over an hour). Both windows (30 days) hold each
 * conversion, so attribution has to pick the customer's latest touch: the newer program's send.
 */
async function seed(
  db: Client,
  call: (path: string, body: unknown) => Promise<unknown>,
): Promise<{ newProgram: string; touches: Touch[] }> {
  await call('/v1/campaigns', { code: 'BENCH', name: 'bench' });
  const programs: Record<string, string> = {};
  for (const [code, daysAgo] of [
    ['BENCH-OLD', 10],
    ['BENCH-NEW', 1],
  ] as const) {
    await call('/v1/campaigns/BENCH/programs', {
      code,
      name: code,
      channel: 'email',
      cells: [
        { code: `${code}-A`, weight: 50 },
        { code: `${code}-B`, weight: 50 },
      ],
    });
    const id = (await db.query(`SELECT id FROM program WHERE code = $1`, [code])).rows[0].id as string;
    programs[code] = id;
    const cells = (await db.query(`SELECT id, response_code FROM cell WHERE program_id = $1 ORDER BY position`, [id]))
      .rows as { id: string; response_code: string }[];
    await db.query(
      `UPDATE program SET state = 'completed', launched_at = now() - make_interval(days => $2),
                          dispatched_at = now() - make_interval(days => $2),
                          ended_at = now() - make_interval(days => $2) + interval '1 hour'
        WHERE id = $1`,
      [id, daysAgo],
    );
    if (code === 'BENCH-OLD') {
      await db.query(
        `INSERT INTO customer (external_id, email, email_given, consent_email, lifecycle_stage)
         SELECT 'k' || i, 'buyer' || i || '@example.com', 'buyer' || i || '@example.com', true, 'active'
           FROM generate_series(1, $1::int) AS i`,
        [CONVERSIONS],
      );
    }
    await db.query(
      `INSERT INTO send (program_id, customer_id, cell_id, response_code, channel, address, state, attempts, sent_at)
       SELECT $1, c.id, ($2::uuid[])[1 + c.seq % 2], ($3::text[])[1 + c.seq % 2], 'email', c.email, 'sent', 1,
              date_trunc('second', now()) - make_interval(days => $4) + make_interval(secs => c.seq % 3600)
         FROM customer c`,
      [id, cells.map((c) => c.id), cells.map((c) => c.response_code), daysAgo],
    );
  }
  await db.query('ANALYZE');
  const touches = (
    await db.query(
      `SELECT c.id AS "customerId", c.external_id AS "externalId", s.cell_id AS "cellId",
              s.response_code AS "responseCode", s.sent_at AS "sentAt"
         FROM send s JOIN customer c ON c.id = s.customer_id
        WHERE s.program_id = $1
        ORDER BY c.seq`,
      [programs['BENCH-NEW']],
    )
  ).rows as Touch[];
  return { newProgram: programs['BENCH-NEW'], touches };
}

/**
 * 100,000 conversions posted to POST /v1/responses in batches of 10,000 (2 at a time): validation,
 * idempotency lookup, attribution by window over each customer's sends, insert, and the answer
 * read back; against a raw INSERT ... SELECT FROM unnest of the same rows (already attributed) in
 * the same chunks, 2 connections. Figures in rows per second.
 */
export const conversions: Scenario = {
  name: 'conversions',
  description: `${CONVERSIONS.toLocaleString('en')} conversions: POST /v1/responses x ${BATCH.toLocaleString('en')} vs raw INSERT ... unnest`,
  async run(ctx: BenchContext) {
    const { api, base, headers, post: call } = await startBenchApi(ctx);
    const db = new Client({ connectionString: ctx.databaseUrl });
    await db.connect();
    try {
      ctx.log(`generating ${CONVERSIONS.toLocaleString('en')} customers, each sent by two launched programs, with SQL`);
      const { newProgram, touches } = await seed(db, call);
      if (touches.length !== CONVERSIONS) throw new Error(`seeded ${touches.length} sends, not ${CONVERSIONS}`);

      // The bodies are made before the clock starts.
      const bodies: string[] = [];
      for (let from = 0; from < CONVERSIONS; from += BATCH) {
        const responses = touches.slice(from, from + BATCH).map((t, j) => {
          const c = conversionOf(t, from + j);
          return {
            externalId: t.externalId,
            type: 'conversion',
            value: c.value,
            currency: 'EUR',
            occurredAt: c.occurredAt,
            idempotencyKey: c.key,
          };
        });
        bodies.push(JSON.stringify({ responses }));
      }
      const mb = bodies.reduce((a, b) => a + Buffer.byteLength(b), 0) / bodies.length / 1024 / 1024;
      ctx.log(
        `ours: ${bodies.length} x POST /v1/responses (${BATCH.toLocaleString('en')} each, ${mb.toFixed(1)} MB), ` +
          `${CONCURRENCY} at a time`,
      );
      const cpu = cpuMeter({ api: api.pid!, bench: process.pid });
      const requestSeconds: number[] = [];
      const answers: BatchView[] = [];
      const oursSeconds = await timed(
        bodies.map((body) => async () => {
          const t0 = process.hrtime.bigint();
          const res = await fetch(`${base}/v1/responses`, { method: 'POST', headers, body });
          if (res.status !== 200) throw new Error(`POST /v1/responses -> ${res.status} ${await res.text()}`);
          answers.push((await res.json()) as BatchView);
          requestSeconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
        }),
      );
      const oursCpu = cpu.read();
      const apiMb = memoryMb(api.pid!);
      const recorded = answers.reduce((a, v) => a + v.recorded, 0);
      const duplicates = answers.reduce((a, v) => a + v.duplicates, 0);
      const byAttribution: Record<string, number> = {};
      for (const v of answers) {
        for (const r of v.responses) {
          const k = `${r.attribution}:${r.program ?? '-'}`;
          byAttribution[k] = (byAttribution[k] ?? 0) + 1;
        }
      }
      ctx.log(
        `ours: ${CONVERSIONS.toLocaleString('en')} in ${oursSeconds.toFixed(2)} s; recorded ${recorded}, ` +
          `duplicates ${duplicates}; answers by attribution: ${JSON.stringify(byAttribution)}`,
      );
      ctx.log(
        `ours: per request ${Math.min(...requestSeconds).toFixed(2)}..${Math.max(...requestSeconds).toFixed(2)} s; ` +
          `CPU s: ${formatCpu(oursCpu)}; api peak RSS ${apiMb.peak} MB`,
      );
      const [check] = (
        await db.query(
          `SELECT count(*) AS n, count(r.program_id) AS attributed,
                  count(*) FILTER (WHERE r.program_id = $1 AND r.cell_id = s.cell_id
                                     AND r.response_code = s.response_code) AS to_latest,
                  count(*) FILTER (WHERE r.occurred_at = s.sent_at + interval '1 minute') AS at_minute,
                  count(*) FILTER (WHERE r.detail->>'attribution' = 'window') AS by_window
             FROM response r LEFT JOIN send s ON s.customer_id = r.customer_id AND s.program_id = $1
            WHERE r.source = 'api' AND r.type = 'conversion'`,
          [newProgram],
        )
      ).rows;
      const n = Number(check.n);
      ctx.log(
        `ours: ${n.toLocaleString('en')} API rows, ${check.attributed} with program_id, ${check.to_latest} to the ` +
          `latest send's program/cell/code, ${check.by_window} by window, ${check.at_minute} at sent_at + 1 min`,
      );
      if (n !== CONVERSIONS || Number(check.attributed) !== CONVERSIONS || Number(check.to_latest) !== CONVERSIONS) {
        ctx.log(`warning: expected ${CONVERSIONS} API rows, all attributed to BENCH-NEW`);
      }

      ctx.log(
        `baseline: the same rows (already attributed) by INSERT ... SELECT FROM unnest, ` +
          `${BATCH.toLocaleString('en')} a statement, ${CONCURRENCY} connections`,
      );
      const pool = new Pool({ connectionString: ctx.databaseUrl, max: CONCURRENCY });
      // Connected before the clock starts, as ours is (the API holds its pool).
      await Promise.all(Array.from({ length: CONCURRENCY }, () => pool.connect())).then((cs) =>
        cs.forEach((c) => c.release()),
      );
      const chunks: unknown[][] = [];
      for (let from = 0; from < CONVERSIONS; from += BATCH) {
        const part = touches.slice(from, from + BATCH);
        const rows = part.map((t, j) => conversionOf(t, from + j));
        chunks.push([
          part.map((t) => t.customerId),
          part.map(() => newProgram),
          part.map((t) => t.cellId),
          part.map((t) => t.responseCode),
          part.map(() => 'conversion'),
          rows.map((r) => r.occurredAt),
          rows.map((r) => r.value),
          part.map(() => 'EUR'),
          rows.map((r) => `raw:${r.key}`),
          part.map(() => 'bench-raw'),
        ]);
      }
      const baselineCpu = cpuMeter({ bench: process.pid });
      const baselineSeconds = await timed(
        chunks.map((params) => async () => {
          await pool.query(
            `INSERT INTO response (customer_id, program_id, cell_id, response_code, type, occurred_at, value, currency,
                                   idempotency_key, source)
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[],
                                  $7::bigint[], $8::text[], $9::text[], $10::text[])`,
            params,
          );
        }),
      );
      const baselineCpuUsed = baselineCpu.read();
      await pool.end();
      const raw = Number((await db.query(`SELECT count(*) AS n FROM response WHERE source = 'bench-raw'`)).rows[0].n);
      ctx.log(
        `baseline: ${raw.toLocaleString('en')} rows in ${baselineSeconds.toFixed(2)} s; CPU s: ${formatCpu(baselineCpuUsed)}`,
      );
      return {
        ours: {
          value: CONVERSIONS / oursSeconds,
          unit: 'rows/s',
          detail:
            `${n.toLocaleString('en')} rows in ${oursSeconds.toFixed(2)} s, ${Number(check.attributed).toLocaleString('en')} ` +
            `attributed (${Number(check.to_latest).toLocaleString('en')} to the latest touch); api peak RSS ${apiMb.peak} MB`,
        },
        baseline: { value: CONVERSIONS / baselineSeconds, unit: 'rows/s' },
        higherIsBetter: true,
      };
    } finally {
      await stopApp(api);
      await db.end();
    }
  },
};
