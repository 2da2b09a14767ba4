// Front door of the automation lib: drips, customer events, business rules.
export { AutomationModule } from './automation.module';
export { AUTOMATION_QUEUE, AutomationJob, TICK_KICK_JOB_ID } from './queues';
export type { AutomationJobPayloads } from './queues';
export { AUTOMATION_CLOCK } from './automation-clock';
export { AutomationEvents } from './automation-events.service';
export type { InternalEvent } from './automation-events.service';
export { DripService } from './drip.service';
export { DripEngine } from './drip-engine.service';
export { DripTriggers, DATE_TRIGGER_CATCH_UP_MS } from './drip-triggers.service';
export { RuleService, ruleProgramCode, ruleHoldoutCode } from './rule.service';
export { RuleActions } from './rule-actions.service';
export type { ActionResult } from './rule-actions.service';
export { OutboundWebhookSender, OutboundWebhookError } from './outbound-webhook';
export type { OutboundWebhookOptions } from './outbound-webhook';
export { mainProgramCode, splitProgramCode } from './drip-catalog';
export * from './dto/drip.dto';
export * from './dto/event.dto';
export * from './dto/rule.dto';
