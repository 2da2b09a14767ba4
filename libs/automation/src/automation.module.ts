import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { AppConfig, ConfigError } from '@closeloop/core';
import { AudienceModule } from '@closeloop/audience';
import { APP_CONFIG } from '@closeloop/persistence';
import { PlanningModule } from '@closeloop/planning';
import { AutomationEvents } from './automation-events.service';
import { AutomationListeners } from './automation-listeners';
import { AutomationProgramListener } from './automation-program.listener';
import { DripCatalog } from './drip-catalog';
import { DripEngine } from './drip-engine.service';
import { DripTriggers } from './drip-triggers.service';
import { DripService } from './drip.service';
import { EnrollmentRepository } from './enrollment.repository';
import { OutboundWebhookSender } from './outbound-webhook';
import { AUTOMATION_QUEUE } from './queues';
import { RuleActions } from './rule-actions.service';
import { RuleService } from './rule.service';

/**
 * Drips, customer events and business rules. Needs PersistenceModule, DeliveryModule (global: the
 * send ledger and outbox) and BullModule.forRoot in the app; the worker adds the processor.
 */
@Module({
  imports: [BullModule.registerQueue({ name: AUTOMATION_QUEUE }), AudienceModule, PlanningModule],
  providers: [
    AutomationListeners,
    DripCatalog,
    EnrollmentRepository,
    AutomationEvents,
    DripService,
    DripEngine,
    DripTriggers,
    RuleService,
    RuleActions,
    AutomationProgramListener,
    {
      provide: OutboundWebhookSender,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        let ca: string | undefined;
        if (config.outboundWebhookCa) {
          try {
            ca = readFileSync(config.outboundWebhookCa, 'utf8');
          } catch (error) {
            throw new ConfigError('OUTBOUND_WEBHOOK_CA', `cannot be read: ${(error as Error).message}`);
          }
        }
        return new OutboundWebhookSender({
          allowedHosts: config.outboundWebhookHosts,
          allowPrivate: config.outboundWebhookAllowPrivate,
          secret: config.outboundWebhookSecret,
          ca,
        });
      },
    },
  ],
  exports: [AutomationEvents, DripService, DripEngine, DripTriggers, RuleService, RuleActions, OutboundWebhookSender],
})
export class AutomationModule {}
