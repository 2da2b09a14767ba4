import { csvTable } from './csv-kit';
import type { CellReport, Comparison, ProgramReport } from './report-types';

/**
 * The program report as one CSV (RFC 4180, CRLF): a `row` column (`cell` or `comparison`), then the
 * cell columns, then the comparison columns; a row leaves the other kind's columns empty. Numbers are
 * plain decimals written as numbers (so a lift of -0.012 stays a number a spreadsheet can sum); every
 * text value goes through core `csvField`, which quotes and defuses formulas (= + - @ tab CR).
 */
export const CELL_COLUMNS = [
  'code',
  'name',
  'isControl',
  'responseCode',
  'members',
  'contacted',
  'delivered',
  'bounced',
  'opens',
  'opensHuman',
  'clicks',
  'clicksHuman',
  'unsubscribes',
  'complaints',
  'conversions',
  'conversionEvents',
  'revenue',
  'revenuePerMember',
  'conversionRate',
  'conversionRateLow',
  'conversionRateHigh',
  'openRate',
  'clickRate',
] as const;

export const COMPARISON_COLUMNS = [
  'cell',
  'against',
  'metric',
  'absoluteLift',
  'relativeLift',
  'ciLow',
  'ciHigh',
  'pValue',
  'adjustedPValue',
  'significant',
  'test',
  'smallSample',
] as const;

export const REPORT_CSV_COLUMNS = ['row', ...CELL_COLUMNS, ...COMPARISON_COLUMNS] as const;

type Column = (typeof REPORT_CSV_COLUMNS)[number];
type Value = string | number | boolean | null | undefined;
/** One line of the program report's CSV: its values by column. */
export type ReportCsvLine = Partial<Record<Column, Value>>;

export function programReportCsv(report: ProgramReport): string {
  return csvTable(REPORT_CSV_COLUMNS, programReportLines(report));
}

/** The program report's lines, cells then comparisons: its CSV, and each split's part of the drip report's. */
export function programReportLines(report: ProgramReport): ReportCsvLine[] {
  return [...report.cells.map(cellValues), ...report.comparisons.map(comparisonValues)];
}

function cellValues(cell: CellReport): ReportCsvLine {
  return {
    row: 'cell',
    code: cell.code,
    name: cell.name,
    isControl: cell.isControl,
    responseCode: cell.responseCode,
    members: cell.members,
    contacted: cell.contacted,
    delivered: cell.delivered,
    bounced: cell.bounced,
    opens: cell.opens,
    opensHuman: cell.opensHuman,
    clicks: cell.clicks,
    clicksHuman: cell.clicksHuman,
    unsubscribes: cell.unsubscribes,
    complaints: cell.complaints,
    conversions: cell.conversions,
    conversionEvents: cell.conversionEvents,
    revenue: cell.revenue,
    revenuePerMember: cell.revenuePerMember,
    conversionRate: cell.conversionRate,
    conversionRateLow: cell.conversionRateCi?.[0],
    conversionRateHigh: cell.conversionRateCi?.[1],
    openRate: cell.openRate,
    clickRate: cell.clickRate,
  };
}

function comparisonValues(c: Comparison): ReportCsvLine {
  return {
    row: 'comparison',
    cell: c.cell,
    against: c.against,
    metric: c.metric,
    absoluteLift: c.absoluteLift,
    relativeLift: c.relativeLift,
    ciLow: c.ci?.[0],
    ciHigh: c.ci?.[1],
    pValue: c.pValue,
    adjustedPValue: c.adjustedPValue,
    significant: c.significant,
    test: c.test,
    smallSample: c.smallSample,
  };
}
