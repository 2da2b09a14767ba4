import type { ContactFigures, MoneyFigures, ProgramFigures, Scorecard } from './scorecard-types';

/**
 * The scorecard as one self-contained HTML page for people, like the program report's: inline CSS,
 * charts as inline SVG drawn here (no scripts, no fonts, no network), every dynamic value escaped.
 * Pure and synchronous.
 */
export function scorecardHtml(scorecard: Scorecard): string {
  const { period, customers } = scorecard;
  const range = `${when(period.from)} to ${when(period.to)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${esc(`Scorecard: ${day(period.from)} to ${lastDay(period.to)}`)}</title>
<style>${STYLE}</style>
</head><body>
<header>
<h1>Customer scorecard <span class="name">${esc(range)}</span></h1>
<dl class="facts">
${fact('From', when(period.from))}
${fact('Up to (not included)', when(period.to))}
${fact('Generated', when(scorecard.generatedAt))}
</dl>
</header>
<section class="kpis">
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
</section>
<footer>Scorecard for ${esc(range)} · generated ${esc(when(scorecard.generatedAt))}</footer>
</body></html>
`;
}

const STYLE = [
  'body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222;background:#fff}',
  'h1{font-size:1.6rem;margin:0 0 .5rem}h1 .name{font-weight:400;color:#444;font-size:1.1rem}',
  'h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}',
  '.facts{display:flex;flex-wrap:wrap;gap:.3rem 1.5rem;margin:0}.facts div{display:flex;gap:.4rem}',
  '.facts dt{color:#666}.facts dd{margin:0;font-weight:600}',
  '.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.8rem;margin:1.5rem 0}',
  '.kpi{border-left:.4rem solid #1f4fd1;background:#eef3ff;padding:.6rem .9rem}',
  '.kpi .label{color:#444;font-size:.85rem}.kpi .value{font-size:1.35rem;font-weight:600;font-variant-numeric:tabular-nums}',
  '.kpi .sub{color:#666;font-size:.8rem}',
  '.hint{color:#666;font-size:.9rem;margin:.2rem 0 .8rem}',
  'table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}',
  'th,td{padding:.35rem .5rem;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}',
  'th{background:#f5f5f5;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}',
  'tr.total td{font-weight:600;border-top:2px solid #ccc}',
  '.sub{display:block;color:#777;font-size:.8rem}',
  '.note{color:#8a5a00}',
  'svg{display:block;max-width:100%;height:auto;margin:.5rem 0;font-family:inherit}',
  'footer{margin:3rem 0 1rem;color:#888;font-size:.8rem}',
  '@media print{body{margin:0;max-width:none}.kpi{background:none}}',
].join('\n');

const COLOURS = { bar: '#1f4fd1', response: '#1f4fd1', conversion: '#f08c00' };
const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

// ---------------------------------------------------------------- formatting

function esc(value: unknown): string {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function fact(label: string, value: string): string {
  return `<div><dt>${esc(label)}</dt><dd>${esc(value)}</dd></div>`;
}

/** `valueHtml` is markup its caller escaped. */
function kpi(label: string, valueHtml: string, sub: string): string {
  return `<div class="kpi"><div class="label">${esc(label)}</div><div class="value">${valueHtml}</div><div class="sub">${esc(sub)}</div></div>`;
}

function count(n: number | null | undefined): string {
  return n !== null && n !== undefined && Number.isFinite(n) ? INT.format(n) : '–';
}

function grouped(n: number, digits: number): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function roundTo(n: number, digits: number): number {
  return Number(n.toFixed(digits));
}

/** A rate (fraction) as a percentage: two decimals under 10%, one above; a dash when there is none. */
function pct(rate: number | null | undefined, digits?: number): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '–';
  const d = digits ?? (Math.abs(rate) < 0.1 ? 2 : 1);
  return `${grouped(rate * 100, d)}%`;
}

