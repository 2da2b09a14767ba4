import type { CellReport, Comparison, ProgramReport, WaterfallStep } from './report-types';

/**
 * The program report as one self-contained HTML page for people: inline CSS, charts as inline SVG
 * drawn here (no scripts, no fonts, no network), every dynamic value escaped. Pure and synchronous.
 */
export function programReportHtml(report: ProgramReport): string {
  const { program } = report;
  const level = percentLevel(report.confidence);
  const money = moneyFormatter(report.currency);
  const title = `${program.code} · ${program.name}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${esc(`Report: ${title}`)}</title>
<style>${STYLE}</style>
</head><body>
<header>
<h1>${esc(program.code)} <span class="name">${esc(program.name)}</span></h1>
<dl class="facts">
${fact('Channel', program.channel === 'sms' ? 'SMS' : program.channel === 'email' ? 'Email' : program.channel)}
${fact('State', program.state)}
${fact('Launched', program.launchedAt ? when(program.launchedAt) : 'not launched')}
${fact('Attribution window', `${count(program.attributionWindowDays)} ${program.attributionWindowDays === 1 ? 'day' : 'days'}`)}
${fact('Confidence', level)}
${fact('Currency', report.currency ?? 'none recorded')}
${fact('Generated', when(report.generatedAt))}
</dl>
</header>
<p class="verdict" role="status">${esc(report.verdict)}</p>
<section><h2>Conversion rate per cell</h2>
<p class="hint">Bars: members who converted at least once, out of every member of the cell (control included). Whiskers: the ${esc(level)} interval.${report.cells.some((c) => c.isControl) ? ' The dashed line marks the control.' : ''}</p>
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
</section>
<footer>Program ${esc(program.code)} (${esc(program.id)}) · generated ${esc(when(report.generatedAt))}</footer>
</body></html>
`;
}

const STYLE = [
  'body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222;background:#fff}',
  'h1{font-size:1.6rem;margin:0 0 .5rem}h1 .name{font-weight:400;color:#444}',
  'h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}',
  '.facts{display:flex;flex-wrap:wrap;gap:.3rem 1.5rem;margin:0}.facts div{display:flex;gap:.4rem}',
  '.facts dt{color:#666}.facts dd{margin:0;font-weight:600}',
  '.verdict{font-size:1.25rem;font-weight:600;margin:1.5rem 0;padding:1rem 1.2rem;border-left:.4rem solid #1f4fd1;background:#eef3ff}',
  '.hint{color:#666;font-size:.9rem;margin:.2rem 0 .8rem}',
  'table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}',
  'th,td{padding:.35rem .5rem;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}',
  'th{background:#f5f5f5;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}',
  '.sub{display:block;color:#777;font-size:.8rem}',
  '.badge{display:inline-block;font-size:.75rem;padding:0 .35rem;border-radius:.2rem;background:#e5e6e8;color:#333;margin-left:.3rem}',
  '.yes{color:#176b2c;font-weight:600}.no{color:#666}.note{color:#8a5a00}',
  'svg{display:block;max-width:100%;height:auto;margin:.5rem 0;font-family:inherit}',
  'footer{margin:3rem 0 1rem;color:#888;font-size:.8rem}',
  '@media print{body{margin:0;max-width:none}.verdict{background:none}}',
].join('\n');

const COLOURS = { treatment: '#1f4fd1', control: '#8a8f98', whisker: '#111', open: '#1f4fd1', click: '#f08c00' };
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

function count(n: number): string {
  return Number.isFinite(n) ? INT.format(n) : '–';
}

function grouped(n: number, digits: number): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A rate (fraction) as a percentage: two decimals under 10%, one above. */
function pct(rate: number | null | undefined, digits?: number): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '–';
  const d = digits ?? (Math.abs(rate) < 0.1 ? 2 : 1);
  return `${grouped(rate * 100, d)}%`;
}

function signed(text: string, n: number): string {
  return n > 0 ? `+${text}` : n < 0 ? `−${text}` : text;
}

