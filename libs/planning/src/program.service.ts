import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomInt } from 'node:crypto';
import {
  Actor,
  assertEditable,
  checkLaunchableCells,
  Clock,
  ConflictError,
  generateResponseCode,
  InvalidTransitionError,
  NotFoundError,
  nextProgramState,
  ProgramAction,
  programEditPolicy,
  ProgramState,
  systemClock,
  validateCode,
  validateCustomResponseCode,
  validateWeight,
  ValidationError,
  weightSum,
} from '@closeloop/core';
import {
  assertCodeFree,
  AuditService,
  CellEntity,
  codeTaken,
  iso,
  isUniqueViolation,
  keysetPage,
  ProgramEntity,
  toDate,
  whereRef,
  findByRef,
} from '@closeloop/persistence';
import { DataSource, EntityManager } from 'typeorm';
import { CampaignService } from './campaign.service';
import { Page } from './dto/common.dto';
import {
  CellView,
  Channel,
  CreateCellDto,
  CreateProgramDto,
  ProgramListQueryDto,
  ProgramView,
  UpdateCellDto,
  UpdateProgramDto,
} from './dto/program.dto';
import { CLOCK, PROGRAM_STATE_LISTENERS, ProgramStateListener } from './launch';
import { OfferService } from './offer.service';

const MAX_CELLS = 26;

/** Fields of a program grouped by the edit-policy area that governs them (core `programEditPolicy`). */
const DETAIL_FIELDS = ['name', 'description', 'attributionWindowDays'] as const;
const TARGETING_FIELDS = ['channel', 'segment', 'template', 'offer', 'sample', 'seed'] as const;

@Injectable()
export class ProgramService {
  private readonly logger = new Logger(ProgramService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly campaigns: CampaignService,
    private readonly offers: OfferService,
    @Optional() @Inject(CLOCK) private readonly clock: Clock = systemClock,
    @Optional()
    @Inject(PROGRAM_STATE_LISTENERS)
    listeners: ProgramStateListener[] = [],
  ) {
    this.listeners = [...listeners];
  }

  private readonly listeners: ProgramStateListener[];

  /** A lib that follows program states without planning knowing it (automation, for the programs it keeps). */
  addStateListener(listener: ProgramStateListener): void {
    this.listeners.push(listener);
  }

  async create(actor: Actor, campaignRef: string, input: CreateProgramDto): Promise<ProgramView> {
    const code = validateCode(input.code, 'code');
    const sample = checkSample(input.sample);
    const cells = input.cells ?? [];
    checkCellBatch(cells);
    const id = await this.dataSource.transaction(async (m) => {
      const campaign = await this.campaigns.find(m, campaignRef, true);
      await assertCodeFree(m, ProgramEntity, 'program', code);
      const offerId = input.offer ? (await this.offers.resolveReference(m, input.offer, 'offer')).id : null;
      const now = this.clock.now();
      const program = m.create(ProgramEntity, {
        campaignId: campaign.id,
        code,
        name: input.name.trim(),
        description: input.description ?? null,
        channel: input.channel,
        state: 'draft',
        segmentCode: input.segment ?? null,
        templateCode: input.template ?? null,
        offerId,
        scheduledAt: toDate(input.scheduledAt) ?? null,
        attributionWindowDays: input.attributionWindowDays ?? 30,
        sampleSize: sample?.size ?? null,
        samplePercent: sample?.percent !== undefined ? String(sample.percent) : null,
        seed: input.seed ?? null,
        launchedAt: null,
        endedAt: null,
        createdAt: now,
        updatedAt: now,
      });
      await m.insert(ProgramEntity, program).catch((e: unknown) => {
        throw isUniqueViolation(e) ? codeTaken('program', code) : e;
      });
      for (const [i, cell] of cells.entries()) {
        await this.insertCell(m, program, cell, i, `cells[${i}]`);
      }
      await this.audit.record(m, actor, {
        action: 'program.create',
        entityType: 'program',
        entityId: program.id,
        entityCode: code,
        changes: { campaign: campaign.code, ...input },
      });
      return program.id;
    });
    return this.get(id);
  }

