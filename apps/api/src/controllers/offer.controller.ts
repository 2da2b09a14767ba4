import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Actor } from '@closeloop/core';
import {
  CreateOfferDto,
  OfferListQueryDto,
  OfferService,
  UpdateOfferDto,
  OfferView,
  OfferPage,
} from '@closeloop/planning';
import { ApiErrors } from '../http/api-errors';
import { CurrentActor, READ_ROLES, Roles, WRITE_ROLES } from '../http/auth';

@ApiTags('planning')
@ApiBearerAuth()
@Controller('v1/offers')
export class OfferController {
  constructor(private readonly offers: OfferService) {}

  @Post()
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Create an offer' })
  @ApiErrors(400, 409)
  @ApiCreatedResponse({ type: OfferView })
  create(@CurrentActor() actor: Actor, @Body() body: CreateOfferDto) {
    return this.offers.create(actor, body);
  }

  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'List offers' })
  @ApiErrors(400)
  @ApiOkResponse({ type: OfferPage })
  list(@Query() query: OfferListQueryDto) {
    return this.offers.list(query);
  }

  @Get(':id')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Get an offer by id or code' })
  @ApiErrors(404)
  @ApiOkResponse({ type: OfferView })
  get(@Param('id') id: string) {
    return this.offers.get(id);
  }

  @Patch(':id')
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Update an offer' })
  @ApiErrors(400, 404)
  @ApiOkResponse({ type: OfferView })
  update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: UpdateOfferDto) {
    return this.offers.update(actor, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Delete an offer no program or cell uses' })
  @ApiErrors(404, 409)
  @ApiNoContentResponse()
  async remove(@CurrentActor() actor: Actor, @Param('id') id: string) {
    await this.offers.remove(actor, id);
  }
}
