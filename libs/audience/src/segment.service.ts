import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  Actor,
  Clock,
  codeKey,
  compileCriteria,
  CompiledCriteria,
  CriteriaNode,
  NotFoundError,
  systemClock,
  validateCode,
  validateCriteria,
} from '@closeloop/core';
import { AuditService, codeTaken, isUniqueViolation, keysetPage, Page, whereRef } from '@closeloop/persistence';
import { DataSource, EntityManager } from 'typeorm';
import { mapCustomer } from './customer.service';
import { CreateSegmentDto, SegmentListQueryDto, SegmentPreviewView, SegmentView } from './dto/segment.dto';

export const AUDIENCE_CLOCK = Symbol('AUDIENCE_CLOCK');

interface SegmentRow {
  id: string;
  code: string;
  name: string;
  description: string | null;
  criteria: CriteriaNode;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `s.id, s.code, s.name, s.description, s.criteria, s.created_at AS "createdAt", s.updated_at AS "updatedAt"`;

/** Saved criteria, compiled to parameterised SQL; preview and counts run the same compiled SQL. */
@Injectable()
export class SegmentService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    @Optional() @Inject(AUDIENCE_CLOCK) private readonly clock: Clock = systemClock,
  ) {}

  async create(actor: Actor, input: CreateSegmentDto): Promise<SegmentView> {
    const code = validateCode(input.code, 'code');
    const criteria = validateCriteria(input.criteria);
    return this.dataSource.transaction(async (m) => {
      // A saved segment must compile: unknown or cyclic inSegment references are refused now.
      await this.compile(m, criteria, [codeKey(code)]);
      const taken = await m.query(`SELECT 1 FROM segment WHERE lower(code) = lower($1)`, [code]);
      if (taken.length) throw codeTaken('segment', code);
      const rows = await m
        .query(
          `INSERT INTO segment (code, name, description, criteria) VALUES ($1, $2, $3, $4)
           RETURNING id, code, name, description, criteria, created_at AS "createdAt", updated_at AS "updatedAt"`,
          [code, input.name.trim(), input.description ?? null, JSON.stringify(criteria)],
        )
        .catch((e: unknown) => {
          throw isUniqueViolation(e) ? codeTaken('segment', code) : e;
        });
      await this.audit.record(m, actor, {
        action: 'segment.create',
        entityType: 'segment',
        entityId: rows[0].id,
        entityCode: code,
        changes: { criteria },
      });
      return mapSegment(rows[0]);
    });
  }

  /** A segment with its member count, computed now. */
  async get(ref: string): Promise<SegmentView> {
    const segment = await this.find(this.dataSource.manager, ref);
    const compiled = await this.compile(this.dataSource.manager, segment.criteria, [codeKey(segment.code)]);
    const [{ count }] = await this.dataSource.query(
      `SELECT count(*)::int AS count FROM customer c WHERE c.erased_at IS NULL AND ${compiled.sql}`,
      compiled.params,
    );
    return { ...mapSegment(segment), count };
  }

  async list(query: SegmentListQueryDto): Promise<Page<SegmentView>> {
    const qb = this.dataSource.createQueryBuilder().select(COLUMNS).from('segment', 's');
    const page = await keysetPage(qb, 's', query, (q) => q.getRawMany<SegmentRow>());
    return { items: page.rows.map(mapSegment), nextCursor: page.nextCursor };
  }

  /** Count and a sample of members for criteria not saved yet. */
  async preview(criteriaInput: unknown, sampleSize = 10): Promise<SegmentPreviewView> {
    const criteria = validateCriteria(criteriaInput);
    const compiled = await this.compile(this.dataSource.manager, criteria, []);
    const where = `c.erased_at IS NULL AND ${compiled.sql}`;
    const [{ count }] = await this.dataSource.query(
      `SELECT count(*)::int AS count FROM customer c WHERE ${where}`,
      compiled.params,
    );
    const sample = sampleSize
      ? await this.dataSource.query(
          `SELECT c.* FROM customer c WHERE ${where} ORDER BY c.created_at, c.id LIMIT $${compiled.params.length + 1}`,
          [...compiled.params, sampleSize],
        )
      : [];
    return { count, sample: sample.map(mapCustomer) };
  }

  /**
   * Compiles criteria with saved segments inlined. `stack` holds the codes being defined, so a
   * segment that refers to itself, directly or through others, is refused.
   */
  async compile(
    m: EntityManager,
    criteria: CriteriaNode,
    stack: string[],
    options: { eventAlias?: string; paramOffset?: number } = {},
  ): Promise<CompiledCriteria> {
    const saved = new Map<string, CriteriaNode>();
    const load = async (node: CriteriaNode): Promise<void> => {
      if ('all' in node) for (const n of node.all) await load(n);
      else if ('any' in node) for (const n of node.any) await load(n);
      else if ('not' in node) await load(node.not);
      else if (node.op === 'inSegment') {
        const key = codeKey(String(node.value));
        if (saved.has(key) || stack.includes(key)) return;
        const rows = await m.query(`SELECT criteria FROM segment WHERE lower(code) = $1`, [key]);
        if (!rows.length) return;
        saved.set(key, rows[0].criteria);
        await load(rows[0].criteria);
      }
    };
    await load(criteria);
    const self = stack[0];
    return compileCriteria(self ? { op: 'inSegment', value: self } : criteria, {
      ...options,
      now: this.clock.now(),
      segment: (code) => (self && codeKey(code) === self ? criteria : (saved.get(codeKey(code)) ?? null)),
    });
  }

  private async find(m: EntityManager, ref: string): Promise<SegmentRow> {
    const qb = whereRef(m.createQueryBuilder().select(COLUMNS).from('segment', 's'), 's', ref);
    const row = await qb.getRawOne<SegmentRow>();
    if (!row) throw new NotFoundError('segment', ref);
    return row;
  }
}

function mapSegment(r: SegmentRow): SegmentView {
  return {
    id: r.id,
    code: r.code,
    name: r.name,
    description: r.description,
    criteria: r.criteria,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
}
