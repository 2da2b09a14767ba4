import { DRIP_REPORT_CSV_COLUMNS, dripReportCsv } from './drip-report-csv';
import { programReportCsv } from './report-csv';
import { csvRecords, parseCsv } from './testing/csv-parse';
import { dripReportFixture } from './testing/drip-report-fixture';

describe('dripReportCsv', () => {
  const csv = dripReportCsv(dripReportFixture());
  const records = csvRecords(csv);
  const stepLine = (id: string) => records.find((r) => r.row === 'step' && r.step === id);

  it('writes a header, the steps with their exits, then the cells and comparisons of each split and main', () => {
    expect(csv.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(csv);
    expect(rows[0]).toEqual([...DRIP_REPORT_CSV_COLUMNS]);
    expect(new Set(rows[0]).size).toBe(rows[0].length);
    for (const r of rows) expect(r).toHaveLength(DRIP_REPORT_CSV_COLUMNS.length);
    expect(records.map((r) => `${r.row} ${r.step || r.split || r.program}`)).toEqual([
      'step start',
      'step-exit start',
      'step-exit start',
      'step welcome',
      'step ab',
      'step offer-a',
      'step offer-b',
      'step clicked',
      'step tag',
      'step bye',
      'step-exit bye',
      'step remind',
      ...['cell', 'cell', 'cell', 'comparison', 'comparison'].map((row) => `${row} ab`),
      ...['cell', 'cell', 'cell', 'comparison', 'comparison'].map((row) => `${row} drip:WELCOME`),
    ]);
  });

  it("gives each step's figures", () => {
    expect(stepLine('start')).toMatchObject({
      type: 'wait',
      summary: 'wait P1D',
      retired: 'false',
      entered: '1200',
      current: '50',
      exited: '30',
      completed: '0',
      sent: '',
      delivered: '',
      openRate: '',
      converted: '',
    });
    expect(stepLine('welcome')).toMatchObject({
      type: 'send',
      summary: 'send WELCOME-1 (email)',
      entered: '1120',
      current: '0',
      exited: '0',
      sent: '1000',
      heldOut: '100',
      failed: '20',
      delivered: '980',
      opened: '392',
      clicked: '98',
      converted: '27',
      openRate: '0.4',
      clickRate: '0.1',
      split: '',
      code: '',
    });
    expect(stepLine('tag')).toMatchObject({ type: 'update', current: '10', completed: '330' });
    expect(stepLine('remind')).toMatchObject({
      retired: 'true',
      completed: '80',
      openRate: '0.2564102564102564',
      clickRate: '0.05128205128205128',
    });
    const steps = records.filter((r) => r.row === 'step');
    const sum = (column: string) => steps.reduce((s, r) => s + Number(r[column]), 0);
    const { enrollments } = dripReportFixture();
    expect([sum('current'), sum('completed'), sum('exited')]).toEqual([
      enrollments.active,
      enrollments.completed,
      enrollments.exited,
    ]);
  });

  it('writes exit reasons as lines of their own, numbers kept numeric', () => {
    const exits = records.filter((r) => r.row === 'step-exit');
    expect(exits.map((r) => [r.step, r.exitReason, r.exited])).toEqual([
      ['start', 'converted', '20'],
      ['start', 'unsubscribed', '10'],
      ['bye', 'exit step', '700'],
    ]);
    expect(exits[0]).toMatchObject({ entered: '', summary: '', type: '' });
  });

  it("gives each split's cells and comparisons as the program report's CSV does, with the split and its program", () => {
    const report = dripReportFixture();
    const program = csvRecords(programReportCsv(report.splits[0].report));
    const split = records.filter((r) => r.split === 'ab');
    expect(split).toHaveLength(program.length);
    split.forEach((line, i) => {
      expect(line.program).toBe('drip:WELCOME:ab');
      for (const [column, value] of Object.entries(program[i])) expect([column, line[column]]).toEqual([column, value]);
    });
    expect(split[0]).toMatchObject({ row: 'cell', code: 'A', members: '10000', delivered: '9800', step: '' });
    expect(split[3]).toMatchObject({ row: 'comparison', cell: 'A', against: 'CTRL', absoluteLift: '0.007' });
    const main = records.filter((r) => r.program === 'drip:WELCOME');
    expect(main.map((r) => r.split)).toEqual(['', '', '', '', '']);
    expect(main[2]).toMatchObject({ row: 'cell', code: 'CTRL', isControl: 'true', conversions: '48' });
  });

  it('writes a drip without splits or main as its steps alone', () => {
    const report = { ...dripReportFixture(), splits: [], main: null };
    const rows = csvRecords(dripReportCsv(report));
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.row.startsWith('step'))).toBe(true);
  });

  it('defuses formulas and quotes text in step ids, summaries, reasons and program codes', () => {
    const report = dripReportFixture();
    report.steps[0].id = '=HYPERLINK("http://evil.example","x")';
    report.steps[0].summary = 'wait, then "see"';
    report.steps[0].exitReasons = { '@reason': 30 };
    report.splits[0].step = '+ab';
    report.splits[0].program = '-drip';
    const rows = csvRecords(dripReportCsv(report));
    expect(rows[0]).toMatchObject({ step: `'=HYPERLINK("http://evil.example","x")`, summary: 'wait, then "see"' });
    expect(rows[1]).toMatchObject({ row: 'step-exit', exitReason: "'@reason", exited: '30' });
    expect(rows.find((r) => r.split === "'+ab")).toMatchObject({ program: "'-drip", code: 'A' });
  });
});
