import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  ValidateNested,
} from 'class-validator';

export const MAX_EVENTS_PER_REQUEST = 1000;

export class EventInputDto {
  @ApiProperty({ description: "the customer's externalId" })
  @IsString()
  @Length(1, 200)
  externalId!: string;

  @ApiProperty({ example: 'signup', description: 'signup, purchase, page_view, or any lower-case word' })
  @Matches(/^[a-z][a-z0-9_-]{0,39}$/, { message: 'type must be a lower-case word (a-z, 0-9, _ and -, up to 40)' })
  type!: string;

  @ApiPropertyOptional({ description: 'ISO 8601 with time zone; default: now' })
  @IsOptional()
  @IsISO8601({ strict: true })
  occurredAt?: string;

  @ApiPropertyOptional({
    description: 'free JSON object (at most 16 KB); rules test it as `event.<property>`',
    example: { amount: 4999, currency: 'EUR' },
  })
  @IsOptional()
  @IsObject()
  properties?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'makes a retry harmless: a repeat returns the first result and does nothing' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  idempotencyKey?: string;

  @ApiPropertyOptional({
    description:
      'the rule firing (id) whose webhook led to this event: the event is one level deeper, so loops stop (RULE_MAX_DEPTH)',
  })
  @IsOptional()
  @IsUUID()
  cause?: string;
}

export class EventBatchDto {
  @ApiProperty({ type: [EventInputDto], description: `1 to ${MAX_EVENTS_PER_REQUEST} events` })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_EVENTS_PER_REQUEST)
  @ValidateNested({ each: true })
  @Type(() => EventInputDto)
  events!: EventInputDto[];
}

export class EventFiringView {
  @ApiProperty({ description: 'rule code' }) rule!: string;
  @ApiProperty({ description: 'firing id' }) id!: string;
  @ApiProperty({
    enum: ['pending', 'done', 'failed', 'skipped', 'held-out'],
    description: 'pending: its actions are queued',
  })
  state!: string;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'why skipped (e.g. depth limit)' })
  reason!: string | null;
}

export class EventView {
  @ApiProperty() id!: string;
  @ApiProperty() externalId!: string;
  @ApiProperty() type!: string;
  @ApiProperty() occurredAt!: string;
  @ApiProperty({ description: '0 from outside; one more than the firing that caused it' }) depth!: number;
  @ApiProperty({ description: 'true when the idempotency key was seen before (the first result is returned)' })
  duplicate!: boolean;
  @ApiProperty({ type: [String], description: 'drips the event enrolled the customer in (codes)' })
  enrolled!: string[];
  @ApiProperty({ description: 'drip enrollments the event ended (exit events, purchases reaching a goal)' })
  exited!: number;
  @ApiProperty({ type: [EventFiringView], description: 'rules that fired (their actions are already enqueued)' })
  firings!: EventFiringView[];
}

export class EventBatchView {
  @ApiProperty({ type: [EventView] }) events!: EventView[];
  @ApiProperty() recorded!: number;
  @ApiProperty() duplicates!: number;
}
