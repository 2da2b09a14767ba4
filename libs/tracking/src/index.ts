// Front door of the tracking lib: opens, clicks, unsubscribes, delivery events, conversions.
export { TrackingModule } from './tracking.module';
export { TrackingService } from './tracking.service';
export type { HitMeta, ClickAnswer } from './tracking.service';
export { EventBuffer, TRACKING_REDIS } from './event-buffer.service';
export { UnsubscribeService } from './unsubscribe.service';
export { DeliveryEventsService, WebhookRejected } from './delivery-events.service';
export { ConversionService } from './conversion.service';
export { ResponseWriter, impliedOpenId } from './response-writer.repository';
export { ResponseIngestion } from './response-ingestion.service';
export { InboundSmsResponder } from './inbound-sms.listener';
export { AbuseLimiter } from './abuse-limiter';
export * from './unsubscribe-page';
export * from './tracking-events';
export * from './dto/tracking.dto';
