import { scorecardHtml } from './scorecard-html';
import { countMatches, expectSelfContainedPage, svgById, tableByClass } from './testing/html-query';
import { scorecardFixture } from './testing/scorecard-fixture';

describe('scorecardHtml', () => {
  const html = scorecardHtml(scorecardFixture());

  it('is one self-contained page: no scripts, no network, inline CSS', () => {
    expectSelfContainedPage(html);
  });

  it('heads with the period (its last included day in the title) and the generated time', () => {
    expect(html).toContain('<title>Scorecard: 2026-03-01 to 2026-03-31</title>');
    expect(html).toContain('<div><dt>From</dt><dd>2026-03-01 00:00 UTC</dd></div>');
    expect(html).toContain('<div><dt>Up to (not included)</dt><dd>2026-04-01 00:00 UTC</dd></div>');
    expect(html).toContain('<dd>2026-04-02 06:30 UTC</dd>');
  });

  it('shows the headline figures, money per currency in its own decimals', () => {
    const kpis = html.slice(html.indexOf('<section class="kpis">'), html.indexOf('</section>'));
    expect(kpis).toContain('<div class="label">Customers</div><div class="value">1,200</div>');
    expect(kpis).toContain('<div class="label">New customers</div><div class="value">45</div>');
    expect(kpis).toContain('<div class="label">Lost customers</div><div class="value">30</div>');
    expect(kpis).toContain('<span class="money">EUR 15,345.00</span><br><span class="money">JPY 120,000</span>');
    expect(kpis).toContain('EUR 51.15'); // 1,534,500 cents over 300 orders
    expect(kpis).toContain('<div class="value">5.00%</div><div class="sub">450 of 9,000 contacted</div>');
    expect(kpis).toContain('<div class="value">3.10%</div><div class="sub">310 of 10,000 members</div>');
  });

  it('charts customers per lifecycle stage with their share, and tabulates their orders', () => {
    const chart = svgById(html, 'stage-chart');
    expect(chart).toContain('role="img"');
    expect(countMatches(chart, /<g class="bar"/g)).toBe(6);
    expect(chart).toContain('>400 (33.3%)</text>');
    expect(chart).toContain('>20 (1.67%)</text>');
    const stages = tableByClass(html, 'stages');
    expect(stages).toContain('<tr><td>prospect</td><td class="n">400</td><td class="n">33.3%</td><td class="n">0</td>');
    expect(stages).toContain('<span class="money">EUR 10,345.00</span><br><span class="money">JPY 120,000</span>');
    expect(stages).toContain('−JPY 5,000');
    expect(stages).toContain('<tr class="total"><td>All customers</td><td class="n">1,200</td>');
    expect(html).toContain('new = first order within 90 days; active = last order within 180 days');
    expect(html).toContain('at-risk = last order 181 to 365 days ago; lapsed = more than 365 days');
  });

  it('shows segments, the error of one that does not compile, and how many were left out', () => {
    const chart = svgById(html, 'segment-chart');
    expect(countMatches(chart, /<g class="bar"/g)).toBe(1);
    expect(chart).toContain('data-key="VIP"');
    const segments = tableByClass(html, 'segments');
    expect(segments).toContain('<strong>VIP</strong><span class="sub">Best customers</span>');
    expect(segments).toContain('EUR 77.78');
    expect(segments).toContain('<span class="sub note">segment &quot;old&quot; does not exist</span>');
    expect(html).toContain('3 more segment(s) not computed: the scorecard shows the first 2 by code.');
  });

  it('gives revenue and margin per currency with the margin coverage', () => {
    const money = tableByClass(html, 'money');
    expect(money).toContain('<td>EUR</td><td class="n">300</td><td class="n">210</td><td class="n">EUR 15,345.00</td>');
    expect(money).toContain('280 of 300 orders with a margin');
    expect(money).toContain('<td class="n">−JPY 5,000<span class="sub">10 of 10 orders with a margin</span></td>');
  });

  it('charts response and conversion rate per program on a percentage axis', () => {
    const chart = svgById(html, 'program-chart');
    expect(countMatches(chart, /class="program-rates"/g)).toBe(2);
    expect(countMatches(chart, /class="response-bar"/g)).toBe(2);
    expect(countMatches(chart, /class="conversion-bar"/g)).toBe(2);
    for (const tick of ['0%', '1%', '2%', '3%', '4%', '5%']) expect(chart).toContain(`>${tick}</text>`);
    expect(chart).toContain('>5.00% responded</text>');
    expect(chart).toContain('>3.10% converted</text>');
    expect(chart).toContain('>– responded</text>');
    const programs = tableByClass(html, 'programs');
    expect(programs).toContain('<strong>SPRING25</strong><span class="sub">Spring sale 2025</span>');
    expect(programs).toContain(
      '<td class="n">450</td><td class="n">5.00%</td><td class="n">310</td><td class="n">3.10%</td><td class="n">EUR 15,345.00</td>',
    );
  });

  it('gives channels with deliverability rates, complaints to three decimals, and the total over all programs', () => {
    const channels = tableByClass(html, 'channels');
    expect(channels).toContain('<tr><td>Email</td><td class="n">1</td>');
    expect(channels).toContain(
      '<td class="n">44</td><td class="n">0.50%</td><td class="n">200</td><td class="n">2.22%</td><td class="n">3</td><td class="n">0.034%</td>',
    );
    expect(channels).toContain('<tr><td>SMS</td><td class="n">1</td><td class="n">0</td>');
    expect(channels).toContain('<tr class="total"><td>All programs</td><td class="n">2</td>');
  });

  it('escapes every dynamic value', () => {
    const sc = scorecardFixture();
    sc.segments[0].code = '<script>alert(1)</script>';
    sc.segments[0].name = 'Best <b>customers</b> & "friends"';
    sc.segments[1].error = "<img src=x onerror=alert('x')>";
    sc.programs[0].code = 'P"><img src=x onerror=alert(1)>';
    sc.programs[0].name = '<i>spring</i>';
    const out = scorecardHtml(sc);
    expect(out).not.toMatch(/<script/i);
    expect(out).not.toMatch(/<img/i);
    expect(out).not.toContain('<b>customers</b>');
    expect(out).not.toContain('<i>spring</i>');
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out).toContain('Best &lt;b&gt;customers&lt;/b&gt; &amp; &quot;friends&quot;');
    expect(out).toContain('data-program="P&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"');
    expect(out).toContain('&lt;img src=x onerror=alert(&#39;x&#39;)&gt;');
  });

  it('copes with a period without orders, segments or programs', () => {
    const sc = scorecardFixture();
    sc.money = [];
    sc.lifecycleStages = sc.lifecycleStages.map((s) => ({ ...s, money: [] }));
    sc.segments = [];
    sc.segmentsOmitted = 0;
    sc.programs = [];
    sc.contact = { ...sc.channels[1] };
    const out = scorecardHtml(sc);
    expect(out).toContain('No orders in the period.');
    expect(out).toContain('No saved segments.');
    expect(out).toContain('No program was launched in the period.');
    expect(out).not.toContain('id="program-chart"');
    expect(out).not.toContain('id="segment-chart"');
    expect(out).toContain('<div class="label">Revenue</div><div class="value">–</div>');
    expect(out).toContain('<div class="label">Response rate</div><div class="value">–</div>');
    expect(countMatches(svgById(out, 'stage-chart'), /<g class="bar"/g)).toBe(6);
  });

  it('notes programs counted in the channel figures but not listed', () => {
    const sc = scorecardFixture();
    sc.programsOmitted = 12;
    const out = scorecardHtml(sc);
    expect(out).toContain(
      '12 more program(s) launched in the period are counted in the channel figures but not listed.',
    );
    expect(tableByClass(out, 'channels')).toContain('<tr class="total"><td>All programs</td><td class="n">14</td>');
  });
});
