import { INestApplicationContext } from '@nestjs/common';
import { Client } from 'pg';
import { fixedClock, systemActor } from '@closeloop/core';
import { CustomerService, SegmentService } from '@closeloop/audience';
import { DripEngine, DripService, DripTriggers } from '@closeloop/automation';
import { TemplateService } from '@closeloop/messaging';
import { startAutomationContext } from '../support/automation-context';
import { uniqueCode } from '../support/factories';

const actor = systemActor('medium test');

/**
 * Date and segment triggers against real PostgreSQL with a fixed clock: a birthday fires once per
 * year at 09:00 in each customer's own time zone (DST and leap years included), and a segment
 * trigger enrolls those who enter the segment and, when asked, ends the drip for those who leave it.
 */
describe('drip triggers', () => {
  const clock = fixedClock('2026-03-01T00:00:00.000Z');
  let ctx: INestApplicationContext;
  let db: Client;
  let close: () => Promise<void>;
  let template: string;

  beforeAll(async () => {
    const started = await startAutomationContext(clock);
    ctx = started.ctx;
    close = started.close;
    db = new Client({ connectionString: started.databaseUrl });
    await db.connect();
    template = uniqueCode('T');
    await ctx
      .get(TemplateService)
      .create(actor, { code: template, channel: 'email', subject: 'Hi', html: '<p>Hi</p>' });
  });
  afterAll(async () => {
    await db?.end();
    await close?.();
  });

  const enrolled = async (dripId: string) =>
    (
      await db.query(
        `SELECT c.external_id, e.trigger_key, e.state, e.exit_reason FROM drip_enrollment e
           JOIN customer c ON c.id = e.customer_id WHERE e.drip_id = $1 ORDER BY e.entered_at, c.external_id`,
        [dripId],
      )
    ).rows;
  const at = async (iso: string) => {
    clock.set(iso);
    await ctx.get(DripTriggers).run();
  };

  it('fires a birthday once a year at 09:00 local time, in every time zone', async () => {
    const run = uniqueCode('bd').toLowerCase();
    const customers: [string, string | null, string][] = [
      ['tokyo', 'Asia/Tokyo', '1990-03-14'],
      ['london', 'Europe/London', '1985-03-14'],
      ['la', 'America/Los_Angeles', '1979-03-14'],
      ['utc', null, '2001-03-14'],
      ['leap', 'Europe/Berlin', '2000-02-29'],
      ['tomorrow', 'Asia/Tokyo', '1990-03-15'],
    ];
    await ctx.get(CustomerService).upsertBatch(
      actor,
      customers.map(([name, timeZone, birthDate]) => ({
        externalId: `${run}-${name}`,
        email: `${run}-${name}@mail.example`,
        consent: { email: true },
        birthDate,
        ...(timeZone ? { timeZone } : {}),
      })),
    );
    const drips = ctx.get(DripService);
    const drip = await drips.create(actor, {
      code: uniqueCode('BDAY'),
      name: 'Birthday',
      trigger: { type: 'date', field: 'birthDate', offsetDays: 0, at: '09:00' },
      steps: [{ id: 'hb', type: 'send', template }],
    });
    await drips.transition(actor, drip.id, 'activate');
    const names = async () =>
      (await enrolled(drip.id)).map((r) => `${r.external_id.slice(run.length + 1)} ${r.trigger_key}`);

    await at('2026-03-13T23:59:59.999Z');
    expect(await names()).toEqual([]);
    // 09:00 in Tokyo (UTC+9) is midnight UTC.
    await at('2026-03-14T00:00:00.000Z');
    expect(await names()).toEqual(['tokyo date:2026-03-14']);
    await at('2026-03-14T00:00:00.000Z'); // evaluated again: nothing twice
    await at('2026-03-14T08:59:59.999Z');
    expect(await names()).toEqual(['tokyo date:2026-03-14']);
    // London is still on GMT in mid-March; no time zone means UTC.
    await at('2026-03-14T09:00:00.000Z');
    expect(await names()).toEqual(['tokyo date:2026-03-14', 'london date:2026-03-14', 'utc date:2026-03-14']);
    // Los Angeles moved to PDT (UTC-7) on 8 March: 09:00 there is 16:00 UTC.
    await at('2026-03-14T15:59:59.999Z');
    expect(await names()).toHaveLength(3);
    await at('2026-03-14T16:00:00.000Z');
    expect((await names()).slice(3)).toEqual(['la date:2026-03-14']);
    await at('2026-03-15T00:00:00.000Z');
    expect((await names()).slice(4)).toEqual(['tomorrow date:2026-03-15']);

    // The enrollments run their step and end; next year it fires again, once.
    await ctx.get(DripEngine).tick();
    expect((await enrolled(drip.id)).every((r) => r.state === 'completed')).toBe(true);
    // A 29 February birthday is kept on the 28th in a common year (09:00 in Berlin is 08:00 UTC in winter).
    await at('2027-02-28T07:59:59.999Z');
    expect(await names()).toHaveLength(5);
    await at('2027-02-28T08:00:00.000Z');
    expect((await names()).slice(5)).toEqual(['leap date:2027-02-28']);
    await at('2027-03-14T00:00:00.000Z');
    expect((await names()).slice(6)).toEqual(['tokyo date:2027-03-14']);
    // A worker down for a day: what fell within the catch-up window (24 h) still fires, once; older is missed.
    await at('2027-03-15T12:00:00.000Z');
    expect((await names()).slice(7).sort()).toEqual(['la date:2027-03-14', 'tomorrow date:2027-03-15']);
    // Still in last year's enrollment (re-entry after-exit): this year's birthday waits for it to end.
    await at('2028-02-29T07:00:00.000Z');
    await at('2028-02-29T08:00:00.000Z');
    expect(await names()).toHaveLength(9);
    await ctx.get(DripEngine).tick();
    await at('2028-02-29T08:00:00.000Z');
    expect((await names()).slice(9)).toEqual(['leap date:2028-02-29']);
    expect((await enrolled(drip.id)).length).toBe(10);
  });

  it('enrolls customers who enter the segment, and ends the drip for those who leave it', async () => {
    clock.set('2026-06-01T10:00:00.000Z');
    const run = uniqueCode('seg').toLowerCase();
    const customers = ctx.get(CustomerService);
    const setTier = (name: string, tier: string) =>
      customers.upsertBatch(actor, [
        {
          externalId: `${run}-${name}`,
          email: `${run}-${name}@mail.example`,
          consent: { email: true },
          attributes: { run, tier },
        },
      ]);
    await setTier('gold', 'gold');
    await setTier('silver', 'silver');
    const segment = uniqueCode('GOLD');
    await ctx.get(SegmentService).create(actor, {
      code: segment,
      name: 'gold',
      criteria: {
        all: [
          { field: 'attributes.run', op: 'eq', value: run },
          { field: 'attributes.tier', op: 'eq', value: 'gold' },
        ],
      },
    });
    const drips = ctx.get(DripService);
    const newcomers = await drips.create(actor, {
      code: uniqueCode('NEWGOLD'),
      name: 'new gold members',
      trigger: { type: 'segment', segment },
      exit: { leftSegment: true },
      steps: [
        { id: 'w', type: 'wait', duration: 'P7D' },
        { id: 's', type: 'send', template },
      ],
    });
    const everyone = await drips.create(actor, {
      code: uniqueCode('ALLGOLD'),
      name: 'all gold members',
      trigger: { type: 'segment', segment, existing: true },
      steps: [{ id: 'w', type: 'wait', duration: 'P7D' }],
    });
    await drips.transition(actor, newcomers.id, 'activate');
    await drips.transition(actor, everyone.id, 'activate');
    await ctx.get(DripTriggers).run();
    // Members at activation: only the drip that asked for them enrolls them.
    expect((await enrolled(newcomers.id)).map((r) => r.external_id)).toEqual([]);
    expect((await enrolled(everyone.id)).map((r) => r.external_id)).toEqual([`${run}-gold`]);

    await setTier('silver', 'gold');
    await ctx.get(DripTriggers).run();
    await ctx.get(DripEngine).tick();
    expect((await enrolled(newcomers.id)).map((r) => [r.external_id, r.state])).toEqual([[`${run}-silver`, 'active']]);
    await ctx.get(DripTriggers).run(); // no change: nothing new
    expect(await enrolled(newcomers.id)).toHaveLength(1);

    await setTier('silver', 'silver');
    await ctx.get(DripTriggers).run();
    expect((await enrolled(newcomers.id)).map((r) => [r.external_id, r.state, r.exit_reason])).toEqual([
      [`${run}-silver`, 'exited', 'left segment'],
    ]);
    // Coming back is entering again (re-entry after-exit).
    await setTier('silver', 'gold');
    await ctx.get(DripTriggers).run();
    expect((await enrolled(newcomers.id)).map((r) => r.state)).toEqual(['exited', 'active']);
  });

  it('puts off an enrollment whose step keeps failing, then ends it, without holding up the others', async () => {
    clock.set('2026-07-01T10:00:00.000Z');
    const run = uniqueCode('poison').toLowerCase();
    await ctx.get(CustomerService).upsertBatch(
      actor,
      ['ok-1', 'bad', 'ok-2'].map((name) => ({
        externalId: `${run}-${name}`,
        email: `${run}-${name}@mail.example`,
        consent: { email: true },
      })),
    );
    const drips = ctx.get(DripService);
    const drip = await drips.create(actor, {
      code: uniqueCode('POISON'),
      name: 'poison',
      trigger: { type: 'event', event: 'x' },
      steps: [{ id: 's', type: 'send', template }],
    });
    await drips.transition(actor, drip.id, 'activate');
    await drips.enroll(actor, drip.id, [`${run}-ok-1`, `${run}-bad`, `${run}-ok-2`]);
    // A fault only this customer's send meets (a stand-in for any step that cannot be done for one enrollment).
    await db.query(`
      CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM customer c WHERE c.id = NEW.customer_id AND c.external_id LIKE '%-bad') THEN
          RAISE EXCEPTION 'poisoned send';
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER poison BEFORE INSERT ON send FOR EACH ROW EXECUTE FUNCTION poison()`);
    try {
      const engine = ctx.get(DripEngine);
      await engine.tick();
      const state = async () =>
        (
          await db.query(
            `SELECT c.external_id, e.state, e.failures, e.exit_reason, e.due_at FROM drip_enrollment e
               JOIN customer c ON c.id = e.customer_id WHERE e.drip_id = $1 ORDER BY c.external_id`,
            [drip.id],
          )
        ).rows;
      const first = await state();
      expect(first.map((r) => [r.external_id.slice(run.length + 1), r.state, r.failures])).toEqual([
        ['bad', 'active', 1],
        ['ok-1', 'completed', 0],
        ['ok-2', 'completed', 0],
      ]);
      // Put off by a minute, then 2, 4, 8: four more failures end it.
      expect(new Date(first[0].due_at).toISOString()).toBe('2026-07-01T10:01:00.000Z');
      for (const minutes of [1, 2, 4, 8]) {
        clock.advance(minutes * 60_000);
        await engine.tick();
      }
      const [bad] = await state();
      expect([bad.state, bad.failures, bad.exit_reason]).toEqual(['exited', 5, 'error']);
      const report = await drips.get(drip.id);
      expect(report.enrollments).toMatchObject({ total: 3, completed: 2, exited: 1 });
    } finally {
      await db.query(`DROP TRIGGER poison ON send`);
    }
  });

  it('ends a waiting enrollment on an unsubscribe from a channel the drip sends on, not another', async () => {
    clock.set('2026-08-01T10:00:00.000Z');
    const run = uniqueCode('unsub').toLowerCase();
    await ctx.get(CustomerService).upsertBatch(
      actor,
      ['texted-stop', 'mailed-unsub'].map((name, i) => ({
        externalId: `${run}-${name}`,
        email: `${run}-${name}@mail.example`,
        phone: `+4915100009${String(i).padStart(3, '0')}`,
        consent: { email: true, sms: true },
      })),
    );
    const drips = ctx.get(DripService);
    const drip = await drips.create(actor, {
      code: uniqueCode('MAILONLY'),
      name: 'email only',
      trigger: { type: 'event', event: 'x' },
      steps: [
        { id: 'w', type: 'wait', duration: 'P7D' },
        { id: 's', type: 'send', template },
      ],
    });
    await drips.transition(actor, drip.id, 'activate');
    await drips.enroll(actor, drip.id, [`${run}-texted-stop`, `${run}-mailed-unsub`]);
    await ctx.get(DripEngine).tick();
    // A STOP by text and an unsubscribe from an email, both recorded after they entered the wait.
    await db.query(
      `INSERT INTO suppression (channel, address, address_hash, customer_id, reason, source, created_by, created_at)
       SELECT v.channel, v.address, sha256(convert_to(v.address, 'UTF8')), c.id, 'unsubscribed', 'test', 'test', now()
         FROM (VALUES ('sms', $1, $2), ('email', $3, $4)) AS v(channel, address, customer)
         JOIN customer c ON c.external_id = v.customer`,
      ['+4915100009000', `${run}-texted-stop`, `${run}-mailed-unsub@mail.example`, `${run}-mailed-unsub`],
    );
    await ctx.get(DripTriggers).run();
    expect((await enrolled(drip.id)).map((r) => [r.external_id.slice(run.length + 1), r.state, r.exit_reason])).toEqual(
      [
        ['mailed-unsub', 'exited', 'unsubscribed'],
        ['texted-stop', 'active', null],
      ],
    );
  });
});
