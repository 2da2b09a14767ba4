import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import {
  anniversaryCandidates,
  Clock,
  DripDefinition,
  localDateOf,
  occurrencesBetween,
  systemClock,
} from '@closeloop/core';
import { SegmentService } from '@closeloop/audience';
import { DataSource, EntityManager } from 'typeorm';
import { AUTOMATION_CLOCK } from './automation-clock';
import { AutomationEvents } from './automation-events.service';
import { DripCatalog } from './drip-catalog';
import { EnrollmentRepository } from './enrollment.repository';
import { AUTOMATION_QUEUE, AutomationJob, AutomationJobPayloads } from './queues';

interface ActiveDrip {
  id: string;
  code: string;
  version: number;
  activated_at: Date;
  definition: DripDefinition;
}

/** A date trigger fires for occurrences this far back (a worker down for a few hours catches up). */
export const DATE_TRIGGER_CATCH_UP_MS = 24 * 3_600_000;
/** The goal sweep looks back this much further than its last run (a transaction that committed late). */
const SWEEP_OVERLAP_MS = 60_000;
/** A pending firing older than this has probably lost its job: it is enqueued again (its actions are idempotent). */
const FIRING_STALE_MS = 30_000;
const ENROLL_CHUNK = 5_000;
const DAY = 86_400_000;

/**
 * The periodic half of the triggers: customers who entered a drip's segment since the last check
 * (and those who left it, when leaving ends the drip), date triggers whose local moment has come,
 * exits for unsubscribes and conversions recorded since the last sweep (waits are not sat out by
 * someone who already converted), and firings whose action job a crash lost.
 */
