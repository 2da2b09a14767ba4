import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ValidationError } from '@closeloop/core';
import { scorecardCsv, scorecardHtml, ScorecardService } from '@closeloop/analytics';
import { ApiErrors } from '../http/api-errors';
import { READ_ROLES, Roles } from '../http/auth';
import { reportFormat, ReportFormats, sendReport } from '../http/report-response';

@ApiTags('measurement')
@ApiBearerAuth()
@Controller('v1')
export class ScorecardController {
  constructor(private readonly scorecards: ScorecardService) {}

  @Get('scorecard')
  @Roles(...READ_ROLES)
  @ApiOperation({
    summary: 'Customer KPIs: customers by lifecycle stage and segment, new and lost, revenue, margin, rates',
    description:
      'Period `from` <= t < `to` (ISO dates or times; a date alone is the whole UTC day, so `to=2026-03-31` ' +
      'includes March 31); default the last 30 days. Customers and segment members as they are now; orders of the ' +
      'period per currency (revenue, margin, average order value) in total, by lifecycle stage and by segment (the ' +
      'first 20 by code); new customers (first order in the period) and lost ones (became lapsed in the period); per ' +
      'program launched in the period and per channel: response rate (contacted members who clicked or converted), ' +
      'conversion rate per member, unsubscribe, bounce and complaint rates. `format=csv` or `format=html` too.',
  })
  @ApiQuery({ name: 'from', required: false, description: 'ISO 8601 date or time, default: 30 days before `to`' })
  @ApiQuery({ name: 'to', required: false, description: 'ISO 8601 date or time (excluded), default: now' })
  @ReportFormats('the scorecard')
  @ApiErrors(400)
  async scorecard(
    @Query('from') from: string | undefined,
    @Query('to') to: string | undefined,
    @Query('format') format: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const f = reportFormat(format);
    for (const [name, value] of [
      ['from', from],
      ['to', to],
    ] as const) {
      if (value !== undefined && typeof value !== 'string')
        throw new ValidationError(`${name} must be given once`, name);
    }
    const scorecard = await this.scorecards.scorecard({ from, to });
    const name = `scorecard-${scorecard.period.from.slice(0, 10)}-${scorecard.period.to.slice(0, 10)}`;
    sendReport(res, f, name, scorecard, scorecardCsv, scorecardHtml);
  }
}
