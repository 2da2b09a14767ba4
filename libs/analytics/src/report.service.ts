import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  chiSquareTest,
  holmAdjust,
  isUuid,
  membersToDetect,
  newcombeInterval,
  NotFoundError,
  relativeLiftInterval,
  twoProportionTest,
  ValidationError,
  welchTest,
  wilsonInterval,
} from '@closeloop/core';
import { DataSource } from 'typeorm';
import { CellReport, Comparison, ProgramReport, WaterfallStep } from './report-types';
import { verdictOf } from './verdict';
import { CampaignReport, summarizeProgram } from './campaign-report';

interface ProgramRow {
  id: string;
  code: string;
  name: string;
  channel: 'email' | 'sms';
  state: string;
  launched_at: Date | null;
  attribution_window_days: number;
  waterfall: WaterfallStep[] | null;
  list_cells: { code: string; members: number }[] | null;
  managed_by: 'drip' | 'rule' | null;
}

interface CellRow {
  id: string;
  code: string;
  name: string;
  is_control: boolean;
  response_code: string;
}

/** Per-cell sums, as kept in `report_counter` (or recomputed from history by ReconcileService). */
export type CellCounters = Map<string, number>;

export const MIN_CONFIDENCE = 0.8;
export const MAX_CONFIDENCE = 0.999;

/**
 * The program report (PRODUCT.md "Measure"): per cell, the figures from the counters the database
 * keeps as history is written (so a report over a million members reads a few dozen rows), and the
 * statistics from core: Wilson intervals for every rate, each treatment cell against the control
 * (or the first cell when there is no control) with Newcombe's hybrid score interval of the lift,
 * the Katz interval of the relative lift, the pooled two-proportion z-test with Holm-adjusted
 * p-values across the report's comparisons, a chi-square test across all cells, and revenue per
 * member compared with Welch's t-test. Denominators: conversion rate per member (intention to
 * treat, so treatment and control compare like for like), open and click rates per delivered.
 */
