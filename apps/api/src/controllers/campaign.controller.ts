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
  CampaignListQueryDto,
  CampaignService,
  CreateCampaignDto,
  CreateProgramDto,
  ProgramListQueryDto,
  ProgramService,
  UpdateCampaignDto,
  CampaignView,
  CampaignPage,
  ProgramView,
  ProgramPage,
} from '@closeloop/planning';
import { ApiErrors } from '../http/api-errors';
import { CurrentActor, READ_ROLES, Roles, WRITE_ROLES } from '../http/auth';

@ApiTags('planning')
@ApiBearerAuth()
@Controller('v1/campaigns')
export class CampaignController {
  constructor(
    private readonly campaigns: CampaignService,
    private readonly programs: ProgramService,
  ) {}

  @Post()
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Create a campaign' })
  @ApiErrors(400, 409)
  @ApiCreatedResponse({ type: CampaignView })
  create(@CurrentActor() actor: Actor, @Body() body: CreateCampaignDto) {
    return this.campaigns.create(actor, body);
  }

  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'List campaigns (oldest first, keyset-paginated)' })
  @ApiErrors(400)
  @ApiOkResponse({ type: CampaignPage })
  list(@Query() query: CampaignListQueryDto) {
    return this.campaigns.list(query);
  }

  @Get(':id')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Get a campaign by id or code' })
  @ApiErrors(404)
  @ApiOkResponse({ type: CampaignView })
  get(@Param('id') id: string) {
    return this.campaigns.get(id);
  }

  @Patch(':id')
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Update a campaign (null clears an optional field)' })
  @ApiErrors(400, 404)
  @ApiOkResponse({ type: CampaignView })
  update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: UpdateCampaignDto) {
    return this.campaigns.update(actor, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Delete a campaign whose programs are all drafts' })
  @ApiErrors(404, 409)
  @ApiNoContentResponse()
  async remove(@CurrentActor() actor: Actor, @Param('id') id: string) {
    await this.campaigns.remove(actor, id);
  }

  @Post(':id/programs')
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Create a program (with its cells) in a campaign' })
  @ApiErrors(400, 404, 409)
  @ApiCreatedResponse({ type: ProgramView })
  createProgram(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: CreateProgramDto) {
    return this.programs.create(actor, id, body);
  }

  @Get(':id/programs')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'List the programs of a campaign' })
  @ApiErrors(400, 404)
  @ApiOkResponse({ type: ProgramPage })
  listPrograms(@Param('id') id: string, @Query() query: ProgramListQueryDto) {
    return this.programs.list(query, id);
  }
}
