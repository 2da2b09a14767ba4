import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { PROGRAM_STATES, ProgramState } from '@closeloop/core';
import { PageQueryDto } from './common.dto';

export const CHANNELS = ['email', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];

export class CreateCellDto {
  @ApiProperty({ example: 'LOY26-LAPSED-A', description: 'unique across all cells, case-insensitive' })
  @IsString()
  code!: string;

  @ApiPropertyOptional({ example: 'Treatment A', description: 'defaults to the code' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  @ApiProperty({ example: 45, description: 'percent of the target list; cells must sum to 100 to launch' })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  weight!: number;

  @ApiPropertyOptional({ default: false, description: 'a holdout: selected, never contacted' })
  @IsOptional()
  @IsBoolean()
  isControl?: boolean;

  @ApiPropertyOptional({ description: 'template code overriding the program template' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  template?: string;

  @ApiPropertyOptional({ description: 'offer code or id overriding the program offer' })
  @IsOptional()
  @IsString()
  offer?: string;

  @ApiPropertyOptional({
    example: 'SPRINGA',
    description: 'unique across the whole system and never reused; generated when absent',
  })
  @IsOptional()
  @IsString()
  responseCode?: string;
}

/** A cell's code and response code never change once issued (they may be printed on coupons). */
export class UpdateCellDto extends PartialType(OmitType(CreateCellDto, ['code', 'responseCode'] as const)) {}

export class SampleDto {
  @ApiPropertyOptional({ description: 'random N members' })
  @IsOptional()
  @IsInt()
  @Min(1)
  size?: number;

  @ApiPropertyOptional({ description: 'random percent of members, (0, 100]' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.0001)
  @Max(100)
  percent?: number;
}

export class CreateProgramDto {
  @ApiProperty({ example: 'LOY26-LAPSED' })
  @IsString()
  code!: string;

  @ApiProperty({ example: 'Coupon for lapsed buyers' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  @ApiProperty({ enum: CHANNELS })
  @IsIn(CHANNELS)
  channel!: Channel;

  @ApiPropertyOptional({ description: 'target segment code' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  segment?: string;

  @ApiPropertyOptional({ description: 'message template code' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  template?: string;

  @ApiPropertyOptional({ description: 'offer code or id' })
  @IsOptional()
  @IsString()
  offer?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'when `schedule` should launch it' })
  @IsOptional()
  @IsISO8601({ strict: true })
  scheduledAt?: string;

  @ApiPropertyOptional({ default: 30, minimum: 0, maximum: 3650 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(3650)
  attributionWindowDays?: number;

  @ApiPropertyOptional({ type: SampleDto, description: '{ "size": n } or { "percent": p }' })
  @IsOptional()
  @ValidateNested()
  @Type(() => SampleDto)
  sample?: SampleDto;

  @ApiPropertyOptional({ description: 'seed for reproducible sampling and cell assignment' })
  @IsOptional()
  @IsInt()
  @Min(-2147483648)
  @Max(2147483647)
  seed?: number;

  @ApiPropertyOptional({ type: [CreateCellDto] })
  @IsOptional()
  @ArrayMaxSize(26)
  @ValidateNested({ each: true })
  @Type(() => CreateCellDto)
  cells?: CreateCellDto[];
}

/** Which fields may change depends on the program's state (core `programEditPolicy`). */
export class UpdateProgramDto extends PartialType(OmitType(CreateProgramDto, ['code', 'cells'] as const)) {}

export class ScheduleProgramDto {
  @ApiPropertyOptional({ format: 'date-time', description: 'defaults to the program scheduledAt' })
  @IsOptional()
  @IsISO8601({ strict: true })
  scheduledAt?: string;
}

export class ProgramListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'campaign code or id' })
  @IsOptional()
  @IsString()
  campaign?: string;

  @ApiPropertyOptional({ enum: PROGRAM_STATES })
  @IsOptional()
  @IsIn(PROGRAM_STATES)
  state?: ProgramState;

  @ApiPropertyOptional({ enum: CHANNELS })
  @IsOptional()
  @IsIn(CHANNELS)
  channel?: Channel;

  @ApiPropertyOptional({
    enum: ['exclude', 'include', 'only'],
    default: 'exclude',
    description: 'programs automation keeps to measure drips and rules (`managedBy`): left out unless asked for',
  })
  @IsOptional()
  @IsIn(['exclude', 'include', 'only'])
  managed?: 'exclude' | 'include' | 'only';
}

export class RefView {
  @ApiProperty() id!: string;
  @ApiProperty() code!: string;
}

export class ManagedByView {
  @ApiProperty({ enum: ['drip', 'rule'] }) type!: 'drip' | 'rule';
  @ApiProperty({ description: 'the drip or rule id' }) id!: string;
}

export class CellView {
  @ApiProperty() id!: string;
  @ApiProperty() code!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'percent of the target list' }) weight!: number;
  @ApiProperty() isControl!: boolean;
  @ApiProperty({ example: 'K7QM4XPA', description: 'unique across the system, never reused' }) responseCode!: string;
  @ApiProperty({ type: String, nullable: true }) template!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'offer code' }) offer!: string | null;
  @ApiProperty({ type: RefView }) program!: { id: string; code: string };
}

export class ReadinessView {
  @ApiProperty() launchable!: boolean;
  @ApiProperty() weightSum!: number;
  @ApiProperty({ type: String, nullable: true }) reason!: string | null;
}

export class EditPolicyView {
  @ApiProperty() details!: boolean;
  @ApiProperty() targeting!: boolean;
  @ApiProperty() cells!: boolean;
  @ApiProperty() schedule!: boolean;
  @ApiProperty() deletable!: boolean;
}

export class ProgramView {
  @ApiProperty() id!: string;
  @ApiProperty() code!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ type: RefView, nullable: true, description: 'null for a program automation keeps without a campaign' })
  campaign!: { id: string; code: string } | null;
  @ApiProperty({
    type: ManagedByView,
    nullable: true,
    description: 'set when automation keeps the program to measure a drip, a split of a drip, or a rule',
  })
  managedBy!: { type: 'drip' | 'rule'; id: string } | null;
  @ApiProperty({ enum: CHANNELS }) channel!: Channel;
  @ApiProperty({ enum: PROGRAM_STATES }) state!: ProgramState;
  @ApiProperty({ type: String, nullable: true }) segment!: string | null;
  @ApiProperty({ type: String, nullable: true }) template!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'offer code' }) offer!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) scheduledAt!: string | null;
  @ApiProperty() attributionWindowDays!: number;
  @ApiProperty({ type: SampleDto, nullable: true }) sample!: { size: number } | { percent: number } | null;
  @ApiProperty({ type: Number, nullable: true }) seed!: number | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) launchedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) endedAt!: string | null;
  @ApiProperty({ type: [CellView] }) cells!: CellView[];
  @ApiProperty({
    type: ReadinessView,
    description: 'whether schedule / launch would accept the cells now, and why not',
  })
  readiness!: { launchable: boolean; weightSum: number; reason: string | null };
  @ApiProperty({ type: EditPolicyView, description: 'what may be edited in the current state' })
  editable!: { details: boolean; targeting: boolean; cells: boolean; schedule: boolean; deletable: boolean };
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class ProgramPage {
  @ApiProperty({ type: [ProgramView] }) items!: ProgramView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
