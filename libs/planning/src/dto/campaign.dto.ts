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

export interface CampaignView {
  id: string;
  code: string;
  name: string;
  description: string | null;
  objective: string | null;
  owner: string | null;
  startsAt: string | null;
  endsAt: string | null;
  budget: { amount: number; currency: string } | null;
  programCount: number;
  createdAt: string;
  updatedAt: string;
}
