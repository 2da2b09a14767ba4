import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Job } from 'bullmq';
import Redis from 'ioredis';
import { hostname } from 'node:os';
import { HEARTBEAT_KEY, HEARTBEAT_QUEUE, WORKER_REDIS } from './queues';

export const WORKER_ID = `${hostname()}:${process.pid}`;

/** Proves the queue path end to end: a repeating job, picked up by some worker, leaves a timestamp. */
@Processor(HEARTBEAT_QUEUE)
export class HeartbeatProcessor extends WorkerHost implements OnApplicationShutdown {
  private readonly logger = new Logger(HeartbeatProcessor.name);

  constructor(@Inject(WORKER_REDIS) private readonly redis: Redis) {
    super();
  }

  async process(job: Job): Promise<{ worker: string; at: string }> {
    const at = new Date().toISOString();
    await this.redis.hset(HEARTBEAT_KEY, WORKER_ID, at);
    this.logger.debug({ job: job.id, worker: WORKER_ID }, 'heartbeat');
    return { worker: WORKER_ID, at };
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
