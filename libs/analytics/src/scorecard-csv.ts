import { csvTable } from './csv-kit';
import type { ContactFigures, MoneyFigures, Scorecard } from './scorecard-types';

/**
 * The scorecard as one CSV (RFC 4180, CRLF), shaped like the program report's: a `row` column says
 * what a line holds and the columns that do not apply stay empty, so no figure is ever repeated (a
 * spreadsheet can sum any column over lines of one kind):
 *
 * - `summary`: the period, customers total, new and lost;
 * - `money`: orders of the period in one currency (one line per currency);
 * - `stage` / `segment`: customers of a lifecycle stage or saved segment, then `stage-money` /
 *   `segment-money` lines with their orders per currency;
 * - `program`: one per program launched in the period; `channel`: per channel; `contact`: all programs.
 *
 * Numbers are plain decimals; every text value goes through core `csvField` (quoted, formulas defused).
 */
export const SCORECARD_CSV_COLUMNS = [
  'row',
  'key',
  'name',
  'from',
  'to',
  'customers',
  'newCustomers',
  'lostCustomers',
  'currency',
  'orders',
  'buyers',
  'revenue',
  'margin',
  'ordersWithMargin',
  'averageOrderValue',
  'channel',
  'state',
  'launchedAt',
  'programs',
  'members',
  'contacted',
  'delivered',
  'bounced',
  'responders',
  'conversions',
  'unsubscribes',
  'complaints',
  'responseRate',
  'conversionRate',
  'unsubscribeRate',
  'bounceRate',
  'complaintRate',
  'error',
] as const;

type Column = (typeof SCORECARD_CSV_COLUMNS)[number];
type Value = string | number | boolean | null | undefined;
type Line = Partial<Record<Column, Value>>;

export function scorecardCsv(scorecard: Scorecard): string {
  const lines: Line[] = [
    {
      row: 'summary',
      from: scorecard.period.from,
      to: scorecard.period.to,
      customers: scorecard.customers.total,
      newCustomers: scorecard.customers.new,
      lostCustomers: scorecard.customers.lost,
    },
    ...scorecard.money.map((m) => ({ row: 'money', ...money(m) })),
  ];
  for (const s of scorecard.lifecycleStages) {
    lines.push({ row: 'stage', key: s.stage, customers: s.customers });
    for (const m of s.money) lines.push({ row: 'stage-money', key: s.stage, ...money(m) });
  }
  for (const s of scorecard.segments) {
    lines.push({ row: 'segment', key: s.code, name: s.name, customers: s.customers, error: s.error });
    for (const m of s.money) lines.push({ row: 'segment-money', key: s.code, ...money(m) });
  }
  for (const p of scorecard.programs) {
    lines.push({
      row: 'program',
      key: p.code,
      name: p.name,
      channel: p.channel,
      state: p.state,
      launchedAt: p.launchedAt,
      currency: p.currency,
      revenue: p.revenue,
      ...contact(p),
    });
  }
  for (const c of scorecard.channels) {
    lines.push({ row: 'channel', key: c.channel, channel: c.channel, programs: c.programs, ...contact(c) });
  }
  lines.push({
    row: 'contact',
    key: 'all',
    programs: scorecard.programs.length + scorecard.programsOmitted,
    ...contact(scorecard.contact),
  });
  return csvTable(SCORECARD_CSV_COLUMNS, lines);
}

function money(m: MoneyFigures): Line {
  return {
    currency: m.currency,
    orders: m.orders,
    buyers: m.buyers,
    revenue: m.revenue,
    margin: m.margin,
    ordersWithMargin: m.ordersWithMargin,
    averageOrderValue: m.averageOrderValue,
  };
}

function contact(c: ContactFigures): Line {
  return {
    members: c.members,
    contacted: c.contacted,
    delivered: c.delivered,
    bounced: c.bounced,
    responders: c.responders,
    conversions: c.conversions,
    unsubscribes: c.unsubscribes,
    complaints: c.complaints,
    responseRate: c.responseRate,
    conversionRate: c.conversionRate,
    unsubscribeRate: c.unsubscribeRate,
    bounceRate: c.bounceRate,
    complaintRate: c.complaintRate,
  };
}
