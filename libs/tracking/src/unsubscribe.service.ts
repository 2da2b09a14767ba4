import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { TrackingTarget } from '@closeloop/delivery';
import { DataSource } from 'typeorm';
import { recordResponse, suppressAddress } from './history';

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
  async unsubscribe(target: TrackingTarget, source: 'one-click' | 'unsubscribe-page'): Promise<boolean> {
    return this.dataSource.transaction(async (m) => {
      const fresh = await suppressAddress(m, {
        channel: target.channel,
        address: target.address,
        customerId: target.customerId,
        reason: 'unsubscribed',
        source: `${source}:${target.programCode ?? target.programId}`,
        createdBy: 'recipient',
      });
      await recordResponse(m, {
        send: target,
        customerId: target.customerId,
        type: 'unsubscribe',
        at: new Date(),
        key: `unsubscribe:${target.id}`,
        source,
        detail: null,
      });
      return fresh;
    });
  }
}
