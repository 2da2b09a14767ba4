import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Actor, ConflictError, validateCode, ValidationError } from '@closeloop/core';
import {
  assertCodeFree,
  AuditService,
  CampaignEntity,
  codeTaken,
  iso,
  isUniqueViolation,
  keysetPage,
  ProgramEntity,
  toDate,
  findByRef,
} from '@closeloop/persistence';
import { DataSource, EntityManager } from 'typeorm';
import { CampaignListQueryDto, CampaignView, CreateCampaignDto, UpdateCampaignDto } from './dto/campaign.dto';
import { Page } from './dto/common.dto';

@Injectable()
export class CampaignService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  async create(actor: Actor, input: CreateCampaignDto): Promise<CampaignView> {
    const code = validateCode(input.code, 'code');
    const startsAt = toDate(input.startsAt) ?? null;
    const endsAt = toDate(input.endsAt) ?? null;
    checkDateRange(startsAt, endsAt);
    const campaign = await this.dataSource.transaction(async (m) => {
      await assertCodeFree(m, CampaignEntity, 'campaign', code);
      const now = new Date();
      const entity = m.create(CampaignEntity, {
        code,
        name: input.name.trim(),
        description: input.description ?? null,
        objective: input.objective ?? null,
        owner: input.owner ?? null,
        startsAt,
        endsAt,
        budgetAmount: input.budget ? String(input.budget.amount) : null,
        budgetCurrency: input.budget?.currency ?? null,
        createdAt: now,
        updatedAt: now,
      });
      await m.insert(CampaignEntity, entity).catch((e: unknown) => {
        throw isUniqueViolation(e) ? codeTaken('campaign', code) : e;
      });
      await this.audit.record(m, actor, {
        action: 'campaign.create',
        entityType: 'campaign',
        entityId: entity.id,
        entityCode: code,
        changes: { ...input },
      });
      return entity;
    });
    return mapCampaign(campaign, 0);
  }

  async get(ref: string): Promise<CampaignView> {
    const entity = await this.find(this.dataSource.manager, ref);
    return mapCampaign(entity, await this.countPrograms(this.dataSource.manager, entity.id));
  }

  async list(query: CampaignListQueryDto): Promise<Page<CampaignView>> {
    const qb = this.dataSource.getRepository(CampaignEntity).createQueryBuilder('c');
    const { rows, nextCursor } = await keysetPage<CampaignEntity>(qb, 'c', query);
    const counts = await this.programCounts(rows.map((c) => c.id));
    return { items: rows.map((c) => mapCampaign(c, counts.get(c.id) ?? 0)), nextCursor };
  }

  async update(actor: Actor, ref: string, input: UpdateCampaignDto): Promise<CampaignView> {
    const entity = await this.dataSource.transaction(async (m) => {
      const c = await this.find(m, ref, true);
      if (input.name === null) throw new ValidationError('name cannot be empty', 'name');
      if (input.name !== undefined) c.name = input.name.trim();
      if (input.description !== undefined) c.description = input.description;
      if (input.objective !== undefined) c.objective = input.objective;
      if (input.owner !== undefined) c.owner = input.owner;
      const startsAt = toDate(input.startsAt);
      const endsAt = toDate(input.endsAt);
      if (startsAt !== undefined) c.startsAt = startsAt;
      if (endsAt !== undefined) c.endsAt = endsAt;
      checkDateRange(c.startsAt, c.endsAt);
      if (input.budget !== undefined) {
        c.budgetAmount = input.budget ? String(input.budget.amount) : null;
        c.budgetCurrency = input.budget?.currency ?? null;
      }
      c.updatedAt = new Date();
      await m.save(CampaignEntity, c);
      await this.audit.record(m, actor, {
        action: 'campaign.update',
        entityType: 'campaign',
        entityId: c.id,
        entityCode: c.code,
        changes: { ...input },
      });
      return c;
    });
    return mapCampaign(entity, await this.countPrograms(this.dataSource.manager, entity.id));
  }

  /** A campaign can be deleted while every program in it is still a draft (they go with it). */
  async remove(actor: Actor, ref: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const c = await this.find(m, ref, true);
      const live = await m
        .getRepository(ProgramEntity)
        .createQueryBuilder('p')
        .where('p.campaign_id = :id AND p.state <> :draft', { id: c.id, draft: 'draft' })
        .setLock('pessimistic_write')
        .getMany();
      if (live.length) {
        const names = live.map((p) => `${p.code} (${p.state})`).join(', ');
        throw new ConflictError(`campaign ${c.code} cannot be deleted: programs have left draft: ${names}`);
      }
      const drips: { code: string }[] = await m.query(`SELECT code FROM drip WHERE campaign_id = $1 ORDER BY code`, [
        c.id,
      ]);
      if (drips.length) {
        const names = drips.map((d) => d.code).join(', ');
        throw new ConflictError(`campaign ${c.code} cannot be deleted: drips belong to it: ${names}`);
      }
      // Target list members have no foreign key (for list build speed): they go explicitly.
      await m.query(`DELETE FROM list_member WHERE program_id IN (SELECT id FROM program WHERE campaign_id = $1)`, [
        c.id,
      ]);
      await m.delete(ProgramEntity, { campaignId: c.id });
      await m.delete(CampaignEntity, { id: c.id });
      await this.audit.record(m, actor, {
        action: 'campaign.delete',
        entityType: 'campaign',
        entityId: c.id,
        entityCode: c.code,
      });
    });
  }

  /** Finds a campaign by id or code; `lock` takes a row lock for the rest of the transaction. */
  async find(m: EntityManager, ref: string, lock = false): Promise<CampaignEntity> {
    return findByRef(m, CampaignEntity, 'campaign', ref, lock);
  }

  private async countPrograms(m: EntityManager, campaignId: string): Promise<number> {
    return m.getRepository(ProgramEntity).count({ where: { campaignId } });
  }

  private async programCounts(ids: string[]): Promise<Map<string, number>> {
    if (!ids.length) return new Map();
    const rows: { campaign_id: string; n: string }[] = await this.dataSource.query(
      'SELECT campaign_id, count(*) AS n FROM program WHERE campaign_id = ANY($1) GROUP BY campaign_id',
      [ids],
    );
    return new Map(rows.map((r) => [r.campaign_id, Number(r.n)]));
  }
}

function checkDateRange(startsAt: Date | null, endsAt: Date | null): void {
  if (startsAt && endsAt && endsAt < startsAt) {
    throw new ValidationError('endsAt must not be before startsAt', 'endsAt');
  }
}

export function mapCampaign(c: CampaignEntity, programCount: number): CampaignView {
  return {
    id: c.id,
    code: c.code,
    name: c.name,
    description: c.description,
    objective: c.objective,
    owner: c.owner,
    startsAt: iso(c.startsAt),
    endsAt: iso(c.endsAt),
    budget:
      c.budgetAmount !== null && c.budgetCurrency
        ? { amount: Number(c.budgetAmount), currency: c.budgetCurrency.trim() }
        : null,
    programCount,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}
