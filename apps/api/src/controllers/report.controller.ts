import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';

/** The three forms a report is served in (the JSON shape is in API.md "Field names relied upon"). */
const REPORT_CONTENT = (what: string) => ({
  description: `${what}: JSON, or CSV / HTML with ?format=`,
  content: {
    'application/json': { schema: { type: 'object' as const } },
    'text/csv': { schema: { type: 'string' as const } },
    'text/html': { schema: { type: 'string' as const } },
  },
});
import type { Response } from 'express';
import { sampleSize, ValidationError } from '@closeloop/core';
import {
  campaignReportCsv,
  campaignReportHtml,
  programReportCsv,
  programReportHtml,
  ReportService,
} from '@closeloop/analytics';
import { ApiErrors } from '../http/api-errors';
import { READ_ROLES, Roles } from '../http/auth';
import { SampleSizeDto, SampleSizeView } from './report.dto';

const FORMATS = ['json', 'csv', 'html'] as const;

@ApiTags('measurement')
@ApiBearerAuth()
@Controller('v1')
export class ReportController {
  constructor(private readonly reports: ReportService) {}

  @Get('programs/:id/report')
  @Roles(...READ_ROLES)
  @ApiOperation({
    summary: 'Per-cell figures, comparisons with intervals and Holm-adjusted p-values, and a verdict',
    description:
      'Conversion rate per member (intention to treat), open/click rates per delivered message (people only), ' +
      'Wilson intervals, Newcombe interval of each lift against the control, two-proportion z-test, chi-square ' +
      'across cells, Welch t-test on revenue per member. `format=csv` (one row per cell and comparison) or ' +
      '`format=html` (a self-contained page with charts).',
  })
  @ApiQuery({ name: 'format', required: false, enum: FORMATS })
  @ApiQuery({ name: 'confidence', required: false, description: '0.8 to 0.999, default 0.95' })
  @ApiProduces('application/json', 'text/csv', 'text/html')
  @ApiOkResponse(REPORT_CONTENT('the program report'))
  @ApiErrors(400, 404)
  async programReport(
    @Param('id') id: string,
    @Query('format') format: string | undefined,
    @Query('confidence') confidence: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const f = formatOf(format);
    const report = await this.reports.programReport(id, confidenceOf(confidence));
    send(res, f, `report-${report.program.code}`, report, programReportCsv, programReportHtml);
  }

  @Get('campaigns/:id/report')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: "The campaign's programs side by side, each with its winner and verdict" })
  @ApiQuery({ name: 'format', required: false, enum: FORMATS })
  @ApiQuery({ name: 'confidence', required: false, description: '0.8 to 0.999, default 0.95' })
  @ApiProduces('application/json', 'text/csv', 'text/html')
  @ApiOkResponse(REPORT_CONTENT('the campaign report'))
  @ApiErrors(400, 404)
  async campaignReport(
    @Param('id') id: string,
    @Query('format') format: string | undefined,
    @Query('confidence') confidence: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const f = formatOf(format);
    const report = await this.reports.campaignReport(id, confidenceOf(confidence));
    send(res, f, `campaign-${report.campaign.code}`, report, campaignReportCsv, campaignReportHtml);
  }

  @Post('plan/sample-size')
  @HttpCode(200)
  @Roles(...READ_ROLES)
  @ApiOperation({
    summary: 'Members per cell to detect a lift: baseline rate, minimum detectable effect, alpha, power, cells',
    description:
      'Normal approximation for two independent proportions, two-sided. With several treatment cells alpha is not ' +
      'changed here; reports adjust their p-values with Holm.',
  })
  @ApiOkResponse({ type: SampleSizeView })
  @ApiErrors(400)
  planSampleSize(@Body() body: SampleSizeDto): SampleSizeView {
    return sampleSize(body);
  }
}

function formatOf(format: string | undefined): (typeof FORMATS)[number] {
  const f = format ?? 'json';
  if (!(FORMATS as readonly string[]).includes(f)) {
    throw new ValidationError(`format must be one of ${FORMATS.join(', ')}`, 'format');
  }
  return f as (typeof FORMATS)[number];
}

function confidenceOf(confidence: string | undefined): number {
  const level = confidence === undefined ? 0.95 : Number(confidence);
  if (!Number.isFinite(level)) throw new ValidationError('confidence must be a number such as 0.95', 'confidence');
  return level;
}

/** JSON, a CSV download, or a self-contained HTML page (no network: the CSP says so too). */
function send<T>(
  res: Response,
  format: (typeof FORMATS)[number],
  name: string,
  report: T,
  csv: (r: T) => string,
  html: (r: T) => string,
): void {
  const file = name.replace(/[^\w.-]/g, '_');
  if (format === 'csv') {
    res
      .status(200)
      .type('text/csv; charset=utf-8')
      .set('Content-Disposition', `attachment; filename="${file}.csv"`)
      .send(csv(report));
  } else if (format === 'html') {
    res
      .status(200)
      .type('html')
      .set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
      .send(html(report));
  } else {
    res.status(200).json(report);
  }
}
