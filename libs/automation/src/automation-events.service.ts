import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { AppConfig, assertNoNul, Clock, hashShare, mayFireAt, systemClock, ValidationError } from '@closeloop/core';
import { SegmentService } from '@closeloop/audience';
import { APP_CONFIG } from '@closeloop/persistence';
import { DataSource, EntityManager } from 'typeorm';
import { AUTOMATION_CLOCK } from './automation-clock';
import { AutomationListeners, Listeners, RuleListener } from './automation-listeners';
import { DripCatalog } from './drip-catalog';
import { EventInputDto, EventView } from './dto/event.dto';
import { EnrollmentRepository } from './enrollment.repository';
import { AUTOMATION_QUEUE, AutomationJob, AutomationJobPayloads, TICK_KICK_JOB_ID } from './queues';

/** An event as automation records it (from the API, or raised by automation itself). */
export interface InternalEvent {
  customerId: string;
  type: string;
  occurredAt: Date;
  properties: Record<string, unknown>;
  depth: number;
  /** The rule firing whose action raised it. */
  causeId: string | null;
  source: string;
  idempotencyKey: string | null;
}

interface RecordedEvent extends InternalEvent {
  id: string;
}

/** What an event did, for the answer. */
interface Reactions {
  enrolled: string[];
  exited: number;
  firings: { rule: string; id: string; state: string; reason: string | null }[];
}

/** What is left to do once the transaction that recorded events has committed. */
export interface AfterEvents {
  firings: string[];
  enrolled: boolean;
  segmentCustomers: string[];
}

export const NOTHING_AFTER: AfterEvents = { firings: [], enrolled: false, segmentCustomers: [] };

/** Up to this far in the future an occurredAt is taken as clock skew. */
const FUTURE_SKEW_MS = 5 * 60_000;
const MAX_PROPERTIES_BYTES = 16 * 1024;
const ACT_JOB_OPTIONS = { attempts: 6, backoff: { type: 'exponential', delay: 2000 } } as const;

/**
 * Customer events (`POST /v1/events`, and events automation raises itself) and everything that
 * reacts to them as they arrive, in the transaction that records them: event-triggered drips enroll,
 * exit events and purchases end the enrollments they should, and every active rule whose condition
 * holds gets a firing. The firings' actions are enqueued right after the commit, before the API
 * answers, so "event in -> action enqueued" is bounded by one request. A firing whose job a crash
 * lost stays `pending` and the sweep enqueues it again; its actions are idempotent.
 */
