import { clip, count, esc, htmlPage, money, num, pageStyle, pct, ratePairChart, svg, when } from './html-kit';
import type { ContactFigures, MoneyFigures, ProgramFigures, Scorecard } from './scorecard-types';

/**
 * The scorecard as one self-contained HTML page for people, like the program report's: inline CSS,
 * charts as inline SVG drawn here (no scripts, no fonts, no network), every dynamic value escaped.
 * Pure and synchronous.
 */
export function scorecardHtml(scorecard: Scorecard): string {
  const { period, customers } = scorecard;
  const range = `${when(period.from)} to ${when(period.to)}`;
  return htmlPage({
    title: `Scorecard: ${day(period.from)} to ${lastDay(period.to)}`,
    style: STYLE,
    heading: 'Customer scorecard',
    name: range,
    facts: [
      ['From', when(period.from)],
      ['Up to (not included)', when(period.to)],
      ['Generated', when(scorecard.generatedAt)],
    ],
    body: `<section class="kpis">
${kpi('Customers', esc(count(customers.total)), 'now, erased ones left out')}
${kpi('New customers', esc(count(customers.new)), 'first order in the period')}
${kpi('Lost customers', esc(count(customers.lost)), 'became lapsed in the period')}
${kpi(
  'Revenue',
  moneyList(scorecard.money, (m) => m.revenue),
  `${count(sum(scorecard.money, (m) => m.orders))} orders`,
)}
${kpi(
  'Average order value',
  moneyList(scorecard.money, (m) => m.averageOrderValue),
  'revenue per order',
)}
${kpi('Response rate', esc(pct(scorecard.contact.responseRate)), `${count(scorecard.contact.responders)} of ${count(scorecard.contact.contacted)} contacted`)}
${kpi('Conversion rate', esc(pct(scorecard.contact.conversionRate)), `${count(scorecard.contact.conversions)} of ${count(scorecard.contact.members)} members`)}
</section>
<section><h2>Customers by lifecycle stage</h2>
<p class="hint">${esc(stageHint(scorecard))}</p>
${barChart(
  'stage-chart',
  'Customers by lifecycle stage',
  scorecard.lifecycleStages.map((s) => ({ label: s.stage, value: s.customers })),
  customers.total,
)}
${stageTable(scorecard)}
</section>
<section><h2>Segments</h2>
${segmentSection(scorecard)}
</section>
<section><h2>Revenue and margin</h2>
<p class="hint">Orders placed in the period, per currency (amounts in different currencies are never added).</p>
${moneyTable(scorecard.money)}
</section>
<section><h2>Programs launched in the period</h2>
<p class="hint">Figures to date. Response rate: contacted members who clicked (people only) or converted, out of those contacted. Conversion rate: members who converted, out of every member (control included).</p>
${programChart(scorecard.programs)}
${programTable(scorecard)}
</section>
<section><h2>Channels and deliverability</h2>
<p class="hint">Unsubscribe and complaint rates per delivered message (complaints to three decimals: mailbox providers act from 0.1%); bounce rate per contacted.</p>
${channelTable(scorecard)}
</section>`,
    footer: `Scorecard for ${range} · generated ${when(scorecard.generatedAt)}`,
  });
}

const STYLE = pageStyle({
  name: 'font-weight:400;color:#444;font-size:1.1rem',
  header: [
    '.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.8rem;margin:1.5rem 0}',
    '.kpi{border-left:.4rem solid #1f4fd1;background:#eef3ff;padding:.6rem .9rem}',
    '.kpi .label{color:#444;font-size:.85rem}.kpi .value{font-size:1.35rem;font-weight:600;font-variant-numeric:tabular-nums}',
    '.kpi .sub{color:#666;font-size:.8rem}',
  ],
  tables: ['tr.total td{font-weight:600;border-top:2px solid #ccc}'],
  text: ['.note{color:#8a5a00}'],
  print: '.kpi{background:none}',
});

const COLOURS = { bar: '#1f4fd1', response: '#1f4fd1', conversion: '#f08c00' };

// ---------------------------------------------------------------- formatting

/** `valueHtml` is markup its caller escaped. */
function kpi(label: string, valueHtml: string, sub: string): string {
  return `<div class="kpi"><div class="label">${esc(label)}</div><div class="value">${valueHtml}</div><div class="sub">${esc(sub)}</div></div>`;
}

function day(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().slice(0, 10);
}

/** The last day the period includes: `to` is excluded, so a period up to April 1 00:00 ends on March 31. */
function lastDay(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : new Date(date.getTime() - 1).toISOString().slice(0, 10);
}

/** One figure per currency, each on its own line (escaped markup); a dash when there is no money. */
function moneyList(figures: MoneyFigures[], pick: (m: MoneyFigures) => number | null): string {
  if (figures.length === 0) return '–';
  return figures.map((m) => `<span class="money">${esc(money(pick(m), m.currency))}</span>`).join('<br>');
}

