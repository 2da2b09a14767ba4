import { Body, Controller, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Actor } from '@closeloop/core';
import {
  ContactPolicyService,
  ContactPolicyView,
  ProgressService,
  ProgressView,
  TestSendDto,
  TestSendService,
  TestSendView,
} from '@closeloop/delivery';
import { ApiErrors } from '../http/api-errors';
import { CurrentActor, READ_ROLES, Roles, WRITE_ROLES } from '../http/auth';

@ApiTags('delivery')
@ApiBearerAuth()
@Controller('v1')
export class DeliveryController {
  constructor(
    private readonly progress: ProgressService,
    private readonly testSends: TestSendService,
    private readonly policies: ContactPolicyService,
  ) {}

  @Get('programs/:id/progress')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Sends by state, the current rate and an ETA' })
  @ApiErrors(404)
  @ApiOkResponse({ type: ProgressView })
  programProgress(@Param('id') id: string) {
    return this.progress.progress(id);
  }

  @Post('programs/:id/test-send')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: "Send the program's message to test addresses (not recorded as sends)" })
  @ApiErrors(400, 404, 409)
  @ApiOkResponse({ type: TestSendView })
  testSend(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: TestSendDto) {
    return this.testSends.testSend(actor, id, body);
  }

  @Get('contact-policy')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'The contact policy: frequency cap and quiet hours, across all programs' })
  @ApiOkResponse({ type: ContactPolicyView })
  getPolicy() {
    return this.policies.get();
  }

  @Put('contact-policy')
  @Roles('admin')
  @ApiOperation({ summary: 'Replace the contact policy (applied at send time within seconds)' })
  @ApiErrors(400)
  @ApiBody({ type: ContactPolicyView })
  @ApiOkResponse({ type: ContactPolicyView })
  setPolicy(@CurrentActor() actor: Actor, @Body() body: ContactPolicyBody) {
    return this.policies.set(actor, body);
  }
}

/** Validated in core (parseContactPolicy) so that errors name the path; the global pipe lets it through whole. */
type ContactPolicyBody = Record<string, unknown>;
