import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Actor, codeKey, isUuid, NotFoundError, planSms, validateCode, ValidationError } from '@closeloop/core';
import { AuditService, codeTaken, iso, isUniqueViolation, keysetPage, Page } from '@closeloop/persistence';
import { DataSource, EntityManager } from 'typeorm';
import {
  CreateTemplateDto,
  PreviewTemplateDto,
  TemplateChannel,
  TemplateContentDto,
  TemplateListQueryDto,
  TemplatePreviewView,
  TemplateView,
  UpdateTemplateDto,
} from './dto/template.dto';
import { RENDER_COLUMNS, RenderRow, toRenderContext } from './render-context';
import {
  CompiledEmailTemplate,
  CompiledSmsTemplate,
  EmailTemplateSource,
  TemplateEngine,
} from './rendering/template-engine';

interface TemplateRow {
  id: string;
  code: string;
  name: string;
  channel: TemplateChannel;
  currentVersion: number;
  version: number;
  subject: string | null;
  html: string | null;
  text: string | null;
  layout: string | null;
  body: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `t.id, t.code, t.name, t.channel, t.version AS "currentVersion", v.version, v.subject, v.html, v.text,
                 v.layout, v.body, t.created_at AS "createdAt", t.updated_at AS "updatedAt"`;

/** A compiled template version: what the delivery worker renders each message with. */
export type CompiledTemplate =
  | { channel: 'email'; code: string; version: number; email: CompiledEmailTemplate }
  | { channel: 'sms'; code: string; version: number; sms: CompiledSmsTemplate };

/** Preview renders without tracking: the unsubscribe link is a placeholder that goes nowhere. */
const PREVIEW_UNSUBSCRIBE_URL = 'https://example.invalid/unsubscribe-preview';

/**
 * Versioned message templates (handlebars). Every save compiles the template first, so a syntax
 * error or an unknown helper is a 422 naming the part, line and column, and nothing is stored; a
 * PUT adds a version and never changes one a program may have launched with.
 */
@Injectable()
export class TemplateService {
  /** Compiled versions by "<template id>:<version>"; a version never changes, so entries never go stale. */
  private readonly compiledVersions = new Map<string, Promise<CompiledTemplate>>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly engine: TemplateEngine,
  ) {}

  async create(actor: Actor, input: CreateTemplateDto): Promise<TemplateView> {
    const code = validateCode(input.code, 'code');
    const content = this.checkContent(input.channel, input);
    const id = await this.dataSource.transaction(async (m) => {
      const rows = await m
        .query(`INSERT INTO template (code, name, channel) VALUES ($1, $2, $3) RETURNING id`, [
          code,
          input.name?.trim() || code,
          input.channel,
        ])
        .catch((e: unknown) => {
          throw isUniqueViolation(e) ? codeTaken('template', code) : e;
        });
      await this.insertVersion(m, rows[0].id, 1, content, actor);
      await this.audit.record(m, actor, {
        action: 'template.create',
        entityType: 'template',
        entityId: rows[0].id,
        entityCode: code,
        changes: { channel: input.channel, version: 1 },
      });
      return rows[0].id as string;
    });
    return this.get(id);
  }

  /** A new version with the given parts (PUT replaces the content; the old versions stay). */
  async update(actor: Actor, ref: string, input: UpdateTemplateDto): Promise<TemplateView> {
    const id = await this.dataSource.transaction(async (m) => {
      const t = await this.find(m, ref, true);
      const content = this.checkContent(t.channel, input);
      const version = t.currentVersion + 1;
      await this.insertVersion(m, t.id, version, content, actor);
      await m.query(`UPDATE template SET version = $2, name = coalesce($3, name), updated_at = now() WHERE id = $1`, [
        t.id,
        version,
        input.name?.trim() || null,
      ]);
      await this.audit.record(m, actor, {
        action: 'template.update',
        entityType: 'template',
        entityId: t.id,
        entityCode: t.code,
        changes: { version },
      });
      return t.id;
    });
    return this.get(id);
  }

