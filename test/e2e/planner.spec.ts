import { startTestApi, TestApi } from '../support/test-api';
import { aCampaign, anOffer, aProgram, uniqueCode } from '../support/factories';

describe('planner: campaign -> program -> cells', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
    // The template the program factory names: a program's template must exist to schedule or launch it.
    await api
      .as('marketer')
      .post('/v1/templates', { code: 'coupon-email', channel: 'email', subject: 'Your coupon', html: '<p>Hi</p>' })
      .expect(201);
    await api
      .as('marketer')
      .post('/v1/templates', { code: 'coupon-sms', channel: 'sms', body: 'Your coupon' })
      .expect(201);
  });
  afterAll(async () => {
    await api?.close();
  });
  const m = () => api.as('marketer');

  async function campaignWithProgram(programOver: Record<string, unknown> = {}) {
    const campaign = (await m().post('/v1/campaigns', aCampaign()).expect(201)).body;
    const program = (await m().post(`/v1/campaigns/${campaign.id}/programs`, aProgram(programOver)).expect(201)).body;
    return { campaign, program };
  }

  describe('campaigns', () => {
    it('creates, reads by id and by code (any case), updates and lists', async () => {
      const body = aCampaign();
      const created = await m().post('/v1/campaigns', body).expect(201);
      expect(created.body).toMatchObject({
        code: body.code,
        name: body.name,
        objective: body.objective,
        budget: { amount: 5_000_000, currency: 'EUR' },
        startsAt: '2026-01-01T00:00:00.000Z',
        programCount: 0,
      });
      expect(typeof created.body.id).toBe('string');
      const byCode = await api.as('analyst').get(`/v1/campaigns/${body.code.toLowerCase()}`).expect(200);
      expect(byCode.body.id).toBe(created.body.id);
      const patched = await m()
        .patch(`/v1/campaigns/${body.code}`, { name: 'renamed', budget: null, owner: 'crm' })
        .expect(200);
      expect(patched.body).toMatchObject({ name: 'renamed', budget: null, owner: 'crm', code: body.code });
    });

    it('refuses a duplicate code case-insensitively with 409', async () => {
      const body = aCampaign();
      await m().post('/v1/campaigns', body).expect(201);
      const dup = await m()
        .post('/v1/campaigns', { ...body, code: body.code.toLowerCase() })
        .expect(409);
      expect(dup.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: expect.stringContaining(`"${body.code.toLowerCase()}" is already taken`),
      });
    });

    it('names the field in validation errors and leaves nothing behind', async () => {
      const code = uniqueCode('BAD');
      const res = await m()
        .post('/v1/campaigns', { code, name: 'x', budget: { amount: -5, currency: 'euro' }, color: 'red' })
        .expect(400);
      expect(res.body.statusCode).toBe(400);
      expect(res.body.message).toContain('budget.amount');
      expect(res.body.message).toContain('budget.currency');
      expect(res.body.message).toContain('color is not a known field');
      await m().get(`/v1/campaigns/${code}`).expect(404);

      const dates = await m()
        .post('/v1/campaigns', aCampaign({ startsAt: '2026-05-01T00:00:00Z', endsAt: '2026-04-01T00:00:00Z' }))
        .expect(400);
      expect(dates.body.message).toContain('endsAt');
      const badCode = await m()
        .post('/v1/campaigns', aCampaign({ code: 'has space' }))
        .expect(400);
      expect(badCode.body.message).toContain('code');
    });

    it('404s an unknown id or code with the error shape', async () => {
      const res = await m().get('/v1/campaigns/NOPE-NOT-HERE').expect(404);
      expect(res.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'campaign "NOPE-NOT-HERE" not found' });
      await m().get('/v1/campaigns/3f1c2a52-8f9e-4a36-9a57-2c1e6f0d9b11').expect(404);
    });

    it('paginates with limit and cursor, without gaps or repeats', async () => {
      const made = new Set<string>();
      for (let i = 0; i < 7; i++) made.add((await m().post('/v1/campaigns', aCampaign()).expect(201)).body.id);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: { body: { items: { id: string }[]; nextCursor: string | null } } = await m()
          .get(`/v1/campaigns?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
          .expect(200);
        expect(res.body.items.length).toBeLessThanOrEqual(3);
        seen.push(...res.body.items.map((c) => c.id));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor && pages < 50);
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of made) expect(seen).toContain(id);
      await m().get('/v1/campaigns?limit=0').expect(400);
      await m().get('/v1/campaigns?limit=201').expect(400);
      const garbage = await m().get('/v1/campaigns?cursor=%%%garbage').expect(400);
      expect(garbage.body.message).toContain('cursor');
    });

    it('deletes a campaign only while all its programs are drafts', async () => {
      const { campaign, program } = await campaignWithProgram();
      await m().post(`/v1/programs/${program.id}/launch`).expect(200);
      const refused = await m().delete(`/v1/campaigns/${campaign.id}`).expect(409);
      expect(refused.body.message).toContain(`${program.code} (running)`);

      const draft = await campaignWithProgram();
      await m().delete(`/v1/campaigns/${draft.campaign.code}`).expect(204);
      await m().get(`/v1/campaigns/${draft.campaign.id}`).expect(404);
      await m().get(`/v1/programs/${draft.program.id}`).expect(404);
    });
  });

  describe('offers', () => {
    it('validates value by type, and refuses to delete an offer in use', async () => {
      const pct = await m().post('/v1/offers', anOffer()).expect(201);
      expect(pct.body).toMatchObject({ type: 'percent_off', value: 10 });
      const noCurrency = await m()
        .post('/v1/offers', anOffer({ type: 'amount_off', value: 500 }))
        .expect(400);
      expect(noCurrency.body.message).toContain('currency');
      const badPct = await m()
        .post('/v1/offers', anOffer({ value: 150 }))
        .expect(400);
      expect(badPct.body.message).toContain('value');
      const ship = await m()
        .post('/v1/offers', anOffer({ type: 'free_shipping', value: undefined }))
        .expect(201);
      expect(ship.body.value).toBeNull();

      const { program } = await campaignWithProgram({ offer: pct.body.code.toLowerCase() });
      expect(program.offer).toBe(pct.body.code);
      await m().delete(`/v1/offers/${pct.body.id}`).expect(409);
      await m().delete(`/v1/offers/${ship.body.code}`).expect(204);
      const unknown = await m()
        .post(`/v1/campaigns/${program.campaign.id}/programs`, aProgram({ offer: 'NO-SUCH-OFFER' }))
        .expect(400);
      expect(unknown.body.message).toBe('offer "NO-SUCH-OFFER" does not exist');
    });
  });

  describe('programs and cells', () => {
    it('creates a program with cells, each with a unique generated response code', async () => {
      const { program, campaign } = await campaignWithProgram();
      expect(program).toMatchObject({
        state: 'draft',
        channel: 'email',
        campaign: { id: campaign.id, code: campaign.code },
        attributionWindowDays: 14,
        readiness: { launchable: true, weightSum: 100, reason: null },
        editable: { details: true, targeting: true, cells: true, schedule: true, deletable: true },
      });
      expect(program.cells.map((c: { weight: number }) => c.weight)).toEqual([45, 45, 10]);
      expect(program.cells.map((c: { isControl: boolean }) => c.isControl)).toEqual([false, false, true]);
      const codes = program.cells.map((c: { responseCode: string }) => c.responseCode);
      expect(new Set(codes).size).toBe(3);
      for (const code of codes) expect(code).toMatch(/^[2-9A-HJ-NP-Z]{8}$/);
      const cell = await api.as('analyst').get(`/v1/cells/${codes[0]}`).expect(200);
      expect(cell.body.code).toBe(program.cells[0].code);
      expect(cell.body.program).toEqual({ id: program.id, code: program.code });
    });

    it('accepts a custom response code once, and never reissues a deleted one', async () => {
      const { program } = await campaignWithProgram({ cells: [] });
      const custom = uniqueCode('RC').replace(/[^A-Z0-9]/g, '');
      const cell = await m()
        .post(`/v1/programs/${program.id}/cells`, {
          code: uniqueCode('C'),
          weight: 100,
          responseCode: custom.toLowerCase(),
        })
        .expect(201);
      expect(cell.body.responseCode).toBe(custom);
      await m().delete(`/v1/cells/${cell.body.id}`).expect(204);
      const reuse = await m()
        .post(`/v1/programs/${program.id}/cells`, { code: uniqueCode('C'), weight: 100, responseCode: custom })
        .expect(409);
      expect(reuse.body.message).toContain('never reused');
      const bad = await m()
        .post(`/v1/programs/${program.id}/cells`, { code: uniqueCode('C'), weight: 100, responseCode: 'a b!' })
        .expect(400);
      expect(bad.body.message).toContain('responseCode');
    });

    it('refuses duplicate cell codes within a request and across programs', async () => {
      const dupInBody = await m()
        .post(
          `/v1/campaigns/${(await m().post('/v1/campaigns', aCampaign()).expect(201)).body.id}/programs`,
          aProgram({
            cells: [
              { code: 'X1', weight: 50 },
              { code: 'x1', weight: 50 },
            ],
          }),
        )
        .expect(400);
      expect(dupInBody.body.message).toContain('cells[1].code');
      const { program } = await campaignWithProgram();
      const again = await m()
        .post(`/v1/programs/${program.id}/cells`, { code: program.cells[0].code.toLowerCase(), weight: 5 })
        .expect(409);
      expect(again.body.message).toContain('already taken');
    });

    it('validates weights: positive, at most 100', async () => {
      const { program } = await campaignWithProgram({ cells: [] });
      for (const weight of [0, -3, 101]) {
        const res = await m()
          .post(`/v1/programs/${program.id}/cells`, { code: uniqueCode('W'), weight })
          .expect(400);
        expect(res.body.message).toContain('weight');
      }
      const nested = await m()
        .post(
          `/v1/campaigns/${program.campaign.id}/programs`,
          aProgram({ cells: [{ code: uniqueCode('W'), weight: 'ten' }] }),
        )
        .expect(400);
      expect(nested.body.message).toContain('cells[0].weight');
    });

    it('saves weights that do not add up, but schedule and launch refuse naming the sum', async () => {
      const prefix = uniqueCode('S');
      const { program } = await campaignWithProgram({
        cells: [
          { code: `${prefix}-A`, weight: 45 },
          { code: `${prefix}-B`, weight: 45 },
        ],
      });
      expect(program.readiness).toMatchObject({ launchable: false, weightSum: 90 });
      const launch = await m().post(`/v1/programs/${program.id}/launch`).expect(409);
      expect(launch.body.message).toContain('sum to 90');
      const future = new Date(Date.now() + 3600_000).toISOString();
      const schedule = await m().post(`/v1/programs/${program.id}/schedule`, { scheduledAt: future }).expect(409);
      expect(schedule.body.message).toContain('sum to 90');

      const controls = await campaignWithProgram({
        cells: [{ code: `${prefix}-C`, weight: 100, isControl: true }],
      });
      const allControl = await m().post(`/v1/programs/${controls.program.id}/launch`).expect(409);
      expect(allControl.body.message).toContain('control');

      await m()
        .post(`/v1/programs/${program.id}/cells`, { code: `${prefix}-CTL`, weight: 10, isControl: true })
        .expect(201);
      const ok = await m().post(`/v1/programs/${program.id}/launch`).expect(200);
      expect(ok.body.state).toBe('running');
      expect(ok.body.launchedAt).not.toBeNull();
    });

    it('walks the state machine and answers 409 naming the states for illegal changes', async () => {
      const { program } = await campaignWithProgram();
      const id = program.code;
      const future = new Date(Date.now() + 3600_000).toISOString();
      const past = await m().post(`/v1/programs/${id}/schedule`, { scheduledAt: '2020-01-01T00:00:00Z' }).expect(400);
      expect(past.body.message).toContain('scheduledAt');
      expect((await m().post(`/v1/programs/${id}/schedule`, { scheduledAt: future }).expect(200)).body).toMatchObject({
        state: 'scheduled',
        scheduledAt: future,
      });
      const pause = await m().post(`/v1/programs/${id}/pause`).expect(409);
      expect(pause.body.message).toMatch(/scheduled/);
      expect(pause.body.message).toMatch(/pause/);
      expect((await m().post(`/v1/programs/${id}/unschedule`).expect(200)).body.state).toBe('draft');
      expect((await m().post(`/v1/programs/${id}/launch`).expect(200)).body.state).toBe('running');
      expect((await m().post(`/v1/programs/${id}/pause`).expect(200)).body.state).toBe('paused');
      await m().post(`/v1/programs/${id}/pause`).expect(409);
      expect((await m().post(`/v1/programs/${id}/resume`).expect(200)).body.state).toBe('running');
      const cancelled = await m().post(`/v1/programs/${id}/cancel`).expect(200);
      expect(cancelled.body).toMatchObject({ state: 'cancelled', editable: { details: false, deletable: false } });
      expect(cancelled.body.endedAt).not.toBeNull();
      const relaunch = await m().post(`/v1/programs/${id}/launch`).expect(409);
      expect(relaunch.body.message).toContain('cancelled');
      await m().delete(`/v1/programs/${id}`).expect(409);
    });

    it('freezes cells and targeting once the program leaves draft, but lets details change', async () => {
      const { program } = await campaignWithProgram();
      const future = new Date(Date.now() + 3600_000).toISOString();
      await m().post(`/v1/programs/${program.id}/schedule`, { scheduledAt: future }).expect(200);
      const addCell = await m()
        .post(`/v1/programs/${program.id}/cells`, { code: uniqueCode('Z'), weight: 1 })
        .expect(409);
      expect(addCell.body.message).toContain('scheduled');
      await m().patch(`/v1/cells/${program.cells[0].id}`, { weight: 50 }).expect(409);
      await m().delete(`/v1/cells/${program.cells[0].id}`).expect(409);
      const seg = await m().patch(`/v1/programs/${program.id}`, { segment: 'other' }).expect(409);
      expect(seg.body.message).toContain('segment');
      const renamed = await m().patch(`/v1/programs/${program.id}`, { name: 'New name' }).expect(200);
      expect(renamed.body.name).toBe('New name');
      const later = new Date(Date.now() + 7200_000).toISOString();
      expect((await m().patch(`/v1/programs/${program.id}`, { scheduledAt: later }).expect(200)).body.scheduledAt).toBe(
        later,
      );
      await m().delete(`/v1/programs/${program.id}`).expect(409);
    });

    it('edits a draft program and its cells freely, and deletes it', async () => {
      const { program } = await campaignWithProgram();
      const edited = await m()
        .patch(`/v1/programs/${program.id}`, { channel: 'sms', sample: { percent: 25 }, seed: 42, segment: 'vip' })
        .expect(200);
      expect(edited.body).toMatchObject({ channel: 'sms', sample: { percent: 25 }, seed: 42, segment: 'vip' });
      const both = await m()
        .patch(`/v1/programs/${program.id}`, { sample: { size: 5, percent: 5 } })
        .expect(400);
      expect(both.body.message).toContain('sample');
      const cell = await m().patch(`/v1/cells/${program.cells[0].code}`, { weight: 40, name: 'A prime' }).expect(200);
      expect(cell.body).toMatchObject({ weight: 40, name: 'A prime' });
      const after = await m().get(`/v1/programs/${program.id}`).expect(200);
      expect(after.body.readiness).toMatchObject({ launchable: false, weightSum: 95 });
      await m().delete(`/v1/programs/${program.id}`).expect(204);
      await m().get(`/v1/programs/${program.id}`).expect(404);
    });

    it('lists programs filtered by campaign, state and channel', async () => {
      const { campaign, program } = await campaignWithProgram();
      const second = (
        await m()
          .post(`/v1/campaigns/${campaign.id}/programs`, aProgram({ channel: 'sms', template: 'coupon-sms' }))
          .expect(201)
      ).body;
      await m().post(`/v1/programs/${second.id}/launch`).expect(200);
      const all = await m().get(`/v1/campaigns/${campaign.code}/programs`).expect(200);
      expect(all.body.items.map((p: { id: string }) => p.id)).toEqual([program.id, second.id]);
      const running = await m().get(`/v1/programs?campaign=${campaign.id}&state=running`).expect(200);
      expect(running.body.items.map((p: { id: string }) => p.id)).toEqual([second.id]);
      const email = await m().get(`/v1/programs?campaign=${campaign.id}&channel=email`).expect(200);
      expect(email.body.items.map((p: { id: string }) => p.id)).toEqual([program.id]);
      await m().get('/v1/programs?state=flying').expect(400);
      const unknown = await m().get('/v1/programs?campaign=NOPE').expect(400);
      expect(unknown.body.message).toContain('campaign');
      await m().get('/v1/campaigns/NOPE/programs').expect(404);
      const withCount = await m().get(`/v1/campaigns/${campaign.id}`).expect(200);
      expect(withCount.body.programCount).toBe(2);
    });
  });

  describe('audit', () => {
    it('records who changed what, readable by admins only', async () => {
      const { program } = await campaignWithProgram();
      await m().post(`/v1/programs/${program.id}/launch`).expect(200);
      await api.as('analyst').get('/v1/audit').expect(403);
      await api.as('marketer').get('/v1/audit').expect(403);
      const res = await api.as('admin').get(`/v1/audit?entity=${program.code}`).expect(200);
      expect(res.body.items.map((e: { action: string }) => e.action)).toEqual(['program.launch', 'program.create']);
      expect(res.body.items[0]).toMatchObject({
        actor: { name: 'test-marketer' },
        entityType: 'program',
        entityId: program.id,
        changes: { from: 'draft', to: 'running' },
      });
    });
  });
});
