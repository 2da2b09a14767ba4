import { Module } from '@nestjs/common';
import { ReconcileService } from './reconcile.service';
import { ReportService } from './report.service';

/** Reports, statistics and reconcile. Reads history through persistence only (ARCHITECTURE.md arrows). */
@Module({
  providers: [ReportService, ReconcileService],
  exports: [ReportService, ReconcileService],
})
export class AnalyticsModule {}
