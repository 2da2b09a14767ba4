import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Actor, csvRow, ValidationError } from '@closeloop/core';
import {
  CreateSegmentDto,
  CreateSuppressionDto,
  CustomerBatchDto,
  CustomerInputDto,
  CustomerService,
  CustomerView,
  OrderService,
  PreviewSegmentDto,
  SegmentListQueryDto,
  SegmentPage,
  SegmentPreviewView,
  SegmentService,
  SegmentView,
  SuppressionListQueryDto,
  SuppressionPage,
  SuppressionService,
  SuppressionView,
  TargetListService,
  TargetListView,
  UpsertResultView,
} from '@closeloop/audience';
import { ConversionService } from '@closeloop/tracking';
import { ApiErrors } from '../http/api-errors';
import { CurrentActor, READ_ROLES, Roles, WRITE_ROLES } from '../http/auth';

@ApiTags('audience')
@ApiBearerAuth()
@ApiExtraModels(CustomerInputDto, CustomerBatchDto)
@Controller('v1')
export class AudienceController {
  constructor(
    private readonly customers: CustomerService,
    private readonly suppressions: SuppressionService,
    private readonly segments: SegmentService,
    private readonly lists: TargetListService,
    private readonly orders: OrderService,
    private readonly conversions: ConversionService,
  ) {}