  async get(ref: string): Promise<ProgramView> {
    const program = await this.find(this.dataSource.manager, ref);
    const [view] = await this.views(this.dataSource.manager, [program]);
    return view;
  }

  async list(query: ProgramListQueryDto, campaignRef?: string): Promise<Page<ProgramView>> {
    const qb = this.dataSource.getRepository(ProgramEntity).createQueryBuilder('p');
    const campaignFilter = campaignRef ?? query.campaign;
    if (campaignFilter) {
      const campaign = await this.campaigns.find(this.dataSource.manager, campaignFilter).catch((e: unknown) => {
        // A path parameter names a resource (404); a query filter is input (400).
        if (campaignRef || !(e instanceof NotFoundError)) throw e;
        throw new ValidationError(`campaign "${campaignFilter}" does not exist`, 'campaign');
      });
      qb.andWhere('p.campaign_id = :campaignId', { campaignId: campaign.id });
    }
    if (query.state) qb.andWhere('p.state = :state', { state: query.state });
    if (query.channel) qb.andWhere('p.channel = :channel', { channel: query.channel });
    // A campaign's own programs by default; those automation keeps for drips and rules when asked.
    if ((query.managed ?? 'exclude') === 'exclude') qb.andWhere('p.managed_by IS NULL');
    if (query.managed === 'only') qb.andWhere('p.managed_by IS NOT NULL');
    const { rows, nextCursor } = await keysetPage<ProgramEntity>(qb, 'p', query);
    return { items: await this.views(this.dataSource.manager, rows), nextCursor };
  }

  async update(actor: Actor, ref: string, input: UpdateProgramDto): Promise<ProgramView> {
    const id = await this.dataSource.transaction(async (m) => {
      const p = await this.find(m, ref, true);
      assertNotManaged(p);
      const state = p.state as ProgramState;
      for (const field of DETAIL_FIELDS) {
        if (input[field] !== undefined) assertEditable(state, 'details', field);
      }
      for (const field of TARGETING_FIELDS) {
        if (input[field] !== undefined) assertEditable(state, 'targeting', field);
      }
      if (input.scheduledAt !== undefined) assertEditable(state, 'schedule', 'scheduledAt');

      for (const field of ['name', 'channel', 'attributionWindowDays'] as const) {
        if (input[field] === null) throw new ValidationError(`${field} cannot be empty`, field);
      }
      if (input.name !== undefined) p.name = input.name.trim();
      if (input.description !== undefined) p.description = input.description;
      if (input.attributionWindowDays !== undefined) p.attributionWindowDays = input.attributionWindowDays;
      if (input.channel !== undefined) p.channel = input.channel;
      if (input.segment !== undefined) p.segmentCode = input.segment;
      if (input.template !== undefined) p.templateCode = input.template;
      if (input.offer !== undefined) {
        p.offerId = input.offer === null ? null : (await this.offers.resolveReference(m, input.offer, 'offer')).id;
      }
      if (input.sample !== undefined) {
        const sample = checkSample(input.sample);
        p.sampleSize = sample?.size ?? null;
        p.samplePercent = sample?.percent !== undefined ? String(sample.percent) : null;
      }
      if (input.seed !== undefined) p.seed = input.seed;
      if (TARGETING_FIELDS.some((field) => input[field] !== undefined)) await this.invalidateList(m, p.id);
      if (input.scheduledAt !== undefined) {
        const at = toDate(input.scheduledAt) ?? null;
        if (state === 'scheduled') {
          if (!at)
            throw new ValidationError('scheduledAt cannot be cleared while scheduled: unschedule first', 'scheduledAt');
          this.assertFuture(at);
        }
        p.scheduledAt = at;
      }
      p.updatedAt = this.clock.now();
      await m.save(ProgramEntity, p);
      await this.audit.record(m, actor, {
        action: 'program.update',
        entityType: 'program',
        entityId: p.id,
        entityCode: p.code,
        changes: { ...input },
      });
      return p.id;
    });
    return this.get(id);
  }

