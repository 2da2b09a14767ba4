import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { AppConfig, ConflictError, NotFoundError } from '@closeloop/core';
import {
  DELIVERY_QUEUE,
  DeliveryJob,
  DeliveryJobPayloads,
  DeliveryService,
  DispatcherService,
} from '@closeloop/delivery';
import { APP_CONFIG } from '@closeloop/persistence';

type DeliveryJobData = DeliveryJobPayloads[keyof DeliveryJobPayloads];

/**
 * Thin edge of the executor: dispatch (list -> sends -> batches), deliver (a batch of sends), and the
 * periodic reconcile. Every job is idempotent against the send ledger, since BullMQ delivers at
 * least once.
 */
@Processor(DELIVERY_QUEUE)
export class DeliveryProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(DeliveryProcessor.name);

  constructor(
    private readonly delivery: DeliveryService,
    private readonly dispatcher: DispatcherService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.deliveryConcurrency;
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job<DeliveryJobData> | undefined, error: Error): void {
    this.logger.warn(
      { job: job?.id, name: job?.name, attempts: job?.attemptsMade, err: error.message },
      'delivery job failed',
    );
  }

  async process(job: Job<DeliveryJobData>) {
    switch (job.name) {
      case DeliveryJob.Dispatch:
        return this.dispatch(job as Job<DeliveryJobPayloads[typeof DeliveryJob.Dispatch]>);
      case DeliveryJob.Deliver: {
        const { programId, sendIds } = job.data as DeliveryJobPayloads[typeof DeliveryJob.Deliver];
        const outcome = await this.delivery.deliverBatch(sendIds);
        if (outcome.claimed) await this.dispatcher.completeIfDone(programId);
        return outcome;
      }
      case DeliveryJob.Reconcile: {
        const r = await this.dispatcher.reconcile();
        if (r.dispatched || r.requeued || r.completed || r.cancelled) this.logger.log(r, 'delivery reconciled');
        return r;
      }
      default:
        throw new UnrecoverableError(`unknown delivery job ${job.name}`);
    }
  }

  private async dispatch(job: Job<DeliveryJobPayloads[typeof DeliveryJob.Dispatch]>) {
    const { programId } = job.data;
    try {
      return await this.dispatcher.dispatch(programId, (f) => job.updateProgress(Math.round(f * 100)));
    } catch (error) {
      // No template, no segment, a program that is gone: retrying will not help; say why on the program.
      if (error instanceof ConflictError || error instanceof NotFoundError) {
        await this.dispatcher.recordDispatchError(programId, error.message);
        this.logger.warn({ program: programId, reason: error.message }, 'program not dispatched');
        throw new UnrecoverableError(error.message);
      }
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
        await this.dispatcher.recordDispatchError(programId, `dispatch failed: ${(error as Error).message}`);
      }
      throw error;
    }
  }
}