  async get(ref: string, version?: number): Promise<TemplateView> {
    return mapTemplate(await this.find(this.dataSource.manager, ref, false, version));
  }

  async list(query: TemplateListQueryDto): Promise<Page<TemplateView>> {
    const qb = this.dataSource
      .createQueryBuilder()
      .select(COLUMNS)
      .from('template', 't')
      .innerJoin('template_version', 'v', 'v.template_id = t.id AND v.version = t.version');
    if (query.channel) qb.andWhere('t.channel = :channel', { channel: query.channel });
    const page = await keysetPage(qb, 't', query, (q) => q.getRawMany<TemplateRow & { id: string }>());
    return { items: page.rows.map(mapTemplate), nextCursor: page.nextCursor };
  }

  /** Renders a version for one customer (and cell), with the warnings a marketer should see. */
  async preview(ref: string, input: PreviewTemplateDto): Promise<TemplatePreviewView> {
    const t = await this.find(this.dataSource.manager, ref, false, input.version);
    const row = await this.previewRow(input);
    const compiled = this.compileRow(t);
    const context = toRenderContext(row, PREVIEW_UNSUBSCRIBE_URL);
    if (compiled.channel === 'email') {
      const r = compiled.email.render(context, null);
      return {
        template: t.code,
        version: t.version,
        channel: 'email',
        subject: r.subject,
        html: r.html,
        text: r.text,
        warnings: r.warnings,
        sms: null,
      };
    }
    const r = compiled.sms.render(context);
    const plan = planSms(r.text);
    return {
      template: t.code,
      version: t.version,
      channel: 'sms',
      subject: null,
      html: null,
      text: r.text,
      warnings: r.warnings,
      sms: { encoding: plan.encoding, units: plan.units, segments: plan.segments, perSegment: plan.perSegment },
    };
  }

  /** The current version of each template code (for pinning at launch); unknown codes are missing. */
  async currentVersions(
    m: EntityManager,
    codes: string[],
  ): Promise<Map<string, { id: string; channel: string; version: number }>> {
    const rows: { code: string; id: string; channel: string; version: number }[] = await m.query(
      `SELECT code, id, channel, version FROM template WHERE lower(code) = ANY($1)`,
      [codes.map(codeKey)],
    );
    return new Map(rows.map((r) => [codeKey(r.code), { id: r.id, channel: r.channel, version: r.version }]));
  }

  /** A compiled version, from the cache or the database (the delivery worker's hot path). */
  async compiled(code: string, version: number): Promise<CompiledTemplate> {
    const key = `${codeKey(code)}:${version}`;
    // The promise is cached, so the first wave of sends compiles a version once, not once per send.
    let compiled = this.compiledVersions.get(key);
    if (!compiled) {
      compiled = this.find(this.dataSource.manager, code, false, version).then((t) => this.compileRow(t));
      this.compiledVersions.set(key, compiled);
      compiled.catch(() => this.compiledVersions.delete(key));
    }
    return compiled;
  }

  private compileRow(t: TemplateRow): CompiledTemplate {
    if (t.channel === 'email') {
      return { channel: 'email', code: t.code, version: t.version, email: this.engine.compileEmail(emailSource(t)) };
    }
    return { channel: 'sms', code: t.code, version: t.version, sms: this.engine.compileSms({ body: t.body ?? '' }) };
  }

