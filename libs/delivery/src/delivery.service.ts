import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import {
  AppConfig,
  classifySmppStatus,
  classifySmtpError,
  Clock,
  ConflictError,
  ContactPolicy,
  DEFAULT_SEND_BACKOFF,
  frequencyCapDecision,
  nextAllowedTime,
  planSms,
  retryDelayMs,
  SendState,
  shouldRetry,
  signTrackingToken,
  systemClock,
  ValidationError,
} from '@closeloop/core';
import {
  CompiledTemplate,
  EmailSendError,
  SmsConnectionError,
  SmsSubmitError,
  TemplateService,
  toRenderContext,
} from '@closeloop/messaging';
import { APP_CONFIG } from '@closeloop/persistence';
import { ChannelRegistry } from './channel-registry';
import { ContactPolicyService, DELIVERY_CLOCK } from './contact-policy.service';
import { DELIVERY_QUEUE, DeliveryJob, DeliveryJobPayloads } from './queues';
import { KeyedConcurrency, RateLimiter } from './rate-limiter';
import { ClaimedSend, SendLedgerRepository, SendResult } from './send-ledger.repository';

export const DELIVERY_REDIS = Symbol('DELIVERY_REDIS');
export const DELIVERY_RANDOM = Symbol('DELIVERY_RANDOM');

export interface BatchOutcome {
  claimed: number;
  byState: Partial<Record<SendState, number>>;
}

/** The From address and the domain our Message-IDs and unsubscribe mailto use. */
export function senderOf(mailFrom: string | undefined): { from: string; domain: string } {
  const from = mailFrom ?? 'Closeloop <noreply@closeloop.localhost>';
  const address = /<([^>]+)>/.exec(from)?.[1] ?? from;
  return { from, domain: address.split('@')[1].toLowerCase() };
}

/**
 * Delivers batches of sends: claim in the ledger, apply the contact policy, render, hand to the
 * channel, write every outcome back in one statement. A send is claimed before anything is said
 * to a peer, so a batch BullMQ runs twice finds it claimed or sent and sends nothing.
 */
