import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Actor, AppConfig, codeKey, ConflictError, isUuid, normalizeAddress, NotFoundError } from '@closeloop/core';
import {
  CELL_RENDER_COLUMNS,
  CUSTOMER_RENDER_COLUMNS,
  RenderRow,
  TemplateService,
  toRenderContext,
} from '@closeloop/messaging';
import { APP_CONFIG, AuditService } from '@closeloop/persistence';
import { DataSource } from 'typeorm';
import { ChannelRegistry } from './channel-registry';
import { senderOf } from './delivery.service';
import { TestSendDto, TestSendView } from './dto/delivery.dto';

/** A made-up customer for a test send without one: every field a template is likely to use. */
const SAMPLE_CUSTOMER = {
  customer_id: '00000000-0000-4000-8000-000000000000',
  external_id: 'sample',
  email: 'sample@example.com',
  phone: '+4915100000000',
  first_name: 'Alex',
  last_name: 'Sample',
  locale: 'en-US',
  time_zone: 'UTC',
  country: 'US',
  birth_date: null,
  attributes: {},
  lifecycle_stage: 'active',
};

/**
 * POST /v1/programs/:id/test-send: the program's message, rendered for one customer and cell, sent
 * straight to the given addresses. Not a send: no ledger row, no tracking, "[TEST]" in the subject.
 */
@Injectable()
export class TestSendService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly templates: TemplateService,
    private readonly channels: ChannelRegistry,
    private readonly audit: AuditService,
  ) {}

  async testSend(actor: Actor, programRef: string, input: TestSendDto): Promise<TestSendView> {
    const programs = await this.dataSource.query(
      `SELECT id, code, channel, template_code, template_pins FROM program
        WHERE ${isUuid(programRef) ? 'id = $1' : 'lower(code) = $1'}`,
      [isUuid(programRef) ? programRef : codeKey(programRef)],
    );
    if (!programs.length) throw new NotFoundError('program', programRef);
    const p = programs[0];
    const channel = p.channel as 'email' | 'sms';
    const addresses = input.addresses.map((a, i) => normalizeAddress(channel, a, `addresses[${i}]`));
    const row = await this.renderRow(p.id, input);
    const templateCode = row.template_code ?? p.template_code;
    if (!templateCode) throw new ConflictError(`program ${p.code} has no template to test`);
    const pinned = p.template_pins?.[codeKey(templateCode)];
    const current = (await this.templates.currentVersions(this.dataSource.manager, [templateCode])).get(
      codeKey(templateCode),
    );
    if (!current) throw new ConflictError(`template "${templateCode}" does not exist`);
    const compiled = await this.templates.compiled(templateCode, pinned ?? current.version);
    const context = toRenderContext(row, `${this.config.publicUrl}/u/test`);
    const results: TestSendView['results'] = [];
    let warnings: string[] = [];
    const sender = senderOf(this.config.mailFrom);
    for (const address of addresses) {
      try {
        if (compiled.channel === 'email') {
          const r = compiled.email.render(context, null);
          warnings = r.warnings;
          await this.channels.emailChannel().send({
            from: sender.from,
            to: address,
            subject: `[TEST] ${r.subject}`,
            html: r.html,
            text: r.text,
            messageId: `<test-${Date.now()}-${results.length}@${sender.domain}>`,
            listUnsubscribe: { url: `${this.config.publicUrl}/u/test` },
            headers: { 'X-Closeloop-Test': p.code },
          });
        } else {
          const r = compiled.sms.render(context);
          warnings = r.warnings;
          const sms = await this.channels.smsChannel();
          await sms.submit({ from: this.config.smsFrom ?? 'Closeloop', to: address, text: `[TEST] ${r.text}` });
        }
        results.push({ address, status: 'sent', error: null });
      } catch (error) {
        results.push({ address, status: 'failed', error: (error as Error).message });
      }
    }
    await this.audit.record(this.dataSource.manager, actor, {
      action: 'program.test-send',
      entityType: 'program',
      entityId: p.id,
      entityCode: p.code,
      changes: { addresses, template: compiled.code, version: compiled.version },
    });
    return { template: compiled.code, version: compiled.version, results, warnings };
  }

  private async renderRow(
    programId: string,
    input: TestSendDto,
  ): Promise<RenderRow & { template_code: string | null }> {
    const cellWhere = input.cell
      ? isUuid(input.cell)
        ? 'ce.id = $2'
        : 'lower(ce.code) = $2'
      : 'ce.id = (SELECT id FROM cell WHERE program_id = $1 AND NOT is_control ORDER BY position LIMIT 1)';
    const cells = await this.dataSource.query(
      `SELECT ${CELL_RENDER_COLUMNS}, ce.template_code
         FROM cell ce JOIN program p ON p.id = ce.program_id
         LEFT JOIN offer o ON o.id = coalesce(ce.offer_id, p.offer_id)
        WHERE ce.program_id = $1 AND ${cellWhere}`,
      input.cell ? [programId, isUuid(input.cell) ? input.cell : codeKey(input.cell)] : [programId],
    );
    if (!cells.length) throw new NotFoundError('cell', input.cell ?? '(a non-control cell)');
    let customer: Record<string, unknown> = SAMPLE_CUSTOMER;
    if (input.customer) {
      const rows = await this.dataSource.query(
        `SELECT ${CUSTOMER_RENDER_COLUMNS} FROM customer c
          WHERE ${isUuid(input.customer) ? 'c.id = $1' : 'c.external_id = $1'} AND c.erased_at IS NULL`,
        [input.customer],
      );
      if (!rows.length) throw new NotFoundError('customer', input.customer);
      customer = rows[0];
    }
    return { ...cells[0], ...customer };
  }
}
