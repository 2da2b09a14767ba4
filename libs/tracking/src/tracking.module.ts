import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '@closeloop/core';
import { APP_CONFIG } from '@closeloop/persistence';
import { ConversionService } from './conversion.service';
import { DeliveryEventsService } from './delivery-events.service';
import { EventBuffer, TRACKING_REDIS } from './event-buffer.service';
import { ResponseWriter } from './response-writer.repository';
import { TrackingService } from './tracking.service';
import { UnsubscribeService } from './unsubscribe.service';

/**
 * Opens, clicks, unsubscribes, provider delivery events, conversions and attribution. Needs
 * PersistenceModule and DeliveryModule (global) in the app. The worker also registers
 * ResponseIngestion (stream -> response rows) and InboundSmsResponder (STOP / START / replies).
 */
@Module({
  providers: [
    {
      provide: TRACKING_REDIS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true }),
    },
    EventBuffer,
    TrackingService,
    UnsubscribeService,
    DeliveryEventsService,
    ConversionService,
    ResponseWriter,
  ],
  exports: [
    TRACKING_REDIS,
    EventBuffer,
    TrackingService,
    UnsubscribeService,
    DeliveryEventsService,
    ConversionService,
    ResponseWriter,
  ],
})
export class TrackingModule implements OnApplicationShutdown {
  constructor(
    @Inject(TRACKING_REDIS) private readonly redis: Redis,
    private readonly buffer: EventBuffer,
  ) {}

  /** After the HTTP server stopped taking requests: drain buffered events, then let Redis go. */
  async onApplicationShutdown(): Promise<void> {
    await this.buffer.drain();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
