import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AppConfig, normalizeAddress, smsIntent } from '@closeloop/core';
import { ChannelRegistry, InboundSms, InboundSmsListener } from '@closeloop/delivery';
import { APP_CONFIG } from '@closeloop/persistence';
import { DataSource } from 'typeorm';
import { recordResponse, SendRef, suppressAddress } from './history';

/** The longest reply text kept. */
const MAX_REPLY = 1600;
/** While SMPP_URL is set but the SMSC cannot be reached, the worker tries again this often. */
const CONNECT_RETRY_MS = 30_000;

/**
 * Mobile-originated SMS (replies to our sender id), registered in the worker. The whole message,
 * trimmed and case-insensitive, decides (core `smsIntent`, words from SMS_STOP_WORDS and
 * SMS_START_WORDS):
 *
 * - a stop word: the number is suppressed for SMS at once (reason unsubscribed, source sms-stop),
 *   even if no customer has it, and an `unsubscribe` response is recorded on the customer's latest
 *   SMS program;
 * - a start word: an unsubscribe of that number is lifted (hard bounces, complaints and manual
 *   blocks stay) and a `resubscribe` response recorded;
 * - anything else: a `reply` response on the customer's latest SMS program, with the text (shown
 *   escaped wherever it is shown).
 * Everything is written before the SMSC's deliver_sm is acknowledged.
 */
@Injectable()
export class InboundSmsResponder implements InboundSmsListener, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(InboundSmsResponder.name);
  private retry: NodeJS.Timeout | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly channels: ChannelRegistry,
  ) {}

  onApplicationBootstrap(): void {
    this.channels.addInboundListener(this);
    // Replies arrive on the SMPP session: the worker binds at start, not only when it first sends.
    if (this.config.smppUrl) void this.connect();
  }

  onApplicationShutdown(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
  }

  private async connect(): Promise<void> {
    try {
      await this.channels.smsChannel();
    } catch (error) {
      this.logger.warn({ reason: (error as Error).message }, 'SMSC not reachable for inbound SMS; trying again');
      this.retry = setTimeout(() => void this.connect(), CONNECT_RETRY_MS);
      this.retry.unref();
    }
  }

  async onInboundSms(message: InboundSms): Promise<void> {
    let from: string;
    try {
      from = normalizeAddress('sms', message.from.startsWith('+') ? message.from : `+${message.from}`, 'from');
    } catch {
      this.logger.warn({ from: message.from }, 'inbound SMS from a number that is not E.164; ignored');
      return;
    }
    const intent = smsIntent(message.text, { stop: this.config.smsStopWords, start: this.config.smsStartWords });
    const at = message.receivedAt;
    await this.dataSource.transaction(async (m) => {
      const customers: { id: string }[] = await m.query(
        `SELECT id FROM customer WHERE phone = $1 AND erased_at IS NULL ORDER BY created_at`,
        [from],
      );
      const latest: SendRef | undefined = customers.length
        ? (
            await m.query(
              `SELECT id, customer_id AS "customerId", program_id AS "programId", cell_id AS "cellId",
                      response_code AS "responseCode" FROM send
                WHERE customer_id = ANY($1::uuid[]) AND channel = 'sms' AND sent_at IS NOT NULL
                ORDER BY sent_at DESC LIMIT 1`,
              [customers.map((c) => c.id)],
            )
          )[0]
        : undefined;
      const customerId = latest?.customerId ?? customers[0]?.id ?? null;
      const record = async (type: string, key: string | null, detail: Record<string, unknown>) => {
        if (customerId) {
          await recordResponse(m, { send: latest ?? null, customerId, type, at, key, source: 'sms', detail });
        }
      };
      if (intent === 'stop') {
        await suppressAddress(m, {
          channel: 'sms',
          address: from,
          customerId,
          reason: 'unsubscribed',
          source: 'sms-stop',
          createdBy: 'recipient',
        });
        await record('unsubscribe', latest ? `unsubscribe:${latest.id}` : null, { text: message.text.trim() });
      } else if (intent === 'start') {
        await m.query(
          `DELETE FROM suppression WHERE channel = 'sms' AND address_hash = sha256(convert_to($1, 'UTF8'))
              AND reason = 'unsubscribed'`,
          [from],
        );
        await record('resubscribe', null, { text: message.text.trim() });
      } else {
        if (!customerId) {
          this.logger.log({ from }, 'SMS reply from a number no customer has; not recorded');
          return;
        }
        await record('reply', null, { text: message.text.slice(0, MAX_REPLY) });
      }
    });
    this.logger.log({ from, intent }, 'inbound SMS applied');
  }
}
