import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Actor, ConflictError, validateCode, ValidationError } from '@closeloop/core';
import {
  assertCodeFree,
  AuditService,
  CellEntity,
  codeTaken,
  iso,
  isUniqueViolation,
  keysetPage,
  OfferEntity,
  ProgramEntity,
  toDate,
  whereRef,
  findByRef,
} from '@closeloop/persistence';
import { DataSource, EntityManager } from 'typeorm';
import { Page } from './dto/common.dto';
import { CreateOfferDto, OfferListQueryDto, OfferType, OfferView, UpdateOfferDto } from './dto/offer.dto';

@Injectable()
export class OfferService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  async create(actor: Actor, input: CreateOfferDto): Promise<OfferView> {
    const code = validateCode(input.code, 'code');
    const now = new Date();
    const entity = this.dataSource.manager.create(OfferEntity, {
      code,
      name: input.name.trim(),
      description: input.description ?? null,
      type: input.type,
      value: input.value === undefined ? null : String(input.value),
      currency: input.currency ?? null,
      validFrom: toDate(input.validFrom) ?? null,
      validUntil: toDate(input.validUntil) ?? null,
      createdAt: now,
      updatedAt: now,
    });
    checkOffer(entity);
    await this.dataSource.transaction(async (m) => {
      await assertCodeFree(m, OfferEntity, 'offer', code);
      await m.insert(OfferEntity, entity).catch((e: unknown) => {
        throw isUniqueViolation(e) ? codeTaken('offer', code) : e;
      });
      await this.audit.record(m, actor, {
        action: 'offer.create',
        entityType: 'offer',
        entityId: entity.id,
        entityCode: code,
        changes: { ...input },
      });
    });
    return mapOffer(entity);
  }

  async get(ref: string): Promise<OfferView> {
    return mapOffer(await this.find(this.dataSource.manager, ref));
  }

  async list(query: OfferListQueryDto): Promise<Page<OfferView>> {
    const qb = this.dataSource.getRepository(OfferEntity).createQueryBuilder('o');
    const { rows, nextCursor } = await keysetPage<OfferEntity>(qb, 'o', query);
    return { items: rows.map(mapOffer), nextCursor };
  }

  async update(actor: Actor, ref: string, input: UpdateOfferDto): Promise<OfferView> {
    const entity = await this.dataSource.transaction(async (m) => {
      const o = await this.find(m, ref, true);
      for (const field of ['name', 'type'] as const) {
        if (input[field] === null) throw new ValidationError(`${field} cannot be empty`, field);
      }
      if (input.name !== undefined) o.name = input.name.trim();
      if (input.description !== undefined) o.description = input.description;
      if (input.type !== undefined) o.type = input.type;
      if (input.value !== undefined) o.value = input.value === null ? null : String(input.value);
      if (input.currency !== undefined) o.currency = input.currency;
      const validFrom = toDate(input.validFrom);
      const validUntil = toDate(input.validUntil);
      if (validFrom !== undefined) o.validFrom = validFrom;
      if (validUntil !== undefined) o.validUntil = validUntil;
      checkOffer(o);
      o.updatedAt = new Date();
      await m.save(OfferEntity, o);
      await this.audit.record(m, actor, {
        action: 'offer.update',
        entityType: 'offer',
        entityId: o.id,
        entityCode: o.code,
        changes: { ...input },
      });
      return o;
    });
    return mapOffer(entity);
  }

  /** An offer can be deleted while no program or cell refers to it. */
  async remove(actor: Actor, ref: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const o = await this.find(m, ref, true);
      const programs = await m.count(ProgramEntity, { where: { offerId: o.id } });
      const cells = await m.count(CellEntity, { where: { offerId: o.id } });
      if (programs || cells) {
        throw new ConflictError(
          `offer ${o.code} is used by ${programs} program(s) and ${cells} cell(s) and cannot be deleted`,
        );
      }
      await m.delete(OfferEntity, { id: o.id });
      await this.audit.record(m, actor, {
        action: 'offer.delete',
        entityType: 'offer',
        entityId: o.id,
        entityCode: o.code,
      });
    });
  }

  async find(m: EntityManager, ref: string, lock = false): Promise<OfferEntity> {
    return findByRef(m, OfferEntity, 'offer', ref, lock);
  }

  /** Resolves an offer named in a request body; an unknown one is the caller's input error. */
  async resolveReference(m: EntityManager, ref: string, field: string): Promise<OfferEntity> {
    const qb = whereRef(m.getRepository(OfferEntity).createQueryBuilder('o'), 'o', ref);
    const o = await qb.getOne();
    if (!o) throw new ValidationError(`${field} "${ref}" does not exist`, field);
    return o;
  }
}

/** The value's meaning depends on the offer type; the rules live here, once. */
function checkOffer(o: OfferEntity): void {
  const value = o.value === null ? null : Number(o.value);
  const type = o.type as OfferType;
  if (type === 'percent_off') {
    if (value === null || !(value > 0 && value <= 100)) {
      throw new ValidationError('value must be a percent in (0, 100] for a percent_off offer', 'value');
    }
  } else if (type === 'amount_off') {
    if (value === null || !Number.isSafeInteger(value) || value <= 0) {
      throw new ValidationError('value must be a positive integer in minor units for an amount_off offer', 'value');
    }
    if (!o.currency) throw new ValidationError('currency is required for an amount_off offer', 'currency');
  } else if (value !== null) {
    throw new ValidationError(`value is only allowed for percent_off and amount_off offers, not ${type}`, 'value');
  }
  if (o.validFrom && o.validUntil && o.validUntil < o.validFrom) {
    throw new ValidationError('validUntil must not be before validFrom', 'validUntil');
  }
}

export function mapOffer(o: OfferEntity): OfferView {
  return {
    id: o.id,
    code: o.code,
    name: o.name,
    description: o.description,
    type: o.type as OfferType,
    value: o.value === null ? null : Number(o.value),
    currency: o.currency ? o.currency.trim() : null,
    validFrom: iso(o.validFrom),
    validUntil: iso(o.validUntil),
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
  };
}
