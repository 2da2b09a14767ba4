import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Actor, ValidationError } from '@closeloop/core';
import {
  AutomationEvents,
  CreateDripDto,
  CreateRuleDto,
  DripListQueryDto,
  DripPage,
  DripQueryDto,
  DripService,
  DripView,
  EnrollDto,
  EnrollView,
  EventBatchDto,
  EventBatchView,
  EventInputDto,
  EventView,
  FiringListQueryDto,
  FiringPage,
  RuleListQueryDto,
  RulePage,
  RuleService,
  RuleView,
  UnenrollDto,
  UnenrollView,
  UpdateDripDto,
  UpdateRuleDto,
} from '@closeloop/automation';
import { DripReportService, dripReportCsv, dripReportHtml } from '@closeloop/analytics';
import { ApiErrors } from '../http/api-errors';
import { CurrentActor, READ_ROLES, Roles, WRITE_ROLES } from '../http/auth';
import { reportFormat, ReportFormats, sendReport } from '../http/report-response';
import { validateAs } from '../http/validation';

const versionOf = (version: string | undefined): number | undefined => {
  if (version === undefined) return undefined;
  if (!/^\d{1,6}$/.test(version) || Number(version) < 1) {
    throw new ValidationError('version must be a version number (1, 2, ...)', 'version');
  }
  return Number(version);
};

@ApiTags('automation')
@ApiBearerAuth()
@Controller('v1')
export class DripController {
  constructor(
    private readonly drips: DripService,
    private readonly reports: DripReportService,
  ) {}

  @Post('drips')
  @Roles(...WRITE_ROLES)
  @ApiOperation({
    summary: 'Create a drip (draft): trigger, steps, exit rules and re-entry policy',
    description:
      'Every step is checked and an error names it (`steps[2] (branch "b1") has no else path: ...`): unknown ' +
      'templates, segments or offers, jumps backwards, a wait of zero or negative length, split weights not ' +
      'summing to 100. Nothing runs until it is activated.',
  })
  @ApiCreatedResponse({ type: DripView })
  @ApiErrors(400, 409)
  create(@CurrentActor() actor: Actor, @Body() body: CreateDripDto) {
    return this.drips.create(actor, body);
  }

  @Get('drips')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'List drips (filter by state)' })
  @ApiOkResponse({ type: DripPage })
  @ApiErrors(400)
  list(@Query() query: DripListQueryDto) {
    return this.drips.list(query);
  }

  @Get('drips/:id')
  @Roles(...READ_ROLES)
  @ApiOperation({
    summary: 'A drip (id or code), its current definition (or `?version=`), programs and enrollment counts',
  })
  @ApiOkResponse({ type: DripView })
  @ApiErrors(400, 404)
  get(@Param('id') id: string, @Query() query: DripQueryDto) {
    return this.drips.get(id, versionOf(query.version));
  }

  @Patch('drips/:id')
  @Roles(...WRITE_ROLES)
  @ApiOperation({
    summary: 'Change a drip',
    description:
      'Details change in place. A new trigger, steps, exit or reentry replace the draft definition, or, once the ' +
      'drip has been activated, become a new version: new enrollments follow it, enrolled customers finish the ' +
      'version they entered.',
  })
  @ApiOkResponse({ type: DripView })
  @ApiErrors(400, 404, 409)
  update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: UpdateDripDto) {
    return this.drips.update(actor, id, body);
  }

  @Post('drips/:id/activate')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Activate a draft or paused drip (pins its templates, keeps its measuring programs)' })
  @ApiOkResponse({ type: DripView })
  @ApiErrors(404, 409)
  activate(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return this.drips.transition(actor, id, 'activate');
  }

  @Post('drips/:id/pause')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Pause an active drip: no enrollments, no steps, its queued messages wait' })
  @ApiOkResponse({ type: DripView })
  @ApiErrors(404, 409)
  pause(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return this.drips.transition(actor, id, 'pause');
  }

  @Post('drips/:id/archive')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({
    summary: 'Archive a drip: every enrollment ends (exit reason archived), pending messages are cancelled',
  })
  @ApiOkResponse({ type: DripView })
  @ApiErrors(404, 409)
  archive(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return this.drips.transition(actor, id, 'archive');
  }

  @Post('drips/:id/enroll')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Enroll customers in an active drip by hand (its re-entry policy applies)' })
  @ApiOkResponse({ type: EnrollView })
  @ApiErrors(400, 404, 409)
  enroll(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: EnrollDto) {
    return this.drips.enroll(actor, id, body.customers, body.idempotencyKey);
  }

  @Post('drips/:id/unenroll')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Take customers out of a drip (exit reason removed): they get nothing more from it' })
  @ApiOkResponse({ type: UnenrollView })
  @ApiErrors(400, 404)
  unenroll(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: UnenrollDto) {
    return this.drips.unenroll(actor, id, body.customers);
  }

  @Get('drips/:id/report')
  @Roles(...READ_ROLES)
  @ApiOperation({
    summary: 'Per step entered / sent / opened / clicked / converted / exited, and per split a program report',
    description:
      'Steps of the current version (or `?version=`), then retired steps that still have figures. Each split (and ' +
      "the drip's own program) is reported like a program: arms as cells, the holdout as control, lift, p-values, " +
      'verdict. `format=csv` or `format=html` (a self-contained page with a funnel chart).',
  })
  @ReportFormats('the drip report')
  @ApiQuery({ name: 'version', required: false })
  @ApiQuery({ name: 'confidence', required: false, description: '0.8 to 0.999, default 0.95' })
  @ApiErrors(400, 404)
  async report(
    @Param('id') id: string,
    @Query('format') format: string | undefined,
    @Query('version') version: string | undefined,
    @Query('confidence') confidence: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const f = reportFormat(format);
    const level = confidence === undefined ? 0.95 : Number(confidence);
    if (!Number.isFinite(level)) throw new ValidationError('confidence must be a number such as 0.95', 'confidence');
    const report = await this.reports.report(id, { version: versionOf(version), confidence: level });
    sendReport(res, f, `drip-${report.drip.code}`, report, dripReportCsv, dripReportHtml);
  }
}

