import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, codeKey, isUuid, NotFoundError, SEND_STATES, systemClock } from '@closeloop/core';
import { iso } from '@closeloop/persistence';
import { DataSource } from 'typeorm';
import { DELIVERY_CLOCK } from './contact-policy.service';
import { ProgressView } from './dto/delivery.dto';
import { SendLedgerRepository } from './send-ledger.repository';

const RATE_WINDOW_S = 60;

/** GET /v1/programs/:id/progress: counts by send state, the current rate and an ETA, from the ledger. */
@Injectable()
export class ProgressService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ledger: SendLedgerRepository,
    @Optional() @Inject(DELIVERY_CLOCK) private readonly clock: Clock = systemClock,
  ) {}

  async progress(ref: string): Promise<ProgressView> {
    const rows = await this.dataSource.query(
      `SELECT id, code, state, dispatched_at, dispatch_error FROM program WHERE ${isUuid(ref) ? 'id = $1' : 'lower(code) = $1'}`,
      [isUuid(ref) ? ref : codeKey(ref)],
    );
    if (!rows.length) throw new NotFoundError('program', ref);
    const p = rows[0];
    const found = await this.ledger.countsByState(p.id);
    const counts = Object.fromEntries(SEND_STATES.map((s) => [s, found[s] ?? 0]));
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const pending = counts.queued + counts.sending + counts.deferred;
    // Over the last minute, or since the first message of it when sending began less than a minute ago.
    const now = this.clock.now().getTime();
    const recent = await this.ledger.sentSince(p.id, new Date(now - RATE_WINDOW_S * 1000));
    const seconds = recent.first ? Math.max(1, (now - recent.first.getTime()) / 1000) : RATE_WINDOW_S;
    const ratePerSecond = recent.n / Math.min(RATE_WINDOW_S, seconds);
    return {
      program: p.code,
      state: p.state,
      counts,
      total,
      pending,
      progress: total ? (total - pending) / total : p.dispatched_at ? 1 : 0,
      ratePerSecond: Math.round(ratePerSecond * 100) / 100,
      etaSeconds: pending === 0 ? 0 : ratePerSecond > 0 ? Math.ceil(pending / ratePerSecond) : null,
      dispatchedAt: iso(p.dispatched_at),
      error: p.dispatch_error,
    };
  }
}
