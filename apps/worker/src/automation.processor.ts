import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import {
  AUTOMATION_QUEUE,
  AutomationJob,
  AutomationJobPayloads,
  DripEngine,
  DripTriggers,
  RuleActions,
} from '@closeloop/automation';

type AutomationJobData = AutomationJobPayloads[keyof AutomationJobPayloads];

/**
 * A tick works this long at most; what is still due goes on at the next one (every DRIP_TICK_MS, on
 * any worker). Short, so a worker asked to stop finishes its tick quickly.
 */
const TICK_BUDGET_MS = 5_000;

/**
 * Thin edge of automation: ticks (advance due drip enrollments), trigger scans, rule firings'
 * actions and segment re-checks. Each is idempotent against the database (row locks, unique keys,
 * the firing's recorded results), since BullMQ delivers at least once.
 */
@Processor(AUTOMATION_QUEUE, { concurrency: 4 })
export class AutomationProcessor extends WorkerHost {
  private readonly logger = new Logger(AutomationProcessor.name);

  constructor(
    private readonly engine: DripEngine,
    private readonly triggers: DripTriggers,
    private readonly actions: RuleActions,
  ) {
    super();
  }

  @OnWorkerEvent('failed')
  async onFailed(job: Job<AutomationJobData> | undefined, error: Error): Promise<void> {
    this.logger.warn(
      { job: job?.id, name: job?.name, attempts: job?.attemptsMade, err: error.message },
      'automation job failed',
    );
    // A firing whose job gave up for another reason than a webhook answer says why on the firing.
    if (job?.name === AutomationJob.Act && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      await this.actions.markFailed((job.data as { firingId: string }).firingId, error.message);
    }
  }

  async process(job: Job<AutomationJobData>) {
    switch (job.name) {
      case AutomationJob.Tick: {
        const r = await this.engine.tick(TICK_BUDGET_MS, (advanced) => job.updateProgress({ advanced }));
        if (r.advanced) this.logger.log(r, 'drip enrollments advanced');
        return r;
      }
      case AutomationJob.Triggers: {
        const r = await this.triggers.run();
        if (r.enrolled || r.exited || r.requeued) this.logger.log(r, 'drip triggers');
        return r;
      }
      case AutomationJob.Act: {
        const { firingId } = job.data as AutomationJobPayloads[typeof AutomationJob.Act];
        const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        return this.actions.run(firingId, lastAttempt);
      }
      case AutomationJob.SegmentCheck: {
        const { customerIds } = job.data as AutomationJobPayloads[typeof AutomationJob.SegmentCheck];
        return { enrolled: await this.triggers.checkCustomers(customerIds) };
      }
      default:
        throw new UnrecoverableError(`unknown automation job ${job.name}`);
    }
  }
}
