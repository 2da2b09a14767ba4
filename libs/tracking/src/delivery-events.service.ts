import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import Redis from 'ioredis';
import {
  AppConfig,
  complaintVerdict,
  isUuid,
  verifyWebhookSignature,
  WEBHOOK_TOLERANCE_SECONDS,
} from '@closeloop/core';
import { DispatcherService, SendLedgerRepository } from '@closeloop/delivery';
import { APP_CONFIG } from '@closeloop/persistence';
import { DataSource } from 'typeorm';
import { DeliveryEventDto, DeliveryEventsView } from './dto/tracking.dto';
import { TRACKING_REDIS } from './event-buffer.service';
import { Queryable, recordResponse, SendRef, suppressAddress } from './history';

/** Why a webhook request was refused (401). */
export class WebhookRejected extends Error {}

const MESSAGE_ID = /^<?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@[^>]+>?$/i;

interface SendRow extends SendRef {
  address: string;
  channel: 'email' | 'sms';
}

/**
 * Delivery events from external providers (`POST /v1/webhooks/delivery-events`): deliveries,
 * bounces and complaints, signed with WEBHOOK_SECRET (`Closeloop-Signature: t=<unix>,v1=<hex>`,
 * HMAC-SHA256 of `<t>.<raw body>`), refused when older than 5 minutes or seen before (replay).
 *
 * - delivered: the send moves to delivered, as an SMPP delivery receipt does (same ledger, same rule);
 * - bounce (hard): the send moves to bounced, the address is suppressed (hard-bounce) and a `bounce`
 *   response recorded, exactly as for a 5xx from our own SMTP peer (one per send whichever comes first);
 * - bounce (soft): a `soft-bounce` response only;
 * - complaint: the address is suppressed (complaint) and a `complaint` response recorded.
 * Every event is kept in `delivery_event` (provider, event id unique): a provider retrying a batch
 * changes nothing twice, and the history of what providers said stays next to the send ledger.
 */
