import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';
import { AuditService } from '@closeloop/persistence';
import { PageQueryDto } from '@closeloop/planning';
import { ApiErrors } from '../http/api-errors';
import { Roles } from '../http/auth';

export class AuditQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'program' }) @IsOptional() @IsString() entityType?: string;
  @ApiPropertyOptional({ description: 'entity id or code' }) @IsOptional() @IsString() entity?: string;
  @ApiPropertyOptional({ description: 'API key name' }) @IsOptional() @IsString() actor?: string;
}

@ApiTags('operations')
@ApiBearerAuth()
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @Roles('admin')
  @ApiOperation({ summary: 'Who changed what and when (newest first)' })
  @ApiErrors(400)
  list(@Query() q: AuditQueryDto) {
    return this.audit.list({
      limit: q.limit,
      cursor: q.cursor,
      entityType: q.entityType,
      entityId: q.entity,
      actor: q.actor,
    });
  }
}