@Injectable()
export class AutomationEvents {
  private readonly logger = new Logger(AutomationEvents.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly listeners: AutomationListeners,
    private readonly catalog: DripCatalog,
    private readonly enrollments: EnrollmentRepository,
    private readonly segments: SegmentService,
    @InjectQueue(AUTOMATION_QUEUE) private readonly queue: Queue,
    @Optional() @Inject(AUTOMATION_CLOCK) private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Events posted by a system: checked whole first (one bad row is a 400 naming it and nothing is
   * recorded), resolved to customers, recorded and reacted to. A repeated idempotency key answers the
   * first result and does nothing.
   */
  async ingest(inputs: EventInputDto[], path: (i: number) => string): Promise<EventView[]> {
    const now = this.clock.now();
    inputs.forEach((input, i) => {
      const at = path(i);
      if (input.occurredAt !== undefined && Date.parse(input.occurredAt) > now.getTime() + FUTURE_SKEW_MS) {
        throw new ValidationError(`${at}.occurredAt is in the future`, `${at}.occurredAt`);
      }
      if (input.properties && Buffer.byteLength(JSON.stringify(input.properties)) > MAX_PROPERTIES_BYTES) {
        throw new ValidationError(`${at}.properties is larger than 16 KB`, `${at}.properties`);
      }
      assertNoNul(input.properties, `${at}.properties`);
    });
    const customers: { id: string; external_id: string }[] = await this.dataSource.query(
      `SELECT id, external_id FROM customer WHERE external_id = ANY($1) AND erased_at IS NULL`,
      [[...new Set(inputs.map((x) => x.externalId))]],
    );
    const customerOf = new Map(customers.map((c) => [c.external_id, c.id]));
    const causes = [...new Set(inputs.flatMap((x) => (x.cause ? [x.cause] : [])))];
    const firings: { id: string; depth: number }[] = causes.length
      ? await this.dataSource.query(`SELECT id, depth FROM rule_firing WHERE id = ANY($1::uuid[])`, [causes])
      : [];
    const depthOf = new Map(firings.map((f) => [f.id, f.depth + 1]));
    inputs.forEach((input, i) => {
      const at = path(i);
      if (!customerOf.has(input.externalId)) {
        throw new ValidationError(`${at}.externalId: no customer "${input.externalId}"`, `${at}.externalId`);
      }
      if (input.cause && !depthOf.has(input.cause)) {
        throw new ValidationError(`${at}.cause: no rule firing "${input.cause}"`, `${at}.cause`);
      }
    });
    const events: InternalEvent[] = inputs.map((input) => ({
      customerId: customerOf.get(input.externalId)!,
      type: input.type,
      occurredAt: input.occurredAt ? new Date(input.occurredAt) : now,
      properties: input.properties ?? {},
      depth: input.cause ? depthOf.get(input.cause)! : 0,
      causeId: input.cause ?? null,
      source: 'api',
      // A key is the customer's: another customer's event with the same key is another event.
      idempotencyKey: input.idempotencyKey ? `key:${customerOf.get(input.externalId)}:${input.idempotencyKey}` : null,
    }));
    const result = await retryOnConflict(() => this.dataSource.transaction((m) => this.record(m, events, false)));
    await this.afterCommit(result.after);
    return this.views(inputs, events, result.ids, result.reactions);
  }

  /**
   * Records events raised inside another transaction (an update step, a rule action) and reacts to
   * them there. With `onlyIfListened`, events of a type nothing listens to are not kept (automation
   * raises `attribute-changed` for every update; a history of those nobody reads is not worth its rows).
   */
  async recordIn(m: EntityManager, events: InternalEvent[], options: { onlyIfListened?: boolean } = {}) {
    if (!events.length) return NOTHING_AFTER;
    return (await this.record(m, events, options.onlyIfListened ?? false)).after;
  }

  /** Enqueues what recording decided: the firings' actions, a tick for new enrollments, segment checks. */
  async afterCommit(after: AfterEvents): Promise<void> {
    try {
      if (after.firings.length) {
        await this.queue.addBulk(
          after.firings.map((firingId) => ({
            name: AutomationJob.Act,
            data: { firingId } satisfies AutomationJobPayloads[typeof AutomationJob.Act],
            opts: { jobId: `firing.${firingId}`, ...ACT_JOB_OPTIONS },
          })),
        );
      }
      if (after.enrolled) await this.kick();
      if (after.segmentCustomers.length) {
        await this.queue.add(AutomationJob.SegmentCheck, {
          customerIds: after.segmentCustomers,
        } satisfies AutomationJobPayloads[typeof AutomationJob.SegmentCheck]);
      }
    } catch (error) {
      // Recorded already: pending firings and due enrollments are picked up by the periodic jobs.
      this.logger.warn({ err: error }, 'automation work not enqueued; the sweep will');
    }
  }

  /** Asks a worker to advance due enrollments now rather than at the next tick. */
  async kick(): Promise<void> {
    await this.queue.add(
      AutomationJob.Tick,
      {},
      { jobId: TICK_KICK_JOB_ID, removeOnComplete: true, removeOnFail: true },
    );
  }

  private async record(m: EntityManager, events: InternalEvent[], onlyIfListened: boolean) {
    const listeners = await this.listeners.get(m);
    const kept = onlyIfListened ? events.filter((e) => listeners.types.has(e.type)) : events;
    const ids = kept.map(() => randomUUID());
    const rows: { id: string }[] = kept.length
      ? await m.query(
          `INSERT INTO customer_event (id, customer_id, type, occurred_at, properties, depth, cause_id, source,
                                       idempotency_key, created_at)
           SELECT x.id, x.customer_id, x.type, x.occurred_at, x.properties, x.depth, x.cause_id, x.source, x.key, $10
             FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::jsonb[], $6::int[], $7::uuid[],
                         $8::text[], $9::text[]) AS x(id, customer_id, type, occurred_at, properties, depth, cause_id,
                                                       source, key)
           ON CONFLICT (idempotency_key) DO NOTHING
           RETURNING id`,
          [
            ids,
            kept.map((e) => e.customerId),
            kept.map((e) => e.type),
            kept.map((e) => e.occurredAt),
            kept.map((e) => JSON.stringify(e.properties)),
            kept.map((e) => e.depth),
            kept.map((e) => e.causeId),
            kept.map((e) => e.source),
            kept.map((e) => e.idempotencyKey),
            this.clock.now(),
          ],
        )
      : [];
    const inserted = new Set(rows.map((r) => r.id));
    const recorded: RecordedEvent[] = kept.flatMap((e, i) => (inserted.has(ids[i]) ? [{ ...e, id: ids[i] }] : []));
    // The id each event got, in the order given (null: a repeated key, or not kept).
    const idOf = new Map(kept.map((e, i) => [e, inserted.has(ids[i]) ? ids[i] : null]));
    const after: AfterEvents = { firings: [], enrolled: false, segmentCustomers: [] };
    const reactions = new Map<string, Reactions>(recorded.map((e) => [e.id, { enrolled: [], exited: 0, firings: [] }]));
    if (recorded.length) {
      await this.exits(m, recorded, listeners, reactions);
      after.enrolled = await this.enroll(m, recorded, listeners, reactions);
      after.firings = await this.fire(m, recorded, listeners, reactions);
      if (listeners.segmentDrips) after.segmentCustomers = [...new Set(recorded.map((e) => e.customerId))];
    }
    return { ids: events.map((e) => idOf.get(e) ?? null), after, reactions };
  }

  /**
   * Ends active enrollments that an event of these types ends (entered before the event happened):
   * gathered first, then ended once per drip, so one request locks each drip's counters once.
   */
  private async exits(
    m: EntityManager,
    events: RecordedEvent[],
    listeners: Listeners,
    reactions: Map<string, Reactions>,
  ): Promise<void> {
    const byDrip = new Map<string, Map<string, { reason: string; customerId: string }>>();
    for (const [type, drips] of listeners.exits) {
      const ofType = events.filter((e) => e.type === type);
      if (!ofType.length) continue;
      for (const drip of drips) {
        const found: { id: string; customer_id: string }[] = await m.query(
          `SELECT e.id, e.customer_id FROM drip_enrollment e
            WHERE e.customer_id = ANY($1::uuid[]) AND e.drip_id = $3 AND e.version = ANY($4::int[]) AND e.state = 'active'
              AND EXISTS (SELECT 1 FROM unnest($1::uuid[], $2::timestamptz[]) AS x(customer_id, at)
                           WHERE x.customer_id = e.customer_id AND e.entered_at < x.at)
            ORDER BY e.id`,
          [ofType.map((e) => e.customerId), ofType.map((e) => e.occurredAt), drip.dripId, drip.versions],
        );
        const ending = byDrip.get(drip.dripId) ?? new Map<string, { reason: string; customerId: string }>();
        for (const f of found)
          if (!ending.has(f.id)) ending.set(f.id, { reason: drip.reason, customerId: f.customer_id });
        byDrip.set(drip.dripId, ending);
      }
    }
    for (const [, ending] of [...byDrip].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const byReason = new Map<string, string[]>();
      for (const [id, { reason }] of ending) byReason.set(reason, [...(byReason.get(reason) ?? []), id]);
      for (const [reason, ids] of byReason) await this.enrollments.exitEnrollments(m, ids, reason, this.clock.now());
      for (const e of events) {
        reactions.get(e.id)!.exited += [...ending.values()].filter((x) => x.customerId === e.customerId).length;
      }
    }
  }

  /** Enrolls the events' customers in drips triggered by these events (when their condition holds). */
  private async enroll(
    m: EntityManager,
    events: RecordedEvent[],
    listeners: Listeners,
    reactions: Map<string, Reactions>,
  ): Promise<boolean> {
    let any = false;
    for (const [type, drips] of listeners.drips) {
      const ofType = events.filter((e) => e.type === type);
      if (!ofType.length) continue;
      // Events raised this deep by automation enroll no more (a drip whose update step triggers another drip,
      // and back): the same limit as rules.
      const shallow = ofType.filter((e) => mayFireAt(e.depth, this.config.ruleMaxDepth));
      if (!shallow.length) continue;
      for (const drip of drips) {
        const matching = drip.condition.if ? await this.matching(m, drip.condition.if, shallow) : shallow;
        if (!matching.length) continue;
        const v = await this.catalog.version(drip.dripId, drip.version, m);
        const enrolled = new Set(
          await this.enrollments.enroll(
            m,
            v,
            drip.reentry,
            matching.map((e) => ({ customerId: e.customerId, triggerKey: `event:${e.id}`, depth: e.depth })),
            this.clock.now(),
          ),
        );
        for (const e of matching) {
          if (!enrolled.has(e.customerId)) continue;
          enrolled.delete(e.customerId);
          reactions.get(e.id)!.enrolled.push(drip.code);
          any = true;
        }
      }
    }
    return any;
  }

  /**
   * Records a firing for every active rule whose condition holds: `pending` (its actions get a job),
   * or `skipped` at the depth limit. A rule with a holdout puts the customer in its treatment or its
   * control cell by a keyed hash, so the same customer always lands in the same cell.
   */
  private async fire(
    m: EntityManager,
    events: RecordedEvent[],
    listeners: Listeners,
    reactions: Map<string, Reactions>,
  ): Promise<string[]> {
    const pending: string[] = [];
    for (const [type, rules] of listeners.rules) {
      const ofType = events.filter((e) => e.type === type);
      if (!ofType.length) continue;
      for (const rule of rules) {
        const matching = rule.definition.if ? await this.matching(m, rule.definition.if, ofType) : ofType;
        if (!matching.length) continue;
        // A customer keeps the cell they were first measured in (the holdout share may change later).
        const kept: { customer_id: string; cell_id: string }[] = rule.programId
          ? await m.query(
              `SELECT customer_id, cell_id FROM program_member WHERE program_id = $1 AND customer_id = ANY($2::uuid[])`,
              [rule.programId, matching.map((e) => e.customerId)],
            )
          : [];
        const keptCell = new Map(kept.map((k) => [k.customer_id, k.cell_id]));
        const cells = matching.map((e) => keptCell.get(e.customerId) ?? this.cellOf(rule, e.customerId)?.id ?? null);
        const rows: { id: string; state: string; reason: string | null; event_id: string }[] = await m.query(
          `INSERT INTO rule_firing (rule_id, event_id, customer_id, depth, state, reason, program_id, cell_id, actions,
                                   created_at)
           SELECT $1, x.event_id, x.customer_id, x.depth,
                  CASE WHEN x.depth >= $6 THEN 'skipped' ELSE 'pending' END,
                  CASE WHEN x.depth >= $6 THEN 'depth limit' END, $7, x.cell_id, $9, $8
             FROM unnest($2::uuid[], $3::uuid[], $4::int[], $5::uuid[]) AS x(event_id, customer_id, depth, cell_id)
           ON CONFLICT (rule_id, event_id) DO NOTHING
           RETURNING id, state, reason, event_id`,
          [
            rule.id,
            matching.map((e) => e.id),
            matching.map((e) => e.customerId),
            matching.map((e) => e.depth),
            cells,
            this.config.ruleMaxDepth,
            rule.programId,
            this.clock.now(),
            JSON.stringify(rule.definition.actions),
          ],
        );
        const skipped = matching.filter((e) => !mayFireAt(e.depth, this.config.ruleMaxDepth)).length;
        if (skipped) this.logger.warn({ rule: rule.code, skipped }, 'rule not fired: event depth limit reached');
        pending.push(...rows.filter((r) => r.state === 'pending').map((r) => r.id));
        for (const r of rows)
          reactions.get(r.event_id)?.firings.push({ rule: rule.code, id: r.id, state: r.state, reason: r.reason });
      }
    }
    return pending;
  }

  /**
   * The rule cell a customer's firings are measured in (none when the rule sends nothing): the holdout
   * for a keyed-hash share of customers (the rule's holdoutPercent), the treatment for the rest.
   */
  cellOf(rule: Pick<RuleListener, 'programId' | 'cells' | 'definition'>, customerId: string) {
    const treatment = rule.cells.find((c) => !c.isControl);
    if (!rule.programId || !treatment) return null;
    const holdout = rule.definition.holdoutPercent;
    const control = rule.cells.find((c) => c.isControl);
    if (!holdout || !control) return treatment;
    return hashShare(rule.programId, null, customerId) < holdout / 100 ? control : treatment;
  }

  /** The events (of one type) for which criteria over the customer and `event.<property>` hold. */
  private async matching(
    m: EntityManager,
    criteria: import('@closeloop/core').CriteriaNode,
    events: RecordedEvent[],
  ): Promise<RecordedEvent[]> {
    const compiled = await this.segments.compile(m, criteria, [], { eventAlias: 'ev' });
    const k = compiled.params.length;
    const rows: { id: string }[] = await m.query(
      `SELECT ev.id FROM unnest($${k + 1}::uuid[], $${k + 2}::uuid[], $${k + 3}::jsonb[]) AS ev(id, customer_id, properties)
         JOIN customer c ON c.id = ev.customer_id
        WHERE c.erased_at IS NULL AND ${compiled.sql}`,
      [
        ...compiled.params,
        events.map((e) => e.id),
        events.map((e) => e.customerId),
        events.map((e) => JSON.stringify(e.properties)),
      ],
    );
    const ids = new Set(rows.map((r) => r.id));
    return events.filter((e) => ids.has(e.id));
  }

  /** Answers per input: the event recorded, or the first one of its idempotency key (with what it did). */
  private async views(
    inputs: EventInputDto[],
    events: InternalEvent[],
    ids: (string | null)[],
    reactions: Map<string, Reactions>,
  ): Promise<EventView[]> {
    const repeatedKeys = [
      ...new Set(events.filter((e, i) => !ids[i] && e.idempotencyKey).map((e) => e.idempotencyKey!)),
    ];
    const stored: { id: string; idempotency_key: string; type: string; occurred_at: Date; depth: number }[] =
      repeatedKeys.length
        ? await this.dataSource.query(
            `SELECT id, idempotency_key, type, occurred_at, depth FROM customer_event WHERE idempotency_key = ANY($1)`,
            [repeatedKeys],
          )
        : [];
    const byKey = new Map(stored.map((s) => [s.idempotency_key, s]));
    // What the events recorded now did is known; only repeats of earlier events are looked up.
    const firings: { event_id: string; rule: string; id: string; state: string; reason: string | null }[] =
      stored.length
        ? await this.dataSource.query(
            `SELECT f.event_id, r.code AS rule, f.id, f.state, f.reason FROM rule_firing f JOIN rule r ON r.id = f.rule_id
              WHERE f.event_id = ANY($1::uuid[]) ORDER BY f.created_at, f.id`,
            [stored.map((x) => x.id)],
          )
        : [];
    const enrolled: { trigger_key: string; code: string }[] = stored.length
      ? await this.dataSource.query(
          `SELECT e.trigger_key, d.code FROM drip_enrollment e JOIN drip d ON d.id = e.drip_id
            WHERE e.trigger_key = ANY($1::text[]) ORDER BY d.code`,
          [stored.map((s) => `event:${s.id}`)],
        )
      : [];
    return inputs.map((input, i): EventView => {
      const e = events[i];
      const own = ids[i];
      const first = own ? undefined : byKey.get(e.idempotencyKey ?? '');
      const id = own ?? first?.id ?? '';
      return {
        id,
        externalId: input.externalId,
        type: first?.type ?? e.type,
        occurredAt: new Date(first?.occurred_at ?? e.occurredAt).toISOString(),
        depth: first?.depth ?? e.depth,
        duplicate: !own,
        enrolled: own
          ? (reactions.get(own)?.enrolled ?? [])
          : enrolled.filter((x) => x.trigger_key === `event:${id}`).map((x) => x.code),
        exited: own ? (reactions.get(own)?.exited ?? 0) : 0,
        firings: own
          ? (reactions.get(own)?.firings ?? [])
          : firings
              .filter((f) => f.event_id === id)
              .map((f) => ({ rule: f.rule, id: f.id, state: f.state, reason: f.reason })),
      };
    });
  }
}

/**
 * Runs a transaction again when PostgreSQL ended it to break a deadlock or a serialization conflict
 * (an event request and a drip tick ending the same enrollment): it changed nothing, so again is safe.
 */
async function retryOnConflict<T>(fn: () => Promise<T>, tries = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const code =
        (error as { driverError?: { code?: string }; code?: string }).driverError?.code ??
        (error as { code?: string }).code;
      if (attempt >= tries || (code !== '40P01' && code !== '40001')) throw error;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}