function sum<T>(items: T[], pick: (t: T) => number): number {
  return items.reduce((a, t) => a + pick(t), 0);
}

// ---------------------------------------------------------------- charts

/** Horizontal bars of counts, each labelled with its count and its share of `total`. */
function barChart(id: string, title: string, bars: { label: string; value: number }[], total: number): string {
  if (bars.length === 0) return '';
  const width = 760;
  const left = 180;
  const right = 170;
  const row = 28;
  const top = 6;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const w = (n: number) => (Math.max(n, 0) / max) * (width - left - right);
  const share = (n: number) => (total > 0 ? ` (${pct(n / total)})` : '');
  const rows = bars.map((b, i) => {
    const y = top + i * row;
    return `<g class="bar" data-key="${esc(b.label)}"><title>${esc(`${b.label}: ${count(b.value)}${share(b.value)}`)}</title>
<text x="${left - 8}" y="${y + 18}" text-anchor="end" font-size="12">${esc(clip(b.label, 26))}</text>
<rect x="${left}" y="${y + 5}" width="${num(w(b.value))}" height="${row - 9}" fill="${COLOURS.bar}" fill-opacity="0.8"/>
<text x="${num(left + w(b.value) + 6)}" y="${y + 18}" font-size="12">${esc(`${count(b.value)}${share(b.value)}`)}</text></g>`;
  });
  return svg(
    id,
    width,
    top + row * bars.length + 6,
    title,
    bars.map((b) => `${b.label}: ${count(b.value)}${share(b.value)}`).join('; '),
    rows.join('\n'),
  );
}

/** Response and conversion rate per program, side by side, on one percentage axis. */
function programChart(programs: ProgramFigures[]): string {
  if (programs.length === 0) return '';
  return ratePairChart({
    id: 'program-chart',
    title: 'Response and conversion rate per program',
    desc: programs
      .map((p) => `${p.code}: response ${pct(p.responseRate)}, conversion ${pct(p.conversionRate)}`)
      .join('; '),
    group: { className: 'program-rates', data: 'program' },
    series: [
      { legend: 'response rate', legendAt: 0, colour: COLOURS.response, opacity: '0.8', className: 'response-bar' },
      {
        legend: 'conversion rate',
        legendAt: 110,
        colour: COLOURS.conversion,
        opacity: '0.85',
        className: 'conversion-bar',
      },
    ],
    rows: programs.map((p) => ({
      key: p.code,
      title: `${p.code}: response ${pct(p.responseRate)}, conversion ${pct(p.conversionRate)}`,
      label: clip(`${p.code} · ${p.channel}`, 28),
      bars: [
        { value: p.responseRate ?? 0, text: `${pct(p.responseRate)} responded` },
        { value: p.conversionRate ?? 0, text: `${pct(p.conversionRate)} converted` },
      ],
    })),
  });
}

// ---------------------------------------------------------------- tables

const n = (v: number | null | undefined) => `<td class="n">${esc(count(v))}</td>`;
const r = (v: number | null, digits?: number) => `<td class="n">${esc(pct(v, digits))}</td>`;
const moneyCell = (figures: MoneyFigures[], pick: (m: MoneyFigures) => number | null) =>
  `<td class="n">${moneyList(figures, pick)}</td>`;
const moneyCells = (figures: MoneyFigures[]) =>
  `<td class="n">${figures.length ? figures.map((m) => esc(count(m.orders))).join('<br>') : '0'}</td>\
${moneyCell(figures, (m) => m.revenue)}${moneyCell(figures, (m) => m.margin)}${moneyCell(figures, (m) => m.averageOrderValue)}`;
const MONEY_HEADERS =
  '<th class="n">Orders</th><th class="n">Revenue</th><th class="n">Margin</th><th class="n">Average order</th>';

function stageHint(scorecard: Scorecard): string {
  const t = scorecard.lifecycleThresholds;
  return (
    `Stages from purchase timing, recomputed daily: new = first order within ${t.newWithinDays} days; ` +
    `active = last order within ${t.activeWithinDays} days; won-back = active after a gap of more than ` +
    `${t.wonBackGapDays} days; at-risk = last order ${t.activeWithinDays + 1} to ${t.lapsedAfterDays} days ago; ` +
    `lapsed = more than ${t.lapsedAfterDays} days; prospect = no order. Orders of the period count under their customer's stage today.`
  );
}

function stageTable(scorecard: Scorecard): string {
  const total = scorecard.customers.total;
  const rows = scorecard.lifecycleStages.map(
    (s) =>
      `<tr><td>${esc(s.stage)}</td>${n(s.customers)}<td class="n">${esc(total > 0 ? pct(s.customers / total) : '–')}</td>${moneyCells(s.money)}</tr>`,
  );
  return `<table class="stages"><thead><tr><th>Stage</th><th class="n">Customers</th><th class="n">Share</th>${MONEY_HEADERS}</tr></thead>
<tbody>
${rows.join('\n')}
<tr class="total"><td>All customers</td>${n(total)}<td class="n"></td>${moneyCells(scorecard.money)}</tr>
</tbody></table>`;
}

