import type { QueueOptions } from 'bullmq';
import { AppConfig } from '@closeloop/core';

/**
 * BullMQ connection and defaults for every app. `maxRetriesPerRequest: null` lets workers ride out a
 * Redis restart (commands wait for the reconnect); finished jobs are trimmed by age and count so
 * Redis memory stays bounded (RELIABILITY.md).
 */
export function queueRootOptions(config: AppConfig): QueueOptions {
  return {
    connection: { url: config.redisUrl, maxRetriesPerRequest: null },
    prefix: config.queuePrefix,
    defaultJobOptions: {
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
    },
  };
}