@Injectable()
export class DeliveryService {
  private readonly logger = new Logger(DeliveryService.name);
  private readonly sender: { from: string; domain: string };
  private readonly domains: KeyedConcurrency;
  private readonly smtpRate: RateLimiter | null;
  private readonly smsRate: RateLimiter | null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ledger: SendLedgerRepository,
    private readonly templates: TemplateService,
    private readonly channels: ChannelRegistry,
    private readonly policies: ContactPolicyService,
    @InjectQueue(DELIVERY_QUEUE) private readonly queue: Queue,
    @Inject(DELIVERY_REDIS) redis: Redis,
    @Optional() @Inject(DELIVERY_CLOCK) private readonly clock: Clock = systemClock,
    @Optional() @Inject(DELIVERY_RANDOM) private readonly random: () => number = Math.random,
  ) {
    this.sender = senderOf(config.mailFrom);
    this.domains = new KeyedConcurrency(config.smtpDomainConcurrency);
    const prefix = `${config.queuePrefix}:rate`;
    this.smtpRate = config.smtpRate ? new RateLimiter(redis, `${prefix}:smtp`, config.smtpRate) : null;
    this.smsRate = config.smsRate ? new RateLimiter(redis, `${prefix}:sms`, config.smsRate) : null;
  }

  async deliverBatch(sendIds: string[]): Promise<BatchOutcome> {
    const token = randomUUID();
    const claimed = await this.ledger.claim(sendIds, token, this.clock.now(), this.config.sendClaimTimeoutMs);
    if (!claimed.length) return { claimed: 0, byState: {} };
    const policy = await this.policies.get();
    const results: SendResult[] = [];
    const eligible = await this.applyPolicy(claimed, policy, results);
    await Promise.all(eligible.map(async (send) => results.push(await this.deliverOne(send))));
    await this.ledger.record(token, results, this.clock.now());

    const bounced = results.filter((r) => r.state === 'bounced');
    if (bounced.length) {
      const byId = new Map(claimed.map((s) => [s.id, s]));
      await this.ledger.suppressBounced(
        claimed[0].channel,
        bounced.map((r) => ({
          id: r.id,
          address: byId.get(r.id)!.address,
          customerId: byId.get(r.id)!.customer_id,
          detail: r.error,
        })),
        `delivery:${claimed[0].program_code}`,
      );
    }
    await this.scheduleDeferred(claimed[0].program_id, results, claimed);
    const byState: Partial<Record<SendState, number>> = {};
    for (const r of results) byState[r.state] = (byState[r.state] ?? 0) + 1;
    return { claimed: claimed.length, byState };
  }

  /**
   * Suppressed, unconsented or erased since the list was built: suppressed. Quiet hours in the
   * customer's zone, or a frequency cap across programs: deferred to when it is allowed.
   */
  private async applyPolicy(claimed: ClaimedSend[], policy: ContactPolicy, results: SendResult[]) {
    const channel = claimed[0].channel;
    const now = this.clock.now();
    const suppressed = await this.ledger.suppressedAmong(channel, claimed);
    const cap = policy.frequencyCap;
    const recent = cap
      ? await this.ledger.recentContacts(
          channel,
          claimed.map((s) => s.customer_id),
          new Date(now.getTime() - cap.periodHours * 3_600_000),
          claimed.map((s) => s.id),
        )
      : new Map<string, Date[]>();
    const quiet = policy.quietHours[channel];
    const eligible: ClaimedSend[] = [];
    for (const send of claimed) {
      const consented = channel === 'email' ? send.consent_email : send.consent_sms;
      if (send.erased || !consented || suppressed.has(send.id)) {
        const reason = send.erased ? 'customer erased' : !consented ? `no ${channel} consent` : 'suppressed';
        results.push({ id: send.id, state: 'suppressed', error: reason });
        continue;
      }
      const capped = frequencyCapDecision(now, recent.get(send.customer_id) ?? [], cap);
      if (!capped.allowed) {
        results.push({ id: send.id, state: 'deferred', notBefore: capped.notBefore, error: 'frequency cap' });
        continue;
      }
      const allowedAt = nextAllowedTime(now, quiet, send.time_zone);
      if (allowedAt.getTime() > now.getTime()) {
        results.push({ id: send.id, state: 'deferred', notBefore: allowedAt, error: 'quiet hours' });
        continue;
      }
      eligible.push(send);
    }
    return eligible;
  }

  private async deliverOne(send: ClaimedSend): Promise<SendResult> {
    let template: CompiledTemplate;
    try {
      if (!send.template_code || !send.template_version) throw new Error('the send has no pinned template');
      template = await this.templates.compiled(send.template_code, send.template_version);
    } catch (error) {
      return { id: send.id, state: 'failed', error: `template: ${(error as Error).message}` };
    }
    try {
      return await (template.channel === 'email' ? this.sendEmail(send, template) : this.sendSms(send, template));
    } catch (error) {
      // Every claimed send gets an outcome, so none is left `sending`: a channel that is not configured
      // (ConflictError) fails the send; anything unexpected is retried with backoff, then failed.
      if (error instanceof ConflictError) return { id: send.id, state: 'failed', error: error.message };
      this.logger.error({ err: error, send: send.id }, 'unexpected error while sending');
      return this.failure(send, { kind: 'retry', reason: (error as Error).message }, null);
    }
  }

  private trackingUrl(kind: 'open' | 'click' | 'unsubscribe', sendId: string, link = 0): string {
    const token = signTrackingToken({ kind, sendId, link }, this.config.trackingSecrets);
    const path = kind === 'unsubscribe' ? 'u' : kind === 'open' ? 't/o' : 't/c';
    return `${this.config.publicUrl}/${path}/${token}`;
  }

  private async sendEmail(send: ClaimedSend, template: Extract<CompiledTemplate, { channel: 'email' }>) {
    const unsubscribeUrl = this.trackingUrl('unsubscribe', send.id);
    let rendered;
    try {
      rendered = template.email.render(toRenderContext(send, unsubscribeUrl), {
        clickUrl: (index: number) => this.trackingUrl('click', send.id, index),
        openPixelUrl: this.trackingUrl('open', send.id),
      });
    } catch (error) {
      return { id: send.id, state: 'failed' as const, error: `render: ${(error as Error).message}` };
    }
    const channel = this.channels.emailChannel();
    const domain = send.address.split('@')[1] ?? '';
    try {
      if (this.smtpRate) await this.smtpRate.acquire();
      const accepted = await this.domains.run(domain, () =>
        channel.send({
          from: this.sender.from,
          to: send.address,
          subject: rendered.subject,
          html: rendered.html,
          text: rendered.text,
          messageId: `<${send.id}@${this.sender.domain}>`,
          listUnsubscribe: {
            url: unsubscribeUrl,
            mailto: `mailto:unsubscribe@${this.sender.domain}?subject=unsubscribe-${send.id}`,
          },
          headers: {
            'X-Closeloop-Send': send.id,
            'X-Closeloop-Program': send.program_code ?? '',
            'X-Closeloop-Cell': send.cell_code ?? '',
          },
        }),
      );
      return { id: send.id, state: 'sent' as const, messageId: accepted.messageId, links: rendered.links };
    } catch (error) {
      if (!(error instanceof EmailSendError)) throw error;
      return this.failure(send, classifySmtpError(error), rendered.links);
    }
  }

  private async sendSms(send: ClaimedSend, template: Extract<CompiledTemplate, { channel: 'sms' }>) {
    let text: string;
    try {
      text = template.sms.render(toRenderContext(send, this.trackingUrl('unsubscribe', send.id))).text;
    } catch (error) {
      return { id: send.id, state: 'failed' as const, error: `render: ${(error as Error).message}` };
    }
    try {
      const channel = await this.channels.smsChannel();
      if (this.smsRate) for (let i = 0; i < planSms(text).segments; i++) await this.smsRate.acquire();
      const result = await channel.submit({
        from: this.config.smsFrom ?? 'Closeloop',
        to: send.address,
        text,
        reference: send.id,
      });
      // Known to this process at once (a receipt may come before the batch is written), stored with the batch.
      this.channels.rememberSubmitted(result.messageIds, send.id);
      return {
        id: send.id,
        state: 'sent' as const,
        messageId: result.messageIds[0],
        segments: result.segments,
        providerIds: result.messageIds,
      };
    } catch (error) {
      if (error instanceof SmsSubmitError) {
        const outcome = classifySmppStatus(error.commandStatus);
        if (outcome.kind !== 'ok') return this.failure(send, outcome, null);
      }
      if (error instanceof ValidationError) return this.failure(send, { kind: 'fail', reason: error.message }, null);
      // The link dropped (or no answer came) after the SMSC may have taken it: not retried blindly.
      if (error instanceof SmsConnectionError && error.possiblyAccepted) {
        return this.failure(send, { kind: 'uncertain', reason: `SMPP: ${error.message}` }, null);
      }
      // Not connected, or still waiting for a rebind: nothing went out, try again later.
      return this.failure(send, { kind: 'retry', reason: `SMPP: ${(error as Error).message}` }, null);
    }
  }

  private failure(
    send: ClaimedSend,
    outcome: { kind: 'retry' | 'bounce' | 'fail' | 'uncertain'; reason: string },
    links: string[] | null,
  ): SendResult {
    switch (outcome.kind) {
      case 'retry': {
        if (!shouldRetry(send.attempts, DEFAULT_SEND_BACKOFF)) {
          return { id: send.id, state: 'failed', error: `gave up after ${send.attempts} attempts: ${outcome.reason}` };
        }
        const delay = retryDelayMs(send.attempts, DEFAULT_SEND_BACKOFF, this.random);
        return {
          id: send.id,
          state: 'deferred',
          notBefore: new Date(this.clock.now().getTime() + delay),
          error: outcome.reason,
        };
      }
      case 'bounce':
        return { id: send.id, state: 'bounced', error: outcome.reason };
      case 'uncertain':
        return { id: send.id, state: 'unknown', error: outcome.reason, links };
      default:
        return { id: send.id, state: 'failed', error: outcome.reason };
    }
  }

  /** A delayed job per deferred send, due at its not_before (job ids carry the attempt: never reused). */
  private async scheduleDeferred(programId: string, results: SendResult[], claimed: ClaimedSend[]) {
    const deferred = results.filter((r) => r.state === 'deferred');
    if (!deferred.length) return;
    const attempts = new Map(claimed.map((s) => [s.id, s.attempts]));
    const now = this.clock.now().getTime();
    await this.queue.addBulk(
      deferred.map((r) => ({
        name: DeliveryJob.Deliver,
        data: { programId, sendIds: [r.id] } satisfies DeliveryJobPayloads[typeof DeliveryJob.Deliver],
        opts: {
          jobId: `deliver.${programId}.${r.id}.a${attempts.get(r.id)}`,
          delay: Math.max(0, r.notBefore!.getTime() - now),
          attempts: 3,
          backoff: { type: 'exponential', delay: 1000 },
        },
      })),
    );
  }
}
