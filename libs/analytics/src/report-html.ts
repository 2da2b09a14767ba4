import {
  clip,
  count,
  esc,
  grouped,
  htmlPage,
  keptRemovedChart,
  money as formatMoney,
  num,
  pageStyle,
  pct,
  rateAxis,
  ratePairChart,
  rateScale,
  roundTo,
  svg,
  when,
} from './html-kit';
import type { CellReport, Comparison, ProgramReport, WaterfallStep } from './report-types';

/**
 * The program report as one self-contained HTML page for people: inline CSS, charts as inline SVG
 * drawn here (no scripts, no fonts, no network), every dynamic value escaped. Pure and synchronous.
 */
export function programReportHtml(report: ProgramReport): string {
  const { program } = report;
  const level = percentLevel(report.confidence);
  const money = moneyFormatter(report.currency);
  return htmlPage({
    title: `Report: ${program.code} · ${program.name}`,
    style: REPORT_STYLE,
    heading: program.code,
    name: program.name,
    facts: [
      ['Channel', channelName(program.channel)],
      ['State', program.state],
      ['Launched', program.launchedAt ? when(program.launchedAt) : 'not launched'],
      [
        'Attribution window',
        `${count(program.attributionWindowDays)} ${program.attributionWindowDays === 1 ? 'day' : 'days'}`,
      ],
      ['Confidence', level],
      ['Currency', report.currency ?? 'none recorded'],
      ['Generated', when(report.generatedAt)],
    ],
    body: `${verdictLine(report)}
<section><h2>Conversion rate per cell</h2>
${conversionHint(report.cells, level)}
${conversionChart(report.cells, level)}
${engagementChart(report.cells)}
</section>
<section><h2>Cells</h2>
${cellsTable(report.cells, level, money)}
</section>
<section><h2>Comparisons</h2>
${comparisonsTable(report.comparisons, level, money)}
<p class="overall">${overallLine(report)}</p>
</section>
<section><h2>Who was targeted</h2>
${waterfallChart(report.waterfall)}
${waterfallTable(report.waterfall)}
</section>`,
    footer: `Program ${program.code} (${program.id}) · generated ${when(report.generatedAt)}`,
  });
}

/** The program report's stylesheet; the drip report's page, which shows program reports for its splits, uses it too. */
export const REPORT_STYLE = pageStyle({
  name: 'font-weight:400;color:#444',
  header: [
    '.verdict{font-size:1.25rem;font-weight:600;margin:1.5rem 0;padding:1rem 1.2rem;border-left:.4rem solid #1f4fd1;background:#eef3ff}',
  ],
  tables: [],
  text: [
    '.badge{display:inline-block;font-size:.75rem;padding:0 .35rem;border-radius:.2rem;background:#e5e6e8;color:#333;margin-left:.3rem}',
    '.yes{color:#176b2c;font-weight:600}.no{color:#666}.note{color:#8a5a00}',
  ],
  print: '.verdict{background:none}',
});

const COLOURS = { treatment: '#1f4fd1', control: '#8a8f98', whisker: '#111', open: '#1f4fd1', click: '#f08c00' };

// ---------------------------------------------------------------- formatting

function signed(text: string, n: number): string {
  return n > 0 ? `+${text}` : n < 0 ? `−${text}` : text;
}

/** A difference of rates in percentage points. */
function points(diff: number): string {
  return signed(`${grouped(Math.abs(diff) * 100, 2)} pts`, roundTo(diff * 100, 2));
}

export function percentLevel(confidence: number): string {
  return `${roundTo(confidence * 100, 2)}%`;
}

function pValue(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return '–';
  if (p < 0.001) return '< 0.001';
  return p.toFixed(3);
}

export type Money = (minor: number) => string;

/** Minor units to `EUR 12.34` (JPY 0 decimals, KWD 3); a dash when the report has no currency. */
export function moneyFormatter(currency: string | null): Money {
  return (minor) => formatMoney(minor, currency);
}