/** An ISO time as `YYYY-MM-DD HH:MM UTC`; anything unparseable as given. */
function when(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
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

/** Minor units to `EUR 12.34` (JPY 0 decimals, KWD 3), in the currency's own decimals. */
function money(minor: number | null | undefined, currency: string | null): string {
  if (minor === null || minor === undefined || !Number.isFinite(minor) || !currency) return '–';
  let digits = 2;
  try {
    digits =
      new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // not an ISO 4217 code Intl knows: assume cents
  }
  return `${minor < 0 ? '−' : ''}${currency} ${grouped(Math.abs(minor) / 10 ** digits, digits)}`;
}

/** One figure per currency, each on its own line (escaped markup); a dash when there is no money. */
function moneyList(figures: MoneyFigures[], pick: (m: MoneyFigures) => number | null): string {
  if (figures.length === 0) return '–';
  return figures.map((m) => `<span class="money">${esc(money(pick(m), m.currency))}</span>`).join('<br>');
}

function sum<T>(items: T[], pick: (t: T) => number): number {
  return items.reduce((a, t) => a + pick(t), 0);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// ---------------------------------------------------------------- charts

function num(n: number): string {
  return String(roundTo(n, 1));
}

function svg(id: string, width: number, height: number, title: string, desc: string, body: string): string {
  return `<svg id="${id}" role="img" aria-labelledby="${id}-title ${id}-desc" aria-label="${esc(title)}" viewBox="0 0 ${width} ${num(height)}" width="${width}" height="${num(height)}">
<title id="${id}-title">${esc(title)}</title><desc id="${id}-desc">${esc(desc)}</desc>
${body}
</svg>`;
}

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

/** A 0..max axis with 4-6 round ticks (1, 2, 2.5 or 5 times a power of ten). */
function rateScale(top: number): { max: number; ticks: number[]; digits: number } {
  const want = top > 0 && Number.isFinite(top) ? top : 0.01;
  const raw = want / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  const n = Math.max(1, Math.ceil(want / step - 1e-9));
  const ticks = Array.from({ length: n + 1 }, (_, i) => i * step);
  let digits = 0;
  while (digits < 4 && ticks.some((t) => Math.abs(roundTo(t * 100, digits) - t * 100) > 1e-9)) digits++;
  return { max: n * step, ticks, digits };
}

/** Response and conversion rate per program, side by side, on one percentage axis. */
function programChart(programs: ProgramFigures[]): string {
  if (programs.length === 0) return '';
  const width = 760;
  const left = 200;
  const right = 150;
  const row = 40;
  const top = 26;
  const plotBottom = top + row * programs.length;
  const scale = rateScale(Math.max(...programs.map((p) => Math.max(p.responseRate ?? 0, p.conversionRate ?? 0))));
  const x = (v: number) => left + (Math.min(Math.max(v, 0), scale.max) / scale.max) * (width - left - right);
  const legend = `<rect x="${left}" y="4" width="12" height="10" fill="${COLOURS.response}"/><text x="${left + 16}" y="13" font-size="11">response rate</text>\
<rect x="${left + 110}" y="4" width="12" height="10" fill="${COLOURS.conversion}"/><text x="${left + 126}" y="13" font-size="11">conversion rate</text>`;
  const axis = scale.ticks
    .map((t) => {
      const at = num(x(t));
      return `<line x1="${at}" x2="${at}" y1="${top}" y2="${num(plotBottom)}" stroke="#e3e3e3"/>\
<text x="${at}" y="${num(plotBottom + 14)}" text-anchor="middle" font-size="11" fill="#555">${esc(pct(t, scale.digits))}</text>`;
    })
    .join('\n');
  const rows = programs.map((p, i) => {
    const y = top + i * row;
    const response = p.responseRate ?? 0;
    const conversion = p.conversionRate ?? 0;
    return `<g class="program-rates" data-program="${esc(p.code)}"><title>${esc(`${p.code}: response ${pct(p.responseRate)}, conversion ${pct(p.conversionRate)}`)}</title>
<text x="${left - 8}" y="${num(y + row / 2 + 4)}" text-anchor="end" font-size="12">${esc(clip(`${p.code} · ${p.channel}`, 28))}</text>
<rect class="response-bar" x="${left}" y="${num(y + 5)}" width="${num(x(response) - left)}" height="14" fill="${COLOURS.response}" fill-opacity="0.8"/>
<rect class="conversion-bar" x="${left}" y="${num(y + 21)}" width="${num(x(conversion) - left)}" height="14" fill="${COLOURS.conversion}" fill-opacity="0.85"/>
<text x="${width - right + 8}" y="${num(y + 16)}" font-size="11">${esc(pct(p.responseRate))} responded</text>
<text x="${width - right + 8}" y="${num(y + 32)}" font-size="11">${esc(pct(p.conversionRate))} converted</text></g>`;
  });
  return svg(
    'program-chart',
    width,
    plotBottom + 24,
    'Response and conversion rate per program',
    programs.map((p) => `${p.code}: response ${pct(p.responseRate)}, conversion ${pct(p.conversionRate)}`).join('; '),
    `${legend}\n${axis}\n${rows.join('\n')}`,
  );
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