@Injectable()
export class DeliveryEventsService {
  private readonly logger = new Logger(DeliveryEventsService.name);
  private readonly replayPrefix: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(TRACKING_REDIS) private readonly redis: Redis,
    private readonly ledger: SendLedgerRepository,
    private readonly dispatcher: DispatcherService,
  ) {
    this.replayPrefix = `${config.queuePrefix}:webhook:seen:`;
  }

  /** Throws WebhookRejected unless the signature is good, fresh and not seen before. */
  async authenticate(signature: string | undefined, rawBody: Buffer | undefined, now = new Date()): Promise<void> {
    const secrets = (this.config.webhookSecret ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (!secrets.length) throw new WebhookRejected('webhooks are not enabled: WEBHOOK_SECRET is not set');
    if (!rawBody) throw new WebhookRejected('the body is missing');
    const check = verifyWebhookSignature(signature, rawBody, secrets, now);
    if (!check.ok) throw new WebhookRejected(check.reason);
    const fresh = await this.redis.set(
      `${this.replayPrefix}${check.signature}`,
      '1',
      'EX',
      WEBHOOK_TOLERANCE_SECONDS * 2,
      'NX',
    );
    if (fresh !== 'OK') throw new WebhookRejected('this signed request was already received (replay)');
  }

  async apply(events: DeliveryEventDto[], now = new Date()): Promise<DeliveryEventsView> {
    const sendIdOf = (e: DeliveryEventDto): string | null => {
      if (e.sendId && isUuid(e.sendId)) return e.sendId.toLowerCase();
      const m = e.messageId ? MESSAGE_ID.exec(e.messageId.trim()) : null;
      return m ? m[1].toLowerCase() : null;
    };
    const ids = [...new Set(events.map(sendIdOf).filter((id): id is string => !!id))];
    const sends: SendRow[] = ids.length
      ? await this.dataSource.query(
          `SELECT id, address, channel, customer_id AS "customerId", program_id AS "programId", cell_id AS "cellId",
                  response_code AS "responseCode" FROM send WHERE id = ANY($1::uuid[])`,
          [ids],
        )
      : [];
    const byId = new Map(sends.map((s) => [s.id, s]));
    const view: DeliveryEventsView = { received: events.length, applied: 0, unknown: 0, duplicates: 0 };
    const complained = new Set<string>();
    for (const e of events) {
      const sendId = sendIdOf(e);
      const send = sendId ? byId.get(sendId) : undefined;
      const provider = e.provider ?? 'provider';
      const at = e.occurredAt ? new Date(e.occurredAt) : now;
      const type = e.type === 'bounce' && e.bounceType === 'soft' ? 'soft-bounce' : e.type;
      const inserted = await this.dataSource.query(
        `INSERT INTO delivery_event (provider, event_id, send_id, type, occurred_at, detail)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider, event_id) DO NOTHING RETURNING 1`,
        [provider, e.id, send?.id ?? null, type, at, e.detail ?? null],
      );
      if (!inserted.length) {
        view.duplicates++;
        continue;
      }
      if (!send) {
        view.unknown++;
        continue;
      }
      const source = `webhook:${provider}`;
      const detail = e.detail ?? null;
      if (type === 'delivered') {
        await this.ledger.applyReceipts([{ sendId: send.id, delivered: true, detail: detail ?? source, at }]);
      } else if (type === 'bounce') {
        await this.ledger.markBounced([send.id], detail ?? 'hard bounce reported by the provider', at);
        await this.ledger.suppressBounced(
          send.channel,
          [{ id: send.id, address: send.address, customerId: send.customerId, detail }],
          source,
          at,
        );
      } else if (type === 'soft-bounce') {
        await this.record(this.dataSource, send, 'soft-bounce', `soft-bounce:${provider}:${e.id}`, at, source, detail);
      } else {
        await this.dataSource.transaction(async (m) => {
          await suppressAddress(m, {
            channel: send.channel,
            address: send.address,
            customerId: send.customerId,
            reason: 'complaint',
            source,
            createdBy: 'delivery',
          });
          await this.record(m, send, 'complaint', `complaint:${send.id}`, at, source, detail);
        });
        complained.add(send.id);
      }
      view.applied++;
    }
    if (complained.size) await this.watchComplaints([...complained]);
    return view;
  }

  /** Complaint rate per program of these sends: warn at 0.1%, pause at 0.3% (core complaintVerdict). */
  private async watchComplaints(sendIds: string[]): Promise<void> {
    // From the report counters (kept by the database as responses and sends are written), not a count
    // over the program's history on every webhook: complainers over messages that reached the peer.
    const rows: { program_id: string; code: string; state: string; complaints: number; sent: number }[] =
      await this.dataSource.query(
        `SELECT p.id AS program_id, p.code, p.state,
                coalesce(sum(c.value) FILTER (WHERE c.metric = 'unique:complaint'), 0)::int AS complaints,
                coalesce(sum(c.value) FILTER (WHERE c.metric IN ('state:sent', 'state:delivered', 'state:bounced',
                                                                 'state:unknown')), 0)::int AS sent
           FROM program p LEFT JOIN report_counter c ON c.program_id = p.id
          WHERE p.id IN (SELECT DISTINCT program_id FROM send WHERE id = ANY($1::uuid[]))
          GROUP BY p.id, p.code, p.state`,
        [sendIds],
      );
    for (const r of rows) {
      const verdict = complaintVerdict(r.complaints, r.sent);
      if (verdict === 'ok') continue;
      const rate = `${((100 * r.complaints) / r.sent).toFixed(2)}%`;
      this.logger.warn({ program: r.code, complaints: r.complaints, sent: r.sent, rate }, 'complaint rate high');
      if (verdict === 'pause' && r.state === 'running') {
        await this.dispatcher.pauseProgram(r.program_id, `complaint rate ${rate} (${r.complaints} of ${r.sent})`);
      }
    }
  }

  private record(
    q: Queryable,
    send: SendRow,
    type: string,
    key: string,
    at: Date,
    source: string,
    detail: string | null,
  ): Promise<void> {
    return recordResponse(q, {
      send,
      customerId: send.customerId,
      type,
      at,
      key,
      source,
      detail: detail === null ? null : { detail },
    });
  }
}
