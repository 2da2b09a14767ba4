import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  Actor,
  assertArmsCompatible,
  Clock,
  codeKey,
  ConflictError,
  criteriaLeaves,
  DripAction,
  DripDefinition,
  dripChannels,
  DripState,
  InvalidTransitionError,
  isUuid,
  nextDripState,
  NotFoundError,
  ProgramAction,
  systemActor,
  systemClock,
  validateCode,
  validateDripDefinition,
  ValidationError,
} from '@closeloop/core';
import { SegmentService } from '@closeloop/audience';
import { TemplateService } from '@closeloop/messaging';
import { AuditService, iso, isUniqueViolation, keysetPage, Page, ProgramEntity } from '@closeloop/persistence';
import { CampaignService, OfferService, ProgramService } from '@closeloop/planning';
import { DataSource, EntityManager } from 'typeorm';
import { AUTOMATION_CLOCK } from './automation-clock';
import { AutomationEvents } from './automation-events.service';
import { AutomationListeners } from './automation-listeners';
import { DripCatalog, mainProgramCode, PinnedTemplate, splitProgramCode } from './drip-catalog';
import { CreateDripDto, DripListQueryDto, DripView, EnrollView, UpdateDripDto } from './dto/drip.dto';
import { EnrollmentRepository } from './enrollment.repository';

