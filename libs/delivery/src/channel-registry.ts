import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig, ConflictError } from '@closeloop/core';
import { DeliveryReceipt, EmailChannel, InboundSms, SmsChannel } from '@closeloop/messaging';
import { APP_CONFIG } from '@closeloop/persistence';
import { SendLedgerRepository } from './send-ledger.repository';

/**
 * Listeners for mobile-originated SMS (tracking hooks STOP / START / replies here, with
 * `ChannelRegistry.addInboundListener`). The SMSC's deliver_sm is acknowledged once every listener
 * has settled; a failure makes the SMSC deliver it again.
 */
export interface InboundSmsListener {
  onInboundSms(message: InboundSms): Promise<void>;
}

/** Receipts are written in batches this often. */
const RECEIPT_FLUSH_MS = 100;
/**
 * A receipt whose message id is not known yet is looked up again, this many times (about a minute): its
 * batch is not written yet, or another worker on the same SMPP account sent it.
 */
const RECEIPT_TRIES = 600;
/** Message ids of recent submits kept in memory, for receipts that overtake the batch write. */
const SUBMITTED_KEPT = 200_000;

interface PendingReceipt {
  receipt: DeliveryReceipt;
  tries: number;
  done: () => void;
}

/**
 * The process's connections to the outside: one pooled SMTP transport and one SMPP session, made
 * on first use and closed on shutdown. Delivery receipts arriving on the SMPP session move their
 * sends on through the ledger, whichever worker sent them.
 */
@Injectable()
export class ChannelRegistry implements OnApplicationShutdown {
  private readonly logger = new Logger(ChannelRegistry.name);
  private email: EmailChannel | null = null;
  private sms: Promise<SmsChannel> | null = null;
  private readonly submitted = new Map<string, string>();
  private receipts: PendingReceipt[] = [];
  private flushing: NodeJS.Timeout | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ledger: SendLedgerRepository,
  ) {}

  private readonly inbound: InboundSmsListener[] = [];

  /** Registered by a lib that reacts to inbound SMS (a later lib: delivery does not import it). */
  addInboundListener(listener: InboundSmsListener): void {
    this.inbound.push(listener);
  }

  /** Throws ConflictError when SMTP_URL is not set: nothing can be sent by email. */
  emailChannel(): EmailChannel {
    if (!this.config.smtpUrl) throw new ConflictError('SMTP_URL is not set: email cannot be sent');
    this.email ??= new EmailChannel(this.config.smtpUrl, { maxConnections: this.config.smtpPoolSize });
    return this.email;
  }

  async smsChannel(): Promise<SmsChannel> {
    if (!this.config.smppUrl) throw new ConflictError('SMPP_URL is not set: SMS cannot be sent');
    this.sms ??= this.connectSms(this.config.smppUrl);
    try {
      return await this.sms;
    } catch (error) {
      this.sms = null; // the next send tries again
      throw error;
    }
  }

  private async connectSms(url: string): Promise<SmsChannel> {
    const channel = new SmsChannel(url);
    // Answered (deliver_sm_resp) once applied: a receipt is not lost if this process dies first.
    channel.onDeliveryReceipt((receipt) => new Promise<void>((done) => this.queueReceipt({ receipt, tries: 0, done })));
    channel.onInbound(async (message) => {
      if (!this.inbound.length) this.logger.warn({ from: message.from }, 'inbound SMS with no listener');
      await Promise.all(this.inbound.map((listener) => listener.onInboundSms(message)));
    });
    await channel.connect();
    return channel;
  }

  /** The SMSC message ids of a send just submitted (receipts for them need no lookup). */
  rememberSubmitted(providerIds: string[], sendId: string): void {
    for (const id of providerIds) this.submitted.set(id, sendId);
    while (this.submitted.size > SUBMITTED_KEPT) this.submitted.delete(this.submitted.keys().next().value!);
  }

  private queueReceipt(pending: PendingReceipt): void {
    this.receipts.push(pending);
    this.flushing ??= setTimeout(() => void this.flushReceipts(), RECEIPT_FLUSH_MS);
  }

  /** One statement for every receipt that came in since the last flush. */
  private async flushReceipts(): Promise<void> {
    const batch = this.receipts;
    this.receipts = [];
    this.flushing = null;
    const ready: { pending: PendingReceipt; sendId: string }[] = [];
    try {
      const unknown = batch.filter((p) => !this.submitted.has(p.receipt.messageId)).map((p) => p.receipt.messageId);
      let stored = new Map<string, string>();
      if (unknown.length) {
        try {
          stored = await this.ledger.sendsOfProviderIds(unknown);
        } catch (error) {
          this.logger.error({ err: error }, 'delivery receipts not looked up; trying again');
          for (const pending of batch) this.queueReceipt(pending);
          return;
        }
      }
      for (const pending of batch) {
        const sendId = this.submitted.get(pending.receipt.messageId) ?? stored.get(pending.receipt.messageId);
        if (sendId) ready.push({ pending, sendId });
        else if (++pending.tries < RECEIPT_TRIES) this.queueReceipt(pending);
        else {
          this.logger.warn({ messageId: pending.receipt.messageId }, 'delivery receipt for an unknown message');
          pending.done();
        }
      }
      await this.ledger.applyReceipts(
        ready.map(({ pending: { receipt }, sendId }) => ({
          sendId,
          delivered: receipt.delivered,
          detail: `delivery receipt ${receipt.stat} (err ${receipt.err})`,
          at: receipt.doneAt ?? new Date(),
          event: { provider: 'smpp', id: `${receipt.messageId}:${receipt.stat}` },
        })),
      );
      for (const { pending } of ready) pending.done();
    } catch (error) {
      this.logger.error({ err: error, receipts: ready.length }, 'delivery receipts not applied; trying again');
      for (const { pending } of ready) this.queueReceipt(pending);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.flushing) {
      clearTimeout(this.flushing);
      await this.flushReceipts();
      if (this.flushing) clearTimeout(this.flushing); // what is still unknown is sent again by the SMSC
    }
    this.email?.close();
    this.email = null;
    const sms = this.sms;
    this.sms = null;
    if (sms) await (await sms.catch(() => null))?.close().catch(() => undefined);
  }
}
