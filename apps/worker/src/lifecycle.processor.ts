import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { LifecycleRecompute, LifecycleService } from '@closeloop/audience';

/**
 * PERSISTED queue and job names (renaming one strands waiting jobs). Its own queue, not the audience
 * one: a processor takes every job of its queue, and the list builder refuses jobs it does not know.
 */
export const LIFECYCLE_QUEUE = 'lifecycle';
export const LifecycleJob = { Recompute: 'recompute' } as const;
/** Daily at 03:00 UTC: stages move with the date, and a cron pattern does not fire at every worker start. */
export const LIFECYCLE_CRON = '0 3 * * *';

/** Thin edge: one set-based statement in LifecycleService, safe to rerun (it converges on the same stages). */
@Processor(LIFECYCLE_QUEUE)
export class LifecycleProcessor extends WorkerHost {
  private readonly logger = new Logger(LifecycleProcessor.name);

  constructor(private readonly lifecycle: LifecycleService) {
    super();
  }

  async process(job: Job): Promise<LifecycleRecompute> {
    if (job.name !== LifecycleJob.Recompute) throw new UnrecoverableError(`unknown lifecycle job ${job.name}`);
    const result = await this.lifecycle.recompute();
    this.logger.log(result, 'lifecycle stages recomputed');
    return result;
  }
}
