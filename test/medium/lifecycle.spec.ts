import { Global, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AUDIENCE_CLOCK, LifecycleService } from '@closeloop/audience';
import {
  compileCriteria,
  DAY_MS,
  fixedClock,
  LIFECYCLE_STAGES,
  lifecycleStage,
  LifecycleStage,
  orderTiming,
} from '@closeloop/core';
import { AppConfigModule, createTestDatabase, PersistenceModule } from '@closeloop/persistence';

/** Seeded, so a failure replays exactly (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface GeneratedCustomer {
  id: string;
  given: LifecycleStage;
  orders: Date[];
}

/**
 * Random customers and orders, plus every threshold to the millisecond (exactly 90, 180 and 365
 * days, and one millisecond past; a won-back gap of exactly 365 days and one millisecond more; two
 * orders at the same instant), in a database whose session time zone has daylight saving time.
 */
function generate(now: Date, count: number, seed: number): GeneratedCustomer[] {
  const random = rng(seed);
  const ago = (days: number, ms = 0) => new Date(now.getTime() - days * DAY_MS - ms);
  const given = () => LIFECYCLE_STAGES[Math.floor(random() * LIFECYCLE_STAGES.length)];
  const edges: Date[][] = [
    [],
    [ago(90)],
    [ago(90, 1)],
    [ago(180)],
    [ago(180, 1)],
    [ago(365)],
    [ago(365, 1)],
    [ago(30 + 365), ago(30)],
    [ago(30 + 365, 1), ago(30)],
    [ago(400), ago(180), ago(180)],
    [ago(900), ago(10), ago(10)],
    [ago(2000), ago(1500), ago(179)],
    [new Date(now.getTime() + DAY_MS)],
    // 90 days before a summer-time now is winter time: a calendar "90 days" would end an hour later.
    [ago(90, -30 * 60_000)],
    // A gap across the DST change of 2025-03-30: 30 minutes short of 365 days of 24 hours, but more
    // than "365 days" of the Berlin calendar.
    [new Date('2025-03-29T12:30:00Z'), new Date('2026-03-29T12:00:00Z')],
  ];
  const customers: GeneratedCustomer[] = edges.map((orders) => ({ id: randomUUID(), given: given(), orders }));
  for (let i = customers.length; i < count; i++) {
    const n = random() < 0.15 ? 0 : 1 + Math.floor(random() * 5);
    // Mostly within four years, a few orders clustered near the thresholds.
    const orders = Array.from({ length: n }, () => {
      const near = [90, 180, 365][Math.floor(random() * 3)];
      const days = random() < 0.2 ? near + (random() - 0.5) * 2 : random() * 1500;
      return new Date(now.getTime() - Math.round(days * DAY_MS));
    });
    customers.push({ id: randomUUID(), given: given(), orders });
  }
  return customers;
}

