import { programReportHtml } from './report-html';
import { countMatches, expectSelfContainedPage, svgById } from './testing/html-query';
import { reportFixture } from './testing/report-fixture';

describe('programReportHtml', () => {
  const html = programReportHtml(reportFixture());

  it('is one self-contained page: no scripts, no network, inline CSS', () => {
    expectSelfContainedPage(html);
  });

  it('heads with the program, its settings and the generated time', () => {
    expect(html).toContain('<title>Report: SPRING25 · Spring sale 2025</title>');
    expect(html).toContain('<dd>Email</dd>');
    expect(html).toContain('<dd>completed</dd>');
    expect(html).toContain('<dd>2025-03-03 08:00 UTC</dd>');
    expect(html).toContain('<dd>14 days</dd>');
    expect(html).toContain('<dd>95%</dd>');
    expect(html).toContain('<dd>2025-03-24 06:30 UTC</dd>');
  });

  it('shows the verdict prominently', () => {
    expect(html).toContain(
      '<p class="verdict" role="status">Cell A converts better than the control: +0.70 points (95% interval +0.01 to +1.39), p &lt; 0.001 after Holm.</p>',
    );
  });

  it('charts conversion per cell: one bar and one whisker each, percentage ticks, the control marked', () => {
    const chart = svgById(html, 'conversion-chart');
    expect(chart).toContain('role="img"');
    expect(chart).toMatch(/<title id="conversion-chart-title">Conversion rate per cell with 95% intervals<\/title>/);
    expect(countMatches(chart, /class="cr-bar"/g)).toBe(3);
    expect(countMatches(chart, /class="cr-whisker"/g)).toBe(3);
    expect(countMatches(chart, /class="cr-control"/g)).toBe(1);
    for (const tick of ['0%', '1%', '2%', '3%', '4%']) expect(chart).toContain(`>${tick}</text>`);
    expect(chart).toContain('CTRL · Hold-out (control)');
    expect(chart).toContain('A · 20% off banner');
    expect(chart).toContain('>3.10%</tspan>');
    expect(chart).toContain('2.78%–3.45%');
  });

  it('charts open and click rates of people for the cells that were sent to', () => {
    const chart = svgById(html, 'engagement-chart');
    expect(chart).toContain('role="img"');
    expect(countMatches(chart, /class="eng-cell"/g)).toBe(2);
    expect(chart).toContain('31.6% opened'); // 3100 / 9800
    expect(chart).toContain('5.51% clicked'); // 540 / 9800
    expect(chart).not.toContain('data-cell="CTRL"');
  });

  it('lists every cell with its figures, money from minor units with the currency', () => {
    for (const code of ['A', 'B', 'CTRL']) expect(html).toContain(`<strong>${code}</strong>`);
    expect(html).toContain('<span class="badge">control</span>');
    expect(html).toContain('>10,000</td>');
    expect(html).toContain('>9,800</td>');
    expect(html).toContain('EUR 15,345.00');
    expect(html).toContain('EUR 1.53'); // 153.45 minor units per member
    expect(html).toContain('EUR 1.01');
    expect(html).toContain('<strong>2.15%</strong><span class="sub">1.88% – 2.45%</span>');
  });

  it('compares in points and percent with intervals, p and Holm p', () => {
    const table = html.slice(
      html.indexOf('<table class="comparisons">'),
      html.indexOf('</table>', html.indexOf('<table class="comparisons">')),
    );
    expect(table).toContain('+0.70 pts');
    expect(table).toContain('−0.25 pts');
    expect(table).toContain('+29.2%');
    expect(table).toContain('−10.4%');
    expect(table).toContain('+0.01 pts to +1.39 pts');
    expect(table).toContain('−0.98 pts to +0.48 pts');
    expect(table).toContain('&lt; 0.001');
    expect(table).toContain('0.498');
    expect(table).toContain('<td class="yes">yes</td>');
    expect(table).toContain('<td class="no">no</td>');
    expect(table).not.toContain('too few members for a test');
  });

  it('gives the overall chi-square line', () => {
    expect(html).toContain(
      'Across all 3 cells (conversion): chi-square = 19.87 with 2 degrees of freedom, p &lt; 0.001.',
    );
  });

  it('shows the waterfall as a chart and a table', () => {
    const chart = svgById(html, 'waterfall-chart');
    expect(chart).toContain('role="img"');
    expect(countMatches(chart, /class="wf-remaining"/g)).toBe(8);
    for (const step of [
      'select',
      'no address',
      'no consent',
      'dedupe',
      'unsubscribed',
      'frequency cap',
      'sample',
      'split',
    ]) {
      expect(html).toContain(`<td>${step}</td>`);
    }
    expect(html).toContain('<tr><td>no consent</td><td class="n">23,480</td><td class="n">1,730</td></tr>');
  });

  it('escapes every dynamic value', () => {
    const report = reportFixture();
    report.program.name = 'Spring <b>sale</b> & "friends"';
    report.cells[1].name = '<script>alert(1)</script>';
    report.cells[1].code = 'B"><img src=x onerror=alert(1)>';
    report.comparisons[1].cell = report.cells[1].code;
    report.waterfall[1].step = "<i>no 'address'</i>";
    report.verdict = 'B <script>wins</script>';
    const out = programReportHtml(report);
    expect(out).not.toMatch(/<script/i);
    expect(out).not.toMatch(/<img/i);
    expect(out).not.toContain('<b>sale</b>');
    expect(out).not.toContain('<i>');
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out).toContain('Spring &lt;b&gt;sale&lt;/b&gt; &amp; &quot;friends&quot;');
    expect(out).toContain('data-cell="B&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"');
    expect(out).toContain('&lt;i&gt;no &#39;address&#39;&lt;/i&gt;');
    expect(out).toContain('B &lt;script&gt;wins&lt;/script&gt;');
  });

  it('notes comparisons with too few members and gives no p-value for them', () => {
    const report = reportFixture();
    report.comparisons[1] = { ...report.comparisons[1], pValue: null, adjustedPValue: null, smallSample: true };
    report.overall = { test: 'chi-square', statistic: 3.1, df: 2, pValue: null, smallSample: true };
    const out = programReportHtml(report);
    expect(out).toContain('<td class="note">too few members for a test</td>');
    expect(out).toContain('chi-square = 3.10 with 2 degrees of freedom, too few members for a test.');
  });

  it('formats revenue comparisons as money per member, in the currency minor units', () => {
    const report = reportFixture();
    report.currency = 'JPY';
    report.cells[0].revenue = 1534500;
    report.comparisons.push({
      ...report.comparisons[1],
      metric: 'revenuePerMember',
      test: 'welch t',
      absoluteLift: -13.875,
      ci: [-40.5, 12.25],
      relativeLift: null,
      relativeCi: null,
    });
    const out = programReportHtml(report);
    expect(out).toContain('JPY 1,534,500');
    expect(out).toContain('−JPY 14');
    expect(out).toContain('−JPY 41 to +JPY 12');
    expect(out).toContain('revenue per member');
  });

  it('copes with a report without currency, list, comparisons or overall test', () => {
    const report = reportFixture();
    report.currency = null;
    report.program.launchedAt = null;
    report.waterfall = [];
    report.cells = [report.cells[0]];
    report.comparisons = [];
    report.overall = null;
    const out = programReportHtml(report);
    expect(out).toContain('<dd>not launched</dd>');
    expect(out).toContain('No comparisons');
    expect(out).toContain('fewer than two cells');
    expect(out).not.toContain('EUR');
    expect(countMatches(svgById(out, 'conversion-chart'), /class="cr-whisker"/g)).toBe(1);
  });
});