  private checkContent(channel: TemplateChannel, input: TemplateContentDto): TemplateContentDto {
    if (channel === 'email') {
      if (!input.subject?.trim()) throw new ValidationError('subject is required for an email template', 'subject');
      if (!input.html?.trim()) throw new ValidationError('html is required for an email template', 'html');
      if (input.body !== undefined)
        throw new ValidationError('body is for SMS templates; email has subject and html', 'body');
      if (/[\r\n]/.test(input.subject)) throw new ValidationError('subject must be one line', 'subject');
      const source = emailSource({
        subject: input.subject,
        html: input.html,
        text: input.text ?? null,
        layout: input.layout ?? null,
      });
      this.engine.checkEmail(source);
      return { subject: input.subject, html: input.html, text: input.text, layout: input.layout };
    }
    if (!input.body?.trim()) throw new ValidationError('body is required for an SMS template', 'body');
    for (const field of ['subject', 'html', 'text', 'layout'] as const) {
      if (input[field] !== undefined)
        throw new ValidationError(`${field} is for email templates; SMS has a body`, field);
    }
    this.engine.checkSms({ body: input.body });
    return { body: input.body };
  }

  private async insertVersion(m: EntityManager, id: string, version: number, c: TemplateContentDto, actor: Actor) {
    await m.query(
      `INSERT INTO template_version (template_id, version, subject, html, text, body, layout, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [id, version, c.subject ?? null, c.html ?? null, c.text ?? null, c.body ?? null, c.layout ?? null, actor.name],
    );
  }

  private async find(m: EntityManager, ref: string, lock = false, version?: number): Promise<TemplateRow> {
    const where = isUuid(ref) ? 't.id = $1' : 'lower(t.code) = $1';
    const rows: TemplateRow[] = await m.query(
      `SELECT ${COLUMNS} FROM template t
         JOIN template_version v ON v.template_id = t.id AND v.version = coalesce($2, t.version)
        WHERE ${where} ${lock ? 'FOR UPDATE OF t' : ''}`,
      [isUuid(ref) ? ref : codeKey(ref), version ?? null],
    );
    if (!rows.length) {
      if (version !== undefined) {
        const exists = await m.query(`SELECT 1 FROM template t WHERE ${where}`, [isUuid(ref) ? ref : codeKey(ref)]);
        if (exists.length) throw new NotFoundError('template version', `${ref}@${version}`);
      }
      throw new NotFoundError('template', ref);
    }
    return rows[0];
  }

  private async previewRow(input: PreviewTemplateDto): Promise<RenderRow> {
    const customerWhere = isUuid(input.customer) ? 'c.id = $1' : 'c.external_id = $1';
    const params: unknown[] = [input.customer];
    let cellJoin = 'false';
    if (input.cell) {
      cellJoin = isUuid(input.cell) ? 'ce.id = $2' : 'lower(ce.code) = $2';
      params.push(isUuid(input.cell) ? input.cell : codeKey(input.cell));
    }
    const rows: RenderRow[] = await this.dataSource.query(
      `SELECT ${RENDER_COLUMNS}
         FROM customer c
         LEFT JOIN cell ce ON ${cellJoin}
         LEFT JOIN program p ON p.id = ce.program_id
         LEFT JOIN offer o ON o.id = coalesce(ce.offer_id, p.offer_id)
        WHERE ${customerWhere} AND c.erased_at IS NULL`,
      params,
    );
    if (!rows.length) throw new NotFoundError('customer', input.customer);
    if (input.cell && !rows[0].cell_code) throw new NotFoundError('cell', input.cell);
    return rows[0];
  }
}

function emailSource(t: Pick<TemplateRow, 'subject' | 'html' | 'text' | 'layout'>): EmailTemplateSource {
  return {
    subject: t.subject ?? '',
    html: t.html ?? '',
    text: t.text ?? null,
    layout: t.layout === 'none' ? null : (t.layout ?? 'default'),
  };
}

function mapTemplate(t: TemplateRow): TemplateView {
  return {
    id: t.id,
    code: t.code,
    name: t.name,
    channel: t.channel,
    version: t.version,
    currentVersion: t.currentVersion,
    subject: t.subject,
    html: t.html,
    text: t.text,
    layout: t.layout,
    body: t.body,
    createdAt: iso(new Date(t.createdAt))!,
    updatedAt: iso(new Date(t.updatedAt))!,
  };
}
