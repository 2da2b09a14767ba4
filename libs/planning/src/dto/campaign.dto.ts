import { ApiProperty, ApiPropertyOptional, PartialType, OmitType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsISO8601,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { PageQueryDto } from './common.dto';

export class MoneyDto {
  @ApiProperty({ description: 'integer minor units (cents)', example: 500000 })
  @IsInt()
  @Min(0)
  amount!: number;

  @ApiProperty({ example: 'EUR', description: 'ISO 4217' })
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code such as EUR' })
  currency!: string;
}

export class CreateCampaignDto {
  @ApiProperty({ example: 'LOY26', description: 'unique, case-insensitive; usable wherever an id is' })
  @IsString()
  code!: string;

  @ApiProperty({ example: '2026 loyalty drive' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  @ApiPropertyOptional({ example: 'win back lapsed buyers' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  objective?: string;

  @ApiPropertyOptional({ example: 'crm-team' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  owner?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  startsAt?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  endsAt?: string;

  @ApiPropertyOptional({ type: MoneyDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => MoneyDto)
  budget?: MoneyDto;
}

/** Every field but the code may change; null clears an optional field. */
export class UpdateCampaignDto extends PartialType(OmitType(CreateCampaignDto, ['code'] as const)) {}

export class CampaignListQueryDto extends PageQueryDto {}

export class CampaignView {
  @ApiProperty() id!: string;
  @ApiProperty({ example: 'LOY26' }) code!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ type: String, nullable: true }) objective!: string | null;
  @ApiProperty({ type: String, nullable: true }) owner!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startsAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) endsAt!: string | null;
  @ApiProperty({ type: MoneyDto, nullable: true }) budget!: { amount: number; currency: string } | null;
  @ApiProperty({ description: 'programs in this campaign' }) programCount!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class CampaignPage {
  @ApiProperty({ type: [CampaignView] }) items!: CampaignView[];
  @ApiProperty({ type: String, nullable: true, description: 'pass as `cursor` for the next page' })
  nextCursor!: string | null;
}
