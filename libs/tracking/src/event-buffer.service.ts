import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '@closeloop/core';
import { APP_CONFIG } from '@closeloop/persistence';
import { encodeEvents, EVENTS_FIELD, TrackingEvent, trackingStreamKey } from './tracking-events';

export const TRACKING_REDIS = Symbol('TRACKING_REDIS');

/** Events are appended this often, or as soon as this many wait. */
const FLUSH_MS = 5;
const FLUSH_EVENTS = 500;
/** Held while Redis is away; past this the oldest are dropped (and counted in the log). */
const MAX_BUFFERED = 500_000;
/** How long shutdown keeps trying to hand buffered events to Redis. */
const DRAIN_MS = 10_000;

/**
 * The API side of ingestion: tracking endpoints answer without waiting for PostgreSQL or Redis.
 * Events are buffered in memory for a few milliseconds and appended to the stream in one XADD per
 * batch. On shutdown (SIGTERM), after the HTTP server has stopped taking requests, everything
 * still buffered is written before the process exits (RELIABILITY.md "SIGTERM"). Only a hard kill
 * of the API can lose the last few milliseconds of opens and clicks.
 */
@Injectable()
export class EventBuffer {
  private readonly logger = new Logger(EventBuffer.name);
  private readonly key: string;
  private buffer: TrackingEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private dropped = 0;

  constructor(
    @Inject(TRACKING_REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.key = trackingStreamKey(config.queuePrefix);
  }

  push(event: TrackingEvent): void {
    this.buffer.push(event);
    if (this.buffer.length > MAX_BUFFERED) {
      this.dropped += this.buffer.length - MAX_BUFFERED;
      this.buffer.splice(0, this.buffer.length - MAX_BUFFERED);
    }
    if (this.buffer.length >= FLUSH_EVENTS) this.flushSoon(0);
    else this.flushSoon(FLUSH_MS);
  }

  /** Events not yet handed to Redis. */
  pending(): number {
    return this.buffer.length;
  }

  /** Writes everything buffered now (tests and shutdown). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    while (this.buffer.length) {
      await this.writeBatch();
    }
  }

  private flushSoon(ms: number): void {
    if (this.flushing) return; // the running flush schedules the next one
    if (this.timer && ms > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = this.writeBatch()
        .catch((error: unknown) => {
          this.logger.error({ err: error, buffered: this.buffer.length }, 'tracking events not appended; retrying');
          return new Promise<void>((r) => setTimeout(r, 500));
        })
        .finally(() => {
          this.flushing = null;
          if (this.buffer.length) this.flushSoon(FLUSH_MS);
        });
    }, ms);
  }

  private async writeBatch(): Promise<void> {
    if (!this.buffer.length) return;
    const batch = this.buffer.splice(0, Math.max(FLUSH_EVENTS, 5000));
    try {
      await this.redis.xadd(this.key, '*', EVENTS_FIELD, encodeEvents(batch));
    } catch (error) {
      this.buffer.unshift(...batch); // kept in order for the next try
      throw error;
    }
    if (this.dropped) {
      this.logger.error({ dropped: this.dropped }, 'tracking events dropped while Redis was unreachable');
      this.dropped = 0;
    }
  }

  /** Called by TrackingModule at shutdown, after the HTTP server closed and before Redis is. */
  async drain(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const deadline = Date.now() + DRAIN_MS;
    for (;;) {
      try {
        await this.flush();
        break;
      } catch (error) {
        if (Date.now() > deadline) {
          this.logger.error({ err: error, lost: this.buffer.length }, 'tracking events could not be drained');
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}
