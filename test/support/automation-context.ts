import { BullModule } from '@nestjs/bullmq';
import { Global, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import { Clock } from '@closeloop/core';
import { AUTOMATION_CLOCK, AutomationModule } from '@closeloop/automation';
import { AudienceModule } from '@closeloop/audience';
import { DeliveryModule } from '@closeloop/delivery';
import {
  AppConfigModule,
  createTestDatabase,
  PersistenceModule,
  queueRootOptions,
  APP_CONFIG,
} from '@closeloop/persistence';
import { PlanningModule } from '@closeloop/planning';

/**
 * The automation services on their own fresh database and queue prefix, with an injected clock and
 * no worker: a medium test calls the engine and the triggers itself, at the instants it chooses.
 */
export async function startAutomationContext(clock: Clock): Promise<{
  ctx: INestApplicationContext;
  databaseUrl: string;
  close(): Promise<void>;
}> {
  const db = await createTestDatabase();
  @Global()
  @Module({ providers: [{ provide: AUTOMATION_CLOCK, useValue: clock }], exports: [AUTOMATION_CLOCK] })
  class ClockModule {}
  @Module({
    imports: [
      ClockModule,
      PersistenceModule,
      BullModule.forRootAsync({ inject: [APP_CONFIG], useFactory: queueRootOptions }),
      PlanningModule,
      AudienceModule,
      DeliveryModule,
      AutomationModule,
    ],
  })
  class TestModule {}
  const saved = { ...process.env };
  Object.assign(process.env, {
    DATABASE_URL: db.url,
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    QUEUE_PREFIX: `m${randomBytes(4).toString('hex')}`,
  });
  let ctx: INestApplicationContext;
  try {
    ctx = await NestFactory.createApplicationContext(
      { module: TestModule, imports: [AppConfigModule.forRoot()] },
      { logger: false },
    );
    await ctx.init();
  } finally {
    process.env = saved;
  }
  return {
    ctx,
    databaseUrl: db.url,
    close: async () => {
      await ctx.close();
      await db.drop();
    },
  };
}
