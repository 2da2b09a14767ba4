import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { signTrackingToken } from '@closeloop/core';
import { EventBuffer } from '@closeloop/tracking';
import { SmtpSink } from '../../apps/peers/src/smtp-sink';
import { buildOnce, runCli } from '../support/built-app';
import { completedProgram } from '../support/delivery-fixtures';
import { aCampaign, uniqueCode } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

const SECRET = 'report-e2e-tracking-secret';

jest.setTimeout(150_000);

/**
 * The program report end to end: a real program sent to an SMTP sink, opens and clicks through the
 * tracking endpoints, conversions through the API; every report figure is checked against counts
 * computed here directly from the history tables, and `reconcile` agrees.
 */
describe('program report', () => {
  let api: TestApi;
  let sink: SmtpSink;
  let db: Client;
  let base: string;
  let program: { id: string; code: string; cells: { id: string; code: string; responseCode: string }[] };
  let campaignId: string;
  const m = () => api.as('marketer');

  beforeAll(async () => {
    buildOnce();
    sink = new SmtpSink();
    const { url } = await sink.start(0);
    api = await startTestApi(
      { SMTP_URL: url, TRACKING_SECRET: SECRET, SCHEDULER_INTERVAL_MS: '300', TRUST_PROXY: '1' },
      { withWorker: true },
    );
    await api.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(api.app.getHttpServer().address() as AddressInfo).port}`;
    db = new Client({ connectionString: api.databaseUrl });
    await db.connect();

    const run = uniqueCode('rep').toLowerCase();
    const customers = Array.from({ length: 900 }, (_, i) => ({
      externalId: `${run}-${i}`,
      email: `${run}-${i}@mail.example`,
      consent: { email: true },
      attributes: { run },
    }));
    await m().post('/v1/customers', { customers }).expect(200);
    const segment = uniqueCode('SEG');
    await m()
      .post('/v1/segments', {
        code: segment,
        name: segment,
        criteria: { field: 'attributes.run', op: 'eq', value: run },
      })
      .expect(201);
    const template = uniqueCode('T');
    await m()
      .post('/v1/templates', {
        code: template,
        channel: 'email',
        subject: 'Sale',
        html: '<a href="https://shop.example/sale">Sale</a>',
      })
      .expect(201);
    const campaign = (await m().post('/v1/campaigns', aCampaign()).expect(201)).body;
    campaignId = campaign.id;
    const code = uniqueCode('P');
    program = (
      await m()
        .post(`/v1/campaigns/${campaign.id}/programs`, {
          code,
          name: 'Spring <sale>',
          channel: 'email',
          segment,
          template,
          seed: 3,
          cells: [
            { code: `${code}-A`, name: 'A', weight: 40 },
            { code: `${code}-B`, name: 'B', weight: 40 },
            { code: `${code}-CTL`, name: 'Control', weight: 20, isControl: true },
          ],
        })
        .expect(201)
    ).body;
    await m().post(`/v1/programs/${program.id}/launch`).expect(200);
    await completedProgram(m(), program.id, 120_000);

    const sends: { id: string; external_id: string; cell: string; state: string }[] = (
      await db.query(
        `SELECT s.id, c.external_id, ce.code AS cell, s.state FROM send s JOIN customer c ON c.id = s.customer_id
           JOIN cell ce ON ce.id = s.cell_id WHERE s.program_id = $1 ORDER BY c.external_id`,
        [program.id],
      )
    ).rows;
    // Opens (some twice, some by an image proxy), clicks, through the public endpoints.
    let i = 0;
    let hits = 0;
    const hit = async (path: string, headers: Record<string, string>) => {
      const res = await fetch(`${base}${path}`, { headers, redirect: 'manual' });
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 302) hits++;
    };
    const open = (id: string) => `/t/o/${signTrackingToken({ kind: 'open', sendId: id, link: 0 }, [SECRET])}`;
    for (const s of sends.filter((x) => x.state === 'sent')) {
      i++;
      const headers = { 'User-Agent': 'Thunderbird/128', 'X-Forwarded-For': `10.2.${i % 250}.${i % 7}` };
      if (i % 3 === 0) await hit(open(s.id), headers);
      if (i % 6 === 0) await hit(open(s.id), headers);
      if (i % 10 === 0) await hit(open(s.id), { 'User-Agent': 'Mozilla/5.0 (via ggpht.com GoogleImageProxy)' });
      if (i % 8 === 0)
        await hit(`/t/c/${signTrackingToken({ kind: 'click', sendId: s.id, link: 0 }, [SECRET])}`, headers);
    }
    // Conversions: B converts more than A, A more than control; some buy twice.
    const rate: Record<string, number> = { A: 0.1, B: 0.3, CTL: 0.05 };
    const conversions = sends
      .filter((s, k) => (k * 7919) % 100 < rate[s.cell.split('-').pop()!] * 100)
      .flatMap((s, k) => {
        const one = {
          externalId: s.external_id,
          type: 'conversion',
          value: 1000 + (k % 5) * 250,
          currency: 'EUR',
          occurredAt: new Date(Date.now() + 60_000).toISOString(),
          idempotencyKey: `o-${randomUUID()}`,
        };
        return k % 4 === 0 ? [one, { ...one, value: 500, idempotencyKey: `o-${randomUUID()}` }] : [one];
      });
    await m().post('/v1/responses', { responses: conversions }).expect(200);
    await api.app.get(EventBuffer).flush();
    // Wait until every hit is a row (implied opens come on top).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { rows } = await db.query(
        `SELECT count(*)::int AS n FROM response WHERE program_id = $1 AND source IN ('pixel', 'link')`,
        [program.id],
      );
      if (rows[0].n >= hits) break;
      if (Date.now() > deadline) throw new Error(`${rows[0].n} of ${hits} hits written`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    await db?.end();
    await api?.close();
    await sink?.stop();
  });

  it('answers per-cell figures equal to counts computed from the history tables', async () => {
    const report = (await api.as('analyst').get(`/v1/programs/${program.id}/report`).expect(200)).body;
    const q = async (sql: string) =>
      new Map((await db.query(sql, [program.id])).rows.map((r: { cell: string; n: string }) => [r.cell, Number(r.n)]));
    const members = await q(
      `SELECT ce.code AS cell, count(*) AS n FROM list_member l JOIN cell ce ON ce.id = l.cell_id WHERE l.program_id = $1 GROUP BY 1`,
    );
    const delivered = await q(
      `SELECT ce.code AS cell, count(*) AS n FROM send s JOIN cell ce ON ce.id = s.cell_id
        WHERE s.program_id = $1 AND s.state IN ('sent', 'delivered') GROUP BY 1`,
    );
    const unique = (type: string, human = false) =>
      q(`SELECT ce.code AS cell, count(DISTINCT r.customer_id) AS n FROM response r JOIN cell ce ON ce.id = r.cell_id
          WHERE r.program_id = $1 AND r.type = '${type}' ${human ? 'AND NOT r.machine' : ''} GROUP BY 1`);
    const opens = await unique('open');
    const opensHuman = await unique('open', true);
    const clicks = await unique('click');
    const converters = await unique('conversion');
    const revenue = await q(
      `SELECT ce.code AS cell, sum(r.value) AS n FROM response r JOIN cell ce ON ce.id = r.cell_id
        WHERE r.program_id = $1 AND r.type = 'conversion' GROUP BY 1`,
    );
    const events = await q(
      `SELECT ce.code AS cell, count(*) AS n FROM response r JOIN cell ce ON ce.id = r.cell_id
        WHERE r.program_id = $1 AND r.type = 'conversion' GROUP BY 1`,
    );
    expect(report.cells.map((c: { code: string }) => c.code)).toEqual(program.cells.map((c) => c.code));
    for (const cell of report.cells) {
      const g = (map: Map<string, number>) => map.get(cell.code) ?? 0;
      expect({ code: cell.code, members: cell.members, delivered: cell.delivered, opens: cell.opens }).toEqual({
        code: cell.code,
        members: g(members),
        delivered: g(delivered),
        opens: g(opens),
      });
      expect([cell.opensHuman, cell.clicks, cell.conversions, cell.conversionEvents, cell.revenue]).toEqual([
        g(opensHuman),
        g(clicks),
        g(converters),
        g(events),
        g(revenue),
      ]);
      expect(cell.conversionRate).toBeCloseTo(g(converters) / g(members), 12);
      expect(cell.conversionRateCi[0]).toBeLessThanOrEqual(cell.conversionRate);
      expect(cell.conversionRateCi[1]).toBeGreaterThanOrEqual(cell.conversionRate);
      if (cell.isControl) {
        expect([cell.contacted, cell.openRate]).toEqual([0, null]);
      } else {
        expect(cell.openRate).toBeCloseTo(g(opensHuman) / g(delivered), 12);
      }
    }
    expect(report.cells.find((c: { opens: number; opensHuman: number }) => c.opens > c.opensHuman)).toBeDefined();
    const b = report.comparisons.find(
      (c: { cell: string; metric: string }) => c.cell.endsWith('-B') && c.metric === 'conversionRate',
    );
    expect(b).toMatchObject({ against: program.cells[2].code, test: 'two-proportion z', significant: true });
    expect(b.ci[0]).toBeGreaterThan(0);
    expect(b.adjustedPValue).toBeGreaterThanOrEqual(b.pValue);
    expect(report.comparisons.filter((c: { metric: string }) => c.metric === 'revenuePerMember')).toHaveLength(2);
    expect(report.overall).toMatchObject({ test: 'chi-square', df: 2 });
    expect(report.verdict).toMatch(/^Cell (A|B) /);
    expect(report.verdict).toContain('Cell B converts');
    expect(report.currency).toBe('EUR');
  });

  it('gives the same report as CSV (formula-safe) and as a self-contained HTML page', async () => {
    const csv = await api.as('analyst').get(`/v1/programs/${program.code}/report?format=csv`).expect(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = csv.text.trim().split('\r\n');
    expect(lines).toHaveLength(1 + 3 + 4);
    for (const c of program.cells) expect(csv.text).toContain(c.code);
    const html = await api.as('analyst').get(`/v1/programs/${program.id}/report?format=html`).expect(200);
    expect(html.headers['content-type']).toContain('text/html');
    expect(html.text).toContain('<svg');
    for (const c of program.cells) expect(html.text).toContain(c.code);
    expect(html.text).toContain('Spring &lt;sale&gt;');
    expect(html.text).not.toMatch(/<script|https?:\/\/(?!shop\.example)/);
    await api.as('analyst').get(`/v1/programs/${program.id}/report?format=pdf`).expect(400);
    await api.as('analyst').get(`/v1/programs/${program.id}/report?confidence=2`).expect(400);
    await api.as('analyst').get(`/v1/programs/NO-SUCH-PROGRAM/report`).expect(404);
    const narrow = (await api.as('analyst').get(`/v1/programs/${program.id}/report?confidence=0.8`).expect(200)).body;
    const wide = (await api.as('analyst').get(`/v1/programs/${program.id}/report?confidence=0.99`).expect(200)).body;
    expect(wide.cells[0].conversionRateCi[1] - wide.cells[0].conversionRateCi[0]).toBeGreaterThan(
      narrow.cells[0].conversionRateCi[1] - narrow.cells[0].conversionRateCi[0],
    );
  });

  it('reconcile finds every figure equal to history, and says so when a counter is off', async () => {
    const env = { DATABASE_URL: api.databaseUrl, REDIS_URL: process.env.REDIS_URL!, LOG_LEVEL: 'error' };
    const ok = await runCli(['reconcile', '--program', program.code], env);
    expect(ok.stdout).toContain('1 program(s) checked, 0 difference(s)');
    expect(ok.code).toBe(0);
    await db.query(
      `UPDATE report_counter SET value = value + 2 WHERE program_id = $1 AND metric = 'unique:open' AND cell_id = $2`,
      [program.id, program.cells[0].id],
    );
    try {
      const off = await runCli(['reconcile'], env);
      expect(off.code).toBe(1);
      expect(off.stdout).toMatch(
        new RegExp(`${program.cells[0].code} unique:open: counters \\d+, history \\d+ \\(\\+2\\)`),
      );
    } finally {
      await db.query(
        `UPDATE report_counter SET value = value - 2 WHERE program_id = $1 AND metric = 'unique:open' AND cell_id = $2`,
        [program.id, program.cells[0].id],
      );
    }
  });

  it("sets the campaign's programs side by side with their winners", async () => {
    const report = (await api.as('analyst').get(`/v1/campaigns/${campaignId}/report`).expect(200)).body;
    expect(report.programs).toHaveLength(1);
    expect(report.programs[0]).toMatchObject({ code: program.code, winner: program.cells[1].code, channel: 'email' });
    expect(report.programs[0].winnerLift).toBeGreaterThan(0);
    const csv = await api.as('analyst').get(`/v1/campaigns/${campaignId}/report?format=csv`).expect(200);
    expect(csv.text.trim().split('\r\n')).toHaveLength(2);
    const html = await api.as('analyst').get(`/v1/campaigns/${campaignId}/report?format=html`).expect(200);
    expect(html.text).toContain(program.cells[1].code);
    await api.as('analyst').get('/v1/campaigns/NO-SUCH-CAMPAIGN/report').expect(404);
  });

  it('says in the list preview how small a lift each cell can detect', async () => {
    const list = (await api.as('analyst').get(`/v1/programs/${program.id}/list`).expect(200)).body;
    expect(list.sizing).toMatchObject({ baselineSource: 'default', baselineRate: 0.05, alpha: 0.05, power: 0.8 });
    expect(list.sizing.cells.map((c: { code: string }) => c.code)).toEqual([
      program.cells[0].code,
      program.cells[1].code,
    ]);
    for (const c of list.sizing.cells) {
      expect(c.against).toBe(program.cells[2].code);
      // About 360 members against 180: only a large lift shows.
      expect(c.detectableLift).toBeGreaterThan(0.03);
      expect(c.detectableLift).toBeLessThan(0.2);
    }
    expect(list.sizing.summary).toContain('pts or more');
  });

  it('plans sample sizes', async () => {
    const res = await api
      .as('analyst')
      .post('/v1/plan/sample-size', { baselineRate: 0.05, minimumDetectableEffect: 0.01, cells: 2 })
      .expect(200);
    expect(res.body.perCell).toBeGreaterThan(7000);
    expect(res.body.perCell).toBeLessThan(9000);
    expect(res.body.total).toBe(res.body.perCell * 2 + res.body.controlPerCell);
    const bad = await api
      .as('analyst')
      .post('/v1/plan/sample-size', { baselineRate: 1.5, minimumDetectableEffect: 0.01 })
      .expect(400);
    expect(bad.body.message).toContain('baselineRate');
  });
});