function signedMoney(money: Money, minor: number): string {
  const text = money(Math.abs(minor));
  return text === '–' ? text : signed(text, minor);
}

function label(cell: CellReport, max = 28): string {
  return clip(cell.name && cell.name !== cell.code ? `${cell.code} · ${cell.name}` : cell.code, max);
}

/** `Email` or `SMS`; anything else as given. */
export function channelName(channel: string): string {
  return channel === 'sms' ? 'SMS' : channel === 'email' ? 'Email' : channel;
}

// ---------------------------------------------------------------- verdict

/** The report's verdict, prominent (an announcement for screen readers). */
export function verdictLine(report: ProgramReport): string {
  return `<p class="verdict" role="status">${esc(report.verdict)}</p>`;
}

// ---------------------------------------------------------------- charts

/** What the conversion chart's bars and whiskers show. */
export function conversionHint(cells: CellReport[], level: string): string {
  return `<p class="hint">Bars: members who converted at least once, out of every member of the cell (control included). Whiskers: the ${esc(level)} interval.${cells.some((c) => c.isControl) ? ' The dashed line marks the control.' : ''}</p>`;
}

/**
 * Bars of conversion rate per cell, whiskers for the interval, the control greyed with a dashed
 * reference line. `id` names the SVG: unique in its page, made of safe characters (it is not escaped).
 */
export function conversionChart(cells: CellReport[], level: string, id = 'conversion-chart'): string {
  if (cells.length === 0) return '<p class="hint">No cells.</p>';
  const width = 760;
  const left = 200;
  const right = 150;
  const row = 34;
  const top = 10;
  const plotBottom = top + row * cells.length;
  const scale = rateScale(Math.max(...cells.map((c) => Math.max(c.conversionRate, c.conversionRateCi?.[1] ?? 0))));
  const x = (v: number) => left + (Math.min(Math.max(v, 0), scale.max) / scale.max) * (width - left - right);
  const control = cells.find((c) => c.isControl);
  const rows = cells.map((cell, i) => {
    const y = top + i * row;
    const mid = y + row / 2;
    const [low, high] = cell.conversionRateCi ?? [cell.conversionRate, cell.conversionRate];
    const colour = cell.isControl ? COLOURS.control : COLOURS.treatment;
    const text = `${label(cell)}${cell.isControl ? ' (control)' : ''}`;
    const summary = `${cell.code}: ${pct(cell.conversionRate)} (${level} interval ${pct(low)} to ${pct(high)}), ${count(cell.conversions)} of ${count(cell.members)} members`;
    return `<g class="cr-cell" data-cell="${esc(cell.code)}"><title>${esc(summary)}</title>
<text x="${left - 8}" y="${num(mid + 4)}" text-anchor="end" font-size="12" fill="#222"${cell.isControl ? ' font-style="italic"' : ''}>${esc(text)}</text>
<rect class="cr-bar" x="${left}" y="${num(y + 7)}" width="${num(x(cell.conversionRate) - left)}" height="${row - 14}" fill="${colour}" fill-opacity="${cell.isControl ? 0.55 : 0.8}"/>
<g class="cr-whisker" stroke="${COLOURS.whisker}" stroke-width="1.5"><line x1="${num(x(low))}" x2="${num(x(high))}" y1="${num(mid)}" y2="${num(mid)}"/>\
<line x1="${num(x(low))}" x2="${num(x(low))}" y1="${num(mid - 6)}" y2="${num(mid + 6)}"/>\
<line x1="${num(x(high))}" x2="${num(x(high))}" y1="${num(mid - 6)}" y2="${num(mid + 6)}"/></g>
<text x="${width - right + 8}" y="${num(mid + 4)}" font-size="12" fill="#222"><tspan font-weight="600">${esc(pct(cell.conversionRate))}</tspan> <tspan fill="#666">${esc(`${pct(low)}–${pct(high)}`)}</tspan></text></g>`;
  });
  const reference = control
    ? `<line class="cr-control" x1="${num(x(control.conversionRate))}" x2="${num(x(control.conversionRate))}" y1="${top}" y2="${num(plotBottom)}" stroke="${COLOURS.control}" stroke-dasharray="4 3"/>`
    : '';
  const desc = cells
    .map(
      (c) =>
        `${c.code}${c.isControl ? ' (control)' : ''} ${pct(c.conversionRate)}, interval ${pct(c.conversionRateCi?.[0])} to ${pct(c.conversionRateCi?.[1])}`,
    )
    .join('; ');
  return svg(
    id,
    width,
    plotBottom + 24,
    `Conversion rate per cell with ${level} intervals`,
    desc,
    `${rateAxis(scale, x, top, plotBottom)}\n${reference}\n${rows.join('\n')}\n<line x1="${left}" x2="${left}" y1="${top}" y2="${num(plotBottom)}" stroke="#999"/>`,
  );
}

