import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { IMPORT_KINDS, IMPORT_MODES, ImportKind, ImportMode } from '@closeloop/core';
import { PageQueryDto } from '@closeloop/persistence';

export const IMPORT_STATES = ['queued', 'running', 'completed', 'failed'] as const;
export type ImportState = (typeof IMPORT_STATES)[number];

/** Query options of `POST /v1/imports/:kind`. */
export class ImportOptionsDto {
  @ApiPropertyOptional({
    enum: IMPORT_MODES,
    default: 'valid-rows',
    description: '`all-or-nothing` applies nothing when any row is rejected',
  })
  @IsOptional()
  @IsIn(IMPORT_MODES)
  mode?: ImportMode;

  @ApiPropertyOptional({ default: ',', description: 'one character, or `tab`' })
  @IsOptional()
  @IsString()
  @MaxLength(3)
  delimiter?: string;
}

export class ImportListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: IMPORT_KINDS }) @IsOptional() @IsIn(IMPORT_KINDS) kind?: ImportKind;
  @ApiPropertyOptional({ enum: IMPORT_STATES }) @IsOptional() @IsIn(IMPORT_STATES) state?: ImportState;
}

export class ImportCountsView {
  @ApiProperty({ description: 'data rows read (the header and blank lines not counted)' }) read!: number;
  @ApiProperty() inserted!: number;
  @ApiProperty() updated!: number;
  @ApiProperty({ description: 'valid rows that matched what is stored already' }) unchanged!: number;
  @ApiProperty({ description: 'rows refused; each is in the errors CSV' }) rejected!: number;
  @ApiProperty({ description: 'valid rows replaced by a later row with the same key in the file (the last wins)' })
  duplicates!: number;
}

export class ImportView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: IMPORT_KINDS }) kind!: ImportKind;
  @ApiProperty({ enum: IMPORT_MODES }) mode!: ImportMode;
  @ApiProperty({ enum: IMPORT_STATES }) state!: ImportState;
  @ApiProperty({ description: '0..1' }) progress!: number;
  @ApiProperty({ type: ImportCountsView, nullable: true, description: 'once the import has run' })
  counts!: ImportCountsView | null;
  @ApiProperty({ type: String, nullable: true, description: 'why the import failed' }) error!: string | null;
  @ApiProperty({ description: 'CSV of rejected rows: line, column, reason' }) errorsUrl!: string;
  @ApiProperty({ type: String, nullable: true }) fileName!: string | null;
  @ApiProperty() bytes!: number;
  @ApiProperty() delimiter!: string;
  @ApiProperty() createdBy!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) startedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) finishedAt!: string | null;
}

export class ImportPage {
  @ApiProperty({ type: [ImportView] }) items!: ImportView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
