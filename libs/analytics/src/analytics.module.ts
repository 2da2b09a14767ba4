import { Module } from '@nestjs/common';
import { DripReportService } from './drip-report.service';
import { ReconcileService } from './reconcile.service';
import { ReportService } from './report.service';
import { ScorecardService } from './scorecard.service';

/** Reports, the scorecard, statistics and reconcile. Reads history through persistence only (ARCHITECTURE.md arrows). */
@Module({
  providers: [ReportService, ScorecardService, ReconcileService, DripReportService],
  exports: [ReportService, ScorecardService, ReconcileService, DripReportService],
})
export class AnalyticsModule {}
