import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '@closeloop/core';
import { APP_CONFIG, AppConfigModule, PersistenceModule, queueRootOptions } from '@closeloop/persistence';
import { PLANNING_QUEUE, PlanningModule } from '@closeloop/planning';
import { AudienceModule } from '@closeloop/audience';
import { DELIVERY_QUEUE, DeliveryModule } from '@closeloop/delivery';
import { InboundSmsResponder, ResponseIngestion, TrackingModule } from '@closeloop/tracking';
import { AUTOMATION_QUEUE, AutomationModule } from '@closeloop/automation';
import { AutomationProcessor } from './automation.processor';
import { DeliveryProcessor } from './delivery.processor';
import { HeartbeatProcessor } from './heartbeat.processor';
import { ListBuildProcessor } from './list-build.processor';
import { ImportProcessor } from './import.processor';
import { JobSchedulers } from './job-schedulers';
import { LIFECYCLE_QUEUE, LifecycleProcessor } from './lifecycle.processor';
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
      useFactory: queueRootOptions,
    }),
    BullModule.registerQueue(
      { name: HEARTBEAT_QUEUE },
      { name: PLANNING_QUEUE },
      { name: DELIVERY_QUEUE },
      { name: LIFECYCLE_QUEUE },
      { name: AUTOMATION_QUEUE },
    ),
    PlanningModule,
    AudienceModule,
    DeliveryModule,
    TrackingModule,
    AutomationModule,
  ],
  providers: [
    ResponseIngestion,
    InboundSmsResponder,
    HeartbeatProcessor,
    PlanningProcessor,
    ListBuildProcessor,
    LifecycleProcessor,
    ImportProcessor,
    DeliveryProcessor,
    AutomationProcessor,
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
