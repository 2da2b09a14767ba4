import { BullModule } from '@nestjs/bullmq';
import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '@closeloop/core';
import { AudienceModule } from '@closeloop/audience';
import { MessagingModule } from '@closeloop/messaging';
import { APP_CONFIG } from '@closeloop/persistence';
import { PlanningModule, PROGRAM_STATE_LISTENERS } from '@closeloop/planning';
import { ChannelRegistry } from './channel-registry';
import { ContactPolicyService } from './contact-policy.service';
import { DeliveryProgramListener } from './delivery-program.listener';
import { DELIVERY_REDIS, DeliveryService } from './delivery.service';
import { DispatcherService } from './dispatcher.service';
import { ProgressService } from './progress.service';
import { DELIVERY_QUEUE } from './queues';
import { SendLedgerRepository } from './send-ledger.repository';
import { TestSendService } from './test-send.service';

/**
 * Queues, dispatcher, send ledger, contact policy, channels. Global so that planning's
 * ProgramService (in PlanningModule) finds the state listener. Needs PersistenceModule and
 * BullModule.forRoot in the app.
 */
@Global()
@Module({
  imports: [BullModule.registerQueue({ name: DELIVERY_QUEUE }), MessagingModule, AudienceModule, PlanningModule],
  providers: [
    SendLedgerRepository,
    ContactPolicyService,
    ChannelRegistry,
    DeliveryService,
    DispatcherService,
    ProgressService,
    TestSendService,
    DeliveryProgramListener,
    {
      provide: PROGRAM_STATE_LISTENERS,
      useFactory: (l: DeliveryProgramListener) => [l],
      inject: [DeliveryProgramListener],
    },
    {
      provide: DELIVERY_REDIS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true }),
    },
  ],
  exports: [
    SendLedgerRepository,
    ContactPolicyService,
    ChannelRegistry,
    DeliveryService,
    DispatcherService,
    ProgressService,
    TestSendService,
    PROGRAM_STATE_LISTENERS,
    MessagingModule,
  ],
})
export class DeliveryModule implements OnApplicationShutdown {
  constructor(@Inject(DELIVERY_REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