@ApiTags('automation')
@ApiBearerAuth()
@Controller('v1')
export class EventController {
  constructor(private readonly events: AutomationEvents) {}

  @Post('events')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({
    summary: 'Record customer events (one, or `{ events: [...] }` up to 1,000): they trigger drips and rules at once',
    description:
      'Event-triggered drips enroll, exit events (and purchases, for drips whose goal is conversion) end ' +
      'enrollments, and every active rule whose condition holds fires: its actions are enqueued before this answers. ' +
      'A batch is all or nothing (one bad row is a 400 naming it). A repeated idempotencyKey returns the first result.',
  })
  @ApiExtraModels(EventInputDto, EventBatchDto, EventView, EventBatchView)
  @ApiBody({ schema: { oneOf: [{ $ref: getSchemaPath(EventInputDto) }, { $ref: getSchemaPath(EventBatchDto) }] } })
  @ApiOkResponse({ schema: { oneOf: [{ $ref: getSchemaPath(EventView) }, { $ref: getSchemaPath(EventBatchView) }] } })
  @ApiErrors(400, 413)
  async record(@Body() body: unknown): Promise<EventView | EventBatchView> {
    if (body && typeof body === 'object' && 'events' in body) {
      const batch = await validateAs(EventBatchDto, body);
      const events = await this.events.ingest(batch.events, (i) => `events[${i}]`);
      const duplicates = events.filter((e) => e.duplicate).length;
      return { events, recorded: events.length - duplicates, duplicates };
    }
    const one = await validateAs(EventInputDto, body);
    const [view] = await this.events.ingest([one], () => 'body');
    return view;
  }
}

@ApiTags('automation')
@ApiBearerAuth()
@Controller('v1')
export class RuleController {
  constructor(private readonly rules: RuleService) {}

  @Post('rules')
  @Roles(...WRITE_ROLES)
  @ApiOperation({
    summary: 'Create a business rule: when event E arrives and condition C holds, do the actions',
    description:
      'Everything named is checked (templates, drips, segments in the condition, webhook hosts on ' +
      'OUTBOUND_WEBHOOK_HOSTS); errors name the action. Active at once unless `state` is paused.',
  })
  @ApiCreatedResponse({ type: RuleView })
  @ApiErrors(400, 409)
  create(@CurrentActor() actor: Actor, @Body() body: CreateRuleDto) {
    return this.rules.create(actor, body);
  }

  @Get('rules')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'List rules (filter by state or event)' })
  @ApiOkResponse({ type: RulePage })
  @ApiErrors(400)
  async list(@CurrentActor() actor: Actor, @Query() query: RuleListQueryDto) {
    const page = await this.rules.list(query);
    return { ...page, items: page.items.map((r) => forRole(r, actor)) };
  }

  @Get('rules/:id')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'A rule (id or code) with its firing counts and measuring program' })
  @ApiOkResponse({ type: RuleView })
  @ApiErrors(404)
  async get(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return forRole(await this.rules.get(id), actor);
  }

  @Patch('rules/:id')
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Change a rule (applies to events from now on)' })
  @ApiOkResponse({ type: RuleView })
  @ApiErrors(400, 404, 409)
  update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: UpdateRuleDto) {
    return this.rules.update(actor, id, body);
  }

  @Post('rules/:id/activate')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Activate a paused rule' })
  @ApiOkResponse({ type: RuleView })
  @ApiErrors(404, 409)
  activate(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return this.rules.setState(actor, id, 'active');
  }

  @Post('rules/:id/pause')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Pause a rule: it fires on nothing until activated' })
  @ApiOkResponse({ type: RuleView })
  @ApiErrors(404, 409)
  pause(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return this.rules.setState(actor, id, 'paused');
  }

  @Get('rules/:id/firings')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: "A rule's firings, oldest first: the event, the customer, depth, and what each action did" })
  @ApiOkResponse({ type: FiringPage })
  @ApiErrors(400, 404)
  firings(@Param('id') id: string, @Query() query: FiringListQueryDto) {
    return this.rules.firings(id, query);
  }
}

/**
 * Webhook URLs often carry their receiver's secret (in the path or the query): analysts, who only read,
 * see the origin alone.
 */
function forRole(rule: RuleView, actor: Actor): RuleView {
  if (actor.role !== 'analyst') return rule;
  return {
    ...rule,
    actions: rule.actions.map((a) => {
      const action = a as { type: string; url?: string };
      if (action.type !== 'webhook' || !action.url) return a;
      let origin = '…';
      try {
        origin = new URL(action.url).origin;
      } catch {
        // not a URL: nothing of it is shown
      }
      return { ...action, url: `${origin}/…` };
    }),
  };
}
