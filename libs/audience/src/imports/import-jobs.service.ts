import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Actor, ImportKind } from '@closeloop/core';
import { ImportView } from '../dto/import.dto';
import { IMPORT_QUEUE, ImportJob } from '../queues';
import { ImportOptions, ImportService } from './import.service';

/** Stores an upload and hands it to the worker. */
@Injectable()
export class ImportJobs {
  constructor(
    private readonly imports: ImportService,
    @InjectQueue(IMPORT_QUEUE) private readonly queue: Queue,
  ) {}

  async submit(
    actor: Actor,
    kind: ImportKind,
    options: ImportOptions,
    body: AsyncIterable<Buffer | string>,
  ): Promise<ImportView> {
    const created = await this.imports.create(actor, kind, options, body);
    await this.enqueue(created.id);
    return created;
  }

  /** The job id is the import's: enqueueing twice runs it once. */
  async enqueue(importId: string): Promise<void> {
    await this.queue.add(
      ImportJob.Run,
      { importId },
      { jobId: `import-${importId}`, attempts: 5, backoff: { type: 'exponential', delay: 2000 } },
    );
  }
}
