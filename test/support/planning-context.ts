import { Global, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Clock } from '@closeloop/core';
import { AppConfigModule, createTestDatabase, PersistenceModule } from '@closeloop/persistence';
import { CLOCK, PlanningModule } from '@closeloop/planning';

/**
 * The planning services on their own fresh database, with an injected clock: a medium test
 * (one lib against real PostgreSQL, no HTTP).
 */
export async function startPlanningContext(clock: Clock): Promise<{
  ctx: INestApplicationContext;
  close(): Promise<void>;
}> {
  const db = await createTestDatabase();
  @Global()
  @Module({ providers: [{ provide: CLOCK, useValue: clock }], exports: [CLOCK] })
  class ClockModule {}
  @Module({ imports: [ClockModule, PersistenceModule, PlanningModule] })
  class TestModule {}
  const saved = { ...process.env };
  Object.assign(process.env, { DATABASE_URL: db.url, NODE_ENV: 'test', LOG_LEVEL: 'error' });
  let ctx: INestApplicationContext;
  try {
    ctx = await NestFactory.createApplicationContext(
      { module: TestModule, imports: [AppConfigModule.forRoot()] },
      { logger: false },
    );
  } finally {
    process.env = saved;
  }
  return {
    ctx,
    close: async () => {
      await ctx.close();
      await db.drop();
    },
  };
}
