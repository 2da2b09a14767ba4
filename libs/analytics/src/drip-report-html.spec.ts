import { dripReportHtml } from './drip-report-html';
import { countMatches, expectSelfContainedPage, factsOf, rowCells, svgById, tableByClass } from './testing/html-query';
import { dripReportFixture } from './testing/drip-report-fixture';

/** The `width` of the rect of class `part` in each funnel row, by step id. */
function funnelWidths(html: string, part: string): Record<string, number> {
  const chart = svgById(html, 'funnel-chart');
  const rows = [...chart.matchAll(/<g class="funnel-step" data-step="([^"]*)">([\s\S]*?)<\/g>/g)];
  return Object.fromEntries(
    rows.map(([, step, row]) => [
      step,
      Number(new RegExp(`<rect class="${part}"[^>]* width="([\\d.]+)"`).exec(row)![1]),
    ]),
  );
}

/** The markup of the section whose heading is `heading`. */
function section(html: string, heading: string): string {
  const start = html.indexOf(`<section class="split"><h2>${heading}</h2>`);
  expect(start).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</section>', start));
}

describe('dripReportHtml', () => {
  const html = dripReportHtml(dripReportFixture());

  it('is one self-contained page: no scripts, no network, inline CSS', () => {
    expectSelfContainedPage(html);
  });

  it('heads with the drip, its version, trigger, channels and times', () => {
    expect(html).toContain('<title>Drip report: WELCOME · Welcome series</title>');
    expect(html).toContain('<h1>WELCOME <span class="name">Welcome series</span></h1>');
    expect(factsOf(html)).toEqual([
      ['State', 'active'],
      ['Version', '3'],
      ['Trigger', 'event signup'],
      ['Channels', 'Email, SMS'],
      ['Activated', '2026-02-01 09:00 UTC'],
      ['Confidence', '95%'],
      ['Generated', '2026-03-02 06:30 UTC'],
    ]);
  });

  it('gives the enrollment totals with their shares and the exit reasons, most frequent first', () => {
    const table = tableByClass(html, 'enrollments');
    expect(rowCells(table, '<tr><td>Enrolled')).toEqual(['Enrolled', '1,200', '']);
    expect(rowCells(table, '<tr><td>Active')).toEqual(['Active (waiting or due)', '60', '5.00%']);
    expect(rowCells(table, '<tr><td>Completed')).toEqual(['Completed', '410', '34.2%']);
    expect(rowCells(table, '<tr><td>Exited')).toEqual([
      'Exited',
      '730<span class="sub">exit step 700 · converted 20 · unsubscribed 10</span>',
      '60.8%',
    ]);
  });

  it('draws the funnel: one bar per step, its length proportional to entered, exits marked at its end', () => {
    const { steps } = dripReportFixture();
    const chart = svgById(html, 'funnel-chart');
    expect(chart).toContain('role="img"');
    expect(countMatches(chart, /class="funnel-step"/g)).toBe(steps.length);
    const stayed = funnelWidths(html, 'funnel-stayed');
    const exited = funnelWidths(html, 'funnel-exited');
    expect(Object.keys(stayed)).toEqual(steps.map((s) => s.id));
    // The plot is 430 wide (760 less 160 of labels and 170 of figures); the largest step, 1,200 entered, fills it.
    // Each part is rounded to 0.1 on its own: off by half of that at most, a whole bar by twice as much.
    const width = (n: number) => (n / 1200) * 430;
    const half = 0.05 + 1e-9;
    const off = steps.filter(
      (s) =>
        Math.abs(stayed[s.id] + exited[s.id] - width(s.entered)) > 2 * half ||
        Math.abs(exited[s.id] - width(s.exited)) > half,
    );
    expect(off.map((s) => s.id)).toEqual([]);
    expect(exited.start).toBeGreaterThan(0);
    expect(stayed.bye).toBe(0); // all 700 left through the exit step
    expect(chart).toContain('>1,200 <tspan fill="#a33">−30</tspan></text>');
    expect(chart).toContain('>700 <tspan fill="#a33">−700</tspan></text>');
    expect(chart).toContain('>remind (retired)</text>');
  });

  it("lists every step's figures, with rates per delivered message and exits by reason", () => {
    const table = tableByClass(html, 'steps');
    expect(countMatches(table, /<tr data-step=/g)).toBe(9);
    expect(rowCells(table, '<tr data-step="welcome">')).toEqual([
      '<strong>welcome</strong><span class="badge">send</span><span class="sub">send WELCOME-1 (email)</span>',
      '1,120',
      '0',
      '1,000<span class="sub">100 held out, 20 failed</span>',
      '980',
      '392<span class="sub">40.0% of delivered</span>',
      '98<span class="sub">10.0% of delivered</span>',
      '27',
      '0',
      '0',
    ]);
    expect(rowCells(table, '<tr data-step="start">')).toEqual([
      '<strong>start</strong><span class="badge">wait</span><span class="sub">wait P1D</span>',
      '1,200',
      '50',
      '–',
      '–',
      '–',
      '–',
      '–',
      '30<span class="sub">converted 20 · unsubscribed 10</span>',
      '0',
    ]);
    const remind = rowCells(table, '<tr data-step="remind">');
    expect(remind[0]).toContain('<span class="badge">retired</span>');
    expect(remind.slice(1)).toEqual([
      '80',
      '0',
      '80<span class="sub">0 held out, 0 failed</span>',
      '78',
      '20<span class="sub">25.6% of delivered</span>',
      '4<span class="sub">5.13% of delivered</span>',
      '1',
      '0',
      '80',
    ]);
    expect(rowCells(table, '<tr data-step="tag">').slice(1, 3)).toEqual(['340', '10']);
    expect(rowCells(table, '<tr data-step="tag">')[9]).toBe('330');
    expect(rowCells(table, '<tr data-step="welcome">')[0]).not.toContain('retired');
  });

  it('measures each split and the drip outside its splits: verdict, conversion chart, cells, comparisons', () => {
    const split = section(html, 'Split ab');
    expect(split).toContain('program drip:WELCOME:ab');
    expect(split).toContain(
      '<p class="verdict" role="status">Cell A converts better than the control: +0.70 points (95% interval +0.01 to +1.39), p &lt; 0.001 after Holm.</p>',
    );
    const chart = svgById(split, 'conversion-chart-1');
    expect(countMatches(chart, /class="cr-bar"/g)).toBe(3);
    expect(countMatches(chart, /class="cr-control"/g)).toBe(1);
    expect(chart).toContain('>3.10%</tspan>');
    expect(tableByClass(split, 'cells')).toContain('<strong>2.15%</strong><span class="sub">1.88% – 2.45%</span>');
    const comparisons = tableByClass(split, 'comparisons');
    expect(comparisons).toContain('+0.70 pts');
    expect(comparisons).toContain('<td class="yes">yes</td>');
    expect(split).toContain('chi-square = 19.87 with 2 degrees of freedom, p &lt; 0.001.');

    const main = section(html, 'Outside any split');
    expect(main).toContain('program drip:WELCOME.');
    expect(main).toContain(
      '<p class="verdict" role="status">Not significant yet: about 12,000 more members per cell needed.</p>',
    );
    expect(countMatches(svgById(main, 'conversion-chart-main'), /class="cr-bar"/g)).toBe(3);
    expect(html.indexOf('<h2>Split ab</h2>')).toBeLessThan(html.indexOf('<h2>Outside any split</h2>'));
  });

  it('gives every chart its own id', () => {
    const report = dripReportFixture();
    report.splits.push({ ...report.splits[0], step: 'ab2' });
    const ids = [...dripReportHtml(report).matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toContain('conversion-chart-2');
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('escapes every dynamic value', () => {
    const report = dripReportFixture();
    report.drip.name = 'Welcome <b>series</b> & "friends"';
    report.drip.trigger = '<img src=x onerror=alert(1)>';
    report.steps[1].id = '<script>alert(1)</script>';
    report.steps[1].summary = 'send <script>WELCOME</script> (email)';
    report.steps[0].exitReasons = { "<i>bounced</i> 'hard'": 30 };
    report.splits[0].step = 'a"><script>b</script>';
    report.splits[0].program = '<script>p</script>';
    report.splits[0].report.verdict = 'A <script>wins</script>';
    const out = dripReportHtml(report);
    expect(out).not.toMatch(/<script|<img|<b>|<i>/i);
    const escaped = [
      'Welcome &lt;b&gt;series&lt;/b&gt; &amp; &quot;friends&quot;',
      '<dd>&lt;img src=x onerror=alert(1)&gt;</dd>',
      '<tr data-step="&lt;script&gt;alert(1)&lt;/script&gt;">',
      'data-step="&lt;script&gt;alert(1)&lt;/script&gt;"><title>',
      '<strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>',
      'send &lt;script&gt;WELCOME&lt;/script&gt; (email)',
      '&lt;i&gt;bounced&lt;/i&gt; &#39;hard&#39; 30',
      '<h2>Split a&quot;&gt;&lt;script&gt;b&lt;/script&gt;</h2>',
      'program &lt;script&gt;p&lt;/script&gt;',
      'A &lt;script&gt;wins&lt;/script&gt;',
    ];
    expect(escaped.filter((text) => !out.includes(text))).toEqual([]);
  });

  it('copes with a drip not yet activated, without steps, splits or main', () => {
    const report = dripReportFixture();
    report.drip.activatedAt = null;
    report.drip.channels = [];
    report.steps = [];
    report.splits = [];
    report.main = null;
    report.enrollments = { total: 0, active: 0, completed: 0, exited: 0, exitReasons: {} };
    const out = dripReportHtml(report);
    expectSelfContainedPage(out);
    expect(out).toContain('<dd>not activated</dd>');
    expect(out).toContain('<dt>Channels</dt><dd>none</dd>');
    expect(out).toContain('<p class="hint">No steps.</p>');
    expect(out).not.toContain('<svg');
    expect(out).not.toContain('<section class="split">');
    expect(out).toContain('No split, and nothing measured outside one.');
    expect(rowCells(tableByClass(out, 'enrollments'), '<tr><td>Exited')).toEqual(['Exited', '0', '']);
  });
});
