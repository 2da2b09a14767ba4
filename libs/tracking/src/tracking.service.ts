import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AppConfig, TrackingKind, verifyTrackingToken } from '@closeloop/core';
import { SendLedgerRepository, TrackingTarget } from '@closeloop/delivery';
import { APP_CONFIG } from '@closeloop/persistence';
import { AbuseLimiter } from './abuse-limiter';
import { EventBuffer } from './event-buffer.service';
import { MAX_USER_AGENT } from './tracking-events';

/** Who made a tracking request. */
export interface HitMeta {
  userAgent: string | null;
  ip: string | null;
}

/** What a click answers: where to (302), not found (404), or too many bad tokens from this source (429). */
export type ClickAnswer = { location: string } | { status: 404 | 429 };

/** Sends' tracking targets, kept briefly: a campaign's clicks come in waves on the same sends. */
const TARGETS_CACHED = 50_000;
const TARGET_TTL_MS = 5 * 60_000;

/**
 * Open and click endpoints: verify the token (HMAC, constant time, key rotation), answer at once,
 * and hand the event to the buffer. Nothing here waits for PostgreSQL except a click's destination,
 * which is looked up from the send (never taken from the request, so there is no open redirect).
 */
@Injectable()
export class TrackingService {
  private readonly limiter = new AbuseLimiter();
  private readonly targets = new LRUCache<string, TrackingTarget>({ max: TARGETS_CACHED, ttl: TARGET_TTL_MS });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ledger: SendLedgerRepository,
    private readonly buffer: EventBuffer,
  ) {}

  /** Records an open for a valid open token; anything else records nothing. Never throws. */
  open(token: string, meta: HitMeta): void {
    const claim = this.verify(token, 'open', meta);
    if (!claim || !this.limiter.hit(meta.ip ?? '-', token)) return;
    this.buffer.push({
      id: randomUUID(),
      kind: 'open',
      sendId: claim.sendId,
      link: 0,
      at: new Date().toISOString(),
      userAgent: meta.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
      ip: meta.ip,
    });
  }

  async click(token: string, meta: HitMeta): Promise<ClickAnswer> {
    if (meta.ip && this.limiter.blocked(meta.ip)) return { status: 429 };
    const claim = this.verify(token, 'click', meta);
    if (!claim) return { status: 404 };
    const target = await this.target(claim.sendId);
    const location = target?.links?.[claim.link];
    if (typeof location !== 'string' || !/^https?:\/\//i.test(location)) return { status: 404 };
    if (this.limiter.hit(meta.ip ?? '-', token)) {
      this.buffer.push({
        id: randomUUID(),
        kind: 'click',
        sendId: claim.sendId,
        link: claim.link,
        at: new Date().toISOString(),
        userAgent: meta.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
        ip: meta.ip,
      });
    }
    return { location };
  }

  /** The send of a valid unsubscribe token, or null (also when this source is over its limit). */
  async unsubscribeTarget(token: string, meta: HitMeta): Promise<TrackingTarget | null> {
    if (meta.ip && this.limiter.blocked(meta.ip)) return null;
    const claim = this.verify(token, 'unsubscribe', meta);
    return claim ? this.ledger.trackingTarget(claim.sendId) : null;
  }

  private verify(token: string, kind: TrackingKind, meta: HitMeta) {
    const claim = verifyTrackingToken(token, this.config.trackingSecrets);
    if (claim?.kind === kind) return claim;
    this.limiter.invalidToken(meta.ip ?? '-');
    return null;
  }

  private async target(sendId: string): Promise<TrackingTarget | null> {
    const cached = this.targets.get(sendId);
    if (cached) return cached;
    const target = await this.ledger.trackingTarget(sendId);
    // Cached once its links are written (a click can only come from a message that went out).
    if (target?.links) this.targets.set(sendId, target);
    return target;
  }
}
