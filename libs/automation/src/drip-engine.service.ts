import { Inject, Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  AdvanceContext,
  advanceEnrollment,
  AppConfig,
  ATTRIBUTE_CHANGED,
  Clock,
  CriteriaNode,
  DripStep,
  emptyFacts,
  engagementKey,
  EnrollmentFacts,
  EnrollmentPosition,
  FactRequest,
  positionOf,
  StepEffect,
  systemClock,
} from '@closeloop/core';
import { CustomerService, SegmentService } from '@closeloop/audience';
import { DispatcherService, OriginSend, SendLedgerRepository } from '@closeloop/delivery';
import { APP_CONFIG } from '@closeloop/persistence';
import { DataSource, EntityManager } from 'typeorm';
import { AUTOMATION_CLOCK } from './automation-clock';
import { DripCatalog, MeasuredCell, RunnableVersion } from './drip-catalog';
import {
  addCount,
  countExit,
  CounterDeltas,
  DueEnrollment,
  EnrollmentMove,
  EnrollmentRepository,
} from './enrollment.repository';
import { AutomationEvents, InternalEvent } from './automation-events.service';

/** Where an enrollment's sends are measured: the drip's main cell, or its arm of the latest split. */
interface Scope {
  programId: string;
  cell: MeasuredCell;
}

interface Working {
  row: DueEnrollment;
  v: RunnableVersion;
  position: EnrollmentPosition;
  facts: EnrollmentFacts;
  effects: StepEffect[];
  entered: string[];
  end: ReturnType<typeof advanceEnrollment>['end'] | null;
}

/** A postponed enrollment (facts that could not be settled) is looked at again this much later. */
const RETRY_MS = 5_000;

/**
 * Advances drip enrollments whose time has come: claims a batch of one drip (FOR UPDATE SKIP
 * LOCKED, so workers share the work), decides every move with core's `advanceEnrollment`, and
 * writes the moves, the sends (with their outbox rows), the arm assignments, attribute updates,
 * counters and the events they raise in the same transaction. A worker that dies mid-batch leaves
 * nothing half done: the batch is due again and runs once. Waits are the due time in the row, so a
 * restart loses none and fires none twice.
 */
