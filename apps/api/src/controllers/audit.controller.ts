import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
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

class AuditActorDoc {
  @ApiProperty({ type: String, nullable: true, description: 'API key id; null for the system' }) keyId!: string | null;
  @ApiProperty({ example: 'ops' }) name!: string;
}

class AuditEntryDoc {
  @ApiProperty() id!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ type: AuditActorDoc }) actor!: AuditActorDoc;
  @ApiProperty({ example: 'program.launch' }) action!: string;
  @ApiProperty({ example: 'program' }) entityType!: string;
  @ApiProperty({ type: String, nullable: true }) entityId!: string | null;
  @ApiProperty({ type: String, nullable: true }) entityCode!: string | null;
  @ApiProperty({ type: Object, nullable: true, description: 'the input of the change, or from/to states' })
  changes!: Record<string, unknown> | null;
}

class AuditPage {
  @ApiProperty({ type: [AuditEntryDoc] }) items!: AuditEntryDoc[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

@ApiTags('operations')
@ApiBearerAuth()
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @Roles('admin')
  @ApiOperation({ summary: 'Who changed what and when (newest first)' })
  @ApiOkResponse({ type: AuditPage })
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
