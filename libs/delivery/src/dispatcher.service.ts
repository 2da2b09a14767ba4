import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import {
  AppConfig,
  Clock,
  codeKey,
  ConflictError,
  InvalidTransitionError,
  NotFoundError,
  systemActor,
  systemClock,
} from '@closeloop/core';
import { TargetListService } from '@closeloop/audience';
import { TemplateService } from '@closeloop/messaging';
import { APP_CONFIG } from '@closeloop/persistence';
import { ProgramService } from '@closeloop/planning';
import { DataSource, EntityManager } from 'typeorm';
import { DELIVERY_CLOCK } from './contact-policy.service';
import { DELIVERY_QUEUE, DeliveryJob, DeliveryJobPayloads } from './queues';
import { SendLedgerRepository } from './send-ledger.repository';

interface ProgramRow {
  id: string;
  code: string;
  channel: 'email' | 'sms';
  state: string;
  template_code: string | null;
  template_pins: Record<string, number> | null;
  dispatched_at: Date | null;
}

const DELIVER_JOB_OPTIONS = { attempts: 3, backoff: { type: 'exponential', delay: 1000 } } as const;

/**
 * Turns a launched program into sends: builds its list if it has none, pins the template versions,
 * writes one send row per member set-based, then enqueues the delivery batches. Every step is safe to
 * rerun (the ledger's unique key; job ids derived from send ids), so a crash anywhere only delays it.
 */
@Injectable()
export class DispatcherService {
  private readonly logger = new Logger(DispatcherService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ledger: SendLedgerRepository,
    private readonly templates: TemplateService,
    private readonly lists: TargetListService,
    // Looked up when needed: ProgramService calls this lib's state listener, so injecting it here would be a cycle.
    private readonly moduleRef: ModuleRef,
    @InjectQueue(DELIVERY_QUEUE) private readonly queue: Queue,
    @Optional() @Inject(DELIVERY_CLOCK) private readonly clock: Clock = systemClock,
  ) {}

  /** Queues the dispatch of a launched program (its job id makes a second request a no-op while it waits). */
  async requestDispatch(programId: string): Promise<void> {
    await this.queue.add(
      DeliveryJob.Dispatch,
      { programId } satisfies DeliveryJobPayloads[typeof DeliveryJob.Dispatch],
      { jobId: `dispatch.${programId}`, attempts: 5, backoff: { type: 'exponential', delay: 2000 } },
    );
  }

  async dispatch(programId: string, onProgress: (fraction: number) => Promise<void> = async () => undefined) {
    const program = await this.program(this.dataSource.manager, programId);
    if (program.state !== 'running' && program.state !== 'paused') return { written: 0, enqueued: 0 };
    await this.lists.ensureBuiltForLaunch(programId, (f) => onProgress(f * 0.6));
    const written = await this.dataSource.transaction(async (m) => {
      const p = await this.program(m, programId, true);
      const pins = p.template_pins ?? (await this.pinTemplates(m, p));
      return this.ledger.writeSends(m, p.id, p.channel, pins);
    });
    // Fresh statistics: without them the claim's plan filters every pending send of the program to find
    // a batch's 50 ids (24-47 ms a claim at 50,000 pending; 1.5-3 ms with them).
    if (written) await this.dataSource.query(`ANALYZE send`);
    await onProgress(0.8);
    const enqueued = await this.enqueuePending(programId, 'd');
    await this.dataSource.query(`UPDATE program SET dispatched_at = $2, dispatch_error = NULL WHERE id = $1`, [
      programId,
      this.clock.now(),
    ]);
    this.logger.log({ program: program.code, written, enqueued }, 'program dispatched');
    await this.completeIfDone(programId);
    return { written, enqueued };
  }

  /** Records why a program could not be dispatched (shown by its progress). */
  async recordDispatchError(programId: string, reason: string): Promise<void> {
    await this.dataSource.query(`UPDATE program SET dispatch_error = $2 WHERE id = $1`, [programId, reason]);
  }

