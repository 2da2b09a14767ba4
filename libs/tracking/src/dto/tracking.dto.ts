import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

export const DELIVERY_EVENT_TYPES = ['delivered', 'bounce', 'complaint'] as const;
export type DeliveryEventType = (typeof DELIVERY_EVENT_TYPES)[number];

export class DeliveryEventDto {
  @ApiProperty({ description: "the provider's id of this event (a repeat of it records nothing)" })
  @IsString()
  @Length(1, 200)
  id!: string;

  @ApiProperty({ enum: DELIVERY_EVENT_TYPES })
  @IsIn(DELIVERY_EVENT_TYPES)
  type!: DeliveryEventType;

  @ApiPropertyOptional({ description: 'the Message-ID we sent (`<send id@domain>`); this or sendId' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  messageId?: string;

  @ApiPropertyOptional({ description: 'the send id; this or messageId' })
  @IsOptional()
  @IsUUID()
  sendId?: string;

  @ApiPropertyOptional({ enum: ['hard', 'soft'], description: 'bounces: hard (default) suppresses, soft is kept only' })
  @IsOptional()
  @IsIn(['hard', 'soft'])
  bounceType?: 'hard' | 'soft';

  @ApiPropertyOptional({ description: 'ISO 8601; default: when received' })
  @IsOptional()
  @IsISO8601({ strict: true })
  occurredAt?: string;

  @ApiPropertyOptional({ description: "the provider's words (e.g. the SMTP reply)" })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  detail?: string;

  @ApiPropertyOptional({ description: 'the provider name, kept as the source' })
  @IsOptional()
  @Matches(/^[\w.-]{1,40}$/)
  provider?: string;
}

export class DeliveryEventsDto {
  @ApiProperty({ type: [DeliveryEventDto], description: '1 to 1000 events' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  @Type(() => DeliveryEventDto)
  events!: DeliveryEventDto[];
}

export class DeliveryEventsView {
  @ApiProperty() received!: number;
  @ApiProperty({ description: 'events that changed a send or recorded a response' }) applied!: number;
  @ApiProperty({ description: 'events whose send is not known (ignored)' }) unknown!: number;
  @ApiProperty({ description: 'events already received before' }) duplicates!: number;
}

/** Response types Closeloop records itself; POST /v1/responses takes any other word. */
export const TRACKED_TYPES = ['open', 'click', 'unsubscribe', 'bounce', 'soft-bounce', 'complaint'] as const;

export class ResponseInputDto {
  @ApiProperty({ description: "the customer's externalId" })
  @IsString()
  @Length(1, 200)
  externalId!: string;

  @ApiProperty({ example: 'conversion', description: '`conversion`, `reply` or another lower-case word' })
  @Matches(/^[a-z][a-z0-9_-]{0,39}$/, { message: 'type must be a lower-case word (a-z, 0-9, _ and -, up to 40)' })
  type!: string;

  @ApiPropertyOptional({ description: 'in minor units (cents), integer; conversions only' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1e13)
  value?: number;

  @ApiPropertyOptional({ example: 'EUR', description: 'ISO 4217, required with value' })
  @IsOptional()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be a 3-letter ISO 4217 code' })
  currency?: string;

  @ApiProperty({ description: 'ISO 8601 with time zone' })
  @IsISO8601({ strict: true })
  occurredAt!: string;

  @ApiPropertyOptional({ description: "a cell's response code or an offer code" })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  responseCode?: string;

  @ApiProperty({ description: 'makes repeats harmless, e.g. the order id' })
  @IsString()
  @Length(1, 200)
  idempotencyKey!: string;
}

export class ResponseBatchDto {
  @ApiProperty({ type: [ResponseInputDto], description: '1 to 10,000 responses' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => ResponseInputDto)
  responses!: ResponseInputDto[];
}

export class ResponseView {
  @ApiProperty() id!: string;
  @ApiProperty() idempotencyKey!: string;
  @ApiProperty() externalId!: string;
  @ApiProperty() type!: string;
  @ApiPropertyOptional({ nullable: true, type: Number }) value!: number | null;
  @ApiPropertyOptional({ nullable: true, type: String }) currency!: string | null;
  @ApiProperty() occurredAt!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) responseCode!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'program code' }) program!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'cell code' }) cell!: string | null;
  @ApiProperty({
    enum: ['response-code', 'offer-code', 'window', 'none'],
    description: 'how the program cell was found',
  })
  attribution!: 'response-code' | 'offer-code' | 'window' | 'none';
  @ApiProperty({ description: 'true when this idempotency key was seen before (the first result is returned)' })
  duplicate!: boolean;
}

export class ResponseBatchView {
  @ApiProperty({ type: [ResponseView] }) responses!: ResponseView[];
  @ApiProperty() recorded!: number;
  @ApiProperty() duplicates!: number;
}
