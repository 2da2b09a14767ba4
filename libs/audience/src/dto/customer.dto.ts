import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsObject, IsOptional, ValidateNested } from 'class-validator';

export const LIFECYCLE_STAGES = ['prospect', 'new', 'active', 'at-risk', 'lapsed', 'won-back'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

export class ConsentDto {
  @ApiPropertyOptional() @IsOptional() @IsBoolean() email?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() sms?: boolean;
}

/**
 * One customer, upserted by `externalId`. Field values are checked and normalised by the service
 * (core `normalizeEmail`, `normalizePhone`, ...) so the API, CSV imports and the CLI share one rule;
 * here only the shape is declared. Absent fields keep their stored value; attributes are merged.
 */
export class CustomerInputDto {
  @ApiProperty({ example: 'C-1001' }) externalId!: unknown;
  @ApiPropertyOptional({ example: 'ann@example.com' }) email?: unknown;
  @ApiPropertyOptional({ example: '+4915112345678', description: 'E.164, or national in the customer country' })
  phone?: unknown;
  @ApiPropertyOptional() firstName?: unknown;
  @ApiPropertyOptional() lastName?: unknown;
  @ApiPropertyOptional({ example: 'de-DE' }) locale?: unknown;
  @ApiPropertyOptional({ example: 'Europe/Berlin' }) timeZone?: unknown;
  @ApiPropertyOptional({ example: 'DE' }) country?: unknown;
  @ApiPropertyOptional({ example: '1990-04-17' }) birthDate?: unknown;
  @ApiPropertyOptional({ enum: LIFECYCLE_STAGES }) lifecycleStage?: unknown;
  @ApiPropertyOptional({ type: Object, example: { tier: 'gold' } }) @IsOptional() @IsObject() attributes?: Record<
    string,
    unknown
  >;
  @ApiPropertyOptional({ type: ConsentDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ConsentDto)
  consent?: ConsentDto;
}

export class CustomerBatchDto {
  @ApiProperty({ type: [CustomerInputDto], maxItems: 10_000 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => CustomerInputDto)
  customers!: CustomerInputDto[];
}

export class CustomerView {
  @ApiProperty() id!: string;
  @ApiProperty() externalId!: string;
  @ApiProperty({ type: String, nullable: true, description: 'normalised' }) email!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'E.164' }) phone!: string | null;
  @ApiProperty({ type: String, nullable: true }) firstName!: string | null;
  @ApiProperty({ type: String, nullable: true }) lastName!: string | null;
  @ApiProperty({ type: String, nullable: true }) locale!: string | null;
  @ApiProperty({ type: String, nullable: true }) timeZone!: string | null;
  @ApiProperty({ type: String, nullable: true }) country!: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date' }) birthDate!: string | null;
  @ApiProperty({ type: Object }) attributes!: Record<string, unknown>;
  @ApiProperty({ type: ConsentDto }) consent!: { email: boolean; sms: boolean };
  @ApiProperty({ enum: LIFECYCLE_STAGES }) lifecycleStage!: LifecycleStage;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) erasedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class UpsertResultView {
  @ApiProperty() inserted!: number;
  @ApiProperty() updated!: number;
  @ApiProperty() unchanged!: number;
}

/** Counts from an upsert statement that returns `inserted`, `updated` and `total` (rows given, after dedupe). */
export function upsertCounts(row: {
  inserted: string | number;
  updated: string | number;
  total: string | number;
}): UpsertResultView {
  const inserted = Number(row.inserted);
  const updated = Number(row.updated);
  return { inserted, updated, unchanged: Number(row.total) - inserted - updated };
}