/** Open and click rates of people (machine activity left out) per delivered message, for cells that were sent to. */
function engagementChart(cells: CellReport[]): string {
  const sent = cells.filter((c) => c.openRate !== null || c.clickRate !== null);
  if (sent.length === 0) return '';
  const rates = sent.map((c) => ({ cell: c, open: c.openRate ?? 0, click: c.clickRate ?? 0 }));
  return `<h3>Opens and clicks by people, per delivered message</h3>
${ratePairChart({
  id: 'engagement-chart',
  title: 'Open and click rates per cell (people only)',
  desc: rates.map((r) => `${r.cell.code}: opened ${pct(r.open)}, clicked ${pct(r.click)}`).join('; '),
  group: { className: 'eng-cell', data: 'cell' },
  series: [
    { legend: 'opened', legendAt: 0, colour: COLOURS.open, opacity: '0.8' },
    { legend: 'clicked', legendAt: 80, colour: COLOURS.click, opacity: '0.85' },
  ],
  rows: rates.map(({ cell, open, click }) => ({
    key: cell.code,
    title: `${cell.code}: opened ${pct(open)}, clicked ${pct(click)} of ${count(cell.delivered)} delivered`,
    label: label(cell),
    bars: [
      { value: open, text: `${pct(open)} opened` },
      { value: click, text: `${pct(click)} clicked` },
    ],
  })),
})}`;
}

/** Each step's remaining members as a bar, what the step removed as a lighter segment after it. */
function waterfallChart(steps: WaterfallStep[]): string {
  if (steps.length === 0) return '<p class="hint">No list was built.</p>';
  return keptRemovedChart({
    id: 'waterfall-chart',
    title: 'Target list waterfall',
    group: { className: 'wf-step' },
    parts: ['wf-remaining', 'wf-removed'],
    colour: COLOURS.treatment,
    rows: steps.map((s) => ({
      title: `${s.step}: ${count(s.remaining)} remaining, ${count(s.removed)} removed`,
      label: clip(s.step, 24),
      kept: s.remaining,
      removed: s.removed,
      text: count(s.remaining),
    })),
  });
}

// ---------------------------------------------------------------- tables

