import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { ConflictError, NotFoundError } from '@closeloop/core';
import { AudienceJobPayloads, IMPORT_QUEUE, ImportJob, ImportService } from '@closeloop/audience';
import { ConversionService } from '@closeloop/tracking';

/**
 * Thin edge: ImportService.run does the whole import in one transaction and leaves a finished
 * import alone, so a job that is run again after a worker restart (BullMQ's stalled-job check)
 * applies the file exactly once. After an orders import, orders with an offer code become
 * conversions (tracking's ConversionService; idempotent, so a rerun adds nothing). One import at a time per worker: each holds a connection and
 * works PostgreSQL hard.
 */
@Processor(IMPORT_QUEUE, { concurrency: 1 })
export class ImportProcessor extends WorkerHost {
  private readonly logger = new Logger(ImportProcessor.name);

  constructor(
    private readonly imports: ImportService,
    private readonly conversions: ConversionService,
  ) {
    super();
  }

  async process(job: Job<AudienceJobPayloads[typeof ImportJob.Run]>) {
    if (job.name !== ImportJob.Run) throw new UnrecoverableError(`unknown import job ${job.name}`);
    try {
      const result = await this.imports.run(job.data.importId, (fraction) =>
        job.updateProgress(Math.round(fraction * 100)),
      );
      this.logger.log({ import: result.id, state: result.state, counts: result.counts }, 'import done');
      // Orders with an offer code become conversions (key: the order id, so never counted twice).
      if (result.kind === 'orders' && result.state === 'completed') {
        const conversions = await this.conversions.fromOrders({ since: new Date(result.createdAt) });
        this.logger.log({ import: result.id, conversions }, 'orders attributed as conversions');
      }
      return { state: result.state, counts: result.counts };
    } catch (error) {
      if (error instanceof ConflictError || error instanceof NotFoundError) throw new UnrecoverableError(error.message);
      // Out of attempts: say so on the import rather than leave it running forever.
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
        await this.imports.fail(job.data.importId, `the import could not be processed: ${(error as Error).message}`);
      }
      throw error;
    }
  }
}
