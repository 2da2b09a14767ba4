import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class WaterfallStepView {
  @ApiProperty({ enum: ['select', 'reachable', 'dedupe', 'suppress', 'sample'] }) step!: string;
  @ApiProperty() remaining!: number;
  @ApiProperty() removed!: number;
  @ApiPropertyOptional({ type: Object, example: { 'no address': 12, 'no consent': 40 } }) reasons?: Record<
    string,
    number
  >;
}

export class ListCellView {
  @ApiProperty() code!: string;
  @ApiProperty() isControl!: boolean;
  @ApiProperty() responseCode!: string;
  @ApiProperty() members!: number;
}

export class TargetListView {
  @ApiProperty({ enum: ['none', 'queued', 'building', 'built', 'failed'] }) state!: string;
  @ApiProperty({ description: '0..1' }) progress!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'the seed the sample and split used' }) seed!:
    number | null;
  @ApiProperty({ type: [WaterfallStepView] }) waterfall!: WaterfallStepView[];
  @ApiProperty({ type: [ListCellView] }) cells!: ListCellView[];
  @ApiProperty({ type: String, nullable: true }) error!: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) requestedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) builtAt!: string | null;
}
