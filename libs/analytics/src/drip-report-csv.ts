import { csvTable } from './csv-kit';
import type { DripReport, DripSplitReport, DripStepReport } from './drip-report-types';
import { CELL_COLUMNS, COMPARISON_COLUMNS, programReportLines } from './report-csv';

/**
 * The drip report as one CSV (RFC 4180, CRLF), shaped like the program report's: a `row` column says
 * what a line holds and the columns that do not apply stay empty, so a spreadsheet can sum any column
 * over the lines of one kind:
 *
 * - `step`: one per step, in the report's order (retired steps of earlier versions last);
 * - `step-exit`: after a step, one per reason enrollments left the drip there (`exitReason`, `exited`);
 * - `cell` / `comparison`: for each split, then for the drip's own program (`main`), the lines the
 *   program report's CSV gives, with `split` (the split step's id; empty for `main`) and `program`.
 *
 * A step's `delivered`, `openRate` and `clickRate` share the cells' columns: the same figures (per
 * delivered message, people only). Numbers are plain decimals; every text value goes through core
 * `csvField` (quoted, formulas defused).
 */
const STEP_COLUMNS = [
  'step',
  'type',
  'summary',
  'retired',
  'entered',
  'current',
  'exited',
  'exitReason',
  'completed',
  'sent',
  'delivered',
  'heldOut',
  'failed',
  'opened',
  'clicked',
  'converted',
  'openRate',
  'clickRate',
] as const;

const SHARED = new Set<string>(STEP_COLUMNS);

export const DRIP_REPORT_CSV_COLUMNS = [
  'row',
  'split',
  'program',
  ...STEP_COLUMNS,
  ...CELL_COLUMNS.filter((c) => !SHARED.has(c)),
  ...COMPARISON_COLUMNS,
] as const;

type Column = (typeof DRIP_REPORT_CSV_COLUMNS)[number];
/** A program report's line is one too: its columns are all here. */
type Line = Partial<Record<Column, string | number | boolean | null | undefined>>;

export function dripReportCsv(report: DripReport): string {
  const lines: Line[] = report.steps.flatMap(stepLines);
  for (const split of report.splits) lines.push(...splitLines(split, split.step));
  if (report.main) lines.push(...splitLines(report.main, null));
  return csvTable(DRIP_REPORT_CSV_COLUMNS, lines);
}

function stepLines(s: DripStepReport & { retired: boolean }): Line[] {
  const step: Line = {
    row: 'step',
    step: s.id,
    type: s.type,
    summary: s.summary,
    retired: s.retired,
    entered: s.entered,
    current: s.current,
    exited: s.exited,
    completed: s.completed,
    sent: s.sent,
    delivered: s.delivered,
    heldOut: s.heldOut,
    failed: s.failed,
    opened: s.opened,
    clicked: s.clicked,
    converted: s.converted,
    openRate: s.openRate,
    clickRate: s.clickRate,
  };
  const exits = Object.entries(s.exitReasons).map(([reason, n]): Line => ({
    row: 'step-exit',
    step: s.id,
    exitReason: reason,
    exited: n,
  }));
  return [step, ...exits];
}

function splitLines(split: DripSplitReport, step: string | null): Line[] {
  return programReportLines(split.report).map((line) => ({ ...line, split: step, program: split.program }));
}
