import { Inject, Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import { AppConfig, ConflictError } from '@closeloop/core';
import { EmailChannel, InboundSms, SmsChannel } from '@closeloop/messaging';
import { APP_CONFIG } from '@closeloop/persistence';
import { SendLedgerRepository } from './send-ledger.repository';

/** Listeners for mobile-originated SMS (the response issue hooks STOP / START here). */
export interface InboundSmsListener {
  onInboundSms(message: InboundSms): Promise<void>;
}
export const INBOUND_SMS_LISTENERS = Symbol('INBOUND_SMS_LISTENERS');

const RECEIPT_RETRIES_MS = [0, 500, 2000, 5000];

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

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ledger: SendLedgerRepository,
    @Optional() @Inject(INBOUND_SMS_LISTENERS) private readonly inbound: InboundSmsListener[] = [],
  ) {}

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
    // A receipt can overtake the write of its message id (the SMSC answers fast): look again a little later.
    // A listener that throws makes the channel refuse the receipt, so the SMSC sends it again.
    channel.onDeliveryReceipt(async (receipt) => {
      const detail = `delivery receipt ${receipt.stat} (err ${receipt.err})`;
      for (const wait of RECEIPT_RETRIES_MS) {
        if (wait) await new Promise((r) => setTimeout(r, wait));
        const at = receipt.doneAt ?? new Date();
        if (await this.ledger.applyReceipt(receipt.messageId, receipt.delivered, detail, at)) return;
        if (await this.ledger.isKnownProviderId(receipt.messageId)) return; // a later segment's receipt
      }
      this.logger.warn({ messageId: receipt.messageId, stat: receipt.stat }, 'delivery receipt for an unknown message');
    });
    channel.onInbound((message) => {
      for (const listener of this.inbound) {
        listener
          .onInboundSms(message)
          .catch((error: unknown) => this.logger.error({ err: error, from: message.from }, 'inbound SMS hook failed'));
      }
      if (!this.inbound.length) this.logger.log({ from: message.from }, 'inbound SMS (no listener yet)');
    });
    await channel.connect();
    return channel;
  }

  async onApplicationShutdown(): Promise<void> {
    this.email?.close();
    this.email = null;
    const sms = this.sms;
    this.sms = null;
    if (sms) await (await sms.catch(() => null))?.close().catch(() => undefined);
  }
}
