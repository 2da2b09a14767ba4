import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import {
  IsArray,
  IsIn,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Length,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { PageQueryDto } from '@closeloop/persistence';

export const RULE_STATES = ['active', 'paused'] as const;

export class CreateRuleDto {
  @ApiProperty({ example: 'VIP-WELCOME' })
  @IsString()
  @Length(1, 64)
  code!: string;

  @ApiProperty({ example: 'Big first order: VIP welcome' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string | null;

  @ApiProperty({ example: 'purchase', description: 'the event type that fires the rule' })
  @IsString()
  event!: string;

  @ApiPropertyOptional({
    nullable: true,
    description:
      'a condition in the segment criteria language, over the customer and `event.<property>` ' +
      '(e.g. `{ "field": "event.amount", "op": "gte", "value": 10000 }`); absent: every event of the type',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsObject()
  if?: Record<string, unknown> | null;

  @ApiProperty({
    description:
      'done in order: `{ "type": "send", "template" }`, `{ "type": "enroll", "drip" }`, `{ "type": "update", "set": {...} }`, ' +
      '`{ "type": "suppress" | "unsuppress", "channel": "email" | "sms" | "all" }`, `{ "type": "webhook", "url": "https://..." }`',
    example: [
      { type: 'update', set: { vip: true } },
      { type: 'send', template: 'VIP-WELCOME' },
    ],
  })
  @IsArray()
  actions!: Record<string, unknown>[];

  @ApiPropertyOptional({
    default: 0,
    description: 'percent of customers held out (their firings do nothing) to measure the rule; needs a send action',
  })
  @IsOptional()
  @IsNumber()
  holdoutPercent?: number;

  @ApiPropertyOptional({ enum: RULE_STATES, default: 'active' })
  @IsOptional()
  @IsIn(RULE_STATES)
  state?: 'active' | 'paused';
}

export class UpdateRuleDto extends PartialType(OmitType(CreateRuleDto, ['code', 'state'] as const)) {}

export class RuleListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: RULE_STATES })
  @IsOptional()
  @IsIn(RULE_STATES)
  state?: 'active' | 'paused';

  @ApiPropertyOptional({ description: 'rules fired by this event type' })
  @IsOptional()
  @IsString()
  event?: string;
}

export class FiringListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ['pending', 'done', 'failed', 'skipped', 'held-out'] })
  @IsOptional()
  @IsIn(['pending', 'done', 'failed', 'skipped', 'held-out'])
  state?: string;
}

export class FiringCountsView {
  @ApiProperty() total!: number;
  @ApiProperty() pending!: number;
  @ApiProperty() done!: number;
  @ApiProperty() failed!: number;
  @ApiProperty() skipped!: number;
  @ApiProperty() heldOut!: number;
}

export class RuleView {
  @ApiProperty() id!: string;
  @ApiProperty() code!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ enum: RULE_STATES }) state!: string;
  @ApiProperty() event!: string;
  @ApiProperty({ type: Object, nullable: true }) if!: unknown;
  @ApiProperty({ type: [Object] }) actions!: unknown[];
  @ApiProperty() holdoutPercent!: number;
  @ApiProperty({
    type: Object,
    nullable: true,
    description: 'the program measuring what the rule sends (its report: GET /v1/programs/{code}/report)',
  })
  program!: { id: string; code: string; cells: { code: string; responseCode: string; isControl: boolean }[] } | null;
  @ApiProperty({ type: FiringCountsView }) firings!: FiringCountsView;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class RulePage {
  @ApiProperty({ type: [RuleView] }) items!: RuleView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class FiringView {
  @ApiProperty() id!: string;
  @ApiProperty({ description: 'the event that fired it' }) event!: string;
  @ApiProperty({ description: 'event type' }) eventType!: string;
  @ApiProperty({ description: "the customer's externalId" }) customer!: string;
  @ApiProperty() depth!: number;
  @ApiProperty({ enum: ['pending', 'done', 'failed', 'skipped', 'held-out'] }) state!: string;
  @ApiProperty({ type: String, nullable: true }) reason!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'the rule cell (treatment or holdout)' }) cell!:
    string | null;
  @ApiProperty({
    type: [Object],
    description: 'one per action: type, status (done, failed, skipped, held-out), detail',
  })
  results!: unknown[];
  @ApiProperty({ type: String, nullable: true }) error!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt!: string | null;
}

export class FiringPage {
  @ApiProperty({ type: [FiringView] }) items!: FiringView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