  @Post('customers')
  @Roles(...WRITE_ROLES)
  @ApiOperation({
    summary: 'Upsert a customer by externalId, or a batch of up to 10,000 as { customers: [...] }',
    description:
      'One customer answers 201 (new) or 200 (updated) with it; a batch answers the counts. Any invalid row refuses the whole batch, naming it.',
  })
  @ApiBody({
    schema: { oneOf: [{ $ref: getSchemaPath(CustomerInputDto) }, { $ref: getSchemaPath(CustomerBatchDto) }] },
  })
  @ApiOkResponse({ type: UpsertResultView, description: 'a batch: counts; one customer: the customer' })
  @ApiErrors(400, 413)
  async upsert(
    @CurrentActor() actor: Actor,
    @Body() body: CustomerBatchDto | CustomerInputDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    // The body is one of two shapes, so it is checked here and in the service, not by the pipe.
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ValidationError('body must be a customer object or { "customers": [...] }', 'body');
    }
    if ('customers' in body) {
      const extra = Object.keys(body).filter((k) => k !== 'customers');
      if (extra.length) throw new ValidationError(`${extra[0]} is not a known field`, extra[0]);
      if (!Array.isArray(body.customers) || body.customers.length === 0 || body.customers.length > 10_000) {
        throw new ValidationError(
          'customers must be an array of 1 to 10,000 customers (bigger goes through imports)',
          'customers',
        );
      }
      res.status(200);
      return this.customers.upsertBatch(actor, body.customers);
    }
    const { customer, created } = await this.customers.upsertOne(actor, body);
    res.status(created ? 201 : 200);
    return customer;
  }

  @Post('orders')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({
    summary:
      'Upsert up to 10,000 orders by externalId: { orders: [{ externalId, customerExternalId, orderedAt, amount, margin, currency, offerCode, items }] }',
    description:
      'Amounts in minor units. Any invalid row, or an unknown customer, refuses the whole batch, naming the row.',
  })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['orders'],
      properties: { orders: { type: 'array', items: { type: 'object' } } },
    },
  })
  @ApiOkResponse({ type: UpsertResultView })
  @ApiErrors(400, 413)
  async upsertOrders(@CurrentActor() actor: Actor, @Body() body: unknown) {
    const b = body as { orders?: unknown };
    if (typeof b !== 'object' || b === null || Array.isArray(b) || Object.keys(b).some((k) => k !== 'orders')) {
      throw new ValidationError('body must be { "orders": [...] }', 'orders');
    }
    if (!Array.isArray(b.orders) || b.orders.length === 0 || b.orders.length > 10_000) {
      throw new ValidationError(
        'orders must be an array of 1 to 10,000 orders (bigger goes through imports)',
        'orders',
      );
    }
    const result = await this.orders.upsertBatch(actor, b.orders);
    // Orders with an offer code are conversions too (key: the order id, so never counted twice).
    const ids = b.orders.flatMap((o: unknown) => {
      const id = (o as { externalId?: unknown }).externalId;
      return typeof id === 'string' ? [id] : [];
    });
    await this.conversions.fromOrders({ externalIds: ids });
    return result;
  }

  @Get('customers/:id')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Get a customer by id or externalId' })
  @ApiOkResponse({ type: CustomerView })
  @ApiErrors(404)
  getCustomer(@Param('id') id: string) {
    return this.customers.get(id);
  }

  @Delete('customers/:id')
  @HttpCode(204)
  @Roles('admin')
  @ApiOperation({ summary: 'Erase a customer: personal data removed, aggregates kept, addresses stay suppressed' })
  @ApiNoContentResponse()
  @ApiErrors(404)
  async erase(@CurrentActor() actor: Actor, @Param('id') id: string) {
    await this.customers.erase(actor, id);
  }

  @Post('suppressions')
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Suppress an address (or a customer address) on a channel' })
  @ApiCreatedResponse({ type: SuppressionView })
  @ApiErrors(400, 409)
  suppress(@CurrentActor() actor: Actor, @Body() body: CreateSuppressionDto) {
    return this.suppressions.create(actor, body);
  }

  @Get('suppressions')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'List suppressions, filtered by channel and reason' })
  @ApiOkResponse({ type: SuppressionPage })
  @ApiErrors(400)
  listSuppressions(@Query() query: SuppressionListQueryDto) {
    return this.suppressions.list(query);
  }

  @Delete('suppressions/:id')
  @HttpCode(204)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Lift a suppression' })
  @ApiNoContentResponse()
  @ApiErrors(404)
  async unsuppress(@CurrentActor() actor: Actor, @Param('id') id: string) {
    await this.suppressions.remove(actor, id);
  }

  @Post('segments')
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Save a segment (criteria validated and compiled now)' })
  @ApiCreatedResponse({ type: SegmentView })
  @ApiErrors(400, 409)
  createSegment(@CurrentActor() actor: Actor, @Body() body: CreateSegmentDto) {
    return this.segments.create(actor, body);
  }

  @Get('segments')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'List segments' })
  @ApiOkResponse({ type: SegmentPage })
  @ApiErrors(400)
  listSegments(@Query() query: SegmentListQueryDto) {
    return this.segments.list(query);
  }

  @Post('segments/preview')
  @HttpCode(200)
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Count and a sample of members for criteria, without saving' })
  @ApiOkResponse({ type: SegmentPreviewView })
  @ApiErrors(400)
  preview(@Body() body: PreviewSegmentDto) {
    return this.segments.preview(body.criteria, body.sampleSize ?? 10);
  }

  @Get('segments/:id')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Get a segment by id or code, with its member count computed now' })
  @ApiOkResponse({ type: SegmentView })
  @ApiErrors(404)
  getSegment(@Param('id') id: string) {
    return this.segments.get(id);
  }

  @Post('programs/:id/list')
  @HttpCode(202)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Build (or rebuild, before launch) the target list, as a job on the worker' })
  @ApiResponse({ status: 202, type: TargetListView })
  @ApiErrors(404, 409)
  buildList(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return this.lists.requestBuild(actor, id);
  }

  @Get('programs/:id/list')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'The target list: state, progress, waterfall and members per cell' })
  @ApiOkResponse({ type: TargetListView })
  @ApiErrors(404)
  getList(@Param('id') id: string) {
    return this.lists.get(id);
  }

  @Get('programs/:id/list.csv')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'The members with cell and response code, streamed as CSV (formula-safe)' })
  @ApiProduces('text/csv')
  @ApiOkResponse({
    description: 'columns externalId,address,cell,responseCode, in rank order',
    content: { 'text/csv': { schema: { type: 'string' } } },
  })
  @ApiErrors(404)
  async listCsv(@Param('id') id: string, @Res() res: Response) {
    const pages = this.lists.members(id);
    const first = await pages.next(); // resolves the program first, so an unknown one is still a 404
    res
      .status(200)
      .type('text/csv')
      .setHeader('Content-Disposition', `attachment; filename="list-${encodeURIComponent(id)}.csv"`);
    res.write(csvRow(['externalId', 'address', 'cell', 'responseCode']));
    for (let page = first; !page.done; page = await pages.next()) {
      const chunk = page.value.map((m) => csvRow([m.externalId, m.address, m.cell, m.responseCode])).join('');
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  }
}
