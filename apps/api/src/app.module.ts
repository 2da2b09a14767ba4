import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import Redis from 'ioredis';
import { LoggerModule } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '@closeloop/core';
import { AccessModule } from '@closeloop/access';
import { AudienceModule } from '@closeloop/audience';
import { APP_CONFIG, AppConfigModule, PersistenceModule, queueRootOptions } from '@closeloop/persistence';
import { PlanningModule } from '@closeloop/planning';
import { DeliveryModule } from '@closeloop/delivery';
import { TrackingModule } from '@closeloop/tracking';
import { AnalyticsModule } from '@closeloop/analytics';
import { AutomationModule } from '@closeloop/automation';
import { DripController, EventController, RuleController } from './controllers/automation.controller';
import { ReportController } from './controllers/report.controller';
import { ScorecardController } from './controllers/scorecard.controller';
import { ResponseController } from './controllers/response.controller';
import { TrackingController } from './controllers/tracking.controller';
import { DeliveryController } from './controllers/delivery.controller';
import { TemplateController } from './controllers/template.controller';
import { AudienceController } from './controllers/audience.controller';
import { AuditController } from './controllers/audit.controller';
import { CampaignController } from './controllers/campaign.controller';
import { OfferController } from './controllers/offer.controller';
import { ProgramController } from './controllers/program.controller';
import { ImportController } from './controllers/import.controller';
import { HealthController, REDIS } from './health/health.controller';
import { ApiKeyGuard } from './http/auth';
import { ErrorFilter } from './http/error.filter';

@Module({
  imports: [
    PersistenceModule,
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          level: config.logLevel,
          // A caller's X-Request-Id is kept (so a send can be followed across systems), else one is made.
          genReqId: (req, res) => {
            const given = req.headers['x-request-id'];
            const id = typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
            res.setHeader('X-Request-Id', id);
            return id;
          },
          redact: ['req.headers.authorization', 'req.headers.cookie'],
          // Tracking hits are counted in the response history, not logged one by one.
          autoLogging: { ignore: (req) => req.url === '/health' || /^\/(t|u)\//.test(req.url ?? '') },
          customProps: (req) => ({ actor: (req as { actor?: { name: string } }).actor?.name }),
        },
      }),
    }),
    TerminusModule.forRoot({ logger: false }),
    BullModule.forRootAsync({ inject: [APP_CONFIG], useFactory: queueRootOptions }),
    AccessModule,
    PlanningModule,
    AudienceModule,
    DeliveryModule,
    TrackingModule,
    AnalyticsModule,
    AutomationModule,
  ],
  controllers: [
    AudienceController,
    ImportController,
    CampaignController,
    OfferController,
    ProgramController,
    AuditController,
    TemplateController,
    DeliveryController,
    ResponseController,
    ReportController,
    ScorecardController,
    DripController,
    EventController,
    RuleController,
    TrackingController,
    HealthController,
  ],
  providers: [
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_FILTER, useClass: ErrorFilter },
    {
      provide: REDIS,
      inject: [APP_CONFIG],
      // No offline queue: a health ping while Redis is down fails at once instead of hanging.
      useFactory: (config: AppConfig) =>
        new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false }),
    },
  ],
})
export class AppModule {
  /** Validates the environment now, at boot, and wires the app to it. */
  static forRoot(): DynamicModule {
    return { module: AppModule, imports: [AppConfigModule.forRoot()] };
  }
}