@Injectable()
export class DripTriggers {
  private readonly logger = new Logger(DripTriggers.name);
  private lastSweep: Date | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly catalog: DripCatalog,
    private readonly enrollments: EnrollmentRepository,
    private readonly segments: SegmentService,
    private readonly events: AutomationEvents,
    @InjectQueue(AUTOMATION_QUEUE) private readonly queue: Queue,
    @Optional() @Inject(AUTOMATION_CLOCK) private readonly clock: Clock = systemClock,
  ) {}

  async run(): Promise<{ enrolled: number; exited: number; requeued: number }> {
    let enrolled = 0;
    let exited = 0;
    for (const drip of await this.activeDrips()) {
      const trigger = drip.definition.trigger;
      if (trigger.type === 'segment') {
        const r = await this.segmentDiff(drip, null);
        enrolled += r.enrolled;
        exited += r.exited;
      } else if (trigger.type === 'date') {
        enrolled += await this.dateOccurrences(drip);
      }
    }
    exited += await this.sweepExits();
    const requeued = await this.requeueStaleFirings();
    if (enrolled) await this.events.kick();
    return { enrolled, exited, requeued };
  }

  /** Segment-triggered drips, for customers an event may have moved in or out. */
  async checkCustomers(customerIds: string[]): Promise<number> {
    let enrolled = 0;
    for (const drip of await this.activeDrips()) {
      if (drip.definition.trigger.type === 'segment') enrolled += (await this.segmentDiff(drip, customerIds)).enrolled;
    }
    if (enrolled) await this.events.kick();
    return enrolled;
  }

  private async activeDrips(): Promise<ActiveDrip[]> {
    return this.dataSource.query(
      `SELECT d.id, d.code, d.version, d.activated_at, v.definition
         FROM drip d JOIN drip_version v ON v.drip_id = d.id AND v.version = d.version
        WHERE d.state = 'active' ORDER BY d.created_at, d.id`,
    );
  }

  /**
   * Who is in the segment now against who was at the last check: those who came in enroll, those who
   * went out leave the remembered set (and their enrollments, where the version they follow ends on
   * leaving this segment). Set-based from start to end: newcomers go from the diff to enrollments in
   * SQL, never through the process, however large the segment. Two checks of one drip never run at
   * once (a transaction-scoped advisory lock, which blocks no change to the drip itself).
   */
  private async segmentDiff(
    drip: ActiveDrip,
    customers: string[] | null,
  ): Promise<{ enrolled: number; exited: number }> {
    const trigger = drip.definition.trigger;
    if (trigger.type !== 'segment') return { enrolled: 0, exited: 0 };
    return this.dataSource.transaction(async (m) => {
      const [lock]: { ok: boolean }[] = await m.query(
        `SELECT pg_try_advisory_xact_lock(hashtextextended('closeloop:segment-trigger:' || $1, 0)) AS ok`,
        [drip.id],
      );
      if (!lock.ok) return { enrolled: 0, exited: 0 };
      const now = this.clock.now();
      const compiled = await this.segments.compile(m, { op: 'inSegment', value: trigger.segment }, []);
      const k = compiled.params.length;
      const scope = customers ? `AND c.id = ANY($${k + 3}::uuid[])` : '';
      const memberScope = customers ? `AND m.customer_id = ANY($${k + 3}::uuid[])` : '';
      await m.query(`CREATE TEMP TABLE segment_moves (customer_id uuid, came boolean) ON COMMIT DROP`);
      await m.query(
        `WITH now_in AS (
           SELECT c.id FROM customer c WHERE c.erased_at IS NULL ${scope} AND ${compiled.sql}),
         gone AS (
           DELETE FROM drip_segment_member m
            WHERE m.drip_id = $${k + 1} ${memberScope} AND NOT EXISTS (SELECT 1 FROM now_in WHERE now_in.id = m.customer_id)
           RETURNING m.customer_id),
         came AS (
           INSERT INTO drip_segment_member (drip_id, customer_id, since)
           SELECT $${k + 1}, id, $${k + 2} FROM now_in ON CONFLICT DO NOTHING
           RETURNING customer_id)
         INSERT INTO segment_moves SELECT customer_id, true FROM came UNION ALL SELECT customer_id, false FROM gone`,
        [...compiled.params, drip.id, now, ...(customers ? [customers] : [])],
      );
      // Leaving ends an enrollment whose own version is triggered by this segment and ends on leaving it.
      const leaving: { id: string }[] = await m.query(
        `SELECT e.id FROM drip_enrollment e
           JOIN segment_moves x ON x.customer_id = e.customer_id AND NOT x.came
           JOIN drip_version v ON v.drip_id = e.drip_id AND v.version = e.version
          WHERE e.drip_id = $1 AND e.state = 'active'
            AND (v.definition -> 'exit' ->> 'leftSegment')::boolean
            AND lower(v.definition -> 'trigger' ->> 'segment') = lower($2)
          ORDER BY e.id FOR UPDATE OF e`,
        [drip.id, trigger.segment],
      );
      const exited = await this.enrollments.exitEnrollments(
        m,
        leaving.map((r) => r.id),
        'left segment',
        now,
      );
      const v = await this.catalog.version(drip.id, drip.version, m);
      const enrolled = await this.enrollments.enrollFrom(
        m,
        v,
        drip.definition.reentry,
        `SELECT customer_id, NULL::text AS trigger_key, 0 AS depth FROM segment_moves WHERE came`,
        [],
        now,
      );
      return { enrolled: enrolled.length, exited };
    });
  }

  /**
   * Date triggers: customers whose date's occurrence (yearly or once, plus offsetDays, at the local
   * hour in their own time zone) fell since the later of the drip's activation and the catch-up
   * window. SQL narrows to the few dates that can be due (an index on birth month and day for
   * birthDate); core's occurrencesBetween decides exactly, DST included. The trigger key is the
   * occurrence's local date, so each occurrence enrolls once however often this runs.
   */
  private async dateOccurrences(drip: ActiveDrip): Promise<number> {
    const trigger = drip.definition.trigger;
    if (trigger.type !== 'date') return 0;
    const now = this.clock.now();
    const after = new Date(Math.max(now.getTime() - DATE_TRIGGER_CATCH_UP_MS, new Date(drip.activated_at).getTime()));
    if (after >= now) return 0;
    const params: unknown[] = [];
    const p = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const attribute = /^attributes\.(.+)$/.exec(trigger.field)?.[1];
    // createdAt: the UTC date narrows (a day wider either side), its local date is taken in the process below.
    const dateExpr =
      trigger.field === 'birthDate'
        ? 'c.birth_date'
        : trigger.field === 'createdAt'
          ? `(c.created_at AT TIME ZONE 'UTC')::date`
          : `closeloop_try_date(c.attributes ->> ${p(attribute)}::text)`;
    const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);
    // Yearly: only the month/days whose anniversary can be due (for birthDate, the expression of
    // customer_birth_day_idx, so the scan reads those days only). Once: the dates that can be due,
    // two days wider either side for time zones.
    const filter =
      trigger.recurrence === 'yearly'
        ? `(extract(month FROM ${dateExpr}) * 100 + extract(day FROM ${dateExpr}))::int = ANY(${p(
            trigger.field === 'createdAt'
              ? anniversaryCandidates(
                  new Date(after.getTime() - DAY),
                  new Date(now.getTime() + DAY),
                  trigger.offsetDays,
                )
              : anniversaryCandidates(after, now, trigger.offsetDays),
          )}::int[])`
        : `${dateExpr} BETWEEN ${p(isoDay(after.getTime() - (trigger.offsetDays + 2) * DAY))}::date
                             AND ${p(isoDay(now.getTime() - (trigger.offsetDays - 2) * DAY))}::date`;
    const candidates: { id: string; d: string; time_zone: string | null; created_at: Date }[] =
      await this.dataSource.query(
        `SELECT c.id, to_char(${dateExpr}, 'YYYY-MM-DD') AS d, c.time_zone, c.created_at FROM customer c
          WHERE c.erased_at IS NULL AND ${dateExpr} IS NOT NULL AND ${filter}`,
        params,
      );
    // A signup's anniversary is the day it was in the customer's own time zone.
    if (trigger.field === 'createdAt')
      for (const c of candidates) c.d = localDateOf(new Date(c.created_at), c.time_zone);
    const due: { customerId: string; triggerKey: string; depth: number }[] = [];
    for (const c of candidates) {
      for (const o of occurrencesBetween(
        c.d,
        after,
        now,
        trigger.offsetDays,
        trigger.at,
        c.time_zone,
        trigger.recurrence,
      )) {
        due.push({ customerId: c.id, triggerKey: `date:${o.key}`, depth: 0 });
      }
    }
    if (!due.length) return 0;
    let enrolled = 0;
    for (let i = 0; i < due.length; i += ENROLL_CHUNK) {
      enrolled += await this.dataSource.transaction(async (m) => {
        const v = await this.catalog.version(drip.id, drip.version, m);
        return (await this.enrollments.enroll(m, v, drip.definition.reentry, due.slice(i, i + ENROLL_CHUNK), now))
          .length;
      });
    }
    if (enrolled) this.logger.log({ drip: drip.code, enrolled }, 'date trigger enrolled customers');
    return enrolled;
  }

  /**
   * Ends enrollments that an unsubscribe or a conversion recorded since the last sweep ends, without
   * waiting for their next step (each enrollment checks again before every step in any case).
   */
  private async sweepExits(): Promise<number> {
    const now = this.clock.now();
    const since = new Date((this.lastSweep ?? new Date(now.getTime() - 10 * 60_000)).getTime() - SWEEP_OVERLAP_MS);
    const exited = await this.dataSource.transaction(async (m) => {
      // An unsubscribe on a channel the enrollment's version sends on (a STOP does not end an email drip).
      const unsubscribed = await this.exitWhere(
        m,
        `SELECT DISTINCT s.customer_id FROM suppression s
          WHERE s.created_at >= $1 AND s.customer_id IS NOT NULL AND s.reason IN ('unsubscribed', 'complaint')`,
        since,
        `(v.definition -> 'exit' ->> 'unsubscribed')::boolean AND EXISTS (
           SELECT 1 FROM suppression s WHERE s.customer_id = e.customer_id AND s.created_at >= $1
              AND s.reason IN ('unsubscribed', 'complaint') AND s.channel = ANY(v.channels))`,
        'unsubscribed',
      );
      const converted = await this.exitWhere(
        m,
        `SELECT DISTINCT r.customer_id FROM response r WHERE r.type = 'conversion' AND r.created_at >= $1`,
        since,
        `(v.definition -> 'exit' ->> 'converted')::boolean AND EXISTS (
           SELECT 1 FROM response r WHERE r.customer_id = e.customer_id AND r.type = 'conversion'
              AND r.occurred_at > e.entered_at)`,
        'converted',
      );
      return unsubscribed + converted;
    });
    this.lastSweep = now;
    return exited;
  }

  private async exitWhere(m: EntityManager, customers: string, since: Date, rule: string, reason: string) {
    const rows: { id: string }[] = await m.query(
      `SELECT e.id FROM drip_enrollment e
         JOIN drip_version v ON v.drip_id = e.drip_id AND v.version = e.version
        WHERE e.state = 'active' AND e.customer_id IN (${customers}) AND ${rule}
        ORDER BY e.id FOR UPDATE OF e SKIP LOCKED`,
      [since],
    );
    return this.enrollments.exitEnrollments(
      m,
      rows.map((r) => r.id),
      reason,
      this.clock.now(),
    );
  }

  /** Firings still pending well after they were recorded: their job is enqueued again. */
  private async requeueStaleFirings(): Promise<number> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM rule_firing WHERE state = 'pending' AND created_at < $1 ORDER BY created_at LIMIT 1000`,
      [new Date(this.clock.now().getTime() - FIRING_STALE_MS)],
    );
    if (!rows.length) return 0;
    const jobs = [];
    for (const { id } of rows) {
      // A job still waiting or running keeps its id and the add is a no-op; a lost one is replaced.
      const job = await this.queue.getJob(`firing.${id}`);
      const state = job ? await job.getState() : null;
      if (state && ['waiting', 'active', 'delayed', 'waiting-children', 'prioritized'].includes(state)) continue;
      if (job) await job.remove().catch(() => undefined);
      jobs.push({
        name: AutomationJob.Act,
        data: { firingId: id } satisfies AutomationJobPayloads[typeof AutomationJob.Act],
        opts: { jobId: `firing.${id}`, attempts: 6, backoff: { type: 'exponential', delay: 2000 } },
      });
    }
    if (jobs.length) await this.queue.addBulk(jobs);
    return jobs.length;
  }
}
