/**
 * The program report (API.md "Field names relied upon": report). Counts are of members (people),
 * rates are fractions (0..1), money is in minor units of the program's currency, intervals are
 * [low, high] at the report's confidence level.
 */
export type Interval = [number, number];

export interface CellReport {
  code: string;
  name: string;
  isControl: boolean;
  responseCode: string;
  /** In the target list (intention to treat: the denominator of conversion rates). */
  members: number;
  /** Sent a message (control members never are). */
  contacted: number;
  delivered: number;
  bounced: number;
  /** Unique members who opened (all / people only: machine opens flagged by tracking left out). */
  opens: number;
  opensHuman: number;
  clicks: number;
  clicksHuman: number;
  unsubscribes: number;
  complaints: number;
  /** Unique members who converted (one per member per program). */
  conversions: number;
  /** Every conversion event (repeat purchases included). */
  conversionEvents: number;
  revenue: number;
  revenuePerMember: number;
  conversionRate: number;
  conversionRateCi: Interval;
  /** Per delivered message; null when nothing was delivered (control cells). */
  openRate: number | null;
  openRateCi: Interval | null;
  clickRate: number | null;
  clickRateCi: Interval | null;
}

export interface Comparison {
  /** The treatment cell's code. */
  cell: string;
  /** The reference cell's code (the control, or the first cell when there is none). */
  against: string;
  metric: 'conversionRate' | 'revenuePerMember';
  /** cell minus reference, in the metric's units (rate fraction, or minor units per member). */
  absoluteLift: number;
  /** cell / reference - 1; null when the reference is 0. */
  relativeLift: number | null;
  /** Interval of the absolute lift. */
  ci: Interval;
  relativeCi: Interval | null;
  /** Two-sided; null when the test cannot be run (e.g. no members). */
  pValue: number | null;
  /** Holm-adjusted across the report's comparisons of the same metric. */
  adjustedPValue: number | null;
  significant: boolean;
  /** 'two-proportion z', or 'welch t'. */
  test: string;
  /** Expected counts under 5 (or fewer than 2 members a side): the p-value is not to be trusted and is not given. */
  smallSample: boolean;
}

export interface WaterfallStep {
  step: string;
  remaining: number;
  removed: number;
}

export interface ProgramReport {
  program: {
    id: string;
    code: string;
    name: string;
    channel: 'email' | 'sms';
    state: string;
    launchedAt: string | null;
    attributionWindowDays: number;
  };
  confidence: number;
  /** ISO 4217 of the revenue figures; null when no conversion carried a value. */
  currency: string | null;
  generatedAt: string;
  waterfall: WaterfallStep[];
  cells: CellReport[];
  comparisons: Comparison[];
  /** Chi-square test of conversion across all cells; null with fewer than two cells. */
  overall: { test: 'chi-square'; statistic: number; df: number; pValue: number | null; smallSample: boolean } | null;
  verdict: string;
}
