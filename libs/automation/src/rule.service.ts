import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  Actor,
  AppConfig,
  Clock,
  codeKey,
  ConflictError,
  isUuid,
  NotFoundError,
  RuleDefinition,
  systemActor,
  systemClock,
  validateCode,
  validateRuleDefinition,
  ValidationError,
} from '@closeloop/core';
import { SegmentService } from '@closeloop/audience';
import { TemplateService } from '@closeloop/messaging';
import { APP_CONFIG, AuditService, isUniqueViolation, keysetPage, Page } from '@closeloop/persistence';
import { ProgramService } from '@closeloop/planning';
import { DataSource, EntityManager } from 'typeorm';
import { AUTOMATION_CLOCK } from './automation-clock';
import { AutomationListeners } from './automation-listeners';
import {
  CreateRuleDto,
  FiringListQueryDto,
  FiringView,
  RuleListQueryDto,
  RuleView,
  UpdateRuleDto,
} from './dto/rule.dto';
import { OutboundWebhookSender } from './outbound-webhook';

interface RuleRow {
  id: string;
  code: string;
  name: string;
  description: string | null;
  state: 'active' | 'paused';
  event: string;
  definition: RuleDefinition;
  program_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export const ruleProgramCode = (code: string) => `rule:${code}`;
export const ruleHoldoutCode = (code: string) => `rule:${code}:holdout`;

/**
 * Business rules: saved after a check of everything they name (templates, drips, webhook hosts on
 * the allow-list, segments in the condition), each naming the action it is about. A rule that sends
 * gets a program measuring its messages: one treatment cell, and a holdout cell when it holds some
 * customers out, so "does this rule earn its keep?" is answered like any program cell comparison.
 */
@Injectable()
export class RuleService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly templates: TemplateService,
    private readonly segments: SegmentService,
    private readonly programs: ProgramService,
    private readonly listeners: AutomationListeners,
    private readonly webhooks: OutboundWebhookSender,
    @Optional() @Inject(AUTOMATION_CLOCK) private readonly clock: Clock = systemClock,
  ) {}

  async create(actor: Actor, input: CreateRuleDto): Promise<RuleView> {
    const code = validateCode(input.code, 'code');
    const definition = validateRuleDefinition(input);
    const id = await this.dataSource.transaction(async (m) => {
      await this.check(m, definition);
      const now = this.clock.now();
      const rows: { id: string }[] = await m
        .query(
          `INSERT INTO rule (code, name, description, state, event, definition, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`,
          [
            code,
            input.name.trim(),
            input.description ?? null,
            input.state ?? 'active',
            definition.event,
            JSON.stringify(definition),
            now,
          ],
        )
        .catch((e: unknown) => {
          throw isUniqueViolation(e) ? new ConflictError(`rule code "${code}" is already taken`) : e;
        });
      await this.keepProgram(m, actor, { id: rows[0].id, code, name: input.name.trim() }, definition);
      await this.listeners.bump(m, actor.name);
      await this.audit.record(m, actor, {
        action: 'rule.create',
        entityType: 'rule',
        entityId: rows[0].id,
        entityCode: code,
        changes: { ...input },
      });
      return rows[0].id;
    });
    return this.get(id);
  }

  async update(actor: Actor, ref: string, input: UpdateRuleDto): Promise<RuleView> {
    const id = await this.dataSource.transaction(async (m) => {
      const rule = await this.find(m, ref, true);
      for (const field of ['name', 'event', 'actions'] as const) {
        if (input[field] === null) throw new ValidationError(`${field} cannot be empty`, field);
      }
      const current = rule.definition;
      const definition = validateRuleDefinition({
        event: input.event ?? current.event,
        if: input.if === undefined ? current.if : input.if,
        actions: input.actions ?? current.actions,
        holdoutPercent: input.holdoutPercent ?? current.holdoutPercent,
      });
      await this.check(m, definition);
      const name = input.name?.trim() ?? rule.name;
      await m.query(
        `UPDATE rule SET name = $2, description = $3, event = $4, definition = $5, updated_at = $6 WHERE id = $1`,
        [
          rule.id,
          name,
          input.description === undefined ? rule.description : input.description,
          definition.event,
          JSON.stringify(definition),
          this.clock.now(),
        ],
      );
      await this.keepProgram(m, actor, { id: rule.id, code: rule.code, name }, definition);
      await this.listeners.bump(m, actor.name);
      await this.audit.record(m, actor, {
        action: 'rule.update',
        entityType: 'rule',
        entityId: rule.id,
        entityCode: rule.code,
        changes: { ...input },
      });
      return rule.id;
    });
    return this.get(id);
  }

  /** activate / pause: a paused rule fires on nothing (firings already recorded still run). */
  async setState(actor: Actor, ref: string, state: 'active' | 'paused'): Promise<RuleView> {
    const resumed: string[] = [];
    const id = await this.dataSource.transaction(async (m) => {
      const rule = await this.find(m, ref, true);
      if (rule.state === state) throw new ConflictError(`rule ${rule.code} is already ${state}`);
      await m.query(`UPDATE rule SET state = $2, updated_at = $3 WHERE id = $1`, [rule.id, state, this.clock.now()]);
      // Its program may have been paused with it (the complaint guard): sending resumes with the rule.
      if (state === 'active' && rule.program_id) {
        const [p] = await m.query(`SELECT state FROM program WHERE id = $1`, [rule.program_id]);
        if (p?.state === 'paused') {
          await this.programs.applyTransition(m, actor, rule.program_id, 'resume', { managed: true });
          resumed.push(rule.program_id);
        }
      }
      await this.listeners.bump(m, actor.name);
      await this.audit.record(m, actor, {
        action: state === 'active' ? 'rule.activate' : 'rule.pause',
        entityType: 'rule',
        entityId: rule.id,
        entityCode: rule.code,
        changes: { from: rule.state, to: state },
      });
      return rule.id;
    });
    if (resumed.length) {
      for (const programId of resumed) {
        const entity = await this.programs.find(this.dataSource.manager, programId);
        await this.programs.notifyStateChange([entity], 'resume', actor);
      }
    }
    return this.get(id);
  }

  async get(ref: string): Promise<RuleView> {
    const rule = await this.find(this.dataSource.manager, ref);
    return (await this.views([rule]))[0];
  }

  async list(query: RuleListQueryDto): Promise<Page<RuleView>> {
    const qb = this.dataSource
      .createQueryBuilder()
      .select(
        `r.id, r.code, r.name, r.description, r.state, r.event, r.definition, r.program_id, r.created_at, r.updated_at,
         r.created_at AS "createdAt"`,
      )
      .from('rule', 'r');
    if (query.state) qb.andWhere('r.state = :state', { state: query.state });
    if (query.event) qb.andWhere('r.event = :event', { event: query.event });
    const page = await keysetPage(qb, 'r', query, (q) => q.getRawMany<RuleRow & { createdAt: Date }>());
    return { items: await this.views(page.rows), nextCursor: page.nextCursor };
  }

  /** The rule's firings, oldest first (keyset pages), with what each action did. */
  async firings(ref: string, query: FiringListQueryDto): Promise<Page<FiringView>> {
    const rule = await this.find(this.dataSource.manager, ref);
    const qb = this.dataSource
      .createQueryBuilder()
      .select(
        `f.id, f.event_id, e.type AS event_type, c.external_id, f.depth, f.state, f.reason, ce.code AS cell, f.results,
         f.error, f.created_at, f.finished_at, f.created_at AS "createdAt"`,
      )
      .from('rule_firing', 'f')
      .leftJoin('customer_event', 'e', 'e.id = f.event_id')
      .leftJoin('customer', 'c', 'c.id = f.customer_id')
      .leftJoin('cell', 'ce', 'ce.id = f.cell_id')
      .where('f.rule_id = :rule', { rule: rule.id });
    if (query.state) qb.andWhere('f.state = :state', { state: query.state });
    const page = await keysetPage(qb, 'f', query, (q) =>
      q.getRawMany<{
        id: string;
        event_id: string;
        event_type: string | null;
        external_id: string | null;
        depth: number;
        state: string;
        reason: string | null;
        cell: string | null;
        results: unknown[];
        error: string | null;
        created_at: Date;
        finished_at: Date | null;
        createdAt: Date;
      }>(),
    );
    return {
      items: page.rows.map((f) => ({
        id: f.id,
        event: f.event_id,
        eventType: f.event_type ?? '',
        customer: f.external_id ?? '',
        depth: f.depth,
        state: f.state,
        reason: f.reason,
        cell: f.cell,
        results: f.results,
        error: f.error,
        createdAt: new Date(f.created_at).toISOString(),
        finishedAt: f.finished_at ? new Date(f.finished_at).toISOString() : null,
      })),
      nextCursor: page.nextCursor,
    };
  }

  /** Pauses a rule (its program was paused by the complaint guard, say); false when it was not active. */
  async pauseFor(reason: string, ruleId: string): Promise<boolean> {
    try {
      await this.setState(systemActor(`automation: ${reason}`), ruleId, 'paused');
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false; // paused already
      throw error;
    }
  }

  /** Everything a rule names must exist (or, for webhooks, be callable), checked with the action's path. */
  private async check(m: EntityManager, definition: RuleDefinition): Promise<void> {
    if (definition.if) {
      await this.segments.compile(m, definition.if, [], { eventAlias: 'ev' }).catch((e: unknown) => {
        if (e instanceof ValidationError) throw new ValidationError(`if: ${e.message}`, 'if');
        throw e;
      });
    }
    const templateCodes = definition.actions.flatMap((a) => (a.type === 'send' ? [a.template] : []));
    const templates = await this.templates.currentVersions(m, templateCodes);
    for (const [i, action] of definition.actions.entries()) {
      const at = `actions[${i}]`;
      if (action.type === 'send' && !templates.has(codeKey(action.template))) {
        throw new ValidationError(`${at}.template "${action.template}" does not exist`, `${at}.template`);
      }
      if (action.type === 'enroll') {
        const drips: { state: string }[] = await m.query(`SELECT state FROM drip WHERE lower(code) = lower($1)`, [
          action.drip,
        ]);
        if (!drips.length) throw new ValidationError(`${at}.drip "${action.drip}" does not exist`, `${at}.drip`);
        if (drips[0].state === 'archived') {
          throw new ValidationError(`${at}.drip "${action.drip}" is archived`, `${at}.drip`);
        }
      }
      if (action.type === 'webhook') {
        this.webhooks.checkUrl(action.url, `${at}.url`);
        if (!this.config.outboundWebhookSecret) {
          throw new ConflictError(`${at}: OUTBOUND_WEBHOOK_SECRET is not set, so webhooks cannot be signed`);
        }
      }
    }
  }

  /** The program measuring a rule's sends: a treatment cell, and a holdout cell with the holdout share. */
  private async keepProgram(
    m: EntityManager,
    actor: Actor,
    rule: { id: string; code: string; name: string },
    definition: RuleDefinition,
  ): Promise<void> {
    const send = definition.actions.find((a) => a.type === 'send');
    const existing: { program_id: string | null }[] = await m.query(`SELECT program_id FROM rule WHERE id = $1`, [
      rule.id,
    ]);
    if (!send && !existing[0]?.program_id) return;
    const channel = send
      ? ((await this.templates.currentVersions(m, [send.template])).get(codeKey(send.template))!.channel as
          'email' | 'sms')
      : 'email';
    const holdout = definition.holdoutPercent;
    const cells = [{ code: ruleProgramCode(rule.code), name: 'Treatment', weight: 100 - holdout, isControl: false }];
    // A holdout dropped later keeps its cell (and its history); firings simply stop landing in it.
    if (holdout > 0)
      cells.push({ code: ruleHoldoutCode(rule.code), name: 'Holdout', weight: holdout, isControl: true });
    const program = await this.programs.ensureManaged(m, actor, {
      managedBy: 'rule',
      managedId: rule.id,
      code: ruleProgramCode(rule.code),
      name: `Rule ${rule.name}`,
      description: `Messages sent by rule ${rule.code}`,
      channel,
      campaignId: null,
      offerId: null,
      attributionWindowDays: 7,
      cells,
      cellPath: () => 'holdoutPercent',
    });
    await m.query(`UPDATE rule SET program_id = $2 WHERE id = $1`, [rule.id, program.id]);
  }

  private async views(rules: RuleRow[]): Promise<RuleView[]> {
    if (!rules.length) return [];
    const ids = rules.map((r) => r.id);
    const counts: { rule_id: string; state: string; n: number }[] = await this.dataSource.query(
      `SELECT rule_id, state, count(*)::int AS n FROM rule_firing WHERE rule_id = ANY($1::uuid[]) GROUP BY 1, 2`,
      [ids],
    );
    const programIds = rules.map((r) => r.program_id).filter((id): id is string => !!id);
    const cells: {
      program_id: string;
      program_code: string;
      code: string;
      response_code: string;
      is_control: boolean;
    }[] = programIds.length
      ? await this.dataSource.query(
          `SELECT p.id AS program_id, p.code AS program_code, c.code, c.response_code, c.is_control
               FROM program p JOIN cell c ON c.program_id = p.id WHERE p.id = ANY($1::uuid[]) ORDER BY c.position`,
          [programIds],
        )
      : [];
    return rules.map((r) => {
      const n = (state: string) => counts.find((c) => c.rule_id === r.id && c.state === state)?.n ?? 0;
      const own = cells.filter((c) => c.program_id === r.program_id);
      return {
        id: r.id,
        code: r.code,
        name: r.name,
        description: r.description,
        state: r.state,
        event: r.event,
        if: r.definition.if,
        actions: r.definition.actions,
        holdoutPercent: r.definition.holdoutPercent,
        program: r.program_id
          ? {
              id: r.program_id,
              code: own[0]?.program_code ?? ruleProgramCode(r.code),
              cells: own.map((c) => ({ code: c.code, responseCode: c.response_code, isControl: c.is_control })),
            }
          : null,
        firings: {
          total: counts.filter((c) => c.rule_id === r.id).reduce((s, c) => s + c.n, 0),
          pending: n('pending'),
          done: n('done'),
          failed: n('failed'),
          skipped: n('skipped'),
          heldOut: n('held-out'),
        },
        createdAt: new Date(r.created_at).toISOString(),
        updatedAt: new Date(r.updated_at).toISOString(),
      };
    });
  }

  async find(m: EntityManager, ref: string, lock = false): Promise<RuleRow> {
    const rows: RuleRow[] = await m.query(
      `SELECT id, code, name, description, state, event, definition, program_id, created_at, updated_at
         FROM rule WHERE ${isUuid(ref) ? 'id = $1' : 'lower(code) = lower($1)'} ${lock ? 'FOR UPDATE' : ''}`,
      [ref],
    );
    if (!rows.length) throw new NotFoundError('rule', ref);
    return rows[0];
  }
}
