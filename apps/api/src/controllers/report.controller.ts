import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
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
import { reportFormat, ReportFormats, sendReport } from '../http/report-response';
import { SampleSizeDto, SampleSizeView } from './report.dto';

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
  @ReportFormats('the program report')
  @ApiQuery({ name: 'confidence', required: false, description: '0.8 to 0.999, default 0.95' })
  @ApiErrors(400, 404)
  async programReport(
    @Param('id') id: string,
    @Query('format') format: string | undefined,
    @Query('confidence') confidence: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const f = reportFormat(format);
    const report = await this.reports.programReport(id, confidenceOf(confidence));
    sendReport(res, f, `report-${report.program.code}`, report, programReportCsv, programReportHtml);
  }

  @Get('campaigns/:id/report')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: "The campaign's programs side by side, each with its winner and verdict" })
  @ReportFormats('the campaign report')
  @ApiQuery({ name: 'confidence', required: false, description: '0.8 to 0.999, default 0.95' })
  @ApiErrors(400, 404)
  async campaignReport(
    @Param('id') id: string,
    @Query('format') format: string | undefined,
    @Query('confidence') confidence: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const f = reportFormat(format);
    const report = await this.reports.campaignReport(id, confidenceOf(confidence));
    sendReport(res, f, `campaign-${report.campaign.code}`, report, campaignReportCsv, campaignReportHtml);
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

function confidenceOf(confidence: string | undefined): number {
  const level = confidence === undefined ? 0.95 : Number(confidence);
  if (!Number.isFinite(level)) throw new ValidationError('confidence must be a number such as 0.95', 'confidence');
  return level;
}
