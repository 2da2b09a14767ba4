import type { DripReport, DripSplitReport, DripStepReport } from './drip-report-types';
import { clip, count, esc, htmlPage, keptRemovedChart, pct, when } from './html-kit';
import {
  REPORT_STYLE,
  cellsTable,
  channelName,
  comparisonsTable,
  conversionChart,
  conversionHint,
  moneyFormatter,
  overallLine,
  percentLevel,
  verdictLine,
} from './report-html';

type Step = DripStepReport & { retired: boolean };

/**
 * The drip report as one self-contained HTML page for people, like the program report's (whose
 * stylesheet and pieces its split sections use): inline CSS, charts as inline SVG drawn here (no
 * scripts, no fonts, no network), every dynamic value escaped. Pure and synchronous.
 */
export function dripReportHtml(report: DripReport): string {
  const { drip } = report;
  const splits = report.splits.map((s, i) =>
    splitSection(s, {
      heading: `Split ${s.step}`,
      hint: `Measured as program ${s.program}: its cells are the split's arms, the holdout is the control.`,
      chartId: `conversion-chart-${i + 1}`,
    }),
  );
  if (report.main) {
    splits.push(
      splitSection(report.main, {
        heading: 'Outside any split',
        hint: `Everything the drip sent outside its splits, measured as its own program ${report.main.program}.`,
        chartId: 'conversion-chart-main',
      }),
    );
  }
  return htmlPage({
    title: `Drip report: ${drip.code} · ${drip.name}`,
    style: REPORT_STYLE,
    heading: drip.code,
    name: drip.name,
    facts: [
      ['State', drip.state],
      ['Version', count(drip.version)],
      ['Trigger', drip.trigger],
      ['Channels', drip.channels.map(channelName).join(', ') || 'none'],
      ['Activated', drip.activatedAt ? when(drip.activatedAt) : 'not activated'],
      ['Confidence', percentLevel(report.confidence)],
      ['Generated', when(report.generatedAt)],
    ],
    body: `<section><h2>Enrollments</h2>
${enrollmentsTable(report.enrollments)}
</section>
<section><h2>Steps</h2>
<p class="hint">Bars: enrollments that reached each step (a customer who entered twice counts twice); in red, after each bar, those that left the drip there. Steps of earlier versions that still have figures come last, marked retired.</p>
${funnelChart(report.steps)}
${stepsTable(report.steps)}
<p class="hint">Sent, delivered, opened, clicked: the step's sends (opens and clicks by people, with their rate per delivered message). Converted: customers with a conversion attributed to the step's sends (last touch).</p>
</section>
${splits.join('\n') || '<p class="hint">No split, and nothing measured outside one.</p>'}`,
    footer: `Drip ${drip.code} (${drip.id}) version ${drip.version} · generated ${when(report.generatedAt)}`,
  });
}

// ---------------------------------------------------------------- formatting

/** Exit reasons, most frequent first: `unsubscribed 10 · converted 2`. */
function reasons(exitReasons: Record<string, number>): string {
  return Object.entries(exitReasons)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([reason, n]) => `${reason} ${count(n)}`)
    .join(' · ');
}

/** A count with a line of text under it (escaped here); the line left out when empty. */
function figure(n: number | null, sub = ''): string {
  return `<td class="n">${esc(count(n))}${sub ? `<span class="sub">${esc(sub)}</span>` : ''}</td>`;
}

function rate(rate: number | null): string {
  return rate === null ? '' : `${pct(rate)} of delivered`;
}

// ---------------------------------------------------------------- enrollments and steps

function enrollmentsTable(e: DripReport['enrollments']): string {
  const share = (n: number) => `<td class="n">${e.total > 0 ? esc(pct(n / e.total)) : ''}</td>`;
  return `<table class="enrollments"><thead><tr><th>Enrollments</th><th class="n">Count</th><th class="n">Share</th></tr></thead>
<tbody>
<tr><td>Enrolled</td>${figure(e.total)}<td class="n"></td></tr>
<tr><td>Active (waiting or due)</td>${figure(e.active)}${share(e.active)}</tr>
<tr><td>Completed</td>${figure(e.completed)}${share(e.completed)}</tr>
<tr><td>Exited</td>${figure(e.exited, reasons(e.exitReasons))}${share(e.exited)}</tr>
</tbody></table>`;
}

/** Enrollments that reached each step as a bar: those that stayed in the drip, then those that exited there. */
function funnelChart(steps: Step[]): string {
  if (steps.length === 0) return '<p class="hint">No steps.</p>';
  return keptRemovedChart({
    id: 'funnel-chart',
    title: 'Enrollments per step',
    group: { className: 'funnel-step', data: 'step' },
    parts: ['funnel-stayed', 'funnel-exited'],
    colour: '#1f4fd1',
    rows: steps.map((s) => ({
      key: s.id,
      title: `${s.id}${s.retired ? ' (retired)' : ''}: ${s.summary}; ${count(s.entered)} entered, ${count(s.exited)} exited`,
      label: clip(`${s.id}${s.retired ? ' (retired)' : ''}`, 24),
      kept: s.entered - s.exited,
      removed: s.exited,
      text: count(s.entered),
    })),
  });
}

function stepsTable(steps: Step[]): string {
  if (steps.length === 0) return '';
  const rows = steps.map((s) => {
    const isSend = s.sent !== null;
    return `<tr data-step="${esc(s.id)}"><td><strong>${esc(s.id)}</strong><span class="badge">${esc(s.type)}</span>${s.retired ? '<span class="badge">retired</span>' : ''}<span class="sub">${esc(s.summary)}</span></td>
${figure(s.entered)}${figure(s.current)}${figure(s.sent, isSend ? `${count(s.heldOut)} held out, ${count(s.failed)} failed` : '')}${figure(s.delivered)}
${figure(s.opened, rate(s.openRate))}${figure(s.clicked, rate(s.clickRate))}${figure(s.converted)}
${figure(s.exited, reasons(s.exitReasons))}${figure(s.completed)}</tr>`;
  });
  return `<table class="steps"><thead><tr><th>Step</th><th class="n">Entered</th><th class="n">Current</th><th class="n">Sent</th>\
<th class="n">Delivered</th><th class="n">Opened</th><th class="n">Clicked</th><th class="n">Converted</th><th class="n">Exited</th>\
<th class="n">Completed</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>`;
}

// ---------------------------------------------------------------- splits

/** A split (or the drip's own program) measured as a program: verdict, conversion per arm, arms, comparisons. */
function splitSection(
  { report }: DripSplitReport,
  section: { heading: string; hint: string; chartId: string },
): string {
  const level = percentLevel(report.confidence);
  const money = moneyFormatter(report.currency);
  return `<section class="split"><h2>${esc(section.heading)}</h2>
<p class="hint">${esc(section.hint)}</p>
${verdictLine(report)}
<h3>Conversion rate per arm</h3>
${conversionHint(report.cells, level)}
${conversionChart(report.cells, level, section.chartId)}
<h3>Arms</h3>
${cellsTable(report.cells, level, money)}
<h3>Comparisons</h3>
${comparisonsTable(report.comparisons, level, money)}
<p class="overall">${overallLine(report)}</p>
</section>`;
}