@Injectable()
export class ReportService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async programReport(ref: string, confidence = 0.95): Promise<ProgramReport> {
    if (!(confidence >= MIN_CONFIDENCE && confidence <= MAX_CONFIDENCE)) {
      throw new ValidationError(`confidence must be from ${MIN_CONFIDENCE} to ${MAX_CONFIDENCE}`, 'confidence');
    }
    const program = await this.program(ref);
    const cells: CellRow[] = await this.dataSource.query(
      `SELECT id, code, name, is_control, response_code FROM cell WHERE program_id = $1 ORDER BY position, code`,
      [program.id],
    );
    const counters = await this.counters(program.id);
    return buildReport(program, cells, counters, confidence);
  }

  /** The campaign's programs side by side, each with its winner (a significant lift on conversion rate). */
  async campaignReport(ref: string, confidence = 0.95): Promise<CampaignReport> {
    const rows: { id: string; code: string; name: string }[] = await this.dataSource.query(
      `SELECT id, code, name FROM campaign WHERE ${isUuid(ref) ? 'id = $1' : 'lower(code) = lower($1)'}`,
      [ref],
    );
    if (!rows.length) throw new NotFoundError('campaign', ref);
    const programs: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM program WHERE campaign_id = $1 ORDER BY created_at, id`,
      [rows[0].id],
    );
    const reports = [];
    for (const p of programs) reports.push(await this.programReport(p.id, confidence));
    const currencies = reports.map((r) => r.currency).filter((c): c is string => !!c);
    return {
      campaign: rows[0],
      confidence,
      currency: currencies[0] ?? null,
      generatedAt: new Date().toISOString(),
      programs: reports.map(summarizeProgram),
    };
  }

  /** The counters of a program's cells, by cell id. */
  async counters(programId: string): Promise<Map<string, CellCounters>> {
    const rows: { cell_id: string; metric: string; value: string }[] = await this.dataSource.query(
      `SELECT cell_id, metric, value FROM report_counter WHERE program_id = $1`,
      [programId],
    );
    const byCell = new Map<string, CellCounters>();
    for (const r of rows) {
      const c = byCell.get(r.cell_id) ?? new Map<string, number>();
      c.set(r.metric, Number(r.value));
      byCell.set(r.cell_id, c);
    }
    return byCell;
  }

  async program(ref: string): Promise<ProgramRow> {
    const rows: ProgramRow[] = await this.dataSource.query(
      `SELECT p.id, p.code, p.name, p.channel, p.state, p.launched_at, p.attribution_window_days, p.managed_by,
              t.waterfall, t.cells AS list_cells
         FROM program p LEFT JOIN target_list t ON t.program_id = p.id
        WHERE ${isUuid(ref) ? 'p.id = $1' : 'lower(p.code) = lower($1)'}`,
      [ref],
    );
    if (!rows.length) throw new NotFoundError('program', ref);
    const program = rows[0];
    if (program.managed_by) {
      // A drip's or rule's program grows a customer at a time: its members are who was given a cell so far.
      program.list_cells = await this.dataSource.query(
        `SELECT ce.code, count(m.customer_id)::int AS members
           FROM cell ce LEFT JOIN program_member m ON m.program_id = ce.program_id AND m.cell_id = ce.id
          WHERE ce.program_id = $1 GROUP BY ce.code, ce.position ORDER BY ce.position`,
        [program.id],
      );
    }
    return program;
  }
}

const n = (c: CellCounters | undefined, metric: string) => c?.get(metric) ?? 0;

/** Pure: counters + cells -> the report (also used by reconcile to compare figure by figure). */
export function buildReport(
  program: ProgramRow,
  cells: CellRow[],
  counters: Map<string, CellCounters>,
  confidence: number,
): ProgramReport {
  const members = new Map((program.list_cells ?? []).map((c) => [c.code, c.members]));
  const currencies = new Map<string, number>();
  const cellReports: CellReport[] = cells.map((cell) => {
    const c = counters.get(cell.id);
    for (const [metric, value] of c ?? []) {
      if (metric.startsWith('currency:'))
        currencies.set(metric.slice(9), (currencies.get(metric.slice(9)) ?? 0) + value);
    }
    const m = members.get(cell.code) ?? 0;
    const sent = n(c, 'state:sent');
    const delivered = sent + n(c, 'state:delivered');
    const contacted = delivered + n(c, 'state:bounced') + n(c, 'state:unknown');
    const conversions = n(c, 'unique:conversion');
    const revenue = n(c, 'revenue');
    const opens = n(c, 'unique:open');
    const clicks = n(c, 'unique:click');
    const perDelivered = (x: number) =>
      delivered > 0
        ? { rate: Math.min(1, x / delivered), ci: wilsonInterval(Math.min(x, delivered), delivered, confidence) }
        : null;
    const openRate = perDelivered(n(c, 'unique:open-human'));
    const clickRate = perDelivered(n(c, 'unique:click-human'));
    return {
      code: cell.code,
      name: cell.name,
      isControl: cell.is_control,
      responseCode: cell.response_code,
      members: m,
      contacted,
      delivered,
      bounced: n(c, 'state:bounced'),
      opens,
      opensHuman: n(c, 'unique:open-human'),
      clicks,
      clicksHuman: n(c, 'unique:click-human'),
      unsubscribes: n(c, 'unique:unsubscribe'),
      complaints: n(c, 'unique:complaint'),
      conversions,
      conversionEvents: n(c, 'events:conversion'),
      revenue,
      revenuePerMember: m > 0 ? revenue / m : 0,
      conversionRate: m > 0 ? Math.min(1, conversions / m) : 0,
      conversionRateCi: wilsonInterval(Math.min(conversions, m), m, confidence),
      openRate: openRate?.rate ?? null,
      openRateCi: openRate?.ci ?? null,
      clickRate: clickRate?.rate ?? null,
      clickRateCi: clickRate?.ci ?? null,
    };
  });

  const reference = cellReports.find((c) => c.isControl) ?? cellReports[0];
  const treatments = cellReports.filter((c) => c !== reference);
  const rateComparisons: Comparison[] = treatments.map((cell) => rateComparison(cell, reference, confidence));
  const revenueComparisons: Comparison[] = treatments.map((cell) =>
    revenueComparison(cell, reference, counters, cells, confidence),
  );
  for (const group of [rateComparisons, revenueComparisons]) {
    const adjusted = holmAdjust(group.map((g) => g.pValue));
    group.forEach((g, i) => {
      g.adjustedPValue = adjusted[i];
      g.significant = g.adjustedPValue !== null && g.adjustedPValue < 1 - confidence && !g.smallSample;
    });
  }
  const comparisons = [...rateComparisons, ...revenueComparisons];
  const populated = cellReports.filter((c) => c.members > 0);
  let overall: ProgramReport['overall'] = null;
  if (populated.length >= 2) {
    const test = chiSquareTest(populated.map((c) => ({ successes: Math.min(c.conversions, c.members), n: c.members })));
    overall = {
      test: 'chi-square',
      statistic: test.statistic,
      df: test.df,
      pValue: test.smallSample ? null : test.pValue,
      smallSample: test.smallSample,
    };
  }
  const currency = [...currencies].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  const report: ProgramReport = {
    program: {
      id: program.id,
      code: program.code,
      name: program.name,
      channel: program.channel,
      state: program.state,
      launchedAt: program.launched_at ? new Date(program.launched_at).toISOString() : null,
      attributionWindowDays: program.attribution_window_days,
    },
    confidence,
    currency,
    generatedAt: new Date().toISOString(),
    waterfall: (program.waterfall ?? []).map((w) => ({ step: w.step, remaining: w.remaining, removed: w.removed })),
    cells: cellReports,
    comparisons,
    overall,
    verdict: '',
  };
  report.verdict = verdictOf(report, (baseline, effect) => membersToDetect(baseline, effect, 1 - confidence, 0.8));
  return report;
}

function rateComparison(cell: CellReport, reference: CellReport, confidence: number): Comparison {
  const [x1, n1, x2, n2] = [
    Math.min(cell.conversions, cell.members),
    cell.members,
    Math.min(reference.conversions, reference.members),
    reference.members,
  ];
  const usable = n1 > 0 && n2 > 0;
  const test = usable ? twoProportionTest(x1, n1, x2, n2) : null;
  const small = !test || test.smallSample || n1 < 2 || n2 < 2;
  return {
    cell: cell.code,
    against: reference.code,
    metric: 'conversionRate',
    absoluteLift: cell.conversionRate - reference.conversionRate,
    relativeLift: reference.conversionRate > 0 ? cell.conversionRate / reference.conversionRate - 1 : null,
    ci: usable ? newcombeInterval(x1, n1, x2, n2, confidence) : [-1, 1],
    relativeCi: usable ? relativeLiftInterval(x1, n1, x2, n2, confidence) : null,
    pValue: small ? null : test!.pValue,
    adjustedPValue: null,
    significant: false,
    test: 'two-proportion z',
    smallSample: small,
  };
}

function revenueComparison(
  cell: CellReport,
  reference: CellReport,
  counters: Map<string, CellCounters>,
  cells: CellRow[],
  confidence: number,
): Comparison {
  const stats = (c: CellReport) => {
    const id = cells.find((x) => x.code === c.code)!.id;
    const sumSq = n(counters.get(id), 'revenue_sq');
    const mean = c.members > 0 ? c.revenue / c.members : 0;
    const variance = c.members > 1 ? Math.max(0, (sumSq - c.members * mean * mean) / (c.members - 1)) : 0;
    return { mean, variance, n: c.members };
  };
  const a = stats(cell);
  const b = stats(reference);
  const test = welchTest(a, b, confidence);
  const small = !test || Math.min(cell.conversions, reference.conversions) < 5;
  return {
    cell: cell.code,
    against: reference.code,
    metric: 'revenuePerMember',
    absoluteLift: a.mean - b.mean,
    relativeLift: b.mean > 0 ? a.mean / b.mean - 1 : null,
    ci: test?.ci ?? [a.mean - b.mean, a.mean - b.mean],
    relativeCi: null,
    pValue: small ? null : test!.pValue,
    adjustedPValue: null,
    significant: false,
    test: 'welch t',
    smallSample: small,
  };
}
