import { csvField } from '@closeloop/core';
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

export function programReportCsv(report: ProgramReport): string {
  const lines = [REPORT_CSV_COLUMNS.map((c) => csvField(c)).join(',')];
  for (const cell of report.cells) lines.push(line(cellValues(cell)));
  for (const comparison of report.comparisons) lines.push(line(comparisonValues(comparison)));
  return `${lines.join('\r\n')}\r\n`;
}

function cellValues(cell: CellReport): Partial<Record<Column, Value>> {
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

function comparisonValues(c: Comparison): Partial<Record<Column, Value>> {
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

function line(values: Partial<Record<Column, Value>>): string {
  return REPORT_CSV_COLUMNS.map((column) => field(values[column])).join(',');
}

/** Numbers bypass the formula escaping (a leading minus is a sign, not a formula); all else is text. */
function field(value: Value): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return plainDecimal(value);
  return csvField(String(value));
}

/**
 * A finite number as a plain decimal, never in exponent notation (1e-7 -> 0.0000001, 1e21 ->
 * 1000000000000000000000), with the full precision of the shortest round-trip form; empty when not finite.
 */
export function plainDecimal(n: number): string {
  if (!Number.isFinite(n)) return '';
  const text = String(n);
  const e = text.search(/e/i);
  if (e < 0) return text;
  const exponent = Number(text.slice(e + 1));
  let mantissa = text.slice(0, e);
  const sign = mantissa.startsWith('-') ? '-' : '';
  if (sign) mantissa = mantissa.slice(1);
  const [whole, fraction = ''] = mantissa.split('.');
  const digits = whole + fraction;
  const point = whole.length + exponent;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return sign + out;
}
