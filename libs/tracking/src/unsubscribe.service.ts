import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { TrackingTarget } from '@closeloop/delivery';
import { DataSource } from 'typeorm';

/**
 * Unsubscribes take effect before they are acknowledged: the suppression and the `unsubscribe`
 * response are written in one transaction, so the next claim of a send to that address (in any
 * program) skips it, and the next list build removes it. Repeats are harmless: the suppression is
 * unique per (channel, address) and the response per send (`unsubscribe:<send id>`).
 */
@Injectable()
export class UnsubscribeService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Returns whether this request unsubscribed the address (false: it already was). */
  async unsubscribe(target: TrackingTarget, source: 'one-click' | 'unsubscribe-page' | 'sms-stop'): Promise<boolean> {
    return this.dataSource.transaction(async (m) => {
      const inserted = await m.query(
        `INSERT INTO suppression (channel, address, address_hash, customer_id, reason, source, created_by)
         VALUES ($1, $2, sha256(convert_to($2, 'UTF8')), $3, 'unsubscribed', $4, 'recipient')
         ON CONFLICT (channel, address_hash) DO NOTHING RETURNING id`,
        [target.channel, target.address, target.customerId, `${source}:${target.programCode ?? target.programId}`],
      );
      await m.query(
        `INSERT INTO response (send_id, customer_id, program_id, cell_id, response_code, type, occurred_at,
                               idempotency_key, source)
         VALUES ($1, $2, $3, $4, $5, 'unsubscribe', now(), $6, $7)
         ON CONFLICT (idempotency_key) DO NOTHING`,
        [
          target.id,
          target.customerId,
          target.programId,
          target.cellId,
          target.responseCode,
          `unsubscribe:${target.id}`,
          source,
        ],
      );
      return inserted.length > 0;
    });
  }
}
