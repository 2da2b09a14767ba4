import { csvTable } from './csv-kit';
import { esc } from './html-kit';
import { ProgramReport } from './report-types';

/** One program of a campaign, side by side with the others. */
export interface CampaignProgramSummary {
  code: string;
  name: string;
  channel: 'email' | 'sms';
  state: string;
  launchedAt: string | null;
  members: number;
  contacted: number;
  conversions: number;
  conversionRate: number;
  revenue: number;
  /** The treatment cell that beats the reference significantly with the highest conversion rate, or null. */
  winner: string | null;
  /** Its lift over the reference (rate fraction); null without a winner. */
  winnerLift: number | null;
  verdict: string;
}

export interface CampaignReport {
  campaign: { id: string; code: string; name: string };
  confidence: number;
  currency: string | null;
  generatedAt: string;
  programs: CampaignProgramSummary[];
}

/** The winner of a program report: a significant positive conversion-rate lift, the largest rate. */
export function summarizeProgram(report: ProgramReport): CampaignProgramSummary {
  const members = report.cells.reduce((s, c) => s + c.members, 0);
  const conversions = report.cells.reduce((s, c) => s + c.conversions, 0);
  const winners = report.comparisons
    .filter((c) => c.metric === 'conversionRate' && c.significant && c.absoluteLift > 0)
    .map((c) => ({ c, rate: report.cells.find((x) => x.code === c.cell)?.conversionRate ?? 0 }))
    .sort((a, b) => b.rate - a.rate);
  return {
    code: report.program.code,
    name: report.program.name,
    channel: report.program.channel,
    state: report.program.state,
    launchedAt: report.program.launchedAt,
    members,
    contacted: report.cells.reduce((s, c) => s + c.contacted, 0),
    conversions,
    conversionRate: members ? conversions / members : 0,
    revenue: report.cells.reduce((s, c) => s + c.revenue, 0),
    winner: winners[0]?.c.cell ?? null,
    winnerLift: winners[0]?.c.absoluteLift ?? null,
    verdict: report.verdict,
  };
}

const COLUMNS = [
  'code',
  'name',
  'channel',
  'state',
  'launchedAt',
  'members',
  'contacted',
  'conversions',
  'conversionRate',
  'revenue',
  'winner',
  'winnerLift',
  'verdict',
] as const;

/** One row per program; text escaped against formula injection, numbers kept numeric. */
export function campaignReportCsv(report: CampaignReport): string {
  return csvTable(COLUMNS, report.programs);
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** A self-contained page: the programs side by side, winners first in each row's verdict. */
export function campaignReportHtml(report: CampaignReport): string {
  const money = (minor: number) => (report.currency ? `${report.currency} ${(minor / 100).toFixed(2)}` : '–');
  const rows = report.programs
    .map(
      (
        p,
      ) => `<tr><td>${esc(p.code)}<br><small>${esc(p.name)}</small></td><td>${esc(p.channel)}</td><td>${esc(p.state)}</td>
<td class="n">${p.members.toLocaleString('en-US')}</td><td class="n">${p.contacted.toLocaleString('en-US')}</td>
<td class="n">${p.conversions.toLocaleString('en-US')}</td><td class="n">${pct(p.conversionRate)}</td><td class="n">${esc(money(p.revenue))}</td>
<td>${p.winner ? `<strong>${esc(p.winner)}</strong> (+${((p.winnerLift ?? 0) * 100).toFixed(2)} pts)` : 'none yet'}</td><td>${esc(p.verdict)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Campaign ${esc(report.campaign.code)}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.4rem .6rem;vertical-align:top;text-align:left}td.n{text-align:right;white-space:nowrap}
small{color:#666}</style></head><body>
<h1>Campaign ${esc(report.campaign.code)}: ${esc(report.campaign.name)}</h1>
<p>${report.programs.length} program(s); confidence ${Math.round(report.confidence * 1000) / 10}%; generated ${esc(report.generatedAt)}</p>
<table><thead><tr><th>program</th><th>channel</th><th>state</th><th>members</th><th>contacted</th><th>converters</th>
<th>conversion rate</th><th>revenue</th><th>winner</th><th>verdict</th></tr></thead><tbody>
${rows || '<tr><td colspan="10">No programs yet.</td></tr>'}
</tbody></table></body></html>
`;
}
