import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';

export class SampleSizeDto {
  @ApiProperty({ example: 0.05, description: 'the control conversion rate expected (0..1)' })
  @IsNumber()
  baselineRate!: number;

  @ApiProperty({ example: 0.01, description: 'absolute, in rate units (0.01 = one point)' })
  @IsNumber()
  minimumDetectableEffect!: number;

  @ApiPropertyOptional({ example: 0.05, description: 'two-sided' })
  @IsOptional()
  @IsNumber()
  alpha?: number;

  @ApiPropertyOptional({ example: 0.8 })
  @IsOptional()
  @IsNumber()
  power?: number;

  @ApiPropertyOptional({ example: 1, description: 'treatment cells' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(20)
  cells?: number;

  @ApiPropertyOptional({ example: 0.1, description: "the control's share of all members (default: a cell's size)" })
  @IsOptional()
  @IsNumber()
  controlShare?: number;
}

export class SampleSizeView {
  @ApiProperty() perCell!: number;
  @ApiProperty() controlPerCell!: number;
  @ApiProperty() total!: number;
}
