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
  CreateCellDto,
  ProgramListQueryDto,
  ProgramService,
  ScheduleProgramDto,
  UpdateCellDto,
  UpdateProgramDto,
  ProgramView,
  ProgramPage,
  CellView,
} from '@closeloop/planning';
import { ApiErrors } from '../http/api-errors';
import { CurrentActor, READ_ROLES, Roles, WRITE_ROLES } from '../http/auth';

@ApiTags('planning')
@ApiBearerAuth()
@Controller('v1')
export class ProgramController {
  constructor(private readonly programs: ProgramService) {}

  @Get('programs')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'List programs, filtered by campaign, state or channel' })
  @ApiErrors(400)
  @ApiOkResponse({ type: ProgramPage })
  list(@Query() query: ProgramListQueryDto) {
    return this.programs.list(query);
  }

  @Get('programs/:id')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Get a program, its cells, readiness and what may be edited now' })
  @ApiErrors(404)
  @ApiOkResponse({ type: ProgramView })
  get(@Param('id') id: string) {
    return this.programs.get(id);
  }

  @Patch('programs/:id')
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Update a program (what may change depends on its state)' })
  @ApiErrors(400, 404, 409)
  @ApiOkResponse({ type: ProgramView })
  update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: UpdateProgramDto) {
    return this.programs.update(actor, id, body);
  }

  @Delete('programs/:id')
  @HttpCode(204)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Delete a draft program' })
  @ApiErrors(404, 409)
  @ApiNoContentResponse()
  async remove(@CurrentActor() actor: Actor, @Param('id') id: string) {
    await this.programs.remove(actor, id);
  }

  @Post('programs/:id/schedule')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'draft -> scheduled: the worker launches it at scheduledAt' })
  @ApiErrors(400, 404, 409)
  @ApiOkResponse({ type: ProgramView })
  schedule(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: ScheduleProgramDto) {
    return this.programs.transition(actor, id, 'schedule', body);
  }

  @Post('programs/:id/unschedule')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'scheduled -> draft' })
  @ApiErrors(404, 409)
  @ApiOkResponse({ type: ProgramView })
  unschedule(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return this.programs.transition(actor, id, 'unschedule');
  }

  @Post('programs/:id/launch')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'draft | scheduled -> running' })
  @ApiErrors(404, 409)
  @ApiOkResponse({ type: ProgramView })
  launch(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return this.programs.transition(actor, id, 'launch');
  }

  @Post('programs/:id/pause')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'running -> paused' })
  @ApiErrors(404, 409)
  @ApiOkResponse({ type: ProgramView })
  pause(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return this.programs.transition(actor, id, 'pause');
  }

  @Post('programs/:id/resume')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'paused -> running' })
  @ApiErrors(404, 409)
  @ApiOkResponse({ type: ProgramView })
  resume(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return this.programs.transition(actor, id, 'resume');
  }

  @Post('programs/:id/cancel')
  @HttpCode(200)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'draft | scheduled | running | paused -> cancelled' })
  @ApiErrors(404, 409)
  @ApiOkResponse({ type: ProgramView })
  cancel(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return this.programs.transition(actor, id, 'cancel');
  }

  @Post('programs/:id/cells')
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Add a cell to a draft program' })
  @ApiErrors(400, 404, 409)
  @ApiCreatedResponse({ type: CellView })
  addCell(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: CreateCellDto) {
    return this.programs.addCell(actor, id, body);
  }

  @Get('cells/:id')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Get a cell by id, code or response code' })
  @ApiErrors(404)
  @ApiOkResponse({ type: CellView })
  getCell(@Param('id') id: string) {
    return this.programs.getCell(id);
  }

  @Patch('cells/:id')
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Update a cell of a draft program' })
  @ApiErrors(400, 404, 409)
  @ApiOkResponse({ type: CellView })
  updateCell(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: UpdateCellDto) {
    return this.programs.updateCell(actor, id, body);
  }

  @Delete('cells/:id')
  @HttpCode(204)
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Delete a cell of a draft program (its response code stays retired)' })
  @ApiErrors(404, 409)
  @ApiNoContentResponse()
  async removeCell(@CurrentActor() actor: Actor, @Param('id') id: string) {
    await this.programs.removeCell(actor, id);
  }
}
