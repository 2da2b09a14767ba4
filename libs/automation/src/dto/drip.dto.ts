import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import {
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { DRIP_STATES, DripState, REENTRY_POLICIES } from '@closeloop/core';
import { PageQueryDto } from '@closeloop/persistence';

const STEPS_DESCRIPTION =
  'Run in array order unless a branch or split jumps (forward only). Each step is `{ "id", "type", ... }`: ' +
  '`wait` (`duration` ISO 8601 such as P2D / PT6H, and/or `until` `{ "time": "09:00", "weekdays": ["mon"] }` in ' +
  "the customer's time zone), `send` (`template`), `branch` (`if` a condition, `then` / `else` step ids; " +
  'conditions: `{ "opened": { "step": "s1", "within": "P2D" } }`, `clicked`, `{ "purchased": true }` (since ' +
  'entry), `{ "criteria": <segment criteria> }`, combined with all / any / not), `split` (`cells`: `code`, ' +
  '`weight`, `isControl`, optional `name`, `responseCode`, `offer`, `next`), `update` (`set`: attributes, null ' +
  'removes), `exit` (`reason`).';

export class CreateDripDto {
  @ApiProperty({ example: 'WELCOME' })
  @IsString()
  @Length(1, 64)
  code!: string;

  @ApiProperty({ example: 'Welcome series' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string | null;

  @ApiPropertyOptional({
    nullable: true,
    description: 'campaign code or id the drip belongs to (its reports group there)',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  campaign?: string | null;

  @ApiPropertyOptional({ nullable: true, description: 'offer code or id put into its messages ({{offer.*}})' })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  offer?: string | null;

  @ApiPropertyOptional({ default: 7, description: 'days after a message (or holdout touch) a conversion is credited' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(3650)
  attributionWindowDays?: number;

  @ApiProperty({
    description:
      '`{ "type": "event", "event": "signup", "if"?: criteria with event.<property> }`, ' +
      '`{ "type": "segment", "segment": code, "existing"?: false }` or ' +
      '`{ "type": "date", "field": "birthDate" | "createdAt" | "attributes.<name>", "offsetDays": 0, "at": "09:00", "recurrence"?: "yearly" | "once" }`',
    example: { type: 'event', event: 'signup' },
  })
  @IsObject()
  trigger!: Record<string, unknown>;

  @ApiProperty({
    description: STEPS_DESCRIPTION,
    example: [
      { id: 'hello', type: 'send', template: 'WELCOME-1' },
      { id: 'w1', type: 'wait', duration: 'P2D' },
      { id: 'b1', type: 'branch', if: { opened: { step: 'hello' } }, then: 'done', else: 'nudge' },
      { id: 'nudge', type: 'send', template: 'WELCOME-2' },
      { id: 'done', type: 'exit' },
    ],
  })
  @IsArray()
  steps!: Record<string, unknown>[];

  @ApiPropertyOptional({
    description:
      'when an enrollment ends early: `{ "unsubscribed": true, "converted": false, "leftSegment": false, "events": [] }`',
  })
  @IsOptional()
  @IsObject()
  exit?: Record<string, unknown>;

  @ApiPropertyOptional({ enum: REENTRY_POLICIES, default: 'after-exit' })
  @IsOptional()
  @IsString()
  reentry?: string;
}

/** Details change the drip; trigger, steps, exit or reentry make a new version once it has been activated. */
export class UpdateDripDto extends PartialType(OmitType(CreateDripDto, ['code'] as const)) {}

export class DripQueryDto {
  @ApiPropertyOptional({ description: 'a version number; default: the current version' })
  @IsOptional()
  @IsString()
  version?: string;
}

export class DripListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: DRIP_STATES })
  @IsOptional()
  @IsIn(DRIP_STATES)
  state?: DripState;
}

export class EnrollDto {
  @ApiProperty({ type: [String], description: 'customers (externalId) to enroll now, 1 to 1000' })
  @IsArray()
  @IsString({ each: true })
  @Length(1, 200, { each: true })
  customers!: string[];

  @ApiPropertyOptional({
    description: 'makes a retry harmless: customers already enrolled with this key are not again',
  })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  idempotencyKey?: string;
}

export class UnenrollDto {
  @ApiProperty({ type: [String], description: 'customers (externalId) to take out of the drip, 1 to 1000' })
  @IsArray()
  @IsString({ each: true })
  @Length(1, 200, { each: true })
  customers!: string[];
}

export class UnenrollView {
  @ApiProperty({ description: 'enrollments ended (exit reason removed)' }) removed!: number;
}

export class DripProgramCellView {
  @ApiProperty() code!: string;
  @ApiProperty() name!: string;
  @ApiProperty() weight!: number;
  @ApiProperty() isControl!: boolean;
  @ApiProperty() responseCode!: string;
}

export class DripProgramView {
  @ApiProperty({ description: '`main` (everything sent outside a split) or the split step id' }) scope!: string;
  @ApiProperty() id!: string;
  @ApiProperty({ description: 'program code (its report: GET /v1/programs/{code}/report)' }) code!: string;
  @ApiProperty() state!: string;
  @ApiProperty({ type: [DripProgramCellView] }) cells!: DripProgramCellView[];
}

export class DripVersionView {
  @ApiProperty() version!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) activatedAt!: string | null;
}

export class EnrollmentCountsView {
  @ApiProperty() total!: number;
  @ApiProperty() active!: number;
  @ApiProperty() completed!: number;
  @ApiProperty() exited!: number;
}

export class DripView {
  @ApiProperty() id!: string;
  @ApiProperty() code!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ enum: DRIP_STATES }) state!: DripState;
  @ApiProperty({ description: 'the current version (new enrollments)' }) version!: number;
  @ApiProperty({ description: 'the version whose definition is shown' }) shownVersion!: number;
  @ApiProperty({ type: Object, nullable: true }) campaign!: { id: string; code: string } | null;
  @ApiProperty({ type: String, nullable: true, description: 'offer code' }) offer!: string | null;
  @ApiProperty() attributionWindowDays!: number;
  @ApiProperty({ type: Object }) trigger!: unknown;
  @ApiProperty({ type: [Object] }) steps!: unknown[];
  @ApiProperty({ type: Object }) exit!: unknown;
  @ApiProperty({ enum: REENTRY_POLICIES }) reentry!: string;
  @ApiProperty({ type: [String], enum: ['email', 'sms'] }) channels!: string[];
  @ApiProperty({ type: [DripVersionView] }) versions!: DripVersionView[];
  @ApiProperty({ type: [DripProgramView], description: 'programs measuring the drip (created at activation)' })
  programs!: DripProgramView[];
  @ApiProperty({ type: EnrollmentCountsView }) enrollments!: EnrollmentCountsView;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) activatedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) archivedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class DripPage {
  @ApiProperty({ type: [DripView] }) items!: DripView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class EnrollView {
  @ApiProperty({ type: [String], description: 'externalIds enrolled now' }) enrolled!: string[];
  @ApiProperty({ type: [String], description: 'externalIds not enrolled (already in it, or re-entry not allowed)' })
  skipped!: string[];
}