/** A difference of rates in percentage points. */
function points(diff: number): string {
  return signed(`${grouped(Math.abs(diff) * 100, 2)} pts`, roundTo(diff * 100, 2));
}

function roundTo(n: number, digits: number): number {
  return Number(n.toFixed(digits));
}

function percentLevel(confidence: number): string {
  return `${roundTo(confidence * 100, 2)}%`;
}

function pValue(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return '–';
  if (p < 0.001) return '< 0.001';
  return p.toFixed(3);
}

/** An ISO time as `YYYY-MM-DD HH:MM UTC`; anything unparseable as given. */
function when(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

type Money = (minor: number) => string;

/** Minor units to `EUR 12.34` (JPY 0 decimals, KWD 3); a dash when the report has no currency. */
function moneyFormatter(currency: string | null): Money {
  if (!currency) return () => '–';
  let digits = 2;
  try {
    digits =
      new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // not an ISO 4217 code Intl knows: assume cents
  }
  return (minor) => {
    if (!Number.isFinite(minor)) return '–';
    const major = Math.abs(minor) / 10 ** digits;
    return `${minor < 0 ? '−' : ''}${currency} ${grouped(major, digits)}`;
  };
}

function signedMoney(money: Money, minor: number): string {
  const text = money(Math.abs(minor));
  return text === '–' ? text : signed(text, minor);
}

function label(cell: CellReport, max = 28): string {
  const name = cell.name && cell.name !== cell.code ? `${cell.code} · ${cell.name}` : cell.code;
  return name.length > max ? `${name.slice(0, max - 1)}…` : name;
}

// ---------------------------------------------------------------- charts

interface Scale {
  max: number;
  ticks: number[];
  digits: number;
}

/** A 0..max axis with 4-6 round ticks (1, 2, 2.5 or 5 times a power of ten). */
function rateScale(top: number): Scale {
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

function num(n: number): string {
  return String(roundTo(n, 1));
}

function axis(scale: Scale, x: (v: number) => number, top: number, bottom: number): string {
  return scale.ticks
    .map((t) => {
      const at = num(x(t));
      return `<line x1="${at}" x2="${at}" y1="${num(top)}" y2="${num(bottom)}" stroke="#e3e3e3"/>\
<text x="${at}" y="${num(bottom + 14)}" text-anchor="middle" font-size="11" fill="#555">${esc(pct(t, scale.digits))}</text>`;
    })
    .join('\n');
}

function svg(id: string, width: number, height: number, title: string, desc: string, body: string): string {
  return `<svg id="${id}" role="img" aria-labelledby="${id}-title ${id}-desc" aria-label="${esc(title)}" viewBox="0 0 ${width} ${num(height)}" width="${width}" height="${num(height)}">
<title id="${id}-title">${esc(title)}</title><desc id="${id}-desc">${esc(desc)}</desc>
${body}
</svg>`;
}

/** Bars of conversion rate per cell, whiskers for the interval, the control greyed with a dashed reference line. */
function conversionChart(cells: CellReport[], level: string): string {
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
    'conversion-chart',
    width,
    plotBottom + 24,
    `Conversion rate per cell with ${level} intervals`,
    desc,
    `${axis(scale, x, top, plotBottom)}\n${reference}\n${rows.join('\n')}\n<line x1="${left}" x2="${left}" y1="${top}" y2="${num(plotBottom)}" stroke="#999"/>`,
  );
}

/** Open and click rates of people (machine activity left out) per delivered message, for cells that were sent to. */
function engagementChart(cells: CellReport[]): string {
  const sent = cells.filter((c) => c.openRate !== null || c.clickRate !== null);
  if (sent.length === 0) return '';
  const rates = sent.map((c) => ({ cell: c, open: c.openRate ?? 0, click: c.clickRate ?? 0 }));
  const width = 760;
  const left = 200;
  const right = 150;
  const row = 40;
  const top = 26;
  const plotBottom = top + row * sent.length;
  const scale = rateScale(Math.max(...rates.map((r) => Math.max(r.open, r.click))));
  const x = (v: number) => left + (Math.min(Math.max(v, 0), scale.max) / scale.max) * (width - left - right);
  const legend = `<rect x="${left}" y="4" width="12" height="10" fill="${COLOURS.open}"/><text x="${left + 16}" y="13" font-size="11">opened</text>\
<rect x="${left + 80}" y="4" width="12" height="10" fill="${COLOURS.click}"/><text x="${left + 96}" y="13" font-size="11">clicked</text>`;
  const rows = rates.map(({ cell, open, click }, i) => {
    const y = top + i * row;
    return `<g class="eng-cell" data-cell="${esc(cell.code)}"><title>${esc(`${cell.code}: opened ${pct(open)}, clicked ${pct(click)} of ${count(cell.delivered)} delivered`)}</title>
<text x="${left - 8}" y="${num(y + row / 2 + 4)}" text-anchor="end" font-size="12">${esc(label(cell))}</text>
<rect x="${left}" y="${num(y + 5)}" width="${num(x(open) - left)}" height="14" fill="${COLOURS.open}" fill-opacity="0.8"/>
<rect x="${left}" y="${num(y + 21)}" width="${num(x(click) - left)}" height="14" fill="${COLOURS.click}" fill-opacity="0.85"/>
<text x="${width - right + 8}" y="${num(y + 16)}" font-size="11">${esc(pct(open))} opened</text>
<text x="${width - right + 8}" y="${num(y + 32)}" font-size="11">${esc(pct(click))} clicked</text></g>`;
  });
  return `<h3>Opens and clicks by people, per delivered message</h3>
${svg(
  'engagement-chart',
  width,
  plotBottom + 24,
  'Open and click rates per cell (people only)',
  rates.map((r) => `${r.cell.code}: opened ${pct(r.open)}, clicked ${pct(r.click)}`).join('; '),
  `${legend}\n${axis(scale, x, top, plotBottom)}\n${rows.join('\n')}`,
)}`;
}

/** Each step's remaining members as a bar, what the step removed as a lighter segment after it. */
function waterfallChart(steps: WaterfallStep[]): string {
  if (steps.length === 0) return '<p class="hint">No list was built.</p>';
  const width = 760;
  const left = 160;
  const right = 170;
  const row = 26;
  const top = 6;
  const max = Math.max(1, ...steps.map((s) => s.remaining + s.removed));
  const w = (n: number) => (Math.max(n, 0) / max) * (width - left - right);
  const rows = steps.map((s, i) => {
    const y = top + i * row;
    return `<g class="wf-step"><title>${esc(`${s.step}: ${count(s.remaining)} remaining, ${count(s.removed)} removed`)}</title>
<text x="${left - 8}" y="${y + 17}" text-anchor="end" font-size="12">${esc(s.step.length > 24 ? `${s.step.slice(0, 23)}…` : s.step)}</text>
<rect class="wf-remaining" x="${left}" y="${y + 5}" width="${num(w(s.remaining))}" height="${row - 9}" fill="${COLOURS.treatment}" fill-opacity="0.8"/>
<rect class="wf-removed" x="${num(left + w(s.remaining))}" y="${y + 5}" width="${num(w(s.removed))}" height="${row - 9}" fill="#d9534f" fill-opacity="0.35"/>
<text x="${width - right + 8}" y="${y + 17}" font-size="12">${esc(count(s.remaining))}${s.removed ? ` <tspan fill="#a33">−${esc(count(s.removed))}</tspan>` : ''}</text></g>`;
  });
  return svg(
    'waterfall-chart',
    width,
    top + row * steps.length + 6,
    'Target list waterfall',
    steps.map((s) => `${s.step}: ${count(s.remaining)} remaining, ${count(s.removed)} removed`).join('; '),
    rows.join('\n'),
  );
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

function cellsTable(cells: CellReport[], level: string, money: Money): string {
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

function comparisonsTable(comparisons: Comparison[], level: string, money: Money): string {
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

function overallLine(report: ProgramReport): string {
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
