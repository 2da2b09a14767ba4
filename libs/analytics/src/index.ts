// Front door of the analytics lib: program and drip reports and the customer scorecard (JSON, CSV, HTML), reconcile.
export { AnalyticsModule } from './analytics.module';
export { ReportService, buildReport, MIN_CONFIDENCE, MAX_CONFIDENCE } from './report.service';
export { ReconcileService } from './reconcile.service';
export type { CounterDifference } from './reconcile.service';
export { verdictOf, formatP } from './verdict';
export * from './report-types';
export { programReportCsv } from './report-csv';
export { programReportHtml } from './report-html';
export * from './drip-report-types';
export { dripReportCsv, DRIP_REPORT_CSV_COLUMNS } from './drip-report-csv';
export { dripReportHtml } from './drip-report-html';
export { DripReportService } from './drip-report.service';
export { campaignReportCsv, campaignReportHtml, summarizeProgram } from './campaign-report';
export type { CampaignReport, CampaignProgramSummary } from './campaign-report';
export {
  ScorecardService,
  scorecardPeriod,
  ANALYTICS_CLOCK,
  SCORECARD_DEFAULT_DAYS,
  MAX_SCORECARD_SEGMENTS,
  MAX_SCORECARD_PROGRAMS,
} from './scorecard.service';
export * from './scorecard-types';
export { scorecardCsv, SCORECARD_CSV_COLUMNS } from './scorecard-csv';
export { scorecardHtml } from './scorecard-html';
