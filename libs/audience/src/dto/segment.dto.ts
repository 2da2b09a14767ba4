import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { CustomerView } from './customer.dto';
import { PageQueryDto as PageQuery } from '@closeloop/persistence';

const CRITERIA_EXAMPLE = {
  all: [
    { field: 'country', op: 'in', value: ['DE', 'AT'] },
    { field: 'orders.lastAt', op: 'beforeDays', value: 180 },
  ],
};

export class CreateSegmentDto {
  @ApiProperty({ example: 'lapsed-dach' }) @IsString() code!: string;
  @ApiProperty({ example: 'Lapsed buyers in DACH' }) @IsString() @IsNotEmpty() @MaxLength(200) name!: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(2000) description?: string;
  @ApiProperty({ type: Object, example: CRITERIA_EXAMPLE, description: 'API.md "Segment criteria"' })
  @IsDefined()
  criteria!: unknown;
}

export class PreviewSegmentDto {
  @ApiProperty({ type: Object, example: CRITERIA_EXAMPLE }) @IsDefined() criteria!: unknown;
  @ApiPropertyOptional({ default: 10, maximum: 100 }) @IsOptional() @IsInt() @Min(0) @Max(100) sampleSize?: number;
}

export class SegmentListQueryDto extends PageQuery {}

export class SegmentView {
  @ApiProperty() id!: string;
  @ApiProperty() code!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ type: Object }) criteria!: unknown;
  @ApiPropertyOptional({ description: 'members now (computed on GET /v1/segments/:id)' }) count?: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class SegmentPage {
  @ApiProperty({ type: [SegmentView] }) items!: SegmentView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class SegmentPreviewView {
  @ApiProperty() count!: number;
  @ApiProperty({ type: [CustomerView] }) sample!: CustomerView[];
}
