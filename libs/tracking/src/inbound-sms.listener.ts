import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AppConfig, normalizeAddress, smsIntent } from '@closeloop/core';
import { ChannelRegistry, InboundSms, InboundSmsListener } from '@closeloop/delivery';
import { APP_CONFIG } from '@closeloop/persistence';
import { DataSource } from 'typeorm';

/** The longest reply text kept. */
const MAX_REPLY = 1600;
/** While SMPP_URL is set but the SMSC cannot be reached, the worker tries again this often. */
const CONNECT_RETRY_MS = 30_000;

interface LatestSend {
  id: string;
  customer_id: string;
  program_id: string;
  cell_id: string;
  response_code: string;
}

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
      const latest: LatestSend | undefined = customers.length
        ? (
            await m.query(
              `SELECT id, customer_id, program_id, cell_id, response_code FROM send
                WHERE customer_id = ANY($1::uuid[]) AND channel = 'sms' AND sent_at IS NOT NULL
                ORDER BY sent_at DESC LIMIT 1`,
              [customers.map((c) => c.id)],
            )
          )[0]
        : undefined;
      const customerId = latest?.customer_id ?? customers[0]?.id ?? null;
      const record = async (type: string, key: string | null, detail: Record<string, unknown> | null) => {
        if (!customerId) return;
        await m.query(
          `INSERT INTO response (send_id, customer_id, program_id, cell_id, response_code, type, occurred_at,
                                 idempotency_key, source, detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'sms', $9) ON CONFLICT (idempotency_key) DO NOTHING`,
          [
            latest?.id ?? null,
            customerId,
            latest?.program_id ?? null,
            latest?.cell_id ?? null,
            latest?.response_code ?? null,
            type,
            at,
            key,
            detail ? JSON.stringify(detail) : null,
          ],
        );
      };
      if (intent === 'stop') {
        await m.query(
          `INSERT INTO suppression (channel, address, address_hash, customer_id, reason, source, created_by)
           VALUES ('sms', $1, sha256(convert_to($1, 'UTF8')), $2, 'unsubscribed', 'sms-stop', 'recipient')
           ON CONFLICT (channel, address_hash) DO NOTHING`,
          [from, customerId],
        );
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
