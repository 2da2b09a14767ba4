import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { hostname } from 'node:os';
import { AppConfig } from '@closeloop/core';
import { APP_CONFIG } from '@closeloop/persistence';
import { TRACKING_REDIS } from './event-buffer.service';
import { ResponseWriter } from './response-writer.repository';
import {
  decodeEvents,
  EVENTS_FIELD,
  TRACKING_CLAIM_IDLE_MS,
  TRACKING_GROUP,
  TrackingEvent,
  trackingStreamKey,
} from './tracking-events';

type StreamEntry = [id: string, fields: string[]];

/** Entries per read: each holds up to a few thousand events. */
const READ_COUNT = 20;
const BLOCK_MS = 500;
/** How often entries abandoned by a dead worker are looked for. */
const CLAIM_EVERY_MS = 5_000;

/**
 * The worker side of ingestion: reads the tracking stream in a consumer group, writes each read as
 * `response` rows in one transaction, then acknowledges and deletes the entries (so the stream
 * stays small). A failed write leaves the entries pending and they are read again; entries of a
 * worker that died are claimed by another after TRACKING_CLAIM_IDLE_MS. Duplicate deliveries are
 * harmless: rows are unique by event id. Register in the worker only.
 */
@Injectable()
export class ResponseIngestion implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ResponseIngestion.name);
  private readonly key: string;
  private readonly consumer = `${hostname()}:${process.pid}`;
  private reader: Redis | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;
  private lastClaim = 0;
  private ingested = 0;

  constructor(
    @Inject(TRACKING_REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly writer: ResponseWriter,
  ) {
    this.key = trackingStreamKey(config.queuePrefix);
  }

  onApplicationBootstrap(): void {
    // Its own connection (a blocking read holds it), used for everything here, in sequence, so that
    // it outlives the shared one at shutdown until the last batch is acknowledged.
    this.reader = this.redis.duplicate({ maxRetriesPerRequest: null, lazyConnect: false });
    this.running = this.loop();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.running;
    await this.reader?.quit().catch(() => this.reader?.disconnect());
  }

  /** Events written since start (for logs and tests). */
  count(): number {
    return this.ingested;
  }

  private async loop(): Promise<void> {
    await this.ensureGroup();
    let retryOwn = true; // after a start or a failure, first re-read what this consumer holds
    while (!this.stopping) {
      try {
        let entries: StreamEntry[];
        if (retryOwn) {
          entries = await this.read('0');
          retryOwn = entries.length > 0;
          if (!entries.length) continue;
        } else if (Date.now() - this.lastClaim > CLAIM_EVERY_MS) {
          this.lastClaim = Date.now();
          entries = await this.claimAbandoned();
          if (!entries.length) continue;
        } else {
          entries = await this.read('>', BLOCK_MS);
          if (!entries.length) continue;
        }
        await this.process(entries);
      } catch (error) {
        if (this.stopping) break;
        this.logger.error({ err: error }, 'tracking ingestion failed; the entries stay pending and are read again');
        retryOwn = true;
        await new Promise((r) => setTimeout(r, 1000));
        await this.ensureGroup().catch(() => undefined);
      }
    }
  }

  private async ensureGroup(): Promise<void> {
    try {
      // From the stream's start: events appended before any worker ever ran are not skipped.
      await this.reader!.xgroup('CREATE', this.key, TRACKING_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  }

  private async read(from: '0' | '>', blockMs?: number): Promise<StreamEntry[]> {
    const reader = this.reader!;
    const args: (string | number)[] = ['GROUP', TRACKING_GROUP, this.consumer, 'COUNT', READ_COUNT];
    if (blockMs) args.push('BLOCK', blockMs);
    args.push('STREAMS', this.key, from);
    const answer = (await reader.call('XREADGROUP', ...args)) as [string, StreamEntry[]][] | null;
    return answer?.[0]?.[1]?.filter(([, fields]) => fields !== null) ?? [];
  }

  private async claimAbandoned(): Promise<StreamEntry[]> {
    const answer = (await this.reader!.call(
      'XAUTOCLAIM',
      this.key,
      TRACKING_GROUP,
      this.consumer,
      TRACKING_CLAIM_IDLE_MS,
      '0-0',
      'COUNT',
      READ_COUNT,
    )) as [string, StreamEntry[]];
    return (answer?.[1] ?? []).filter(([, fields]) => fields !== null);
  }

  private async process(entries: StreamEntry[]): Promise<void> {
    const events: TrackingEvent[] = [];
    for (const [, fields] of entries) {
      for (let i = 0; i < fields.length; i += 2) {
        if (fields[i] === EVENTS_FIELD) events.push(...decodeEvents(fields[i + 1]));
      }
    }
    const outcome = await this.writer.write(events);
    const ids = entries.map(([id]) => id);
    await this.reader!.multi()
      .xack(this.key, TRACKING_GROUP, ...ids)
      .xdel(this.key, ...ids)
      .exec();
    this.ingested += outcome.written;
    if (outcome.unknown) this.logger.warn({ unknown: outcome.unknown }, 'tracking events of unknown sends dropped');
  }
}