  /** Only a draft can be deleted; its cells go with it, their response codes stay retired. */
  async remove(actor: Actor, ref: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const p = await this.find(m, ref, true);
      assertNotManaged(p);
      if (!programEditPolicy(p.state as ProgramState).deletable) {
        throw new ConflictError(`program ${p.code} is ${p.state}: only a draft can be deleted (cancel it instead)`);
      }
      await m.query('DELETE FROM list_member WHERE program_id = $1', [p.id]); // no foreign key (list build speed)
      await m.delete(ProgramEntity, { id: p.id });
      await this.audit.record(m, actor, {
        action: 'program.delete',
        entityType: 'program',
        entityId: p.id,
        entityCode: p.code,
      });
    });
  }

  /**
   * Every state change goes through here: the row is locked, core decides whether the action is
   * legal from the current state, and the change is audited in the same transaction.
   */
  async transition(
    actor: Actor,
    ref: string,
    action: ProgramAction,
    options: { scheduledAt?: string } = {},
  ): Promise<ProgramView> {
    const program = await this.dataSource.transaction((m) => this.applyTransition(m, actor, ref, action, options));
    const [view] = await this.views(this.dataSource.manager, [program]);
    await this.notify(view, action, actor);
    return view;
  }

  /**
   * A state change inside the caller's transaction (automation changes a drip and its programs in
   * one); the caller tells the listeners with `notifyStateChange` once it has committed.
   */
  async applyTransition(
    m: EntityManager,
    actor: Actor,
    ref: string,
    action: ProgramAction,
    options: { scheduledAt?: string; managed?: boolean } = {},
  ): Promise<ProgramEntity> {
    const p = await this.find(m, ref, true);
    // Programs automation keeps move with their drip or rule (`managed`: automation moving them, for the key
    // that moved the drip); the system (a complaint guard) may still pause one.
    if (p.managedBy && actor.keyId !== null && !options.managed) assertNotManaged(p);
    const from = p.state as ProgramState;
    const to = nextProgramState(from, action);
    const now = this.clock.now();
    if (action === 'schedule') {
      const at = toDate(options.scheduledAt) ?? p.scheduledAt;
      if (!at) throw new ValidationError('scheduledAt is required to schedule a program', 'scheduledAt');
      this.assertFuture(at);
      p.scheduledAt = at;
    }
    if (action === 'schedule' || (action === 'launch' && from === 'draft')) {
      const cells = await m.find(CellEntity, { where: { programId: p.id } });
      const check = checkLaunchableCells(
        cells.map((c) => ({ code: c.code, weight: Number(c.weight), isControl: c.isControl })),
      );
      if (!check.ok) throw new ConflictError(`program ${p.code} cannot ${action}: ${check.reason}`);
      for (const listener of this.listeners) {
        await listener.assertLaunchable?.(p, [...new Set(cells.map((c) => c.templateCode))], m);
      }
    }
    if (action === 'launch') p.launchedAt = now;
    if (to === 'completed' || to === 'cancelled') p.endedAt = now;
    p.state = to;
    p.updatedAt = now;
    await m.save(ProgramEntity, p);
    await this.audit.record(m, actor, {
      action: `program.${action}`,
      entityType: 'program',
      entityId: p.id,
      entityCode: p.code,
      changes: { from, to, ...(action === 'schedule' ? { scheduledAt: iso(p.scheduledAt) } : {}) },
    });
    return p;
  }

  /** Tells the listeners about changes made with `applyTransition`, after their transaction committed. */
  async notifyStateChange(programs: ProgramEntity[], action: ProgramAction, actor: Actor): Promise<void> {
    for (const view of await this.views(this.dataSource.manager, programs)) await this.notify(view, action, actor);
  }

  /**
   * The program (and its cells) that automation keeps to measure a drip, one of its splits, or a rule,
   * in the caller's transaction: created running the first time, its cells added or renamed and
   * re-weighted later (a cell's control flag is checked by the caller; cells are never removed, so
   * history keeps its cells). Response codes come from the same never-reused registry as every cell's.
   */
  async ensureManaged(m: EntityManager, actor: Actor, spec: ManagedProgramSpec): Promise<ManagedProgram> {
    const now = this.clock.now();
    let program = await m.findOne(ProgramEntity, { where: { managedId: spec.managedId, code: spec.code } });
    if (!program) {
      await assertCodeFree(m, ProgramEntity, 'program', spec.code);
      program = m.create(ProgramEntity, {
        campaignId: spec.campaignId,
        code: spec.code,
        name: spec.name,
        description: spec.description,
        channel: spec.channel,
        state: 'running',
        segmentCode: null,
        templateCode: null,
        offerId: spec.offerId,
        scheduledAt: null,
        attributionWindowDays: spec.attributionWindowDays,
        sampleSize: null,
        samplePercent: null,
        seed: null,
        launchedAt: now,
        endedAt: null,
        managedBy: spec.managedBy,
        managedId: spec.managedId,
        createdAt: now,
        updatedAt: now,
      });
      await m.insert(ProgramEntity, program);
      await this.audit.record(m, actor, {
        action: 'program.create',
        entityType: 'program',
        entityId: program.id,
        entityCode: program.code,
        changes: { managedBy: spec.managedBy, name: spec.name, channel: spec.channel },
      });
    } else {
      program.name = spec.name;
      program.description = spec.description;
      program.channel = spec.channel;
      program.campaignId = spec.campaignId;
      program.offerId = spec.offerId;
      program.attributionWindowDays = spec.attributionWindowDays;
      program.updatedAt = now;
      await m.save(ProgramEntity, program);
    }
    const existing = await m.find(CellEntity, { where: { programId: program.id }, order: { position: 'ASC' } });
    const byCode = new Map(existing.map((c) => [c.code.toLowerCase(), c]));
    let position = existing.length ? existing[existing.length - 1].position + 1 : 0;
    for (const [i, input] of spec.cells.entries()) {
      const offerId = input.offer ? (await this.offers.resolveReference(m, input.offer, `cells[${i}].offer`)).id : null;
      const cell = byCode.get(input.code.toLowerCase());
      if (cell) {
        cell.name = input.name;
        cell.weight = String(input.weight);
        cell.offerId = offerId;
        cell.updatedAt = now;
        await m.save(CellEntity, cell);
        continue;
      }
      const created = await this.insertCell(
        m,
        program,
        {
          code: input.code,
          name: input.name,
          weight: input.weight,
          isControl: input.isControl,
          responseCode: input.responseCode ?? undefined,
          offer: input.offer ?? undefined,
        },
        position++,
        spec.cellPath(i),
        { generatedCode: input.code.includes(':') },
      );
      byCode.set(created.code.toLowerCase(), created);
    }
    return {
      id: program.id,
      code: program.code,
      state: program.state as ProgramState,
      cells: new Map(
        [...byCode.values()].map((c) => [
          c.code.toLowerCase(),
          { id: c.id, code: c.code, responseCode: c.responseCode, isControl: c.isControl },
        ]),
      ),
    };
  }

  /**
   * Launches every scheduled program whose time has come. Safe to run from several workers at
   * once: each program is launched under its row lock, and one already launched is skipped.
   */
  async launchDue(actor: Actor): Promise<string[]> {
    const due: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM program WHERE state = 'scheduled' AND scheduled_at <= $1 ORDER BY scheduled_at LIMIT 500`,
      [this.clock.now()],
    );
    const launched: string[] = [];
    for (const { id } of due) {
      try {
        const view = await this.transition(actor, id, 'launch');
        launched.push(view.code);
      } catch (e) {
        // Another worker got there first, or someone unscheduled it in between.
        if (e instanceof InvalidTransitionError || e instanceof NotFoundError) continue;
        throw e;
      }
    }
    return launched;
  }

  async getCell(ref: string): Promise<CellView> {
    const cell = await this.findCell(this.dataSource.manager, ref);
    const program = await this.find(this.dataSource.manager, cell.programId);
    const [view] = await this.views(this.dataSource.manager, [program]);
    return view.cells.find((c) => c.id === cell.id)!;
  }

  async addCell(actor: Actor, programRef: string, input: CreateCellDto): Promise<CellView> {
    const cellId = await this.dataSource.transaction(async (m) => {
      const p = await this.find(m, programRef, true);
      assertNotManaged(p);
      assertEditable(p.state as ProgramState, 'cells', 'cells');
      const existing = await m.find(CellEntity, { where: { programId: p.id }, order: { position: 'ASC' } });
      if (existing.length >= MAX_CELLS) {
        throw new ConflictError(`program ${p.code} already has ${MAX_CELLS} cells, the most allowed`);
      }
      const position = existing.length ? existing[existing.length - 1].position + 1 : 0;
      const cell = await this.insertCell(m, p, input, position, '');
      await this.invalidateList(m, p.id);
      await this.audit.record(m, actor, {
        action: 'cell.create',
        entityType: 'cell',
        entityId: cell.id,
        entityCode: cell.code,
        changes: { program: p.code, ...input, responseCode: cell.responseCode },
      });
      return cell.id;
    });
    return this.getCell(cellId);
  }

  async updateCell(actor: Actor, ref: string, input: UpdateCellDto): Promise<CellView> {
    const cellId = await this.dataSource.transaction(async (m) => {
      const cell = await this.findCell(m, ref);
      const p = await this.find(m, cell.programId, true);
      assertNotManaged(p);
      assertEditable(p.state as ProgramState, 'cells', 'cells');
      for (const field of ['name', 'weight', 'isControl'] as const) {
        if (input[field] === null) throw new ValidationError(`${field} cannot be empty`, field);
      }
      if (input.name !== undefined) cell.name = input.name.trim();
      if (input.weight !== undefined) cell.weight = String(validateWeight(input.weight, 'weight'));
      if (input.isControl !== undefined) cell.isControl = input.isControl;
      if (input.template !== undefined) cell.templateCode = input.template;
      if (input.offer !== undefined) {
        cell.offerId = input.offer === null ? null : (await this.offers.resolveReference(m, input.offer, 'offer')).id;
      }
      cell.updatedAt = this.clock.now();
      await m.save(CellEntity, cell);
      await this.invalidateList(m, p.id);
      await this.audit.record(m, actor, {
        action: 'cell.update',
        entityType: 'cell',
        entityId: cell.id,
        entityCode: cell.code,
        changes: { ...input },
      });
      return cell.id;
    });
    return this.getCell(cellId);
  }

  async removeCell(actor: Actor, ref: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const cell = await this.findCell(m, ref);
      const p = await this.find(m, cell.programId, true);
      assertNotManaged(p);
      assertEditable(p.state as ProgramState, 'cells', 'cells');
      await this.invalidateList(m, p.id);
      await m.delete(CellEntity, { id: cell.id });
      await this.audit.record(m, actor, {
        action: 'cell.delete',
        entityType: 'cell',
        entityId: cell.id,
        entityCode: cell.code,
        changes: { program: p.code, responseCode: cell.responseCode },
      });
    });
  }

  async find(m: EntityManager, ref: string, lock = false): Promise<ProgramEntity> {
    return findByRef(m, ProgramEntity, 'program', ref, lock);
  }

  /** A cell by id, code, or response code. */
  private async findCell(m: EntityManager, ref: string): Promise<CellEntity> {
    const qb = whereRef(m.getRepository(CellEntity).createQueryBuilder('c'), 'c', ref);
    let cell = await qb.getOne();
    if (!cell) cell = await m.findOne(CellEntity, { where: { responseCode: ref.trim().toUpperCase() } });
    if (!cell) throw new NotFoundError('cell', ref);
    return cell;
  }

  private async insertCell(
    m: EntityManager,
    program: ProgramEntity,
    input: CreateCellDto,
    position: number,
    path: string,
    options: { generatedCode?: boolean } = {},
  ): Promise<CellEntity> {
    const at = (field: string) => (path ? `${path}.${field}` : field);
    // Codes automation makes for its programs' cells ("drip:WELCOME") may hold ':' (so no user's code can be one).
    const code = options.generatedCode ? input.code : validateCode(input.code, at('code'));
    const weight = validateWeight(input.weight, at('weight'));
    await assertCodeFree(m, CellEntity, 'cell', code);
    const offerId = input.offer ? (await this.offers.resolveReference(m, input.offer, at('offer'))).id : null;
    const responseCode = await this.issueResponseCode(m, input.responseCode, at('responseCode'));
    const now = this.clock.now();
    const cell = m.create(CellEntity, {
      programId: program.id,
      code,
      name: input.name?.trim() || code,
      weight: String(weight),
      isControl: input.isControl ?? false,
      templateCode: input.template ?? null,
      offerId,
      responseCode,
      position,
      createdAt: now,
      updatedAt: now,
    });
    await m.insert(CellEntity, cell).catch((e: unknown) => {
      throw isUniqueViolation(e) ? codeTaken('cell', code) : e;
    });
    return cell;
  }

  /**
   * Registers a response code in the never-deleted registry: a given code must be new, a generated
   * one is retried on the (rare) collision. ON CONFLICT keeps the surrounding transaction usable.
   */
  private async issueResponseCode(m: EntityManager, given: string | undefined, field: string): Promise<string> {
    const register = async (code: string): Promise<boolean> => {
      const rows: unknown[] = await m.query(
        'INSERT INTO response_code (code) VALUES ($1) ON CONFLICT DO NOTHING RETURNING code',
        [code],
      );
      return rows.length === 1;
    };
    if (given !== undefined) {
      const code = validateCustomResponseCode(given, field);
      if (!(await register(code))) {
        throw new ConflictError(`response code "${code}" has already been issued; response codes are never reused`);
      }
      return code;
    }
    for (let attempt = 0; attempt < 20; attempt++) {
      const code = generateResponseCode((max) => randomInt(max));
      if (await register(code)) return code;
    }
    throw new Error('could not generate a free response code after 20 attempts');
  }

  /**
   * A target list is a snapshot of the cells and targeting it was built with: when those change
   * (only possible in draft), the snapshot is dropped and must be built again.
   */
  private async invalidateList(m: EntityManager, programId: string): Promise<void> {
    await m.query('DELETE FROM list_member WHERE program_id = $1', [programId]);
    await m.query('DELETE FROM target_list WHERE program_id = $1', [programId]);
  }

  private assertFuture(at: Date): void {
    if (at.getTime() <= this.clock.now().getTime()) {
      throw new ValidationError(`scheduledAt must be in the future (got ${at.toISOString()})`, 'scheduledAt');
    }
  }

  private async notify(view: ProgramView, action: ProgramAction, actor: Actor): Promise<void> {
    if (!this.listeners.length && action === 'launch') {
      this.logger.warn(`program ${view.code} is running; no state listener is registered, so nothing will be sent`);
    }
    for (const listener of this.listeners) await listener.onProgramStateChanged(view, action, actor);
  }

  /** Builds views for many programs in three queries, whatever their number (no N+1). */
  private async views(m: EntityManager, programs: ProgramEntity[]): Promise<ProgramView[]> {
    if (!programs.length) return [];
    const ids = programs.map((p) => p.id);
    const campaigns: { id: string; code: string }[] = await m.query(
      'SELECT id, code FROM campaign WHERE id = ANY($1)',
      [[...new Set(programs.map((p) => p.campaignId).filter((id): id is string => !!id))]],
    );
    const cells: (CellEntity & { offer_code: string | null })[] = await m.query(
      `SELECT c.id, c.program_id AS "programId", c.code, c.name, c.weight, c.is_control AS "isControl",
              c.template_code AS "templateCode", c.response_code AS "responseCode", o.code AS offer_code
         FROM cell c LEFT JOIN offer o ON o.id = c.offer_id
        WHERE c.program_id = ANY($1)
        ORDER BY c.program_id, c.position`,
      [ids],
    );
    const offerIds = programs.map((p) => p.offerId).filter((id): id is string => !!id);
    const offers: { id: string; code: string }[] = offerIds.length
      ? await m.query('SELECT id, code FROM offer WHERE id = ANY($1)', [offerIds])
      : [];
    const campaignCode = new Map(campaigns.map((c) => [c.id, c.code]));
    const offerCode = new Map(offers.map((o) => [o.id, o.code]));
    return programs.map((p) => {
      const own = cells.filter((c) => c.programId === p.id);
      const cellViews: CellView[] = own.map((c) => ({
        id: c.id,
        code: c.code,
        name: c.name,
        weight: Number(c.weight),
        isControl: c.isControl,
        responseCode: c.responseCode,
        template: c.templateCode,
        offer: c.offer_code,
        program: { id: p.id, code: p.code },
      }));
      const weights = cellViews.map((c) => ({ code: c.code, weight: c.weight, isControl: c.isControl }));
      const check = checkLaunchableCells(weights);
      return {
        id: p.id,
        code: p.code,
        name: p.name,
        description: p.description,
        campaign: p.campaignId ? { id: p.campaignId, code: campaignCode.get(p.campaignId) ?? '' } : null,
        managedBy: p.managedBy ? { type: p.managedBy, id: p.managedId! } : null,
        channel: p.channel as Channel,
        state: p.state as ProgramState,
        segment: p.segmentCode,
        template: p.templateCode,
        offer: p.offerId ? (offerCode.get(p.offerId) ?? null) : null,
        scheduledAt: iso(p.scheduledAt),
        attributionWindowDays: p.attributionWindowDays,
        sample:
          p.sampleSize !== null
            ? { size: p.sampleSize }
            : p.samplePercent !== null
              ? { percent: Number(p.samplePercent) }
              : null,
        seed: p.seed,
        launchedAt: iso(p.launchedAt),
        endedAt: iso(p.endedAt),
        cells: cellViews,
        readiness: { launchable: check.ok, weightSum: weightSum(weights), reason: check.ok ? null : check.reason },
        editable: programEditPolicy(p.state as ProgramState),
        createdAt: p.createdAt.toISOString(),
        updatedAt: p.updatedAt.toISOString(),
      };
    });
  }
}

/** Programs automation keeps change only through their drip or rule. */
function assertNotManaged(p: ProgramEntity): void {
  if (!p.managedBy) return;
  const route = p.managedBy === 'drip' ? '/v1/drips' : '/v1/rules';
  throw new ConflictError(
    `program ${p.code} is kept by automation to measure a ${p.managedBy}: change the ${p.managedBy} instead (${route})`,
  );
}

export interface ManagedProgramSpec {
  managedBy: 'drip' | 'rule';
  managedId: string;
  code: string;
  name: string;
  description: string | null;
  channel: Channel;
  campaignId: string | null;
  offerId: string | null;
  attributionWindowDays: number;
  cells: {
    code: string;
    name: string;
    weight: number;
    isControl: boolean;
    responseCode?: string | null;
    offer?: string | null;
  }[];
  /** How an error names the i-th cell (e.g. `steps[3].cells[1]`). */
  cellPath(i: number): string;
}

export interface ManagedProgram {
  id: string;
  code: string;
  state: ProgramState;
  /** By lower-cased cell code. */
  cells: Map<string, { id: string; code: string; responseCode: string; isControl: boolean }>;
}

function checkSample(sample: { size?: number; percent?: number } | null | undefined) {
  if (!sample) return null;
  const hasSize = sample.size !== undefined && sample.size !== null;
  const hasPercent = sample.percent !== undefined && sample.percent !== null;
  if (hasSize === hasPercent) {
    throw new ValidationError('sample must have exactly one of size or percent', 'sample');
  }
  return hasSize ? { size: sample.size! } : { percent: sample.percent! };
}

/** Cell codes in one request must differ from each other (case-insensitively). */
function checkCellBatch(cells: CreateCellDto[]): void {
  if (cells.length > MAX_CELLS) throw new ValidationError(`a program has at most ${MAX_CELLS} cells`, 'cells');
  const seen = new Map<string, number>();
  cells.forEach((c, i) => {
    const key = typeof c.code === 'string' ? c.code.trim().toLowerCase() : '';
    if (seen.has(key)) {
      throw new ValidationError(
        `cells[${i}].code repeats cells[${seen.get(key)}].code "${c.code}"`,
        `cells[${i}].code`,
      );
    }
    seen.set(key, i);
  });
}
