import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '@closeloop/core';
import { APP_CONFIG, AppConfigModule, PersistenceModule } from '@closeloop/persistence';
import { PLANNING_QUEUE, PlanningModule } from '@closeloop/planning';
import { HeartbeatProcessor } from './heartbeat.processor';
import { JobSchedulers } from './job-schedulers';
import { PlanningProcessor } from './planning.processor';
import { HEARTBEAT_QUEUE, WORKER_REDIS } from './queues';
import Redis from 'ioredis';

@Module({
  imports: [
    PersistenceModule,
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({ pinoHttp: { level: config.logLevel }, forRoutes: [] }),
    }),
    BullModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        // maxRetriesPerRequest: null lets workers ride out a Redis restart (commands wait for the
        // reconnect instead of failing).
        connection: { url: config.redisUrl, maxRetriesPerRequest: null },
        prefix: 'closeloop',
        // Redis memory stays bounded (RELIABILITY.md): finished jobs are trimmed by age and count.
        defaultJobOptions: {
          removeOnComplete: { age: 24 * 3600, count: 10_000 },
          removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
        },
      }),
    }),
    BullModule.registerQueue({ name: HEARTBEAT_QUEUE }, { name: PLANNING_QUEUE }),
    PlanningModule,
  ],
  providers: [
    HeartbeatProcessor,
    PlanningProcessor,
    JobSchedulers,
    {
      provide: WORKER_REDIS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new Redis(config.redisUrl, { maxRetriesPerRequest: null }),
    },
  ],
})
export class WorkerModule {
  /** Validates the environment now, at boot, and wires the app to it. */
  static forRoot(): DynamicModule {
    return { module: WorkerModule, imports: [AppConfigModule.forRoot()] };
  }
}
