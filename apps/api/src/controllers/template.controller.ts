import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Actor } from '@closeloop/core';
import {
  CreateTemplateDto,
  PreviewTemplateDto,
  TemplateListQueryDto,
  TemplatePage,
  TemplatePreviewView,
  TemplateQueryDto,
  TemplateService,
  TemplateView,
  UpdateTemplateDto,
} from '@closeloop/messaging';
import { ApiErrors } from '../http/api-errors';
import { CurrentActor, READ_ROLES, Roles, WRITE_ROLES } from '../http/auth';

@ApiTags('messaging')
@ApiBearerAuth()
@Controller('v1/templates')
export class TemplateController {
  constructor(private readonly templates: TemplateService) {}

  @Post()
  @Roles(...WRITE_ROLES)
  @ApiOperation({
    summary: 'Create a template (version 1); compiled first: a syntax error is a 422 with line and column',
  })
  @ApiErrors(400, 409, 422)
  @ApiCreatedResponse({ type: TemplateView })
  create(@CurrentActor() actor: Actor, @Body() body: CreateTemplateDto) {
    return this.templates.create(actor, body);
  }

  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'List templates (their current versions)' })
  @ApiErrors(400)
  @ApiOkResponse({ type: TemplatePage })
  list(@Query() query: TemplateListQueryDto) {
    return this.templates.list(query);
  }

  @Get(':id')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Get a template by id or code (?version=n for an older version)' })
  @ApiErrors(400, 404)
  @ApiOkResponse({ type: TemplateView })
  get(@Param('id') id: string, @Query() query: TemplateQueryDto) {
    return this.templates.get(id, query.version);
  }

  @Put(':id')
  @Roles(...WRITE_ROLES)
  @ApiOperation({ summary: 'Save a new version (earlier versions are kept; launched programs keep theirs)' })
  @ApiErrors(400, 404, 422)
  @ApiOkResponse({ type: TemplateView })
  update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: UpdateTemplateDto) {
    return this.templates.update(actor, id, body);
  }

  @Post(':id/preview')
  @HttpCode(200)
  @Roles(...READ_ROLES)
  @ApiOperation({
    summary: 'Render for a customer (and cell): warnings for missing variables; SMS encoding and segments',
  })
  @ApiErrors(400, 404)
  @ApiOkResponse({ type: TemplatePreviewView })
  preview(@Param('id') id: string, @Body() body: PreviewTemplateDto) {
    return this.templates.preview(id, body);
  }
}
