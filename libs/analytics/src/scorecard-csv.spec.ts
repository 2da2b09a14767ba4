import { SCORECARD_CSV_COLUMNS, scorecardCsv } from './scorecard-csv';
import { csvRecords, parseCsv } from './testing/csv-parse';
import { scorecardFixture } from './testing/scorecard-fixture';

describe('scorecardCsv', () => {
  const csv = scorecardCsv(scorecardFixture());
  const rows = csvRecords(csv);
  const of = (kind: string) => rows.filter((r) => r.row === kind);

  it('writes a header and one line per figure group, CRLF-terminated, every line as wide as the header', () => {
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.split('\r\n')[0]).toBe(
      'row,key,name,from,to,customers,newCustomers,lostCustomers,currency,orders,buyers,revenue,margin,' +
        'ordersWithMargin,averageOrderValue,channel,state,launchedAt,programs,members,contacted,delivered,bounced,' +
        'responders,conversions,unsubscribes,complaints,responseRate,conversionRate,unsubscribeRate,bounceRate,' +
        'complaintRate,error',
    );
    for (const r of parseCsv(csv)) expect(r).toHaveLength(SCORECARD_CSV_COLUMNS.length);
    expect(rows.map((r) => r.row)).toEqual([
      'summary',
      'money',
      'money',
      'stage',
      'stage',
      'stage-money',
      'stage',
      'stage-money',
      'stage-money',
      'stage',
      'stage-money',
      'stage',
      'stage',
      'stage-money',
      'segment',
      'segment-money',
      'segment',
      'program',
      'program',
      'channel',
      'channel',
      'contact',
    ]);
  });

  it('gives the period and the customer counts on the summary line', () => {
    expect(of('summary')[0]).toMatchObject({
      from: '2026-03-01T00:00:00.000Z',
      to: '2026-04-01T00:00:00.000Z',
      customers: '1200',
      newCustomers: '45',
      lostCustomers: '30',
      currency: '',
      revenue: '',
    });
  });

  it('gives money per currency, never summed across currencies, with negative margins as numbers', () => {
    expect(of('money')).toEqual([
      expect.objectContaining({
        currency: 'EUR',
        orders: '300',
        buyers: '210',
        revenue: '1534500',
        margin: '420000',
        ordersWithMargin: '280',
        averageOrderValue: '5115',
        customers: '',
      }),
      expect.objectContaining({ currency: 'JPY', revenue: '120000', margin: '-5000', averageOrderValue: '12000' }),
    ]);
    expect(csv).not.toContain("'-5000");
  });

  it('lists the six stages with their customers, and their orders on lines of their own', () => {
    expect(of('stage').map((r) => [r.key, r.customers])).toEqual([
      ['prospect', '400'],
      ['new', '100'],
      ['active', '350'],
      ['at-risk', '150'],
      ['lapsed', '180'],
      ['won-back', '20'],
    ]);
    expect(of('stage').every((r) => r.revenue === '' && r.currency === '')).toBe(true);
    const money = of('stage-money');
    expect(money.map((r) => [r.key, r.currency, r.revenue])).toEqual([
      ['new', 'EUR', '300000'],
      ['active', 'EUR', '1034500'],
      ['active', 'JPY', '120000'],
      ['at-risk', 'EUR', '50000'],
      ['won-back', 'EUR', '150000'],
    ]);
    expect(money.every((r) => r.customers === '')).toBe(true);
    // the stage lines add up to the totals
    const eur = money.filter((r) => r.currency === 'EUR');
    expect(eur.reduce((a, r) => a + Number(r.revenue), 0)).toBe(1_534_500);
    expect(of('stage').reduce((a, r) => a + Number(r.customers), 0)).toBe(1200);
  });

  it('gives segments with members and money, and the error of one that no longer compiles', () => {
    const [vip, gone] = of('segment');
    expect(vip).toMatchObject({ key: 'VIP', name: 'Best customers', customers: '120', error: '' });
    expect(gone).toMatchObject({ key: 'GONE', customers: '', error: 'segment "old" does not exist' });
    expect(of('segment-money')).toEqual([
      expect.objectContaining({
        key: 'VIP',
        currency: 'EUR',
        orders: '90',
        revenue: '700000',
        averageOrderValue: '7777.777777777777',
      }),
    ]);
  });

  it('gives each program its contact figures and rates, empty where a rate has no denominator', () => {
    const [spring, flash] = of('program');
    expect(spring).toMatchObject({
      key: 'SPRING25',
      name: 'Spring sale 2025',
      channel: 'email',
      state: 'completed',
      launchedAt: '2026-03-03T08:00:00.000Z',
      currency: 'EUR',
      revenue: '1534500',
      members: '10000',
      contacted: '9000',
      delivered: '8800',
      bounced: '200',
      responders: '450',
      conversions: '310',
      unsubscribes: '44',
      complaints: '3',
      responseRate: '0.05',
      conversionRate: '0.031',
      unsubscribeRate: '0.005',
      bounceRate: '0.022222222222222223',
      complaintRate: '0.0003409090909090909',
    });
    expect(flash).toMatchObject({
      key: 'FLASH-SMS',
      currency: '',
      responseRate: '',
      conversionRate: '',
      bounceRate: '',
    });
    expect(csv).not.toMatch(/\de[-+]?\d/i);
  });

  it('gives per channel and overall figures, the overall line counting every program', () => {
    expect(of('channel').map((r) => [r.key, r.programs, r.responseRate])).toEqual([
      ['email', '1', '0.05'],
      ['sms', '1', ''],
    ]);
    const sc = scorecardFixture();
    sc.programsOmitted = 5;
    const [all] = csvRecords(scorecardCsv(sc)).filter((r) => r.row === 'contact');
    expect(all).toMatchObject({ key: 'all', programs: '7', members: '10000', complaintRate: '0.0003409090909090909' });
  });

  it('defuses formulas in every text value with the core helper', () => {
    const sc = scorecardFixture();
    sc.segments[0].code = '=cmd|" /C calc"!A0';
    sc.segments[0].name = '+SUM(A1:A9)';
    sc.programs[0].code = '@PRG';
    sc.programs[0].name = '-2+3';
    sc.segments[1].error = '=HYPERLINK("http://evil.example")';
    const out = csvRecords(scorecardCsv(sc));
    const [vip, gone] = out.filter((r) => r.row === 'segment');
    expect(vip.key).toBe(`'=cmd|" /C calc"!A0`);
    expect(vip.name).toBe("'+SUM(A1:A9)");
    expect(gone.error).toBe(`'=HYPERLINK("http://evil.example")`);
    expect(out.filter((r) => r.row === 'segment-money')[0].key).toBe(`'=cmd|" /C calc"!A0`);
    const [spring] = out.filter((r) => r.row === 'program');
    expect(spring).toMatchObject({ key: "'@PRG", name: "'-2+3", revenue: '1534500' });
  });

  it('writes a period without customers, orders, segments or programs as the fixed lines alone', () => {
    const sc = scorecardFixture();
    sc.customers = { total: 0, new: 0, lost: 0 };
    sc.money = [];
    sc.lifecycleStages = sc.lifecycleStages.map((s) => ({ ...s, customers: 0, money: [] }));
    sc.segments = [];
    sc.segmentsOmitted = 0;
    sc.programs = [];
    sc.channels = sc.channels.map((c) => ({ ...c, ...sc.channels[1], channel: c.channel, programs: 0 }));
    const out = csvRecords(scorecardCsv(sc));
    expect(out.map((r) => r.row)).toEqual([
      'summary',
      'stage',
      'stage',
      'stage',
      'stage',
      'stage',
      'stage',
      'channel',
      'channel',
      'contact',
    ]);
  });
});
