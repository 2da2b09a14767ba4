import { BullModule } from '@nestjs/bullmq';
import { INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { AudienceModule, SegmentService, TargetListService } from '@closeloop/audience';
import { largestRemainderShares } from '@closeloop/core';
import { AppConfigModule, createTestDatabase, PersistenceModule } from '@closeloop/persistence';
import { CampaignService, PlanningModule, ProgramService } from '@closeloop/planning';

const N = 100_000;
const actor = { keyId: null, name: 'medium-test', role: 'marketer' as const };

/** Planning and audience services on a fresh database; the build is called directly. */
async function context(): Promise<{ ctx: INestApplicationContext; drop(): Promise<void> }> {
  const db = await createTestDatabase();
  @Module({ imports: [PersistenceModule, PlanningModule, AudienceModule] })
  class TestModule {}
  const saved = { ...process.env };
  Object.assign(process.env, { DATABASE_URL: db.url, NODE_ENV: 'test', LOG_LEVEL: 'error' });
  try {
    const ctx = await NestFactory.createApplicationContext(
      {
        module: TestModule,
        imports: [
          AppConfigModule.forRoot(),
          // Real Redis with a prefix of its own; nothing is queued here, the build is called directly.
          BullModule.forRoot({ connection: { url: process.env.REDIS_URL }, prefix: `tdet${Date.now()}` }),
        ],
      },
      { logger: false },
    );
    return { ctx, drop: async () => (await ctx.close(), await db.drop()) };
  } finally {
    process.env = saved;
  }
}

/**
 * The same 100,000 customers inserted in different physical orders (by id, and shuffled) into two
 * databases get the same list, member by member, with exact 45/45/10 counts; a rebuild too.
 */
describe('target list determinism (real PostgreSQL)', () => {
  const envs: Awaited<ReturnType<typeof context>>[] = [];
  afterAll(async () => {
    for (const e of envs) await e.drop();
  });

  async function buildIn(order: 'sorted' | 'shuffled') {
    const env = await context();
    envs.push(env);
    const ds = env.ctx.get(DataSource);
    // Ids derived from i, so both databases hold the very same customers.
    await ds.query(
      `INSERT INTO customer (id, external_id, email, country, consent_email, lifecycle_stage)
       SELECT md5('customer' || i)::uuid, 'c' || i, 'c' || i || '@example.com', 'DE', true, 'lapsed'
         FROM generate_series(1, $1::int) AS i ORDER BY ${order === 'sorted' ? 'i' : `md5('shuffle' || i)`}`,
      [N],
    );
    await env.ctx
      .get(SegmentService)
      .create(actor, { code: 'all-de', name: 'DE', criteria: { field: 'country', op: 'eq', value: 'DE' } });
    const campaign = await env.ctx.get(CampaignService).create(actor, { code: 'DET', name: 'det' });
    const program = await env.ctx.get(ProgramService).create(actor, campaign.id, {
      code: 'DET-P',
      name: 'det',
      channel: 'email',
      segment: 'all-de',
      seed: 42,
      cells: [
        { code: 'DET-A', weight: 45 },
        { code: 'DET-B', weight: 45 },
        { code: 'DET-C', weight: 10, isControl: true },
      ],
    });
    const list = await env.ctx.get(TargetListService).build(program.id);
    // The whole assignment in one digest (member, cell, rank), and the first members to look at.
    const digest = async () =>
      (
        await ds.query(
          `SELECT count(*)::int AS n, md5(string_agg(m.customer_id || ':' || c.code || ':' || m.rank, ',' ORDER BY m.customer_id)) AS digest
             FROM list_member m JOIN cell c ON c.id = m.cell_id`,
        )
      )[0] as { n: number; digest: string };
    const members: { customer_id: string; cell: string; rank: number }[] = await ds.query(
      `SELECT m.customer_id, c.code AS cell, m.rank FROM list_member m JOIN cell c ON c.id = m.cell_id ORDER BY m.customer_id LIMIT 1000`,
    );
    const first = await digest();
    const rebuilt = await env.ctx.get(TargetListService).build(program.id);
    return { list, members, first, rebuilt, second: await digest() };
  }

  it('assigns every member to the same cell and rank whatever the insert order', async () => {
    const asc = await buildIn('sorted');
    const shuffled = await buildIn('shuffled');
    expect(asc.list.cells.map((c) => c.members)).toEqual(largestRemainderShares(N, [45, 45, 10]));
    expect(asc.list.cells.map((c) => c.members)).toEqual([45_000, 45_000, 10_000]);
    expect(shuffled.list.cells.map((c) => c.members)).toEqual(asc.list.cells.map((c) => c.members));
    expect(asc.first.n).toBe(N);
    expect(shuffled.first).toEqual(asc.first);
    expect(shuffled.members).toEqual(asc.members);
    // A rebuild replaces the list with the very same one.
    expect(asc.rebuilt.cells).toEqual(asc.list.cells);
    expect(asc.second).toEqual(asc.first);
    expect(shuffled.second).toEqual(asc.first);
    // The hash ranking mixes cells over the id order instead of slicing it.
    const firstThousand = asc.members.filter((m) => m.cell === 'DET-A').length;
    expect(firstThousand).toBeGreaterThan(350);
    expect(firstThousand).toBeLessThan(550);
  });
});
