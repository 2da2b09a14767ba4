import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Actor, ConflictError, isUuid, normalizeAddress, NotFoundError, ValidationError } from '@closeloop/core';
import { AuditService, keysetPage, Page } from '@closeloop/persistence';
import { DataSource } from 'typeorm';
import { addressHash } from './customer.service';
import { Channel, CreateSuppressionDto, SuppressionListQueryDto, SuppressionView } from './dto/suppression.dto';

interface SuppressionRow {
  id: string;
  channel: Channel;
  address: string | null;
  customerId: string | null;
  reason: SuppressionView['reason'];
  source: string;
  createdBy: string;
  createdAt: Date;
}

const COLUMNS = `s.id, s.channel, s.address, s.customer_id AS "customerId", s.reason, s.source,
                 s.created_by AS "createdBy", s.created_at AS "createdAt"`;

/** Addresses that must not be contacted on a channel, with reason and source; matched on hashes. */
@Injectable()
export class SuppressionService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  async create(actor: Actor, input: CreateSuppressionDto): Promise<SuppressionView> {
    if (!!input.address === !!input.customer) {
      throw new ValidationError('give exactly one of address or customer', input.address ? 'customer' : 'address');
    }
    return this.dataSource.transaction(async (m) => {
      let address: string;
      let customerId: string | null = null;
      if (input.address) {
        address = normalizeAddress(input.channel, input.address, 'address');
      } else {
        const rows = await m.query(
          `SELECT id, email, phone FROM customer WHERE ${isUuid(input.customer!) ? 'id' : 'external_id'} = $1`,
          [input.customer],
        );
        if (!rows.length) throw new ValidationError(`customer "${input.customer}" does not exist`, 'customer');
        const found = input.channel === 'email' ? rows[0].email : rows[0].phone;
        if (!found)
          throw new ValidationError(`customer "${input.customer}" has no ${input.channel} address`, 'customer');
        address = found;
        customerId = rows[0].id;
      }
      const inserted = await m.query(
        `INSERT INTO suppression (channel, address, address_hash, customer_id, reason, source, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (channel, address_hash) DO NOTHING RETURNING id`,
        [input.channel, address, addressHash(address), customerId, input.reason, input.source ?? 'api', actor.name],
      );
      if (!inserted.length) throw new ConflictError(`${address} is already suppressed on ${input.channel}`);
      await this.audit.record(m, actor, {
        action: 'suppression.create',
        entityType: 'suppression',
        entityId: inserted[0].id,
        changes: { channel: input.channel, reason: input.reason },
      });
      const [row] = await m.query(`SELECT ${COLUMNS} FROM suppression s WHERE s.id = $1`, [inserted[0].id]);
      return mapSuppression(row);
    });
  }

  async list(query: SuppressionListQueryDto): Promise<Page<SuppressionView>> {
    const qb = this.dataSource.createQueryBuilder().select(COLUMNS).from('suppression', 's');
    if (query.channel) qb.andWhere('s.channel = :channel', { channel: query.channel });
    if (query.reason) qb.andWhere('s.reason = :reason', { reason: query.reason });
    const page = await keysetPage(qb, 's', query, (q) => q.getRawMany<SuppressionRow>());
    return { items: page.rows.map(mapSuppression), nextCursor: page.nextCursor };
  }

  /** Lifts a suppression (e.g. a re-subscribe confirmed elsewhere). */
  async remove(actor: Actor, id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError('suppression', id);
    await this.dataSource.transaction(async (m) => {
      const [, count] = await m.query(`DELETE FROM suppression WHERE id = $1`, [id]);
      if (!count) throw new NotFoundError('suppression', id);
      await this.audit.record(m, actor, { action: 'suppression.delete', entityType: 'suppression', entityId: id });
    });
  }

  /** Whether an address is suppressed on a channel (the sender asks this before every send). */
  async isSuppressed(channel: Channel, address: string): Promise<boolean> {
    const rows = await this.dataSource.query(`SELECT 1 FROM suppression WHERE channel = $1 AND address_hash = $2`, [
      channel,
      addressHash(normalizeAddress(channel, address, 'address')),
    ]);
    return rows.length > 0;
  }
}

function mapSuppression(r: SuppressionRow): SuppressionView {
  return {
    id: r.id,
    channel: r.channel,
    address: r.address,
    customerId: r.customerId,
    reason: r.reason,
    source: r.source,
    createdBy: r.createdBy,
    createdAt: new Date(r.createdAt).toISOString(),
  };
}
