/**
 * What the HTML pages of analytics share (program report, scorecard, campaign report): escaping,
 * number, percent, time and money formatting, the page shell and stylesheet, and the inline SVG
 * pieces (chart frame, percentage axis, paired rate bars). Pure and synchronous.
 */

const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

// ---------------------------------------------------------------- formatting

/** Text for HTML content and attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** A whole number with thousands separators; a dash when there is none. */
export function count(n: number | null | undefined): string {
  return n !== null && n !== undefined && Number.isFinite(n) ? INT.format(n) : '–';
}

export function grouped(n: number, digits: number): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function roundTo(n: number, digits: number): number {
  return Number(n.toFixed(digits));
}

/** A rate (fraction) as a percentage: two decimals under 10%, one above; a dash when there is none. */
export function pct(rate: number | null | undefined, digits?: number): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '–';
  const d = digits ?? (Math.abs(rate) < 0.1 ? 2 : 1);
  return `${grouped(rate * 100, d)}%`;
}

/** An ISO time as `YYYY-MM-DD HH:MM UTC`; anything unparseable as given. */
export function when(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Minor units to `EUR 12.34` (JPY 0 decimals, KWD 3), in the currency's own decimals; a dash without either. */
export function money(minor: number | null | undefined, currency: string | null): string {
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

/** Text cut to `max` characters, an ellipsis marking the cut. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// ---------------------------------------------------------------- page

/**
 * The stylesheet of the report and scorecard pages: the rules they share, with each page's own
 * rules in their places (`name`: the `h1 .name` declarations; `print`: the rules inside `@media print`).
 */
export function pageStyle(own: {
  name: string;
  header: string[];
  tables: string[];
  text: string[];
  print: string;
}): string {
  return [
    'body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222;background:#fff}',
    `h1{font-size:1.6rem;margin:0 0 .5rem}h1 .name{${own.name}}`,
    'h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}',
    '.facts{display:flex;flex-wrap:wrap;gap:.3rem 1.5rem;margin:0}.facts div{display:flex;gap:.4rem}',
    '.facts dt{color:#666}.facts dd{margin:0;font-weight:600}',
    ...own.header,
    '.hint{color:#666;font-size:.9rem;margin:.2rem 0 .8rem}',
    'table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}',
    'th,td{padding:.35rem .5rem;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}',
    'th{background:#f5f5f5;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}',
    ...own.tables,
    '.sub{display:block;color:#777;font-size:.8rem}',
    ...own.text,
    'svg{display:block;max-width:100%;height:auto;margin:.5rem 0;font-family:inherit}',
    'footer{margin:3rem 0 1rem;color:#888;font-size:.8rem}',
    `@media print{body{margin:0;max-width:none}${own.print}}`,
  ].join('\n');
}

/**
 * One self-contained page: a header (heading, name, facts), `body` (markup its caller escaped) and
 * a footer. Every text argument is escaped here.
 */
export function htmlPage(page: {
  title: string;
  style: string;
  heading: string;
  name: string;
  facts: [label: string, value: string][];
  body: string;
  footer: string;
}): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${esc(page.title)}</title>
<style>${page.style}</style>
</head><body>
<header>
<h1>${esc(page.heading)} <span class="name">${esc(page.name)}</span></h1>
<dl class="facts">
${page.facts.map(([label, value]) => `<div><dt>${esc(label)}</dt><dd>${esc(value)}</dd></div>`).join('\n')}
</dl>
</header>
${page.body}
<footer>${esc(page.footer)}</footer>
</body></html>
`;
}

// ---------------------------------------------------------------- charts

/** A coordinate to one decimal. */
export function num(n: number): string {
  return String(roundTo(n, 1));
}

/** An accessible inline SVG: `title` and `desc` are text, `body` is markup its caller escaped. */
export function svg(id: string, width: number, height: number, title: string, desc: string, body: string): string {
  return `<svg id="${id}" role="img" aria-labelledby="${id}-title ${id}-desc" aria-label="${esc(title)}" viewBox="0 0 ${width} ${num(height)}" width="${width}" height="${num(height)}">
<title id="${id}-title">${esc(title)}</title><desc id="${id}-desc">${esc(desc)}</desc>
${body}
</svg>`;
}

export interface Scale {
  max: number;
  ticks: number[];
  digits: number;
}

/** A 0..max axis with 4-6 round ticks (1, 2, 2.5 or 5 times a power of ten). */
export function rateScale(top: number): Scale {
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

/** Vertical grid lines from `top` to `bottom` at each tick, labelled with its percentage below. */
export function rateAxis(scale: Scale, x: (v: number) => number, top: number, bottom: number): string {
  return scale.ticks
    .map((t) => {
      const at = num(x(t));
      return `<line x1="${at}" x2="${at}" y1="${num(top)}" y2="${num(bottom)}" stroke="#e3e3e3"/>\
<text x="${at}" y="${num(bottom + 14)}" text-anchor="middle" font-size="11" fill="#555">${esc(pct(t, scale.digits))}</text>`;
    })
    .join('\n');
}

/** One of the two rates of a row: the bar's length, and the text beside the plot. */
export interface RateBar {
  value: number;
  text: string;
}

export interface PairSeries {
  legend: string;
  /** x of the legend entry, from the plot's left edge. */
  legendAt: number;
  colour: string;
  opacity: string;
  className?: string;
}

export interface RatePair {
  /** Put in the row's `data-` attribute. */
  key: string;
  title: string;
  label: string;
  bars: [RateBar, RateBar];
}

/**
 * Two rates per row as a pair of bars on one percentage axis, with a legend above: the program
 * report's opens and clicks, the scorecard's response and conversion.
 */
export function ratePairChart(chart: {
  id: string;
  title: string;
  desc: string;
  /** The `class` of each row's group and the name of its `data-` attribute. */
  group: { className: string; data: string };
  /** Per bar: its legend text and its x offset, colour, opacity and optional class. */
  series: [PairSeries, PairSeries];
  rows: RatePair[];
}): string {
  const width = 760;
  const left = 200;
  const right = 150;
  const row = 40;
  const top = 26;
  const plotBottom = top + row * chart.rows.length;
  const scale = rateScale(Math.max(...chart.rows.map((r) => Math.max(r.bars[0].value, r.bars[1].value))));
  const x = (v: number) => left + (Math.min(Math.max(v, 0), scale.max) / scale.max) * (width - left - right);
  const legend = chart.series
    .map(
      (s) =>
        `<rect x="${left + s.legendAt}" y="4" width="12" height="10" fill="${s.colour}"/><text x="${left + s.legendAt + 16}" y="13" font-size="11">${esc(s.legend)}</text>`,
    )
    .join('');
  const rows = chart.rows.map((r, i) => {
    const y = top + i * row;
    const bar = (s: PairSeries, b: RateBar, dy: number) =>
      `<rect${s.className ? ` class="${s.className}"` : ''} x="${left}" y="${num(y + dy)}" width="${num(x(b.value) - left)}" height="14" fill="${s.colour}" fill-opacity="${s.opacity}"/>`;
    const [a, b] = chart.series;
    return `<g class="${chart.group.className}" data-${chart.group.data}="${esc(r.key)}"><title>${esc(r.title)}</title>
<text x="${left - 8}" y="${num(y + row / 2 + 4)}" text-anchor="end" font-size="12">${esc(r.label)}</text>
${bar(a, r.bars[0], 5)}
${bar(b, r.bars[1], 21)}
<text x="${width - right + 8}" y="${num(y + 16)}" font-size="11">${esc(r.bars[0].text)}</text>
<text x="${width - right + 8}" y="${num(y + 32)}" font-size="11">${esc(r.bars[1].text)}</text></g>`;
  });
  return svg(
    chart.id,
    width,
    plotBottom + 24,
    chart.title,
    chart.desc,
    `${legend}\n${rateAxis(scale, x, top, plotBottom)}\n${rows.join('\n')}`,
  );
}

/** One row of a kept-and-removed chart. */
export interface KeptRemovedRow {
  /** Put in the row's `data-` attribute, when the chart names one. */
  key?: string;
  title: string;
  label: string;
  kept: number;
  removed: number;
  /** The figure written beside the bar, before the removed count. */
  text: string;
}

/**
 * Horizontal bars of counts, each in two parts: what was kept, then what was removed, lighter and
 * red, after it (so the whole bar is the count a row started with). The program report's list
 * waterfall (remaining, removed) and the drip report's funnel (entered: stayed, exited).
 */
export function keptRemovedChart(chart: {
  id: string;
  title: string;
  /** The `class` of each row's group and, optionally, the name of its `data-` attribute. */
  group: { className: string; data?: string };
  /** The `class` of the kept part and of the removed part. */
  parts: [kept: string, removed: string];
  colour: string;
  rows: KeptRemovedRow[];
}): string {
  const width = 760;
  const left = 160;
  const right = 170;
  const row = 26;
  const top = 6;
  const max = Math.max(1, ...chart.rows.map((r) => r.kept + r.removed));
  const w = (n: number) => (Math.max(n, 0) / max) * (width - left - right);
  const [kept, removed] = chart.parts;
  const rows = chart.rows.map((r, i) => {
    const y = top + i * row;
    const data = chart.group.data ? ` data-${chart.group.data}="${esc(r.key)}"` : '';
    return `<g class="${chart.group.className}"${data}><title>${esc(r.title)}</title>
<text x="${left - 8}" y="${y + 17}" text-anchor="end" font-size="12">${esc(r.label)}</text>
<rect class="${kept}" x="${left}" y="${y + 5}" width="${num(w(r.kept))}" height="${row - 9}" fill="${chart.colour}" fill-opacity="0.8"/>
<rect class="${removed}" x="${num(left + w(r.kept))}" y="${y + 5}" width="${num(w(r.removed))}" height="${row - 9}" fill="#d9534f" fill-opacity="0.35"/>
<text x="${width - right + 8}" y="${y + 17}" font-size="12">${esc(r.text)}${r.removed ? ` <tspan fill="#a33">−${esc(count(r.removed))}</tspan>` : ''}</text></g>`;
  });
  return svg(
    chart.id,
    width,
    top + row * chart.rows.length + 6,
    chart.title,
    chart.rows.map((r) => r.title).join('; '),
    rows.join('\n'),
  );
}