function waterfallTable(steps: WaterfallStep[]): string {
  if (steps.length === 0) return '';
  const rows = steps
    .map(
      (s) =>
        `<tr><td>${esc(s.step)}</td><td class="n">${esc(count(s.remaining))}</td><td class="n">${s.removed ? esc(count(s.removed)) : ''}</td></tr>`,
    )
    .join('\n');
  return `<table class="waterfall"><thead><tr><th>Step</th><th class="n">Remaining</th><th class="n">Removed</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

export function cellsTable(cells: CellReport[], level: string, money: Money): string {
  if (cells.length === 0) return '<p class="hint">No cells.</p>';
  const n = (v: number) => `<td class="n">${esc(count(v))}</td>`;
  const rows = cells.map((c) => {
    const [low, high] = c.conversionRateCi ?? [null, null];
    return `<tr><td><strong>${esc(c.code)}</strong>${c.isControl ? '<span class="badge">control</span>' : ''}<span class="sub">${esc(c.name)}</span><span class="sub">response code ${esc(c.responseCode)}</span></td>
${n(c.members)}${n(c.contacted)}${n(c.delivered)}
<td class="n">${esc(count(c.opensHuman))}<span class="sub">${esc(count(c.opens))} with machines</span></td>
<td class="n">${esc(count(c.clicksHuman))}<span class="sub">${esc(count(c.clicks))} with machines</span></td>
${n(c.unsubscribes)}
<td class="n">${esc(count(c.conversions))}<span class="sub">${esc(count(c.conversionEvents))} events</span></td>
<td class="n"><strong>${esc(pct(c.conversionRate))}</strong><span class="sub">${esc(`${pct(low)} – ${pct(high)}`)}</span></td>
<td class="n">${esc(money(c.revenue))}</td><td class="n">${esc(money(c.revenuePerMember))}</td></tr>`;
  });
  return `<table class="cells"><thead><tr><th>Cell</th><th class="n">Members</th><th class="n">Contacted</th><th class="n">Delivered</th>\
<th class="n">Opens (people)</th><th class="n">Clicks (people)</th><th class="n">Unsubscribes</th><th class="n">Conversions</th>\
<th class="n">Conversion rate (${esc(level)} interval)</th><th class="n">Revenue</th><th class="n">Revenue per member</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>`;
}

export function comparisonsTable(comparisons: Comparison[], level: string, money: Money): string {
  if (comparisons.length === 0) return '<p class="hint">No comparisons: the program has a single cell.</p>';
  const rows = comparisons.map((c) => {
    const rate = c.metric === 'conversionRate';
    const lift = (v: number) => (rate ? points(v) : signedMoney(money, v));
    const relative =
      c.relativeLift === null
        ? '–'
        : `${esc(signedPct(c.relativeLift))}${
            c.relativeCi
              ? `<span class="sub">${esc(`${signedPct(c.relativeCi[0])} to ${signedPct(c.relativeCi[1])}`)}</span>`
              : ''
          }`;
    const note = c.smallSample ? 'too few members for a test' : '';
    return `<tr><td><strong>${esc(c.cell)}</strong></td><td>${esc(c.against)}</td><td>${rate ? 'conversion rate' : 'revenue per member'}<span class="sub">${esc(c.test)}</span></td>
<td class="n">${esc(lift(c.absoluteLift))}</td><td class="n">${relative}</td>
<td class="n">${c.ci ? esc(`${lift(c.ci[0])} to ${lift(c.ci[1])}`) : '–'}</td>
<td class="n">${esc(pValue(c.pValue))}</td><td class="n">${esc(pValue(c.adjustedPValue))}</td>
<td class="${c.significant ? 'yes' : 'no'}">${c.significant ? 'yes' : 'no'}</td><td class="note">${esc(note)}</td></tr>`;
  });
  return `<table class="comparisons"><thead><tr><th>Cell</th><th>Against</th><th>Metric</th><th class="n">Lift</th><th class="n">Relative lift</th>\
<th class="n">${esc(level)} interval of the lift</th><th class="n">p</th><th class="n">p (Holm)</th><th>Significant</th><th>Note</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
<p class="hint">Lift is the cell minus the reference: percentage points for rates, money per member for revenue. p (Holm) is adjusted for the number of comparisons of the same metric; "significant" uses it.</p>`;
}

function signedPct(rate: number): string {
  return signed(pct(Math.abs(rate), 1), roundTo(rate * 100, 1));
}

export function overallLine(report: ProgramReport): string {
  const o = report.overall;
  if (!o) return 'Overall: fewer than two cells, no test across cells.';
  const stat = `chi-square = ${grouped(o.statistic, 2)} with ${count(o.df)} degree${o.df === 1 ? '' : 's'} of freedom`;
  const p =
    o.smallSample || o.pValue === null
      ? 'too few members for a test'
      : o.pValue < 0.001
        ? 'p < 0.001'
        : `p = ${pValue(o.pValue)}`;
  return esc(`Across all ${report.cells.length} cells (conversion): ${stat}, ${p}.`);
}