function segmentSection(scorecard: Scorecard): string {
  const omitted = scorecard.segmentsOmitted
    ? `<p class="hint note">${esc(`${count(scorecard.segmentsOmitted)} more segment(s) not computed: the scorecard shows the first ${scorecard.segments.length} by code.`)}</p>`
    : '';
  if (scorecard.segments.length === 0) return `<p class="hint">No saved segments.</p>${omitted}`;
  const chart = barChart(
    'segment-chart',
    'Customers per segment',
    scorecard.segments.filter((s) => s.customers !== null).map((s) => ({ label: s.code, value: s.customers! })),
    scorecard.customers.total,
  );
  const rows = scorecard.segments.map(
    (s) =>
      `<tr><td><strong>${esc(s.code)}</strong><span class="sub">${esc(s.name)}</span>${s.error ? `<span class="sub note">${esc(s.error)}</span>` : ''}</td>\
${n(s.customers)}${moneyCells(s.money)}</tr>`,
  );
  return `<p class="hint">Members now (saved criteria evaluated today); their orders placed in the period.</p>
${chart}
<table class="segments"><thead><tr><th>Segment</th><th class="n">Customers</th>${MONEY_HEADERS}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>${omitted}`;
}

function moneyTable(figures: MoneyFigures[]): string {
  if (figures.length === 0) return '<p class="hint">No orders in the period.</p>';
  const rows = figures.map(
    (m) =>
      `<tr><td>${esc(m.currency)}</td>${n(m.orders)}${n(m.buyers)}<td class="n">${esc(money(m.revenue, m.currency))}</td>\
<td class="n">${esc(money(m.margin, m.currency))}<span class="sub">${esc(`${count(m.ordersWithMargin)} of ${count(m.orders)} orders with a margin`)}</span></td>\
<td class="n">${esc(money(m.averageOrderValue, m.currency))}</td></tr>`,
  );
  return `<table class="money"><thead><tr><th>Currency</th><th class="n">Orders</th><th class="n">Buyers</th><th class="n">Revenue</th><th class="n">Margin</th><th class="n">Average order</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>`;
}

const CONTACT_HEADERS =
  '<th class="n">Members</th><th class="n">Contacted</th><th class="n">Responders</th><th class="n">Response rate</th>' +
  '<th class="n">Conversions</th><th class="n">Conversion rate</th>';
const contactCells = (c: ContactFigures) =>
  `${n(c.members)}${n(c.contacted)}${n(c.responders)}${r(c.responseRate)}${n(c.conversions)}${r(c.conversionRate)}`;

function programTable(scorecard: Scorecard): string {
  const omitted = scorecard.programsOmitted
    ? `<p class="hint note">${esc(`${count(scorecard.programsOmitted)} more program(s) launched in the period are counted in the channel figures but not listed.`)}</p>`
    : '';
  if (scorecard.programs.length === 0) return `<p class="hint">No program was launched in the period.</p>${omitted}`;
  const rows = scorecard.programs.map(
    (p) =>
      `<tr><td><strong>${esc(p.code)}</strong><span class="sub">${esc(p.name)}</span></td><td>${esc(p.channel)}<span class="sub">${esc(p.state)}</span></td>\
<td>${esc(when(p.launchedAt))}</td>${contactCells(p)}<td class="n">${esc(money(p.revenue, p.currency))}</td></tr>`,
  );
  return `<table class="programs"><thead><tr><th>Program</th><th>Channel</th><th>Launched</th>${CONTACT_HEADERS}<th class="n">Revenue</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>${omitted}`;
}

function channelTable(scorecard: Scorecard): string {
  const row = (label: string, programs: number, c: ContactFigures, total = false) =>
    `<tr${total ? ' class="total"' : ''}><td>${esc(label)}</td>${n(programs)}${contactCells(c)}\
${n(c.delivered)}${n(c.unsubscribes)}${r(c.unsubscribeRate)}${n(c.bounced)}${r(c.bounceRate)}${n(c.complaints)}${r(c.complaintRate, 3)}</tr>`;
  const label = { email: 'Email', sms: 'SMS' } as const;
  const rows = scorecard.channels.map((c) => row(label[c.channel] ?? c.channel, c.programs, c));
  const all = scorecard.programs.length + scorecard.programsOmitted;
  return `<table class="channels"><thead><tr><th>Channel</th><th class="n">Programs</th>${CONTACT_HEADERS}\
<th class="n">Delivered</th><th class="n">Unsubscribes</th><th class="n">Unsubscribe rate</th><th class="n">Bounced</th><th class="n">Bounce rate</th><th class="n">Complaints</th><th class="n">Complaint rate</th></tr></thead>
<tbody>
${rows.join('\n')}
${row('All programs', all, scorecard.contact, true)}
</tbody></table>`;
}
