import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsOptional, IsString, MaxLength } from 'class-validator';
import { SEND_STATES } from '@closeloop/core';

export class ProgressView {
  @ApiProperty() program!: string;
  @ApiProperty({ description: 'the program state' }) state!: string;
  @ApiProperty({
    description: `sends by state (${SEND_STATES.join(', ')})`,
    example: { queued: 120, sending: 10, sent: 1800, held_out: 200 },
  })
  counts!: Record<string, number>;
  @ApiProperty({ description: 'sends in all (held-out control members included)' }) total!: number;
  @ApiProperty({ description: 'queued, sending or deferred' }) pending!: number;
  @ApiProperty({ description: '0..1: settled sends over all sends' }) progress!: number;
  @ApiProperty({ description: 'messages accepted per second over the last minute' }) ratePerSecond!: number;
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'seconds to send the rest at the current rate' })
  etaSeconds!: number | null;
  @ApiPropertyOptional({ nullable: true, type: String }) dispatchedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'why the program could not be dispatched' })
  error!: string | null;
}

export class TestSendDto {
  @ApiProperty({ type: [String], example: ['me@example.com'], description: 'email addresses or E.164 phones (1-10)' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10)
  @IsString({ each: true })
  @MaxLength(320, { each: true })
  addresses!: string[];

  @ApiPropertyOptional({ description: 'render for this customer (id or externalId); default: a sample customer' })
  @IsOptional()
  @IsString()
  customer?: string;

  @ApiPropertyOptional({
    description: 'the cell (code or id) whose template and offer to use; default: the first non-control cell',
  })
  @IsOptional()
  @IsString()
  cell?: string;
}

export class TestSendResultView {
  @ApiProperty() address!: string;
  @ApiProperty({ enum: ['sent', 'failed'] }) status!: 'sent' | 'failed';
  @ApiPropertyOptional({ nullable: true, type: String }) error!: string | null;
}

export class TestSendView {
  @ApiProperty() template!: string;
  @ApiProperty() version!: number;
  @ApiProperty({ type: [TestSendResultView] }) results!: TestSendResultView[];
  @ApiProperty({ type: [String] }) warnings!: string[];
}

export class QuietHoursDto {
  @ApiProperty({ example: '21:00', description: 'local time sending stops' }) start!: string;
  @ApiProperty({ example: '08:00', description: 'local time sending may resume' }) end!: string;
}

export class FrequencyCapDto {
  @ApiProperty({ example: 3 }) max!: number;
  @ApiProperty({ example: 168 }) periodHours!: number;
}

export class ContactPolicyQuietHoursDto {
  @ApiPropertyOptional({ type: QuietHoursDto, nullable: true }) email!: QuietHoursDto | null;
  @ApiPropertyOptional({ type: QuietHoursDto, nullable: true }) sms!: QuietHoursDto | null;
}

/** The contact policy body; validated in core (parseContactPolicy), so errors name the path. */
export class ContactPolicyView {
  @ApiPropertyOptional({ type: FrequencyCapDto, nullable: true }) frequencyCap!: FrequencyCapDto | null;
  @ApiProperty({ type: ContactPolicyQuietHoursDto }) quietHours!: ContactPolicyQuietHoursDto;
}