interface DripRow {
  id: string;
  code: string;
  name: string;
  description: string | null;
  state: DripState;
  version: number;
  campaign_id: string | null;
  offer_id: string | null;
  attribution_window_days: number;
  activated_at: Date | null;
  archived_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

interface VersionRow {
  version: number;
  definition: DripDefinition;
  channels: ('email' | 'sms')[];
  template_pins: Record<string, PinnedTemplate> | null;
  created_at: Date;
  activated_at: Date | null;
}

const AUTOMATION = systemActor('automation');
const DEFINITION_FIELDS = ['trigger', 'steps', 'exit', 'reentry'] as const;

/**
 * Drips: saved (in place while never activated, as a new version afterwards: enrollments finish the
 * version they entered), checked against what exists (templates and their channels, segments,
 * offers, free cell codes, with errors naming the step), activated, paused and archived. Activating a
 * version pins its templates and keeps the programs that measure it: one for the drip (messages
 * outside any split) and one per split (one cell per arm, the holdout as control), whose states follow
 * the drip's (paused with it, so its queued messages wait too).
 */
@Injectable()
export class DripService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly templates: TemplateService,
    private readonly segments: SegmentService,
    private readonly campaigns: CampaignService,
    private readonly offers: OfferService,
    private readonly programs: ProgramService,
    private readonly catalog: DripCatalog,
    private readonly enrollments: EnrollmentRepository,
    private readonly listeners: AutomationListeners,
    private readonly events: AutomationEvents,
    @Optional() @Inject(AUTOMATION_CLOCK) private readonly clock: Clock = systemClock,
  ) {}

  async create(actor: Actor, input: CreateDripDto): Promise<DripView> {
    const code = validateCode(input.code, 'code');
    const definition = validateDripDefinition(input);
    const id = await this.dataSource.transaction(async (m) => {
      const taken = await m.query(`SELECT 1 FROM drip WHERE lower(code) = lower($1)`, [code]);
      if (taken.length) throw new ConflictError(`drip code "${code}" is already taken`);
      const channels = await this.check(m, null, definition);
      const campaignId = input.campaign
        ? (await this.campaigns.find(m, input.campaign).catch(missing('campaign'))).id
        : null;
      const offerId = input.offer ? (await this.offers.resolveReference(m, input.offer, 'offer')).id : null;
      const now = this.clock.now();
      const rows: { id: string }[] = await m
        .query(
          `INSERT INTO drip (code, name, description, state, version, campaign_id, offer_id, attribution_window_days,
                             created_at, updated_at)
           VALUES ($1, $2, $3, 'draft', 1, $4, $5, $6, $7, $7) RETURNING id`,
          [
            code,
            input.name.trim(),
            input.description ?? null,
            campaignId,
            offerId,
            input.attributionWindowDays ?? 7,
            now,
          ],
        )
        .catch((e: unknown) => {
          throw isUniqueViolation(e) ? new ConflictError(`drip code "${code}" is already taken`) : e;
        });
      await m.query(
        `INSERT INTO drip_version (drip_id, version, definition, channels, created_by, created_at)
         VALUES ($1, 1, $2, $3, $4, $5)`,
        [rows[0].id, JSON.stringify(definition), channels, actor.name, now],
      );
      await this.listeners.bump(m, actor.name);
      await this.audit.record(m, actor, {
        action: 'drip.create',
        entityType: 'drip',
        entityId: rows[0].id,
        entityCode: code,
        changes: { ...input },
      });
      return rows[0].id;
    });
    return this.get(id);
  }

  /**
   * Details (name, description, campaign, offer, attribution window) change in place. A new trigger,
   * steps, exit rules or re-entry policy replace the definition of a version never activated, and
   * otherwise become the next version, which new enrollments follow at once if the drip is active.
   */
  async update(actor: Actor, ref: string, input: UpdateDripDto): Promise<DripView> {
    const id = await this.dataSource.transaction(async (m) => {
      const drip = await this.find(m, ref, true);
      if (drip.state === 'archived') throw new ConflictError(`drip ${drip.code} is archived: it cannot change`);
      for (const field of ['name', 'trigger', 'steps'] as const) {
        if (input[field] === null) throw new ValidationError(`${field} cannot be empty`, field);
      }
      const now = this.clock.now();
      if (input.name !== undefined) drip.name = input.name.trim();
      if (input.description !== undefined) drip.description = input.description;
      if (input.attributionWindowDays !== undefined) drip.attribution_window_days = input.attributionWindowDays;
      if (input.campaign !== undefined) {
        drip.campaign_id = input.campaign
          ? (await this.campaigns.find(m, input.campaign).catch(missing('campaign'))).id
          : null;
      }
      if (input.offer !== undefined) {
        drip.offer_id = input.offer ? (await this.offers.resolveReference(m, input.offer, 'offer')).id : null;
      }
      await m.query(
        `UPDATE drip SET name = $2, description = $3, attribution_window_days = $4, campaign_id = $5, offer_id = $6,
                updated_at = $7 WHERE id = $1`,
        [drip.id, drip.name, drip.description, drip.attribution_window_days, drip.campaign_id, drip.offer_id, now],
      );
      // The measuring programs carry the details their reports show.
      await m.query(
        `UPDATE program SET attribution_window_days = $2, campaign_id = $3, offer_id = $4, updated_at = $5
          WHERE managed_by = 'drip' AND managed_id = $1`,
        [drip.id, drip.attribution_window_days, drip.campaign_id, drip.offer_id, now],
      );
      let changes: Record<string, unknown> = { ...input };
      if (DEFINITION_FIELDS.some((f) => input[f] !== undefined)) {
        const current = await this.version(m, drip.id, drip.version);
        const definition = validateDripDefinition({
          trigger: input.trigger ?? current.definition.trigger,
          steps: input.steps ?? current.definition.steps,
          exit: input.exit ?? current.definition.exit,
          reentry: input.reentry ?? current.definition.reentry,
        });
        const channels = await this.check(m, drip, definition);
        if (!current.activated_at) {
          await m.query(`UPDATE drip_version SET definition = $3, channels = $4 WHERE drip_id = $1 AND version = $2`, [
            drip.id,
            drip.version,
            JSON.stringify(definition),
            channels,
          ]);
        } else {
          const next = drip.version + 1;
          await m.query(
            `INSERT INTO drip_version (drip_id, version, definition, channels, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)`,
            [drip.id, next, JSON.stringify(definition), channels, actor.name, now],
          );
          await m.query(`UPDATE drip SET version = $2 WHERE id = $1`, [drip.id, next]);
          drip.version = next;
          if (drip.state !== 'draft') await this.prepareVersion(m, actor, drip, next);
          await this.rememberSegment(m, drip.id, current.definition.trigger, definition.trigger);
          changes = { ...changes, version: next };
        }
      }
      await this.listeners.bump(m, actor.name);
      await this.audit.record(m, actor, {
        action: 'drip.update',
        entityType: 'drip',
        entityId: drip.id,
        entityCode: drip.code,
        changes,
      });
      return drip.id;
    });
    return this.get(id);
  }

  /**
   * activate (draft or paused -> active), pause, archive. The drip's programs follow in the same
   * transaction (running, paused, cancelled); archiving also ends every enrollment still running.
   */
  async transition(actor: Actor, ref: string, action: DripAction): Promise<DripView> {
    const moved: { programs: ProgramEntity[]; action: ProgramAction }[] = [];
    const { id } = await this.dataSource.transaction(async (m) => {
      const drip = await this.find(m, ref, true);
      const to = nextDripState(drip.state, action);
      const now = this.clock.now();
      if (action === 'activate') {
        const first = !drip.activated_at;
        await this.prepareVersion(m, actor, drip, drip.version);
        if (first) {
          const v = await this.version(m, drip.id, drip.version);
          await this.rememberSegment(m, drip.id, null, v.definition.trigger);
        }
        moved.push({ programs: await this.movePrograms(m, actor, drip.id, 'paused', 'resume'), action: 'resume' });
      } else if (action === 'pause') {
        moved.push({ programs: await this.movePrograms(m, actor, drip.id, 'running', 'pause'), action: 'pause' });
      } else {
        moved.push({ programs: await this.movePrograms(m, actor, drip.id, 'running', 'cancel'), action: 'cancel' });
        moved.push({ programs: await this.movePrograms(m, actor, drip.id, 'paused', 'cancel'), action: 'cancel' });
        await this.enrollments.exitAll(m, drip.id, 'archived', now);
      }
      await m.query(
        `UPDATE drip SET state = $2, activated_at = CASE WHEN $2 = 'active' THEN coalesce(activated_at, $3) ELSE activated_at END,
                archived_at = CASE WHEN $2 = 'archived' THEN $3 ELSE archived_at END, updated_at = $3
          WHERE id = $1`,
        [drip.id, to, now],
      );
      await this.listeners.bump(m, actor.name);
      await this.audit.record(m, actor, {
        action: `drip.${action}`,
        entityType: 'drip',
        entityId: drip.id,
        entityCode: drip.code,
        changes: { from: drip.state, to, version: drip.version },
      });
      return { id: drip.id };
    });
    for (const { programs, action: a } of moved) await this.programs.notifyStateChange(programs, a, AUTOMATION);
    if (action === 'activate') await this.events.kick();
    return this.get(id);
  }

  /** Pauses a drip for someone to look at, e.g. because a program measuring it was paused by the complaint guard. */
  async pauseFor(reason: string, dripId: string): Promise<boolean> {
    try {
      await this.transition(systemActor(`automation: ${reason}`), dripId, 'pause');
      return true;
    } catch (error) {
      // Paused already (two of its programs paused at once), or archived.
      if (error instanceof InvalidTransitionError || error instanceof ConflictError) return false;
      throw error;
    }
  }

  /** Enrolls customers by hand (or from a rule): the re-entry policy applies; the drip must be active. */
  async enroll(actor: Actor, ref: string, externalIds: string[], idempotencyKey?: string): Promise<EnrollView> {
    if (!externalIds.length || externalIds.length > 1000) {
      throw new ValidationError('customers must hold 1 to 1000 externalIds', 'customers');
    }
    const result = await this.dataSource.transaction(async (m) => {
      const drip = await this.find(m, ref);
      if (drip.state !== 'active')
        throw new ConflictError(`drip ${drip.code} is ${drip.state}: only an active drip enrolls`);
      const customers: { id: string; external_id: string }[] = await m.query(
        `SELECT id, external_id FROM customer WHERE external_id = ANY($1) AND erased_at IS NULL`,
        [externalIds],
      );
      const unknown = externalIds.filter((x) => !customers.some((c) => c.external_id === x));
      if (unknown.length) {
        const i = externalIds.indexOf(unknown[0]);
        throw new ValidationError(`customers[${i}]: no customer "${unknown[0]}"`, `customers[${i}]`);
      }
      const v = await this.catalog.version(drip.id, drip.version, m);
      const definition = v.definition;
      // With a key, a retried request enrolls nobody twice, whatever the re-entry policy.
      const key = idempotencyKey ? `manual:${idempotencyKey}` : null;
      const enrolled = new Set(
        await this.enrollments.enroll(
          m,
          v,
          definition.reentry,
          customers.map((c) => ({ customerId: c.id, triggerKey: key, depth: 0 })),
          this.clock.now(),
        ),
      );
      await this.audit.record(m, actor, {
        action: 'drip.enroll',
        entityType: 'drip',
        entityId: drip.id,
        entityCode: drip.code,
        changes: { customers: externalIds.length, enrolled: enrolled.size },
      });
      return {
        enrolled: customers.filter((c) => enrolled.has(c.id)).map((c) => c.external_id),
        skipped: customers.filter((c) => !enrolled.has(c.id)).map((c) => c.external_id),
      };
    });
    if (result.enrolled.length) await this.events.kick();
    return result;
  }

  /** Takes customers out of a drip (exit reason `removed`): they get nothing more from it. */
  async unenroll(actor: Actor, ref: string, externalIds: string[]): Promise<{ removed: number }> {
    if (!externalIds.length || externalIds.length > 1000) {
      throw new ValidationError('customers must hold 1 to 1000 externalIds', 'customers');
    }
    return this.dataSource.transaction(async (m) => {
      const drip = await this.find(m, ref);
      const ids: { id: string }[] = await m.query(
        `SELECT e.id FROM drip_enrollment e JOIN customer c ON c.id = e.customer_id
          WHERE e.drip_id = $1 AND e.state = 'active' AND c.external_id = ANY($2) ORDER BY e.id FOR UPDATE OF e`,
        [drip.id, externalIds],
      );
      const removed = await this.enrollments.exitEnrollments(
        m,
        ids.map((r) => r.id),
        'removed',
        this.clock.now(),
      );
      await this.audit.record(m, actor, {
        action: 'drip.unenroll',
        entityType: 'drip',
        entityId: drip.id,
        entityCode: drip.code,
        changes: { customers: externalIds.length, removed },
      });
      return { removed };
    });
  }

  async get(ref: string, version?: number): Promise<DripView> {
    const drip = await this.find(this.dataSource.manager, ref);
    return this.view(drip, version ?? drip.version);
  }

  async list(query: DripListQueryDto): Promise<Page<DripView>> {
    const qb = this.dataSource
      .createQueryBuilder()
      .select(
        `d.id, d.code, d.name, d.description, d.state, d.version, d.campaign_id, d.offer_id, d.attribution_window_days,
         d.activated_at, d.archived_at, d.created_at, d.updated_at, d.created_at AS "createdAt"`,
      )
      .from('drip', 'd');
    if (query.state) qb.andWhere('d.state = :state', { state: query.state });
    const page = await keysetPage(qb, 'd', query, (q) => q.getRawMany<DripRow & { createdAt: Date }>());
    const items: DripView[] = [];
    for (const row of page.rows) items.push(await this.view(row, row.version));
    return { items, nextCursor: page.nextCursor };
  }

  /**
   * Checks a definition against what exists, naming the step: every template exists (its channel is
   * the send's), the trigger's and criteria's segments exist, split offers exist and arm codes are not
   * another program's cells. Returns the channels the drip sends on.
   */
  private async check(
    m: EntityManager,
    drip: DripRow | null,
    definition: DripDefinition,
  ): Promise<('email' | 'sms')[]> {
    const steps = definition.steps;
    const names = steps.map((s, i) => `steps[${i}] (${s.type} "${s.id}")`);
    const sendCodes = [...new Set(steps.flatMap((s) => (s.type === 'send' ? [s.template] : [])))];
    const found = await this.templates.currentVersions(m, sendCodes);
    steps.forEach((s, i) => {
      if (s.type === 'send' && !found.has(codeKey(s.template))) {
        throw new ValidationError(`${names[i]}.template "${s.template}" does not exist`, `steps[${i}].template`);
      }
    });
    const trigger = definition.trigger;
    if (trigger.type === 'segment') {
      const rows = await m.query(`SELECT 1 FROM segment WHERE lower(code) = lower($1)`, [trigger.segment]);
      if (!rows.length)
        throw new ValidationError(`trigger.segment "${trigger.segment}" does not exist`, 'trigger.segment');
    }
    if (trigger.type === 'event' && trigger.if) {
      await this.segments.compile(m, trigger.if, [], { eventAlias: 'ev' }).catch(rename('trigger.if'));
    }
    for (const [i, step] of steps.entries()) {
      for (const leaf of criteriaLeaves(step)) {
        await this.segments.compile(m, leaf.criteria, []).catch(rename(`${names[i]}: ${leaf.key}`));
      }
      if (step.type !== 'split') continue;
      for (const [j, arm] of step.cells.entries()) {
        if (arm.offer) await this.offers.resolveReference(m, arm.offer, `steps[${i}].cells[${j}].offer`);
        const taken: { code: string; program: string }[] = await m.query(
          `SELECT c.code, p.code AS program FROM cell c JOIN program p ON p.id = c.program_id
            WHERE lower(c.code) = lower($1) AND ($2::uuid IS NULL OR p.managed_id IS DISTINCT FROM $2)`,
          [arm.code, drip?.id ?? null],
        );
        if (taken.length) {
          throw new ConflictError(
            `${names[i]}.cells[${j}].code "${arm.code}" is already a cell of program ${taken[0].program}`,
          );
        }
      }
    }
    return dripChannels(steps, (code) => found.get(codeKey(code))!.channel as 'email' | 'sms');
  }

  /**
   * Makes a version runnable, once: pins the current version of each template it sends, and keeps
   * the programs measuring it (the drip's own, one per split) with a cell per arm. A version is frozen
   * from then on.
   */
  private async prepareVersion(m: EntityManager, actor: Actor, drip: DripRow, version: number): Promise<void> {
    const v = await this.version(m, drip.id, version);
    const { definition } = v;
    if (!v.activated_at) {
      const codes = [...new Set(definition.steps.flatMap((s) => (s.type === 'send' ? [s.template] : [])))];
      const found = await this.templates.currentVersions(m, codes);
      const pins: Record<string, PinnedTemplate> = {};
      for (const code of codes) {
        const t = found.get(codeKey(code));
        if (!t) throw new ConflictError(`template "${code}" does not exist any more`);
        pins[codeKey(code)] = { version: t.version, channel: t.channel as 'email' | 'sms' };
      }
      await m.query(
        `UPDATE drip_version SET template_pins = $3, activated_at = $4 WHERE drip_id = $1 AND version = $2`,
        [drip.id, version, JSON.stringify(pins), this.clock.now()],
      );
      v.template_pins = pins;
    }
    const pins = v.template_pins ?? {};
    const channelAfter = (index: number) => {
      const send = definition.steps.slice(index).find((s) => s.type === 'send');
      return send && send.type === 'send' ? pins[codeKey(send.template)].channel : (v.channels[0] ?? 'email');
    };
    const base = {
      managedBy: 'drip' as const,
      managedId: drip.id,
      campaignId: drip.campaign_id,
      offerId: drip.offer_id,
      attributionWindowDays: drip.attribution_window_days,
    };
    const created: string[] = [];
    const main = await this.programs.ensureManaged(m, actor, {
      ...base,
      code: mainProgramCode(drip.code),
      name: drip.name,
      description: `Drip ${drip.code}: messages sent outside any split`,
      channel: channelAfter(0),
      cells: [{ code: mainProgramCode(drip.code), name: 'All', weight: 100, isControl: false }],
      cellPath: () => 'steps',
    });
    created.push(main.id);
    for (const [i, step] of definition.steps.entries()) {
      if (step.type !== 'split') continue;
      const code = splitProgramCode(drip.code, step.id);
      const existing: { code: string; is_control: boolean }[] = await m.query(
        `SELECT c.code, c.is_control FROM cell c JOIN program p ON p.id = c.program_id
          WHERE p.managed_id = $1 AND lower(p.code) = lower($2)`,
        [drip.id, code],
      );
      assertArmsCompatible(
        existing.map((c) => ({ code: c.code, isControl: c.is_control })),
        step.cells.map((c) => ({ code: c.code, isControl: c.isControl, step: step.id })),
      );
      const split = await this.programs.ensureManaged(m, actor, {
        ...base,
        code,
        name: `${drip.name}: split ${step.id}`,
        description: `Drip ${drip.code}: the arms of split ${step.id}`,
        channel: channelAfter(i),
        cells: step.cells.map((c) => ({
          code: c.code,
          name: c.name,
          weight: c.weight,
          isControl: c.isControl,
          responseCode: c.responseCode,
          offer: c.offer,
        })),
        cellPath: (j) => `steps[${i}].cells[${j}]`,
      });
      created.push(split.id);
    }
    // A program created while the drip is paused waits with it.
    if (drip.state === 'paused') {
      for (const id of created) {
        const [p] = await m.query(`SELECT state FROM program WHERE id = $1`, [id]);
        if (p.state === 'running') await this.programs.applyTransition(m, AUTOMATION, id, 'pause', { managed: true });
      }
    }
  }

  /** Moves the drip's programs that are in `from` with `action`; returns them for the listeners. */
  private async movePrograms(
    m: EntityManager,
    actor: Actor,
    dripId: string,
    from: string,
    action: ProgramAction,
  ): Promise<ProgramEntity[]> {
    const rows: { id: string }[] = await m.query(
      `SELECT id FROM program WHERE managed_by = 'drip' AND managed_id = $1 AND state = $2 ORDER BY id`,
      [dripId, from],
    );
    const moved: ProgramEntity[] = [];
    for (const { id } of rows) {
      moved.push(await this.programs.applyTransition(m, actor, id, action, { managed: true }));
    }
    return moved;
  }

  /**
   * What a segment trigger compares with: who was in its segment at the last check. When a version
   * starts a segment trigger (or changes its segment), the remembered members are those of the new
   * segment now, so only those who enter from now on enroll; with `existing`, nobody is remembered and
   * the next check enrolls every member. In the transaction that activates or changes the drip, so an
   * event or a check in between cannot enroll the members the marketer left out.
   */
  private async rememberSegment(
    m: EntityManager,
    dripId: string,
    before: DripDefinition['trigger'] | null,
    after: DripDefinition['trigger'],
  ): Promise<void> {
    const same =
      before?.type === 'segment' &&
      after.type === 'segment' &&
      codeKey(before.segment) === codeKey(after.segment) &&
      before.existing === after.existing;
    if (same) return;
    await m.query(`DELETE FROM drip_segment_member WHERE drip_id = $1`, [dripId]);
    if (after.type !== 'segment' || after.existing) return;
    const compiled = await this.segments.compile(m, { op: 'inSegment', value: after.segment }, []);
    const k = compiled.params.length;
    await m.query(
      `INSERT INTO drip_segment_member (drip_id, customer_id, since)
       SELECT $${k + 1}, c.id, $${k + 2} FROM customer c WHERE c.erased_at IS NULL AND ${compiled.sql}
       ON CONFLICT DO NOTHING`,
      [...compiled.params, dripId, this.clock.now()],
    );
  }

  private async view(drip: DripRow, shown: number): Promise<DripView> {
    const m = this.dataSource.manager;
    const versions: VersionRow[] = await m.query(
      `SELECT version, definition, channels, template_pins, created_at, activated_at FROM drip_version
        WHERE drip_id = $1 ORDER BY version`,
      [drip.id],
    );
    const v = versions.find((x) => x.version === shown);
    if (!v) throw new NotFoundError('drip version', `${drip.code} v${shown}`);
    const campaign: { id: string; code: string }[] = drip.campaign_id
      ? await m.query(`SELECT id, code FROM campaign WHERE id = $1`, [drip.campaign_id])
      : [];
    const offer: { code: string }[] = drip.offer_id
      ? await m.query(`SELECT code FROM offer WHERE id = $1`, [drip.offer_id])
      : [];
    const cells: {
      program_id: string;
      program_code: string;
      state: string;
      code: string;
      name: string;
      weight: string;
      is_control: boolean;
      response_code: string;
    }[] = await m.query(
      `SELECT p.id AS program_id, p.code AS program_code, p.state, c.code, c.name, c.weight, c.is_control, c.response_code
         FROM program p JOIN cell c ON c.program_id = p.id
        WHERE p.managed_by = 'drip' AND p.managed_id = $1 ORDER BY p.created_at, p.id, c.position`,
      [drip.id],
    );
    const programs = new Map<string, DripView['programs'][number]>();
    const mainCode = mainProgramCode(drip.code).toLowerCase();
    for (const c of cells) {
      const entry = programs.get(c.program_id) ?? {
        scope: c.program_code.toLowerCase() === mainCode ? 'main' : c.program_code.slice(mainCode.length + 1),
        id: c.program_id,
        code: c.program_code,
        state: c.state,
        cells: [],
      };
      entry.cells.push({
        code: c.code,
        name: c.name,
        weight: Number(c.weight),
        isControl: c.is_control,
        responseCode: c.response_code,
      });
      programs.set(c.program_id, entry);
    }
    const counters: { metric: string; value: string }[] = await m.query(
      `SELECT metric, value FROM drip_counter WHERE drip_id = $1 AND step_id = '' AND metric IN ('enrolled', 'completed', 'exited')`,
      [drip.id],
    );
    const n = (metric: string) => Number(counters.find((c) => c.metric === metric)?.value ?? 0);
    return {
      id: drip.id,
      code: drip.code,
      name: drip.name,
      description: drip.description,
      state: drip.state,
      version: drip.version,
      shownVersion: v.version,
      campaign: campaign[0] ?? null,
      offer: offer[0]?.code ?? null,
      attributionWindowDays: drip.attribution_window_days,
      trigger: v.definition.trigger,
      steps: v.definition.steps,
      exit: v.definition.exit,
      reentry: v.definition.reentry,
      channels: v.channels,
      versions: versions.map((x) => ({
        version: x.version,
        createdAt: new Date(x.created_at).toISOString(),
        activatedAt: iso(x.activated_at ? new Date(x.activated_at) : null),
      })),
      programs: [...programs.values()],
      enrollments: {
        total: n('enrolled'),
        active: n('enrolled') - n('completed') - n('exited'),
        completed: n('completed'),
        exited: n('exited'),
      },
      activatedAt: iso(drip.activated_at ? new Date(drip.activated_at) : null),
      archivedAt: iso(drip.archived_at ? new Date(drip.archived_at) : null),
      createdAt: new Date(drip.created_at).toISOString(),
      updatedAt: new Date(drip.updated_at).toISOString(),
    };
  }

  async find(m: EntityManager, ref: string, lock = false): Promise<DripRow> {
    const rows: DripRow[] = await m.query(
      `SELECT id, code, name, description, state, version, campaign_id, offer_id, attribution_window_days, activated_at,
              archived_at, created_at, updated_at
         FROM drip WHERE ${isUuid(ref) ? 'id = $1' : 'lower(code) = lower($1)'} ${lock ? 'FOR UPDATE' : ''}`,
      [ref],
    );
    if (!rows.length) throw new NotFoundError('drip', ref);
    return rows[0];
  }

  private async version(m: EntityManager, dripId: string, version: number): Promise<VersionRow> {
    const rows: VersionRow[] = await m.query(
      `SELECT version, definition, channels, template_pins, created_at, activated_at FROM drip_version
        WHERE drip_id = $1 AND version = $2`,
      [dripId, version],
    );
    if (!rows.length) throw new NotFoundError('drip version', `${dripId} v${version}`);
    return rows[0];
  }
}

/** A reference in a body that names nothing is bad input (400), not a missing resource (404). */
const missing = (field: string) => (e: unknown) => {
  if (e instanceof NotFoundError) throw new ValidationError(`${field} "${e.key}" does not exist`, field);
  throw e;
};

/** Prefixes a compile error with where the criteria sit in the drip. */
const rename = (where: string) => (e: unknown) => {
  if (e instanceof ValidationError) throw new ValidationError(`${where}: ${e.message}`, e.field);
  throw e;
};
