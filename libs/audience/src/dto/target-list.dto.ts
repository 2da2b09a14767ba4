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

export class CellSizingView {
  @ApiProperty() code!: string;
  @ApiProperty() members!: number;
  @ApiProperty({ description: 'the cell it is compared with (the control, or the first cell)' }) against!: string;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'smallest absolute lift in conversion rate detectable at the alpha and power (null: none)',
  })
  detectableLift!: number | null;
}

export class ListSizingView {
  @ApiProperty({ description: 'conversion rate assumed for the reference cell' }) baselineRate!: number;
  @ApiProperty({ enum: ['history', 'default'], description: 'past control cells on this channel, or 5%' })
  baselineSource!: 'history' | 'default';
  @ApiProperty() alpha!: number;
  @ApiProperty() power!: number;
  @ApiProperty({ type: [CellSizingView] }) cells!: CellSizingView[];
  @ApiProperty({ description: 'the same in words' }) summary!: string;
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
  @ApiPropertyOptional({
    type: ListSizingView,
    nullable: true,
    description: 'whether the cells are big enough to measure a lift (built lists with two or more cells)',
  })
  sizing?: ListSizingView | null;
}
