import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsNotEmpty, IsNumber, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageQueryDto } from './common.dto';

export const OFFER_TYPES = ['percent_off', 'amount_off', 'free_shipping', 'gift', 'other'] as const;
export type OfferType = (typeof OFFER_TYPES)[number];

export class CreateOfferDto {
  @ApiProperty({ example: 'SAVE10' })
  @IsString()
  code!: string;

  @ApiProperty({ example: '10% off your next order' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  @ApiProperty({ enum: OFFER_TYPES })
  @IsIn(OFFER_TYPES)
  type!: OfferType;

  @ApiPropertyOptional({
    description: 'percent_off: a percent (0-100]; amount_off: integer minor units; otherwise absent',
    example: 10,
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  value?: number;

  @ApiPropertyOptional({ example: 'EUR', description: 'required for amount_off' })
  @IsOptional()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code such as EUR' })
  currency?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  validFrom?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  validUntil?: string;
}

export class UpdateOfferDto extends PartialType(OmitType(CreateOfferDto, ['code'] as const)) {}

export class OfferListQueryDto extends PageQueryDto {}

export class OfferView {
  @ApiProperty() id!: string;
  @ApiProperty({ example: 'SAVE10' }) code!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ enum: OFFER_TYPES }) type!: OfferType;
  @ApiProperty({ type: Number, nullable: true }) value!: number | null;
  @ApiProperty({ type: String, nullable: true }) currency!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) validFrom!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) validUntil!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class OfferPage {
  @ApiProperty({ type: [OfferView] }) items!: OfferView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
