import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { ConflictError, NotFoundError } from '@closeloop/core';
import { AUDIENCE_QUEUE, AudienceJob, AudienceJobPayloads, TargetListService } from '@closeloop/audience';

/** Thin edge: TargetListService.build does the work in one transaction and is safe to rerun. */
@Processor(AUDIENCE_QUEUE)
export class ListBuildProcessor extends WorkerHost {
  private readonly logger = new Logger(ListBuildProcessor.name);

  constructor(private readonly lists: TargetListService) {
    super();
  }

  async process(job: Job<AudienceJobPayloads[typeof AudienceJob.ListBuild]>) {
    if (job.name !== AudienceJob.ListBuild) throw new UnrecoverableError(`unknown audience job ${job.name}`);
    try {
      const list = await this.lists.build(job.data.programId, (fraction) =>
        job.updateProgress(Math.round(fraction * 100)),
      );
      this.logger.log({ program: job.data.programId, cells: list.cells }, 'target list built');
      return { cells: list.cells };
    } catch (error) {
      // A program that is gone, launched, or has no valid segment will not get better by retrying.
      if (error instanceof ConflictError || error instanceof NotFoundError) throw new UnrecoverableError(error.message);
      throw error;
    }
  }
}
