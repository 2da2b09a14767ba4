// Front door of the delivery lib: queues, dispatcher, send ledger, contact policy, program progress.
export { DeliveryModule } from './delivery.module';
export { DELIVERY_QUEUE, DeliveryJob } from './queues';
export type { DeliveryJobPayloads } from './queues';
export { DeliveryService, DELIVERY_REDIS, DELIVERY_RANDOM, senderOf } from './delivery.service';
export type { BatchOutcome } from './delivery.service';
export { DispatcherService } from './dispatcher.service';
export { ProgressService } from './progress.service';
export { TestSendService } from './test-send.service';
export { ContactPolicyService, DELIVERY_CLOCK } from './contact-policy.service';
export { ChannelRegistry } from './channel-registry';
export type { InboundSmsListener } from './channel-registry';
export type { InboundSms } from '@closeloop/messaging';
export { SendLedgerRepository } from './send-ledger.repository';
export type { BouncedSend, OriginSend, TrackingTarget } from './send-ledger.repository';
export * from './dto/delivery.dto';
export { RateLimiter, KeyedConcurrency } from './rate-limiter';
