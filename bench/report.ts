import { Client } from 'pg';
import { BenchContext, Scenario, startBenchApi, stopApp } from './harness';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 1_000_000);
const RESPONSES = Number(process.env.BENCH_RESPONSES ?? 5_000_000);
const CHUNK = 500_000;
const REQUESTS = 40;
const RAW_RUNS = 5;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
};

/**
 * The raw query a report would run without counters: per cell, members, sends by state, unique
 * openers / clickers / converters (all and people only), conversion events and revenue, straight
 * from list_member, send and response with GROUP BY.
 */
const RAW = `
  SELECT m.cell_id, m.members, s.sent, s.delivered, s.bounced, r.openers, r.human_openers, r.clickers,
         r.converters, r.conversions, r.revenue
    FROM (SELECT cell_id, count(*) AS members FROM list_member WHERE program_id = $1 GROUP BY cell_id) m
    LEFT JOIN (SELECT cell_id, count(*) FILTER (WHERE state = 'sent') AS sent,
                      count(*) FILTER (WHERE state = 'delivered') AS delivered,
                      count(*) FILTER (WHERE state = 'bounced') AS bounced
                 FROM send WHERE program_id = $1 GROUP BY cell_id) s ON s.cell_id = m.cell_id
    LEFT JOIN (SELECT cell_id,
                      count(DISTINCT customer_id) FILTER (WHERE type = 'open') AS openers,
                      count(DISTINCT customer_id) FILTER (WHERE type = 'open' AND NOT machine) AS human_openers,
                      count(DISTINCT customer_id) FILTER (WHERE type = 'click') AS clickers,
                      count(DISTINCT customer_id) FILTER (WHERE type = 'conversion') AS converters,
                      count(*) FILTER (WHERE type = 'conversion') AS conversions,
                      sum(value) FILTER (WHERE type = 'conversion') AS revenue
                 FROM response WHERE program_id = $1 GROUP BY cell_id) r ON r.cell_id = m.cell_id`;

/**
 * A program of 1,000,000 members (A 45%, B 45%, control 10%) with 5,000,000 responses (opens,
 * some by machines, clicks, conversions with revenue, unsubscribes), written with SQL in chunks so
 * the counters are kept by the triggers as they would be in production. Then the p50 latency of
 * `GET /v1/programs/:id/report` through the API process against the raw GROUP BY over the same
 * history, and the two compared figure by figure.
 */
