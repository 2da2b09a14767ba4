import { ProgramReport } from './report-types';

/** Members per cell needed to detect an absolute effect from a baseline rate (core membersToDetect). */
export type MembersToDetect = (baselineRate: number, effect: number) => number;

const pts = (x: number) => `${(Math.abs(x) * 100).toFixed(1)} pts`;
const pct = (x: number) => `${(x * 100).toFixed(1)}`;
const thousands = (x: number) => Math.round(x).toLocaleString('en-US');

export function formatP(p: number): string {
  if (p < 0.0001) return 'p < 0.0001';
  if (p < 0.001) return `p = ${p.toFixed(4)}`;
  return `p = ${p.toFixed(3)}`;
}

/** Rounds a members count for a sentence: 11,437 -> "about 11,400". */
function about(x: number): string {
  const step = x >= 10_000 ? 100 : x >= 1_000 ? 50 : 10;
  return `about ${thousands(Math.ceil(x / step) * step)}`;
}

/**
 * The report's conclusion in plain words, one sentence per treatment cell on conversion rate
 * (Holm-adjusted p-values decide), e.g.
 *   "Cell B converts 2.1 pts better than control (95% CI 0.9 to 3.3 pts, p = 0.0008, Holm-adjusted)."
 *   "Cell A is not distinguishable from control yet: about 11,400 more members per cell would detect
 *    a 1.0-pt lift with 80% power."
 * Small samples are said to be small instead of given a p-value.
 */
export function verdictOf(report: ProgramReport, membersToDetect: MembersToDetect): string {
  const level = `${Math.round(report.confidence * 1000) / 10}%`;
  const cells = report.cells;
  if (!cells.length) return `Program ${report.program.code} has no cells.`;
  if (cells.every((c) => c.members === 0)) {
    return `Program ${report.program.code} has no members yet: build its list and launch it to measure.`;
  }
  const name = (code: string) => {
    const cell = cells.find((c) => c.code === code)!;
    return cell.isControl ? 'control' : `cell ${cell.name && cell.name !== cell.code ? cell.name : cell.code}`;
  };
  const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
  const sentences: string[] = [];
  for (const c of report.comparisons.filter((x) => x.metric === 'conversionRate')) {
    const cell = cells.find((x) => x.code === c.cell)!;
    const against = cells.find((x) => x.code === c.against)!;
    if (c.smallSample) {
      sentences.push(
        `${cap(name(c.cell))} vs ${name(c.against)}: too few members or conversions for a test yet (${thousands(cell.members)} and ${thousands(against.members)} members, ${cell.conversions} and ${against.conversions} converters).`,
      );
      continue;
    }
    const ci = `${level} CI ${(c.ci[0] * 100).toFixed(1)} to ${(c.ci[1] * 100).toFixed(1)} pts`;
    const p = c.adjustedPValue ?? c.pValue ?? 1;
    if (c.significant) {
      sentences.push(
        `${cap(name(c.cell))} converts ${pts(c.absoluteLift)} ${c.absoluteLift >= 0 ? 'better' : 'worse'} than ${name(c.against)} (${pct(cell.conversionRate)}% vs ${pct(against.conversionRate)}%, ${ci}, ${formatP(p)}, Holm-adjusted).`,
      );
    } else {
      // The lift seen (or one point when it is nil), from the reference's rate, kept inside (0, 1).
      const effect = Math.min(Math.abs(c.absoluteLift) >= 0.001 ? Math.abs(c.absoluteLift) : 0.01, 0.5);
      const baseline = Math.min(Math.max(against.conversionRate, 0.001), 0.999 - effect);
      const needed = membersToDetect(baseline, effect) - Math.min(cell.members, against.members);
      const more =
        needed > 0
          ? `${about(needed)} more members per cell would detect a ${(effect * 100).toFixed(1)}-pt lift with 80% power`
          : `the difference of ${pts(c.absoluteLift)} is within the noise (${ci})`;
      sentences.push(
        `${cap(name(c.cell))} is not distinguishable from ${name(c.against)} yet (${pct(cell.conversionRate)}% vs ${pct(against.conversionRate)}%, ${formatP(p)}${c.adjustedPValue !== null ? ', Holm-adjusted' : ''}): ${more}.`,
      );
    }
  }
  if (!sentences.length) sentences.push(`Program ${report.program.code} has one cell: nothing to compare.`);
  return sentences.join(' ');
}