  /**
   * Enqueues every pending send of a program in batches. `generation` keeps job ids unique per
   * enqueueing (a finished job's id is kept in Redis for a while, and adding it again would be a no-op).
   */
  async enqueuePending(programId: string, generation: string): Promise<number> {
    const size = this.config.sendBatchSize;
    let after: string | null = null;
    let enqueued = 0;
    for (;;) {
      const ids = await this.ledger.pendingIds(programId, after, size * 100);
      if (!ids.length) return enqueued;
      await this.queue.addBulk(this.deliverJobs(programId, ids, (first) => `${first}.${generation}`));
      enqueued += ids.length;
      after = ids[ids.length - 1];
    }
  }

  /**
   * Enqueues sends written to `delivery_outbox` (automation's sends): the rows named, or (the sweep)
   * every row older than `olderThanMs`. Rows are taken with SKIP LOCKED and deleted in the transaction
   * that enqueues them, so a failed enqueue leaves them for the next try, and two workers never take
   * the same row. Job ids derive from the outbox row, so enqueueing a row again (a crash after the
   * enqueue, before the commit) adds nothing while the first job waits; after it, the claim finds the
   * sends taken.
   */
  async flushOutbox(filter: { ids: string[] } | { olderThanMs: number }): Promise<number> {
    if ('ids' in filter && !filter.ids.length) return 0;
    return this.dataSource.transaction(async (m) => {
      const rows: { id: string; program_id: string; send_ids: string[] }[] = await m.query(
        // In a CTE: TypeORM answers a bare DELETE ... RETURNING with [rows, count].
        `WITH taken AS (
           DELETE FROM delivery_outbox WHERE id IN (
             SELECT id FROM delivery_outbox WHERE ${'ids' in filter ? 'id = ANY($1::bigint[])' : 'created_at < $1'}
              ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED)
           RETURNING id, program_id, send_ids)
         SELECT id::text, program_id, send_ids FROM taken ORDER BY id`,
        ['ids' in filter ? filter.ids : new Date(this.clock.now().getTime() - filter.olderThanMs)],
      );
      const jobs = rows.flatMap((row) =>
        this.deliverJobs(row.program_id, row.send_ids, (_, batch) => `o${row.id}.${batch}`),
      );
      if (jobs.length) await this.queue.addBulk(jobs);
      return rows.reduce((n, r) => n + r.send_ids.length, 0);
    });
  }

  /** Re-enqueues sends the queue may have lost (see SendLedgerRepository.stranded). */
  async enqueueStranded(): Promise<number> {
    const stranded = await this.ledger.stranded(this.clock.now(), this.config.sendClaimTimeoutMs);
    const generation = `s${this.clock.now().getTime()}`;
    let n = 0;
    for (const { programId, sendIds } of stranded) {
      await this.queue.addBulk(this.deliverJobs(programId, sendIds, (first) => `${first}.${generation}`));
      n += sendIds.length;
    }
    return n;
  }

  /**
   * Deliver jobs for sends, SEND_BATCH_SIZE a job; job ids `deliver.<program>.<suffix>`, where the suffix
   * names the batch (its first send, or its place) and what enqueued it, so a repeat adds nothing while
   * the first waits.
   */
  private deliverJobs(programId: string, sendIds: string[], suffix: (firstSend: string, batch: number) => string) {
    const size = this.config.sendBatchSize;
    const jobs = [];
    for (let i = 0; i < sendIds.length; i += size) {
      const batch = sendIds.slice(i, i + size);
      jobs.push({
        name: DeliveryJob.Deliver,
        data: { programId, sendIds: batch } satisfies DeliveryJobPayloads[typeof DeliveryJob.Deliver],
        opts: { jobId: `deliver.${programId}.${suffix(batch[0], i / size)}`, ...DELIVER_JOB_OPTIONS },
      });
    }
    return jobs;
  }

  /**
   * Pauses a running program for someone to look at (e.g. its complaint rate passed the limit).
   * False when it was not running. Sends in flight finish; nothing more is claimed.
   */
  async pauseProgram(programId: string, reason: string): Promise<boolean> {
    try {
      await this.moduleRef
        .get(ProgramService, { strict: false })
        .transition(systemActor(`delivery: ${reason}`), programId, 'pause');
      this.logger.warn({ program: programId, reason }, 'program paused');
      return true;
    } catch (error) {
      if (error instanceof InvalidTransitionError) return false;
      throw error;
    }
  }

