import { Body, Controller, Headers, HttpCode, Post, Req, UnauthorizedException } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { WEBHOOK_SIGNATURE_HEADER } from '@closeloop/core';
import {
  ConversionService,
  DeliveryEventsDto,
  DeliveryEventsService,
  DeliveryEventsView,
  ResponseBatchDto,
  ResponseBatchView,
  ResponseInputDto,
  ResponseView,
  WebhookRejected,
} from '@closeloop/tracking';
import type { Request } from 'express';
import { ApiErrors } from '../http/api-errors';
import { Public, Roles, WRITE_ROLES } from '../http/auth';
import { validateAs } from '../http/validation';

@ApiTags('responses')
@Controller('v1')
export class ResponseController {
  constructor(
    private readonly conversions: ConversionService,
    private readonly deliveryEvents: DeliveryEventsService,
  ) {}

  @Post('responses')
  @HttpCode(200)
  @ApiBearerAuth()
  @Roles(...WRITE_ROLES)
  @ApiOperation({
    summary: 'Record a conversion or other response (one, or `{ responses: [...] }` up to 10,000)',
    description:
      "Attributed by responseCode (a cell response code or an offer code), else to the customer's latest program " +
      'cell whose attribution window holds occurredAt (control members included). A repeated idempotencyKey ' +
      'returns the first result and records nothing. A batch is all or nothing: one bad row is a 400 naming it.',
  })
  @ApiExtraModels(ResponseInputDto, ResponseBatchDto, ResponseView, ResponseBatchView)
  @ApiBody({
    schema: { oneOf: [{ $ref: getSchemaPath(ResponseInputDto) }, { $ref: getSchemaPath(ResponseBatchDto) }] },
  })
  @ApiOkResponse({
    schema: { oneOf: [{ $ref: getSchemaPath(ResponseView) }, { $ref: getSchemaPath(ResponseBatchView) }] },
  })
  @ApiErrors(400, 413)
  async record(@Body() body: unknown): Promise<ResponseView | ResponseBatchView> {
    if (body && typeof body === 'object' && 'responses' in body) {
      const batch = await validateAs(ResponseBatchDto, body);
      const responses = await this.conversions.record(batch.responses, {
        source: 'api',
        path: (i) => `responses[${i}]`,
      });
      const duplicates = responses.filter((r) => r.duplicate).length;
      return { responses, recorded: responses.length - duplicates, duplicates };
    }
    const one = await validateAs(ResponseInputDto, body);
    const [view] = await this.conversions.record([one], { source: 'api', path: () => 'body' });
    return view;
  }

  @Post('webhooks/delivery-events')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Delivery events from providers: delivered, bounce (hard/soft), complaint',
    description:
      `No API key: signed instead. Header \`${WEBHOOK_SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex>\` where v1 is ` +
      'HMAC-SHA256(WEBHOOK_SECRET, "<t>.<raw body>"). Older than 5 minutes, or a signature seen before: 401.',
  })
  @ApiOkResponse({ type: DeliveryEventsView })
  @ApiErrors(400, 401)
  async receiveDeliveryEvents(
    @Req() req: Request & { rawBody?: Buffer },
    @Headers(WEBHOOK_SIGNATURE_HEADER) signature: string | undefined,
    @Body() body: unknown,
  ): Promise<DeliveryEventsView> {
    try {
      await this.deliveryEvents.authenticate(signature, req.rawBody);
    } catch (error) {
      if (error instanceof WebhookRejected) throw new UnauthorizedException(error.message);
      throw error;
    }
    const events = await validateAs(DeliveryEventsDto, body);
    return this.deliveryEvents.apply(events.events);
  }
}
