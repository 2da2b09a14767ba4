import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQueryDto as PageQuery } from '@closeloop/persistence';

export const SUPPRESSION_REASONS = ['unsubscribed', 'hard-bounce', 'complaint', 'manual', 'global'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];
export const CHANNELS = ['email', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];

export class CreateSuppressionDto {
  @ApiProperty({ enum: CHANNELS }) @IsIn(CHANNELS) channel!: Channel;
  @ApiPropertyOptional({ description: 'email or phone; or give customer' }) @IsOptional() @IsString() address?: string;
  @ApiPropertyOptional({ description: 'customer externalId or id: suppresses their address on the channel' })
  @IsOptional()
  @IsString()
  customer?: string;
  @ApiProperty({ enum: SUPPRESSION_REASONS }) @IsIn(SUPPRESSION_REASONS) reason!: SuppressionReason;
  @ApiPropertyOptional({ example: 'crm-desk' }) @IsOptional() @IsString() @MaxLength(200) source?: string;
}

export class SuppressionListQueryDto extends PageQuery {
  @ApiPropertyOptional({ enum: CHANNELS }) @IsOptional() @IsIn(CHANNELS) channel?: Channel;
  @ApiPropertyOptional({ enum: SUPPRESSION_REASONS })
  @IsOptional()
  @IsIn(SUPPRESSION_REASONS)
  reason?: SuppressionReason;
}

export class SuppressionView {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: CHANNELS }) channel!: Channel;
  @ApiProperty({ type: String, nullable: true, description: 'null once the customer was erased' }) address!:
    string | null;
  @ApiProperty({ type: String, nullable: true }) customerId!: string | null;
  @ApiProperty({ enum: SUPPRESSION_REASONS }) reason!: SuppressionReason;
  @ApiProperty() source!: string;
  @ApiProperty() createdBy!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class SuppressionPage {
  @ApiProperty({ type: [SuppressionView] }) items!: SuppressionView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