@Injectable()
export class DripEngine implements OnModuleDestroy {
  private readonly logger = new Logger(DripEngine.name);
  private stopping = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly catalog: DripCatalog,
    private readonly enrollments: EnrollmentRepository,
    private readonly ledger: SendLedgerRepository,
    private readonly dispatcher: DispatcherService,
    private readonly segments: SegmentService,
    private readonly customers: CustomerService,
    private readonly events: AutomationEvents,
    @Optional() @Inject(AUTOMATION_CLOCK) private readonly clock: Clock = systemClock,
  ) {}

  /** The process is stopping: a tick in progress ends after its current batch. */
  onModuleDestroy(): void {
    this.stopping = true;
  }

  /**
   * Advances due enrollments of every active drip, a batch at a time and drip by drip in turn, until
   * none is due or `budgetMs` has passed (the next tick goes on).
   */
  async tick(
    budgetMs = 20_000,
    onBatch?: (advanced: number) => Promise<void>,
  ): Promise<{ advanced: number; batches: number }> {
    const deadline = Date.now() + budgetMs;
    let drips = (await this.catalog.activeDrips()).map((d) => d.id);
    let advanced = 0;
    let batches = 0;
    while (drips.length && Date.now() < deadline && !this.stopping) {
      const next: string[] = [];
      for (const dripId of drips) {
        const n = await this.advanceBatch(dripId);
        if (n > 0) {
          advanced += n;
          batches++;
          next.push(dripId);
          await onBatch?.(advanced);
        }
        if (Date.now() >= deadline || this.stopping) break;
      }
      drips = next;
    }
    return { advanced, batches };
  }

  /**
   * One batch of one drip; returns how many enrollments it advanced (0: none was due). A batch that
   * fails is retried one enrollment at a time, so an enrollment that cannot advance (a step that keeps
   * failing) is put off, and after MAX_FAILURES ended, instead of holding up everyone batched with it.
   */
  async advanceBatch(dripId: string): Promise<number> {
    const now = this.clock.now();
    try {
      const result = await this.dataSource.transaction(async (m) => {
        const rows = await this.enrollments.claimDue(m, dripId, now, this.config.dripBatchSize);
        if (!rows.length) return null;
        return this.advanceRows(m, dripId, rows, now);
      });
      if (!result) return 0;
      await this.afterCommit(result.outbox, result.after);
      return result.advanced;
    } catch (error) {
      this.logger.warn({ err: error, drip: dripId }, 'drip batch failed; advancing its enrollments one by one');
      return this.advanceOneByOne(dripId, now);
    }
  }

  private async advanceOneByOne(dripId: string, now: Date): Promise<number> {
    const due: { id: string; updated_at: Date }[] = await this.dataSource.query(
      `SELECT id, updated_at FROM drip_enrollment WHERE drip_id = $1 AND state = 'active' AND due_at <= $2
        ORDER BY due_at LIMIT $3`,
      [dripId, now, this.config.dripBatchSize],
    );
    let advanced = 0;
    for (const { id, updated_at: seen } of due) {
      try {
        const result = await this.dataSource.transaction(async (m) => {
          const rows = await this.enrollments.claimDue(m, dripId, now, 1, id);
          return rows.length ? this.advanceRows(m, dripId, rows, now) : null;
        });
        if (!result) continue;
        await this.afterCommit(result.outbox, result.after);
        advanced += result.advanced;
      } catch (error) {
        // The database or the network failing is not this enrollment's fault: it stays due, uncounted.
        if (isTransient(error)) throw error;
        const outcome = await this.dataSource.transaction((m) =>
          this.enrollments.recordFailure(m, id, seen, (error as Error).message, now),
        );
        this.logger.error({ err: error, drip: dripId, enrollment: id, outcome }, 'drip enrollment failed');
        advanced++;
      }
    }
    return advanced;
  }

  private async afterCommit(outbox: string[], after: Awaited<ReturnType<AutomationEvents['recordIn']>>) {
    try {
      await this.dispatcher.flushOutbox({ ids: outbox });
    } catch (error) {
      // The rows stay in the outbox; the delivery reconcile sweep enqueues them.
      this.logger.warn({ err: error, outbox: outbox.length }, 'drip sends not enqueued yet; the sweep will');
    }
    await this.events.afterCommit(after);
  }

  private async advanceRows(m: EntityManager, dripId: string, rows: DueEnrollment[], now: Date) {
    const versions = new Map<number, RunnableVersion>();
    for (const version of new Set(rows.map((r) => r.version))) {
      versions.set(version, await this.catalog.version(dripId, version, m));
    }
    const exits = await this.exitsDue(m, rows, versions);
    const working: Working[] = rows
      .filter((row) => !exits.has(row.id))
      .map((row) => {
        const v = versions.get(row.version)!;
        return {
          row,
          v,
          position: positionOf(v.definition, row.step_id, row.waiting),
          facts: emptyFacts(),
          effects: [],
          entered: [],
          end: null,
        };
      });
    await this.run(m, working, now);
    return this.write(m, dripId, rows, working, exits, versions, now);
  }

  /**
   * The drip's exit rules, checked before its next step: unsubscribed on a channel it sends on, the
   * conversion goal reached, an exit event since entry, no longer in the trigger's segment, or a
   * customer erased since.
   */
  private async exitsDue(
    m: EntityManager,
    rows: DueEnrollment[],
    versions: Map<number, RunnableVersion>,
  ): Promise<Map<string, string>> {
    const exits = new Map<string, string>();
    for (const row of rows) if (row.erased) exits.set(row.id, 'customer erased');
    for (const v of versions.values()) {
      const group = rows.filter((r) => r.version === v.version && !exits.has(r.id));
      const rules = v.definition.exit;
      if (!group.length) continue;
      if (rules.unsubscribed) {
        for (const id of await this.enrollments.unsubscribedAmong(m, group, v.channels)) exits.set(id, 'unsubscribed');
      }
      if (rules.converted) {
        const purchases = await this.enrollments.firstPurchases(m, group);
        for (const [id, at] of purchases) if (at && !exits.has(id)) exits.set(id, 'converted');
      }
      if (rules.events.length) {
        for (const id of await this.enrollments.eventsSinceEntry(m, group, rules.events)) {
          if (!exits.has(id)) exits.set(id, 'exit event');
        }
      }
      const trigger = v.definition.trigger;
      if (rules.leftSegment && trigger.type === 'segment') {
        const inside = await this.matching(
          m,
          { op: 'inSegment', value: trigger.segment },
          group.map((r) => r.customer_id),
        );
        for (const r of group) if (!inside.has(r.customer_id) && !exits.has(r.id)) exits.set(r.id, 'left segment');
      }
    }
    return exits;
  }

  /** Runs every enrollment as far as it goes, fetching the facts branches and splits ask for in rounds. */
  private async run(m: EntityManager, working: Working[], now: Date): Promise<void> {
    let pending = working;
    for (let round = 0; pending.length && round <= 2 * 100; round++) {
      const needing: Working[] = [];
      for (const w of pending) {
        const result = advanceEnrollment(w.v.definition, w.position, this.context(w, now));
        w.position = result.position;
        w.effects.push(...result.effects);
        w.entered.push(...result.entered);
        w.end = result.end;
        if (result.end.kind === 'needs') needing.push(w);
      }
      if (needing.length) await this.fetchFacts(m, needing);
      pending = needing;
    }
  }

  private context(w: Working, now: Date): AdvanceContext {
    return {
      now,
      customerId: w.row.customer_id,
      timeZone: w.row.time_zone,
      enteredAt: new Date(w.row.entered_at),
      facts: w.facts,
      splitKey: (step) => w.v.splits.get(step.toLowerCase())!.programId,
      heldOut: this.scopeOf(w.v, w.row).cell.isControl,
      dueAt: w.row.due_at ? new Date(w.row.due_at) : null,
    };
  }

  /** One query per kind of fact for the whole batch. */
  private async fetchFacts(m: EntityManager, needing: Working[]): Promise<void> {
    const requests = needing.map((w) => ({ w, requests: w.end?.kind === 'needs' ? w.end.requests : [] }));
    const want = (kind: FactRequest['kind']) => requests.filter((r) => r.requests.some((q) => q.kind === kind));

    const engagement = want('engagement');
    if (engagement.length) {
      const steps = new Set<string>();
      for (const { requests: rs } of engagement) for (const q of rs) if (q.kind === 'engagement') steps.add(q.step);
      const found = await this.enrollments.engagement(
        m,
        engagement.map(({ w }) => ({ id: w.row.id, customer_id: w.row.customer_id })),
        [...steps],
      );
      for (const { w, requests: rs } of engagement) {
        for (const q of rs) {
          if (q.kind !== 'engagement') continue;
          const key = engagementKey(q.step, q.type);
          w.facts.engagement.set(key, found.get(w.row.id)?.get(key) ?? null);
        }
      }
    }

    const purchase = want('purchase');
    if (purchase.length) {
      const found = await this.enrollments.firstPurchases(
        m,
        purchase.map(({ w }) => w.row),
      );
      for (const { w } of purchase) w.facts.purchase = found.get(w.row.id) ?? null;
    }

    const criteria = want('criteria');
    if (criteria.length) {
      // Leaves are keyed by branch and position: the same key is the same criteria within a version.
      const byLeaf = new Map<string, { criteria: CriteriaNode; ws: Working[] }>();
      for (const { w, requests: rs } of criteria) {
        for (const q of rs) {
          if (q.kind !== 'criteria') continue;
          const key = `${w.v.version}:${q.key}`;
          const entry = byLeaf.get(key) ?? { criteria: q.criteria, ws: [] };
          entry.ws.push(w);
          byLeaf.set(key, entry);
        }
      }
      for (const [key, { criteria: node, ws }] of byLeaf) {
        const inside = await this.matching(
          m,
          node,
          ws.map((w) => w.row.customer_id),
        );
        const leaf = key.slice(key.indexOf(':') + 1);
        for (const w of ws) w.facts.criteria.set(leaf, inside.has(w.row.customer_id));
      }
    }

    const arms = want('arm');
    if (arms.length) {
      const bySplit = new Map<string, { programId: string; ws: Working[]; step: string }>();
      for (const { w, requests: rs } of arms) {
        for (const q of rs) {
          if (q.kind !== 'arm') continue;
          const split = w.v.splits.get(q.split.toLowerCase())!;
          const entry = bySplit.get(split.programId) ?? { programId: split.programId, ws: [], step: q.split };
          entry.ws.push(w);
          bySplit.set(split.programId, entry);
        }
      }
      for (const { programId, ws, step } of bySplit.values()) {
        const found = await this.enrollments.arms(
          m,
          programId,
          ws.map((w) => w.row.customer_id),
        );
        for (const w of ws) w.facts.arms.set(step, found.get(w.row.customer_id) ?? null);
      }
    }
  }

  /** Which of these customers the criteria hold for now. */
  private async matching(m: EntityManager, criteria: CriteriaNode, customerIds: string[]): Promise<Set<string>> {
    const compiled = await this.segments.compile(m, criteria, []);
    const rows: { id: string }[] = await m.query(
      `SELECT c.id FROM customer c WHERE c.id = ANY($${compiled.params.length + 1}::uuid[]) AND ${compiled.sql}`,
      [...compiled.params, [...new Set(customerIds)]],
    );
    return new Set(rows.map((r) => r.id));
  }

  /** Turns the decisions into rows: moves, sends, members, attribute updates, counters, events. */
  private async write(
    m: EntityManager,
    dripId: string,
    rows: DueEnrollment[],
    working: Working[],
    exits: Map<string, string>,
    versions: Map<number, RunnableVersion>,
    now: Date,
  ) {
    const deltas: CounterDeltas = new Map();
    const moves: EnrollmentMove[] = [];
    const sends: OriginSend[] = [];
    const members: { programId: string; customerId: string; cellId: string }[] = [];
    const updates: {
      customerId: string;
      set: Record<string, string | number | boolean | null>;
      w: Working;
      step: string;
    }[] = [];

    for (const row of rows) {
      const reason = exits.get(row.id);
      if (!reason) continue;
      countExit(deltas, row.step_id, reason);
      moves.push({
        id: row.id,
        state: 'exited',
        stepId: row.step_id,
        waiting: false,
        dueAt: null,
        programId: row.program_id,
        cellId: row.cell_id,
        endStep: row.step_id,
        exitReason: reason,
      });
    }

    for (const w of working) {
      let scope = this.scopeOf(w.v, w.row);
      for (const effect of w.effects) {
        if (effect.kind === 'assign') {
          const split = w.v.splits.get(effect.step.toLowerCase())!;
          scope = { programId: split.programId, cell: split.arms.get(effect.arm.code.toLowerCase())! };
          members.push({ programId: split.programId, customerId: w.row.customer_id, cellId: scope.cell.id });
        } else if (effect.kind === 'send') {
          const pin = w.v.pins[effect.template.toLowerCase()];
          sends.push({
            programId: scope.programId,
            cellId: scope.cell.id,
            responseCode: scope.cell.responseCode,
            customerId: w.row.customer_id,
            channel: pin.channel,
            address: pin.channel === 'email' ? w.row.email : w.row.phone,
            templateCode: effect.template,
            templateVersion: pin.version,
            originId: w.row.id,
            stepId: effect.step,
            heldOut: scope.cell.isControl,
          });
        } else {
          updates.push({ customerId: w.row.customer_id, set: effect.set, w, step: effect.step });
        }
      }
      for (const step of w.entered) addCount(deltas, step, 'entered');
      const end = w.end!;
      const steps = w.v.definition.steps;
      const at = (i: number): DripStep | undefined => steps[i];
      const base = { id: w.row.id, programId: scope.programId, cellId: scope.cell.id };
      if (end.kind === 'wait') {
        moves.push({
          ...base,
          state: 'active',
          stepId: at(w.position.index)!.id,
          waiting: true,
          dueAt: end.dueAt,
          endStep: null,
          exitReason: null,
        });
      } else if (end.kind === 'needs') {
        // Facts still missing after every round (should not happen): look again shortly.
        moves.push({
          ...base,
          state: 'active',
          stepId: at(w.position.index)?.id ?? null,
          waiting: false,
          dueAt: new Date(now.getTime() + RETRY_MS),
          endStep: null,
          exitReason: null,
        });
      } else if (end.kind === 'exited') {
        countExit(deltas, end.step, end.reason);
        moves.push({
          ...base,
          state: 'exited',
          stepId: end.step,
          waiting: false,
          dueAt: null,
          endStep: end.step,
          exitReason: end.reason,
        });
      } else {
        addCount(deltas, '', 'completed');
        if (end.step) addCount(deltas, end.step, 'completed');
        moves.push({
          ...base,
          state: 'completed',
          stepId: null,
          waiting: false,
          dueAt: null,
          endStep: end.step,
          exitReason: null,
        });
      }
    }

    await this.enrollments.addMembers(m, members, now);
    const changes = await this.customers.setAttributes(m, updates, now);
    await this.enrollments.saveMoves(m, moves, now);

    // Attribute changes are events rules and drips may listen to, one level deeper than the enrollment.
    const raised: InternalEvent[] = [];
    const changed = new Map(changes.map((c) => [c.customerId, c.changes]));
    for (const u of updates) {
      const c = changed.get(u.customerId);
      if (!c || !Object.keys(c).length) continue;
      changed.delete(u.customerId);
      const steps = updates.filter((x) => x.w === u.w).map((x) => x.step);
      raised.push({
        customerId: u.customerId,
        type: ATTRIBUTE_CHANGED,
        occurredAt: now,
        properties: { changes: c, drip: u.w.v.code },
        depth: u.w.row.depth + 1,
        causeId: null,
        source: `drip:${u.w.v.code}`,
        idempotencyKey: `drip:${u.w.row.id}:${steps.join('+')}`,
      });
    }
    const after = await this.events.recordIn(m, raised, { onlyIfListened: true });
    // Last: the sends' report counters (one row per cell and state, updated by the send trigger) and the
    // drip's counters are shared by every batch, event and delivery claim of the drip, so lock them late.
    const { outbox } = await this.ledger.writeOriginSends(m, sends, now);
    await this.enrollments.addCounters(m, dripId, deltas);
    return { outbox, after, advanced: rows.length };
  }

  /** The scope an enrollment's row says it is in (the drip's main cell before any split). */
  private scopeOf(v: RunnableVersion, row: DueEnrollment): Scope {
    if (row.cell_id === v.main.cell.id) return { programId: v.main.programId, cell: v.main.cell };
    for (const split of v.splits.values()) {
      for (const arm of split.arms.values())
        if (arm.id === row.cell_id) return { programId: split.programId, cell: arm };
    }
    return { programId: v.main.programId, cell: v.main.cell };
  }
}

/** Errors of the database or the network (a restart, a lost connection, a deadlock): nobody's step is to blame. */
function isTransient(error: unknown): boolean {
  const e = error as { code?: string; driverError?: { code?: string } };
  const code = e.driverError?.code ?? e.code ?? '';
  return /^(08|40|53|57)/.test(code) || /^E[A-Z]+$/.test(code);
}
