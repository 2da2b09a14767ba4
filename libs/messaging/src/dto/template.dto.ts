import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, MaxLength, Min } from 'class-validator';
import { PageQueryDto } from '@closeloop/persistence';

export const TEMPLATE_CHANNELS = ['email', 'sms'] as const;
export type TemplateChannel = (typeof TEMPLATE_CHANNELS)[number];

/** The parts of one template version: subject + html (+ text, layout) for email, body for SMS. */
export class TemplateContentDto {
  @ApiPropertyOptional({ example: 'Hello {{customer.firstName}}: {{offer.name}}', description: 'email' })
  @IsOptional()
  @IsString()
  @MaxLength(998)
  subject?: string;

  @ApiPropertyOptional({ description: 'email: handlebars HTML, placed in the layout' })
  @IsOptional()
  @IsString()
  @MaxLength(500_000)
  html?: string;

  @ApiPropertyOptional({ description: 'email: plain-text part; generated from the HTML when absent' })
  @IsOptional()
  @IsString()
  @MaxLength(500_000)
  text?: string;

  @ApiPropertyOptional({ description: 'email: layout under templates/layouts (default "default"; "none" for none)' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  layout?: string;

  @ApiPropertyOptional({
    example: 'Hi {{customer.firstName}}, {{offerCode}} saves you 10%. STOP to opt out',
    description: 'sms',
  })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  body?: string;
}

export class CreateTemplateDto extends TemplateContentDto {
  @ApiProperty({ example: 'SPRING-EMAIL' })
  @IsString()
  code!: string;

  @ApiPropertyOptional({ example: 'Spring offer email' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  @ApiProperty({ enum: TEMPLATE_CHANNELS })
  @IsIn(TEMPLATE_CHANNELS)
  channel!: TemplateChannel;
}

/** PUT: a new version with these parts (the channel and code stay). */
export class UpdateTemplateDto extends TemplateContentDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;
}

export class TemplateQueryDto {
  @ApiPropertyOptional({ description: 'a version number (default: the current one)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  version?: number;
}

export class TemplateListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: TEMPLATE_CHANNELS })
  @IsOptional()
  @IsIn(TEMPLATE_CHANNELS)
  channel?: TemplateChannel;
}

export class PreviewTemplateDto {
  @ApiProperty({ description: 'the customer to render for: id or externalId', example: 'c-1001' })
  @IsString()
  @IsNotEmpty()
  customer!: string;

  @ApiPropertyOptional({ description: 'a cell (id or code): its offer and code go into the context' })
  @IsOptional()
  @IsString()
  cell?: string;

  @ApiPropertyOptional({ description: 'a version number (default: the current one)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;
}

export class TemplateView {
  @ApiProperty() id!: string;
  @ApiProperty() code!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: TEMPLATE_CHANNELS }) channel!: TemplateChannel;
  @ApiProperty({ description: 'the version shown' }) version!: number;
  @ApiProperty({ description: 'the newest version' }) currentVersion!: number;
  @ApiPropertyOptional({ nullable: true, type: String }) subject!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) html!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) text!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) layout!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) body!: string | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
}

export class TemplatePage {
  @ApiProperty({ type: [TemplateView] }) items!: TemplateView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class SmsPreviewView {
  @ApiProperty({ enum: ['GSM-7', 'UCS-2'] }) encoding!: string;
  @ApiProperty({ description: 'septets (GSM-7) or UTF-16 units (UCS-2)' }) units!: number;
  @ApiProperty() segments!: number;
  @ApiProperty({ description: 'units per segment: 160/153 (GSM-7) or 70/67 (UCS-2)' }) perSegment!: number;
}

export class TemplatePreviewView {
  @ApiProperty() template!: string;
  @ApiProperty() version!: number;
  @ApiProperty({ enum: TEMPLATE_CHANNELS }) channel!: TemplateChannel;
  @ApiPropertyOptional({ nullable: true, type: String }) subject!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) html!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) text!: string | null;
  @ApiProperty({ type: [String], description: 'variables that rendered empty, and similar hints' }) warnings!: string[];
  @ApiPropertyOptional({ type: SmsPreviewView, nullable: true }) sms!: SmsPreviewView | null;
}