  /** A running program whose sends are all settled is completed (PRODUCT.md: queued/sending/deferred are not). */
  async completeIfDone(programId: string): Promise<boolean> {
    const [p] = await this.dataSource.query(`SELECT state, dispatched_at FROM program WHERE id = $1`, [programId]);
    if (!p || p.state !== 'running' || !p.dispatched_at || (await this.ledger.hasPending(programId))) return false;
    try {
      await this.moduleRef
        .get(ProgramService, { strict: false })
        .transition(systemActor('delivery'), programId, 'complete');
      this.logger.log({ program: programId }, 'program completed');
      return true;
    } catch (error) {
      if (error instanceof InvalidTransitionError) return false; // paused or cancelled in between
      throw error;
    }
  }

  /**
   * The periodic sweep (every worker runs it; each step is idempotent): programs launched but never
   * dispatched, sends whose worker died or whose delayed job is gone, cancelled programs' leftovers,
   * and programs that are done.
   */
  async reconcile(): Promise<{ dispatched: number; requeued: number; completed: number; cancelled: number }> {
    const undispatched: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM program WHERE state = 'running' AND dispatched_at IS NULL AND dispatch_error IS NULL
          AND launched_at < $1 AND managed_by IS NULL`,
      [new Date(this.clock.now().getTime() - 10_000)],
    );
    for (const { id } of undispatched) await this.requestDispatch(id);
    // Automation's sends whose enqueue a crash interrupted (the writer flushes its own rows at once).
    const requeued = (await this.enqueueStranded()) + (await this.flushOutbox({ olderThanMs: 10_000 }));
    const cancelledRows: { id: string }[] = await this.dataSource.query(
      `SELECT DISTINCT p.id FROM program p JOIN send s ON s.program_id = p.id AND s.state IN ('queued', 'deferred')
        WHERE p.state = 'cancelled'`,
    );
    let cancelled = 0;
    for (const { id } of cancelledRows) cancelled += await this.ledger.cancelPending(id);
    const running: { id: string }[] = await this.dataSource.query(
      `SELECT p.id FROM program p WHERE p.state = 'running' AND p.dispatched_at IS NOT NULL AND p.managed_by IS NULL
          AND NOT EXISTS (SELECT 1 FROM send s WHERE s.program_id = p.id AND s.state IN ('queued', 'sending', 'deferred'))`,
    );
    let completed = 0;
    for (const { id } of running) if (await this.completeIfDone(id)) completed++;
    return { dispatched: undispatched.length, requeued, completed, cancelled };
  }

  /** Every template the program's cells send with must exist on the program's channel. */
  async assertTemplates(m: EntityManager, channel: string, codes: string[]): Promise<Map<string, number>> {
    const found = await this.templates.currentVersions(m, codes);
    const pins = new Map<string, number>();
    for (const code of codes) {
      const t = found.get(codeKey(code));
      if (!t) throw new ConflictError(`template "${code}" does not exist`);
      if (t.channel !== channel) {
        throw new ConflictError(`template "${code}" is for ${t.channel}, the program sends ${channel}`);
      }
      pins.set(codeKey(code), t.version);
    }
    return pins;
  }

  /** Pins the current version of each template the program sends with (a later PUT does not change a launched program). */
  private async pinTemplates(m: EntityManager, p: ProgramRow): Promise<Record<string, number>> {
    const cells: { code: string; template_code: string | null }[] = await m.query(
      `SELECT code, template_code FROM cell WHERE program_id = $1 AND NOT is_control ORDER BY position`,
      [p.id],
    );
    const codes = new Set<string>();
    for (const cell of cells) {
      const code = cell.template_code ?? p.template_code;
      if (!code) throw new ConflictError(`program ${p.code} has no template for cell ${cell.code}`);
      codes.add(code);
    }
    const pins = Object.fromEntries(await this.assertTemplates(m, p.channel, [...codes]));
    await m.query(`UPDATE program SET template_pins = $2 WHERE id = $1`, [p.id, JSON.stringify(pins)]);
    return pins;
  }

  private async program(m: EntityManager, id: string, lock = false): Promise<ProgramRow> {
    const rows: ProgramRow[] = await m.query(
      `SELECT id, code, channel, state, template_code, template_pins, dispatched_at FROM program WHERE id = $1
       ${lock ? 'FOR UPDATE' : ''}`,
      [id],
    );
    if (!rows.length) throw new NotFoundError('program', id);
    return rows[0];
  }
}