export const report: Scenario = {
  name: 'report',
  description: `program report over ${MEMBERS.toLocaleString('en')} members and ${RESPONSES.toLocaleString('en')} responses: API p50 vs raw GROUP BY`,
  async run(ctx: BenchContext) {
    const { api, base, headers, post } = await startBenchApi(ctx);
    const db = new Client({ connectionString: ctx.databaseUrl });
    await db.connect();
    try {
      await post('/v1/campaigns', { code: 'BENCH-R', name: 'bench' });
      const program = (await post('/v1/campaigns/BENCH-R/programs', {
        code: 'BENCH-REPORT',
        name: 'report bench',
        channel: 'email',
        cells: [
          { code: 'BENCH-REPORT-A', name: 'A', weight: 45 },
          { code: 'BENCH-REPORT-B', name: 'B', weight: 45 },
          { code: 'BENCH-REPORT-CTL', name: 'Control', weight: 10, isControl: true },
        ],
      })) as { id: string; cells: { id: string; code: string; responseCode: string; isControl: boolean }[] };
      const cellIds = program.cells.map((c) => c.id);
      const codes = program.cells.map((c) => c.responseCode);
      const started = Date.now();
      ctx.log(`generating ${MEMBERS.toLocaleString('en')} customers, members and sends with SQL`);
      await db.query(`UPDATE program SET state = 'completed', launched_at = now() - interval '2 days' WHERE id = $1`, [
        program.id,
      ]);
      await db.query(
        `INSERT INTO customer (external_id, email, email_given, consent_email)
         SELECT 'r' || i, 'r' || i || '@example.com', 'r' || i || '@example.com', true FROM generate_series(1, $1::int) i`,
        [MEMBERS],
      );
      // Cell by position in arrival order: 45% A, 45% B, 10% control.
      const cellOf = `(CASE WHEN c.seq % 20 < 9 THEN 1 WHEN c.seq % 20 < 18 THEN 2 ELSE 3 END)`;
      await db.query(
        `INSERT INTO list_member (program_id, customer_id, cell_id, response_code, address, rank)
         SELECT $1, c.id, ($2::uuid[])[${cellOf}], ($3::text[])[${cellOf}], c.email, c.seq FROM customer c
          WHERE c.external_id LIKE 'r%'`,
        [program.id, cellIds, codes],
      );
      const members = await db.query(
        `SELECT ($1::text[])[${cellOf}] AS code, count(*)::int AS members FROM customer c
          WHERE c.external_id LIKE 'r%' GROUP BY 1`,
        [program.cells.map((x) => x.code)],
      );
      await db.query(
        `INSERT INTO target_list (program_id, state, progress, waterfall, cells, requested_by, built_at)
         VALUES ($1, 'built', 1, $2, $3, 'bench', now())`,
        [
          program.id,
          JSON.stringify([{ step: 'select', remaining: MEMBERS, removed: 0 }]),
          JSON.stringify(
            program.cells.map((x) => ({
              code: x.code,
              isControl: x.isControl,
              responseCode: x.responseCode,
              members: members.rows.find((r) => r.code === x.code)?.members ?? 0,
            })),
          ),
        ],
      );
      await db.query(
        `INSERT INTO send (program_id, customer_id, cell_id, response_code, channel, address, state, attempts, sent_at)
         SELECT $1, c.id, ($2::uuid[])[${cellOf}], ($3::text[])[${cellOf}], 'email', c.email,
                CASE WHEN ${cellOf} = 3 THEN 'held_out' WHEN c.seq % 97 = 0 THEN 'bounced' ELSE 'sent' END,
                1, CASE WHEN ${cellOf} = 3 THEN NULL ELSE now() - interval '2 days' END
           FROM customer c WHERE c.external_id LIKE 'r%'`,
        [program.id, cellIds, codes],
      );
      ctx.log(`generating ${RESPONSES.toLocaleString('en')} responses in chunks of ${CHUNK.toLocaleString('en')}`);
      // Response i goes to member (i * 7919) mod MEMBERS; its type by i: mostly opens (a fifth by
      // machines), clicks, some conversions (all of B's, half of A's, a quarter of the control's), a few
      // unsubscribes; control members only convert. Chunks go on until RESPONSES rows are written.
      let written = 0;
      for (let from = 0; written < RESPONSES; from += CHUNK) {
        const inserted = await db.query(
          `INSERT INTO response (customer_id, program_id, cell_id, response_code, type, occurred_at, value, currency,
                                 source, machine)
           SELECT c.id, $1, ($2::uuid[])[${cellOf}], ($3::text[])[${cellOf}], t.type,
                  now() - interval '1 day', CASE WHEN t.type = 'conversion' THEN 1000 + g % 5000 END,
                  CASE WHEN t.type = 'conversion' THEN 'EUR' END, 'bench', t.type = 'open' AND x.h % 5 = 0
             FROM generate_series($4::bigint, $5::bigint) g
             JOIN customer c ON c.external_id = 'r' || (1 + (g * 7919) % $6)
             CROSS JOIN LATERAL (SELECT (g * 2654435761 % 4294967296) % 100 AS h,
                                        (g * 2654435761 % 4294967296) / 65536 AS high) x
             CROSS JOIN LATERAL (SELECT CASE WHEN x.h < 60 THEN 'open' WHEN x.h < 85 THEN 'click'
                                             WHEN x.h < 99 THEN 'conversion' ELSE 'unsubscribe' END AS type) t
            WHERE (t.type = 'conversion' OR ${cellOf} <> 3)
              AND (t.type <> 'conversion' OR ${cellOf} = 2 OR x.high % (${cellOf} + 1) = 0)`,
          [
            program.id,
            cellIds,
            codes,
            from + 1,
            from + Math.min(CHUNK, Math.ceil((RESPONSES - written) / 0.85)),
            MEMBERS,
          ],
        );
        written += inserted.rowCount ?? 0;
        ctx.log(`  ${written.toLocaleString('en')} written`);
      }
      await db.query('VACUUM ANALYZE');
      const history = Number(
        (await db.query(`SELECT count(*) AS n FROM response WHERE program_id = $1`, [program.id])).rows[0].n,
      );
      ctx.log(
        `history: ${history.toLocaleString('en')} responses (generated in ${((Date.now() - started) / 1000).toFixed(0)} s)`,
      );

      const raw: number[] = [];
      let rawRows: { cell_id: string; converters: string; openers: string; revenue: string }[] = [];
      for (let i = 0; i < RAW_RUNS; i++) {
        const t0 = process.hrtime.bigint();
        rawRows = (await db.query(RAW, [program.id])).rows;
        raw.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      ctx.log(
        `baseline: raw GROUP BY x ${RAW_RUNS}: p50 ${median(raw).toFixed(0)} ms (runs ${raw.map((x) => x.toFixed(0)).join(', ')} ms)`,
      );

      const ours: number[] = [];
      let body: {
        cells: { code: string; conversions: number; opens: number; revenue: number }[];
        verdict: string;
      } | null = null;
      for (let i = 0; i < REQUESTS; i++) {
        const t0 = process.hrtime.bigint();
        const res = await fetch(`${base}/v1/programs/${program.id}/report`, { headers });
        if (res.status !== 200) throw new Error(`report -> ${res.status} ${await res.text()}`);
        body = (await res.json()) as typeof body;
        ours.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      ctx.log(
        `ours: GET /v1/programs/:id/report x ${REQUESTS}: p50 ${median(ours).toFixed(1)} ms, p99 ${percentile(ours, 0.99).toFixed(1)} ms`,
      );
      // The report's figures are the raw query's.
      let same = 0;
      for (const r of rawRows) {
        const code = program.cells.find((x) => x.id === r.cell_id)!.code;
        const cell = body!.cells.find((c) => c.code === code)!;
        if (
          cell.conversions === Number(r.converters ?? 0) &&
          cell.opens === Number(r.openers ?? 0) &&
          cell.revenue === Number(r.revenue ?? 0)
        ) {
          same++;
        }
      }
      ctx.log(`check: ${same} of ${rawRows.length} cells equal the raw query (converters, openers, revenue)`);
      ctx.log(`verdict: ${body!.verdict}`);
      const p50 = median(ours);
      ctx.log(
        `target: report p50 < 200 ms and below the raw query: ${p50 < 200 && p50 < median(raw) ? 'met' : 'NOT met'}`,
      );
      if (same !== rawRows.length) throw new Error('the report differs from the raw query');
      return {
        ours: {
          value: Math.round(p50 * 10) / 10,
          unit: 'ms p50',
          detail: `p99 ${percentile(ours, 0.99).toFixed(1)} ms`,
        },
        baseline: { value: Math.round(median(raw)), unit: 'ms p50' },
        higherIsBetter: false,
      };
    } finally {
      await db.end();
      await stopApp(api);
    }
  },
};
