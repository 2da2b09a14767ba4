import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Actor, clampLimit, decodeCursor, encodeCursor, ValidationError } from '@closeloop/core';
import { DataSource, EntityManager } from 'typeorm';
import { AuditEntryEntity } from './entities';

export interface AuditRecord {
  action: string;
  entityType: string;
  entityId: string | null;
  entityCode?: string | null;
  changes?: Record<string, unknown> | null;
}

export interface AuditQuery {
  limit?: unknown;
  cursor?: string;
  entityType?: string;
  entityId?: string;
  actor?: string;
}

export interface AuditEntryView {
  id: string;
  at: string;
  actor: { keyId: string | null; name: string };
  action: string;
  entityType: string;
  entityId: string | null;
  entityCode: string | null;
  changes: Record<string, unknown> | null;
}

/** Who changed what and when. Written in the same transaction as the change it describes. */
@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async record(manager: EntityManager, actor: Actor, entry: AuditRecord): Promise<void> {
    await manager.insert(AuditEntryEntity, {
      at: new Date(),
      actorKeyId: actor.keyId,
      actorName: actor.name,
      action: entry.action,
      entityType: entry.entityType,
      entityId: entry.entityId,
      entityCode: entry.entityCode ?? null,
      changes: (entry.changes ?? null) as never,
    });
  }

  /** Newest first, keyset-paginated on (id). */
  async list(query: AuditQuery): Promise<{ items: AuditEntryView[]; nextCursor: string | null }> {
    const limit = clampLimit(query.limit);
    const qb = this.dataSource
      .getRepository(AuditEntryEntity)
      .createQueryBuilder('a')
      .orderBy('a.id', 'DESC')
      .limit(limit + 1);
    if (query.cursor) {
      const position = decodeCursor(query.cursor);
      if (!/^\d+$/.test(position.id)) throw new ValidationError('cursor is not valid', 'cursor');
      qb.andWhere('a.id < :id', { id: position.id });
    }
    if (query.entityType) qb.andWhere('a.entity_type = :t', { t: query.entityType });
    if (query.entityId)
      qb.andWhere('(a.entity_id::text = :e OR lower(a.entity_code) = lower(:e))', { e: query.entityId });
    if (query.actor) qb.andWhere('lower(a.actor_name) = lower(:n)', { n: query.actor });
    const rows = await qb.getMany();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(mapAuditEntry),
      nextCursor: rows.length > limit && last ? encodeCursor({ at: last.at.toISOString(), id: last.id }) : null,
    };
  }
}

function mapAuditEntry(e: AuditEntryEntity): AuditEntryView {
  return {
    id: String(e.id),
    at: e.at.toISOString(),
    actor: { keyId: e.actorKeyId, name: e.actorName },
    action: e.action,
    entityType: e.entityType,
    entityId: e.entityId,
    entityCode: e.entityCode,
    changes: e.changes,
  };
}
