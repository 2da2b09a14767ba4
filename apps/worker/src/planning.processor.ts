import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { systemActor } from '@closeloop/core';
import { PLANNING_QUEUE, PlanningJob, ProgramService } from '@closeloop/planning';

const SCHEDULER = systemActor('scheduler');

/** Thin edge: the decision and the locking live in ProgramService.launchDue. */
@Processor(PLANNING_QUEUE)
export class PlanningProcessor extends WorkerHost {
  private readonly logger = new Logger(PlanningProcessor.name);

  constructor(private readonly programs: ProgramService) {
    super();
  }

  async process(job: Job): Promise<{ launched: string[] }> {
    if (job.name !== PlanningJob.LaunchDue) throw new Error(`unknown planning job ${job.name}`);
    const launched = await this.programs.launchDue(SCHEDULER);
    if (launched.length) this.logger.log({ launched }, `launched ${launched.length} scheduled program(s)`);
    return { launched };
  }
}
