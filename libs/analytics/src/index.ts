// Front door of the analytics lib: program reports (JSON, CSV, HTML), reconcile.
export { AnalyticsModule } from './analytics.module';
export { ReportService, buildReport, MIN_CONFIDENCE, MAX_CONFIDENCE } from './report.service';
export { ReconcileService } from './reconcile.service';
export type { CounterDifference } from './reconcile.service';
export { verdictOf, formatP } from './verdict';
export * from './report-types';
export { programReportCsv } from './report-csv';
export { programReportHtml } from './report-html';
export { campaignReportCsv, campaignReportHtml, summarizeProgram } from './campaign-report';
export type { CampaignReport, CampaignProgramSummary } from './campaign-report';
