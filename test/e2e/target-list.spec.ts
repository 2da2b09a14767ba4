import { Client } from 'pg';
import { largestRemainderShares } from '@closeloop/core';
import { aCampaign, uniqueCode } from '../support/factories';
import { startTestApi, TestApi } from '../support/test-api';

/**
 * The list build end to end: API -> queue -> worker -> PostgreSQL, with a population whose every
 * waterfall count is known in advance.
 */
describe('target lists', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({}, { withWorker: true });
  });
  afterAll(async () => {
    await api?.close();
  });
  const m = () => api.as('marketer');

  async function built(program: string) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const list = (await m().get(`/v1/programs/${program}/list`).expect(200)).body;
      if (list.state === 'built' || list.state === 'failed') return list;
      if (Date.now() > deadline) throw new Error(`list of ${program} still ${list.state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // 600 in segment country "IS": 40 without email, 60 without consent, 25 sharing an address with
  // an earlier customer, 30 suppressed (20 manual, 10 complaint) -> 445; plus 100 elsewhere.
  const run = uniqueCode('R').toLowerCase();
  const people = Array.from({ length: 600 }, (_, i) => ({
    externalId: `${run}-${i}`,
    country: 'IS',
    email: i < 40 ? undefined : i >= 575 ? `${run}-${i - 445}@example.com` : `${run}-${i}@example.com`,
    consent: { email: !(i >= 40 && i < 100) },
  }));
  const others = Array.from({ length: 100 }, (_, i) => ({
    externalId: `${run}-x${i}`,
    country: 'NO',
    email: `${run}-x${i}@example.com`,
    consent: { email: true },
  }));

  async function program(over: Record<string, unknown>) {
    const campaign = (await m().post('/v1/campaigns', aCampaign()).expect(201)).body;
    const code = uniqueCode('L');
    return (
      await m()
        .post(`/v1/campaigns/${campaign.id}/programs`, {
          code,
          name: code,
          channel: 'email',
          segment: segmentCode,
          seed: 7,
          cells: [
            { code: `${code}-A`, weight: 45 },
            { code: `${code}-B`, weight: 45 },
            { code: `${code}-CTL`, weight: 10, isControl: true },
          ],
          ...over,
        })
        .expect(201)
    ).body;
  }
  const segmentCode = uniqueCode('ICELAND');

  beforeAll(async () => {
    await m()
      .post('/v1/customers', { customers: [...people, ...others] })
      .expect(200);
    for (let i = 100; i < 130; i++) {
      const reason = i < 120 ? 'manual' : 'complaint';
      await m()
        .post('/v1/suppressions', { channel: 'email', address: `${run}-${i}@example.com`, reason })
        .expect(201);
    }
    await m()
      .post('/v1/segments', {
        code: segmentCode,
        name: 'Iceland',
        criteria: { field: 'country', op: 'eq', value: 'IS' },
      })
      .expect(201);
  });

  it('builds segment -> reachable -> dedupe -> suppress -> split, with an exact waterfall', async () => {
    const p = await program({});
    expect((await m().get(`/v1/programs/${p.id}/list`).expect(200)).body.state).toBe('none');
    const queued = await m().post(`/v1/programs/${p.id}/list`).expect(202);
    expect(['queued', 'building', 'built']).toContain(queued.body.state);
    const list = await built(p.code);
    expect(list.state).toBe('built');
    expect(list.seed).toBe(7);
    expect(list.waterfall).toEqual([
      { step: 'select', remaining: 600, removed: 0 },
      { step: 'reachable', remaining: 500, removed: 100, reasons: { 'no address': 40, 'no consent': 60 } },
      { step: 'dedupe', remaining: 475, removed: 25 },
      { step: 'suppress', remaining: 445, removed: 30, reasons: { complaint: 10, manual: 20 } },
      { step: 'policy', remaining: 445, removed: 0 },
      { step: 'sample', remaining: 445, removed: 0 },
    ]);
    const expected = largestRemainderShares(445, [45, 45, 10]);
    expect(list.cells.map((c: { members: number }) => c.members)).toEqual(expected);
    expect(list.cells.map((c: { responseCode: string }) => c.responseCode)).toEqual(
      p.cells.map((c: { responseCode: string }) => c.responseCode),
    );

    const csv = await m().get(`/v1/programs/${p.code}/list.csv`).expect(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('externalId,address,cell,responseCode');
    expect(lines).toHaveLength(446);
    // The reported per-cell counts are what the snapshot really holds.
    const perCell = new Map<string, number>();
    for (const line of lines.slice(1)) perCell.set(line.split(',')[2], (perCell.get(line.split(',')[2]) ?? 0) + 1);
    expect(list.cells.map((c: { code: string }) => perCell.get(c.code))).toEqual(expected);
    const suppressedOrMissing = new Set([
      ...Array.from({ length: 100 }, (_, i) => `${run}-${i}`),
      ...Array.from({ length: 30 }, (_, i) => `${run}-${100 + i}`),
    ]);
    for (const line of lines.slice(1)) expect(suppressedOrMissing.has(line.split(',')[0])).toBe(false);
    // Of each shared address, the customer created first stays.
    expect(lines.some((l) => l.startsWith(`${run}-575,`))).toBe(false);
    expect(lines.some((l) => l.startsWith(`${run}-130,`))).toBe(true);

    // A rebuild gives the identical assignment.
    await m().post(`/v1/programs/${p.id}/list`).expect(202);
    const again = await built(p.code);
    expect(again.cells).toEqual(list.cells);
    const csv2 = await m().get(`/v1/programs/${p.code}/list.csv`).expect(200);
    expect(csv2.text).toBe(csv.text);
  });

  it('samples reproducibly from the seed, and a different seed picks different members', async () => {
    const a = await program({ sample: { size: 100 }, seed: 11 });
    const b = await program({ sample: { size: 100 }, seed: 11 });
    const c = await program({ sample: { percent: 10 }, seed: 12 });
    for (const p of [a, b, c]) await m().post(`/v1/programs/${p.id}/list`).expect(202);
    const [la, lb, lc] = [await built(a.code), await built(b.code), await built(c.code)];
    expect(la.waterfall[5]).toEqual({ step: 'sample', remaining: 100, removed: 345 });
    expect(lc.waterfall[5]).toEqual({ step: 'sample', remaining: 45, removed: 400 }); // 44.5 rounds half up
    expect(la.cells.map((x: { members: number }) => x.members)).toEqual([45, 45, 10]);
    const members = async (code: string) =>
      (await m().get(`/v1/programs/${code}/list.csv`).expect(200)).text
        .trim()
        .split('\r\n')
        .slice(1)
        .map((l) => l.split(',')[0])
        .sort();
    expect(await members(a.code)).toEqual(await members(b.code));
    const seed12 = await members(c.code);
    expect(seed12).not.toEqual((await members(a.code)).slice(0, 45));
    expect(lb.seed).toBe(11);
  });

  it('refuses a list for a launched program, a missing segment or weights that do not add up', async () => {
    const launched = await program({});
    await m().post(`/v1/programs/${launched.id}/launch`).expect(200);
    const frozen = await m().post(`/v1/programs/${launched.id}/list`).expect(409);
    expect(frozen.body.message).toContain('running');
    const noSegment = await program({ segment: undefined });
    await m().post(`/v1/programs/${noSegment.id}/list`).expect(202);
    const failed = await built(noSegment.code);
    expect(failed).toMatchObject({ state: 'failed', error: expect.stringContaining('no segment') });
    await m().get('/v1/programs/NO-SUCH-PROGRAM/list').expect(404);
    // Changing cells or targeting in draft drops the snapshot: it must be built again.
    const edited = await program({});
    await m().post(`/v1/programs/${edited.id}/list`).expect(202);
    expect((await built(edited.code)).state).toBe('built');
    await m().patch(`/v1/cells/${edited.cells[0].id}`, { weight: 40 }).expect(200);
    expect((await m().get(`/v1/programs/${edited.id}/list`).expect(200)).body.state).toBe('none');
    expect((await m().get(`/v1/programs/${edited.id}/list.csv`).expect(200)).text.trim().split('\r\n')).toHaveLength(1);
    await m().get('/v1/programs/NO-SUCH-PROGRAM/list.csv').expect(404);
    // Deleting a draft program (or its campaign) takes its members along.
    const gone = await program({});
    await m().post(`/v1/programs/${gone.id}/list`).expect(202);
    expect((await built(gone.code)).state).toBe('built');
    const alone = await program({});
    await m().post(`/v1/programs/${alone.id}/list`).expect(202);
    expect((await built(alone.code)).state).toBe('built');
    await m().delete(`/v1/programs/${gone.id}`).expect(204);
    await m().delete(`/v1/campaigns/${alone.campaign.id}`).expect(204);
    const db = new Client({ connectionString: api.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM list_member WHERE program_id = ANY($1)`, [
        [gone.id, alone.id],
      ]);
      expect(rows[0].n).toBe(0);
    } finally {
      await db.end();
    }
  });

  it('keeps an erased address suppressed when it comes back under a new customer (matched by hash)', async () => {
    const fo = uniqueCode('fo').toLowerCase();
    const email = (i: number) => `${fo}-${i}@example.com`;
    await m()
      .post('/v1/customers', {
        customers: [1, 2, 3].map((i) => ({
          externalId: `${fo}-${i}`,
          country: 'FO',
          email: email(i),
          consent: { email: true },
        })),
      })
      .expect(200);
    await api.as('admin').delete(`/v1/customers/${fo}-1`).expect(204);
    await m()
      .post('/v1/customers', { externalId: `${fo}-4`, country: 'FO', email: email(1), consent: { email: true } })
      .expect(201);
    await m()
      .post('/v1/suppressions', { channel: 'email', address: email(2), reason: 'manual' })
      .expect(201);
    const segment = uniqueCode('FAROE');
    await m()
      .post('/v1/segments', { code: segment, name: 'Faroe', criteria: { field: 'country', op: 'eq', value: 'FO' } })
      .expect(201);
    const p = await program({ segment });
    await m().post(`/v1/programs/${p.id}/list`).expect(202);
    const list = await built(p.code);
    expect(list.waterfall[3]).toEqual({
      step: 'suppress',
      remaining: 1,
      removed: 2,
      reasons: { global: 1, manual: 1 },
    });
    const csv = (await m().get(`/v1/programs/${p.code}/list.csv`).expect(200)).text.trim().split('\r\n');
    expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual([`${fo}-3`]);
  });
});