describe('lifecycle recompute on PostgreSQL agrees with the core rule', () => {
  const clock = fixedClock('2026-04-15T00:00:00.000Z'); // summer time in Europe/Berlin, the session zone
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ctx: INestApplicationContext;
  let lifecycle: LifecycleService;
  let sql: Client;
  const customers = generate(clock.now(), 3000, 20260329);

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = new Client({ connectionString: db.url });
    await sql.connect();
    // Calendar arithmetic in a zone with DST would move a cutoff by an hour; the recompute must not.
    await sql.query(`ALTER DATABASE ${db.name} SET timezone TO 'Europe/Berlin'`);
    await sql.query(
      `INSERT INTO customer (id, external_id, lifecycle_stage)
       SELECT id, 'lc-' || id, stage FROM unnest($1::uuid[], $2::text[]) AS t(id, stage)`,
      [customers.map((c) => c.id), customers.map((c) => c.given)],
    );
    const orders = customers.flatMap((c) => c.orders.map((at) => ({ customer: c.id, at })));
    await sql.query(
      `INSERT INTO customer_order (external_id, customer_id, ordered_at, amount, currency)
       SELECT 'o-' || i, customer, at, 1000, 'EUR' FROM unnest($1::uuid[], $2::timestamptz[]) WITH ORDINALITY AS t(customer, at, i)`,
      [orders.map((o) => o.customer), orders.map((o) => o.at.toISOString())],
    );

    @Global()
    @Module({ providers: [{ provide: AUDIENCE_CLOCK, useValue: clock }], exports: [AUDIENCE_CLOCK] })
    class ClockModule {}
    @Module({ imports: [ClockModule, PersistenceModule], providers: [LifecycleService] })
    class TestModule {}
    const saved = { ...process.env };
    Object.assign(process.env, { DATABASE_URL: db.url, NODE_ENV: 'test', LOG_LEVEL: 'error' });
    try {
      ctx = await NestFactory.createApplicationContext(
        { module: TestModule, imports: [AppConfigModule.forRoot()] },
        { logger: false },
      );
    } finally {
      process.env = saved;
    }
    lifecycle = ctx.get(LifecycleService);
  });
  afterAll(async () => {
    await ctx?.close();
    await sql?.end();
    await db?.drop();
  });

  async function stored(): Promise<Map<string, string>> {
    const { rows } = await sql.query(`SELECT id, lifecycle_stage FROM customer`);
    return new Map(rows.map((r: { id: string; lifecycle_stage: string }) => [r.id, r.lifecycle_stage]));
  }

  /** Each customer's stage by the core rule at `now`; customers without orders keep what they had. */
  function expected(now: Date, before: Map<string, string>): Map<string, string> {
    return new Map(
      customers.map((c) => [c.id, c.orders.length ? lifecycleStage(orderTiming(c.orders), now) : before.get(c.id)!]),
    );
  }

  function differences(actual: Map<string, string>, want: Map<string, string>) {
    return customers
      .filter((c) => actual.get(c.id) !== want.get(c.id))
      .map((c) => ({ orders: c.orders.map((d) => d.toISOString()), sql: actual.get(c.id), core: want.get(c.id) }));
  }

  it('sets every customer with orders to the stage the core rule gives, and reports what moved', async () => {
    const before = await stored();
    const want = expected(clock.now(), before);
    const result = await lifecycle.recompute();
    const after = await stored();
    expect(differences(after, want)).toEqual([]);

    const withOrders = customers.filter((c) => c.orders.length);
    const moved = Object.fromEntries(LIFECYCLE_STAGES.map((s) => [s, 0]));
    for (const c of withOrders) if (before.get(c.id) !== want.get(c.id)) moved[want.get(c.id)!]++;
    expect(result).toEqual({
      at: clock.now().toISOString(),
      evaluated: withOrders.length,
      changed: Object.values(moved).reduce((a, b) => a + b, 0),
      movedTo: moved,
    });
    expect(result.movedTo.prospect).toBe(0);
    // every stage but prospect is reached by the generated data, so each branch of the SQL is exercised
    for (const stage of LIFECYCLE_STAGES.filter((s) => s !== 'prospect')) {
      expect({ stage, n: withOrders.filter((c) => after.get(c.id) === stage).length }).not.toEqual({ stage, n: 0 });
    }
  });

  it('leaves customers without an order at the stage they were given', async () => {
    const after = await stored();
    const none = customers.filter((c) => !c.orders.length);
    expect(none.length).toBeGreaterThan(100);
    expect(none.filter((c) => after.get(c.id) !== c.given)).toEqual([]);
  });

  it('changes nothing when run again at the same time', async () => {
    const { rows } = await sql.query(`SELECT max(updated_at) AS at FROM customer`);
    const again = await lifecycle.recompute();
    expect(again.changed).toBe(0);
    expect(again.evaluated).toBe(customers.filter((c) => c.orders.length).length);
    const { rows: later } = await sql.query(`SELECT max(updated_at) AS at FROM customer`);
    expect(later[0].at).toEqual(rows[0].at);
  });

  it('moves stages with the clock alone, and two runs at once end in the same stages', async () => {
    for (const days of [45, 200, 365]) {
      clock.advance(days * DAY_MS + 1234);
      const before = await stored();
      const want = expected(clock.now(), before);
      const [a, b] = await Promise.all([lifecycle.recompute(), lifecycle.recompute()]);
      expect(differences(await stored(), want)).toEqual([]);
      // one ran first (advisory lock) and moved everything; the other found nothing left to move
      expect([a.changed, b.changed].sort((x, y) => x - y)[0]).toBe(0);
      expect(Math.max(a.changed, b.changed)).toBeGreaterThan(0);
    }
  });

  it('computes as of a given time when asked (the CLI --at option)', async () => {
    const at = new Date('2026-01-01T00:00:00.000Z');
    const before = await stored();
    await lifecycle.recompute(at);
    expect(differences(await stored(), expected(at, before))).toEqual([]);
  });

  it('is what the lifecycleStage segment field reads', async () => {
    const ds = ctx.get(DataSource);
    const after = await stored();
    const { sql: where, params } = compileCriteria(
      { field: 'lifecycleStage', op: 'eq', value: 'won-back' },
      { now: clock.now(), segment: () => null },
    );
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM customer c WHERE ${where}`, params);
    expect(n).toBe([...after.values()].filter((s) => s === 'won-back').length);
    expect(n).toBeGreaterThan(0);
  });
});
