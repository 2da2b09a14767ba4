import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { createTestDatabase } from '@closeloop/persistence';
import { CampaignService, ProgramService } from '@closeloop/planning';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { HEARTBEAT_KEY } from '../../apps/worker/src/queues';
import { uniqueCode } from '../support/factories';
import { startRedis } from '../support/redis-process';

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('worker: heartbeat queue and the program scheduler', () => {
  const marketer = { keyId: null, name: 'worker-test', role: 'marketer' as const };
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const workers: INestApplicationContext[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    db = await createTestDatabase();
    const saved = { ...process.env };
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      NODE_ENV: 'test',
      LOG_LEVEL: 'error',
      SCHEDULER_INTERVAL_MS: '200',
    });
    try {
      // Two workers against one Redis and one database, as in a scaled-out deployment.
      for (let i = 0; i < 2; i++) {
        const ctx = await NestFactory.createApplicationContext(WorkerModule.forRoot(), { logger: false });
        await ctx.init();
        workers.push(ctx);
      }
    } finally {
      process.env = saved;
    }
  });
  afterAll(async () => {
    for (const w of workers) await w.close();
    await db?.drop();
    await redis?.stop();
  });

  it('processes heartbeat jobs from its repeating scheduler', async () => {
    const client = new Redis(redis.url);
    try {
      const beats = await until('a heartbeat', async () => {
        const all = await client.hgetall(HEARTBEAT_KEY);
        return Object.keys(all).length ? all : null;
      });
      for (const at of Object.values(beats)) expect(Date.parse(at)).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      client.disconnect();
    }
  });

  it('launches scheduled programs when their time comes, each exactly once across workers', async () => {
    const programs = workers[0].get(ProgramService);
    const campaign = await workers[0].get(CampaignService).create(marketer, { code: uniqueCode('W'), name: 'w' });
    const at = new Date(Date.now() + 1500).toISOString();
    const scheduled: Awaited<ReturnType<ProgramService['transition']>>[] = [];
    for (let i = 0; i < 5; i++) {
      const code = uniqueCode('WP');
      const p = await programs.create(marketer, campaign.id, {
        code,
        name: code,
        channel: 'sms',
        cells: [
          { code: `${code}-A`, weight: 50 },
          { code: `${code}-B`, weight: 50 },
        ],
      });
      scheduled.push(await programs.transition(marketer, p.id, 'schedule', { scheduledAt: at }));
    }
    expect(scheduled.every((p) => p.state === 'scheduled')).toBe(true);
    await until('all programs running', async () => {
      const states = await Promise.all(scheduled.map((p) => programs.get(p.id)));
      return states.every((p) => p.state === 'running');
    });
    const launches: { n: string }[] = await workers[1]
      .get(DataSource)
      .query(`SELECT count(*) AS n FROM audit_entry WHERE action = 'program.launch' AND actor_name = 'scheduler'`);
    expect(Number(launches[0].n)).toBe(5);
    for (const p of scheduled) {
      const after = await programs.get(p.id);
      expect(Date.parse(after.launchedAt!)).toBeGreaterThanOrEqual(Date.parse(at));
    }
  });
});
