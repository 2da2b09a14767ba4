import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Queue } from 'bullmq';
import { AppConfig } from '@closeloop/core';
import { APP_CONFIG } from '@closeloop/persistence';
import { PLANNING_QUEUE, PlanningJob } from '@closeloop/planning';
import { DELIVERY_QUEUE, DeliveryJob } from '@closeloop/delivery';
import { AUTOMATION_QUEUE, AutomationJob } from '@closeloop/automation';
import { LIFECYCLE_CRON, LIFECYCLE_QUEUE, LifecycleJob } from './lifecycle.processor';
import { HEARTBEAT_EVERY_MS, HEARTBEAT_QUEUE, HeartbeatJob } from './queues';

/**
 * Registers the repeating jobs. Upserts are idempotent, so every worker may run this at boot:
 * with N workers there is still one scheduler per id, and each tick runs on one worker.
 */
@Injectable()
export class JobSchedulers implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(HEARTBEAT_QUEUE) private readonly heartbeat: Queue,
    @InjectQueue(PLANNING_QUEUE) private readonly planning: Queue,
    @InjectQueue(DELIVERY_QUEUE) private readonly delivery: Queue,
    @InjectQueue(LIFECYCLE_QUEUE) private readonly lifecycle: Queue,
    @InjectQueue(AUTOMATION_QUEUE) private readonly automation: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const keep = { removeOnComplete: { count: 100 }, removeOnFail: { count: 1000 } };
    await this.heartbeat.upsertJobScheduler(
      HeartbeatJob.Beat,
      { every: HEARTBEAT_EVERY_MS },
      { name: HeartbeatJob.Beat, opts: keep },
    );
    await this.planning.upsertJobScheduler(
      PlanningJob.LaunchDue,
      { every: this.config.schedulerIntervalMs },
      { name: PlanningJob.LaunchDue, opts: keep },
    );
    await this.delivery.upsertJobScheduler(
      DeliveryJob.Reconcile,
      { every: this.config.schedulerIntervalMs },
      { name: DeliveryJob.Reconcile, opts: keep },
    );
    await this.automation.upsertJobScheduler(
      AutomationJob.Tick,
      { every: this.config.dripTickMs },
      { name: AutomationJob.Tick, opts: keep },
    );
    await this.automation.upsertJobScheduler(
      AutomationJob.Triggers,
      { every: this.config.dripTriggerIntervalMs },
      { name: AutomationJob.Triggers, opts: keep },
    );
    // A cron pattern, not `every`: the recompute runs once a day, not at each worker start.
    await this.lifecycle.upsertJobScheduler(
      LifecycleJob.Recompute,
      { pattern: LIFECYCLE_CRON, tz: 'UTC' },
      { name: LifecycleJob.Recompute, opts: keep },
    );
  }
}
