/**
 * The statistics behind a program's results: how sure we are of a cell's rate, of the difference
 * and ratio between a mailed cell and its control, and whether the cells differ at all.
 *
 * Rates are counts over members: `x` successes (converters, responders) out of `n` members.
 *
 * - Interval of one rate: Wilson's score interval, which stays inside [0, 1] and behaves at 0 and
 *   at n successes, where the textbook p ± z·se collapses to a point.
 * - Interval of a difference p1 - p2: Newcombe's hybrid score interval (method 10 of Newcombe
 *   1998), which combines the two Wilson intervals: L = d - √((p1 - l1)² + (u2 - p2)²) and
 *   U = d + √((u1 - p1)² + (p2 - l2)²).
 * - Interval of a relative lift p1/p2 - 1: Katz's log interval of the risk ratio,
 *   exp(ln(p1/p2) ± z·√(1/x1 - 1/n1 + 1/x2 - 1/n2)) - 1. It has no answer when either side has
 *   no successes.
 * - Test of two rates: the pooled two-proportion z-test, two-sided. It equals the Pearson
 *   chi-square test of the 2 x 2 table (z² is its statistic).
 * - Test of several rates at once: Pearson's chi-square test of independence of the 2 x k table,
 *   without continuity correction.
 * - Several cells compared with one control: Holm's step-down adjustment of their p-values, so
 *   that the chance of any false "significant" stays at alpha.
 * - Means (order value, revenue per member) from summary statistics: Welch's t-test, which does
 *   not assume equal variances, and the interval of the difference of the means.
 *
 * The normal-approximation tests say when they stand on thin ground: `smallSample` is set when an
 * expected count is under 5 (the usual rule of thumb); the p-value is computed all the same.
 *
 * The distributions come from stdlib (normal, Student's t, and the upper regularized incomplete
 * gamma for the chi-square tail). P-values are taken from the tail they lie in, never as 1 - cdf,
 * so one of 1e-20 keeps its digits; below about 1e-308 a p-value underflows to 0.
 */
import gammainc from '@stdlib/math-base-special-gammainc';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { ValidationError } from './errors';

export type Interval = [number, number];

/** The expected count under which a normal approximation is flagged as a small sample. */
export const SMALL_SAMPLE_EXPECTED = 5;

function checkCount(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`${field} must be a whole number of at least 0, got ${value}`, field);
  }
}

function checkCounts(x: number, n: number, xField: string, nField: string): void {
  checkCount(n, nField);
  checkCount(x, xField);
  if (x > n) throw new ValidationError(`${xField} (${x}) cannot exceed ${nField} (${n})`, xField);
}

function checkConfidence(confidence: number): void {
  if (!(Number.isFinite(confidence) && confidence > 0 && confidence < 1)) {
    throw new ValidationError(`confidence must be between 0 and 1 (exclusive), got ${confidence}`, 'confidence');
  }
}

/** P(|Z| >= |z|) for a standard normal Z, from the lower tail of -|z| (no 1 - cdf). */
const normalTwoSided = (z: number): number => Math.min(1, 2 * normalCdf(-Math.abs(z), 0, 1));

/** P(X >= x) for a chi-square X with df degrees of freedom: the upper regularized gamma Q(df/2, x/2). */
const chiSquareUpper = (x: number, df: number): number => (x <= 0 ? 1 : gammainc(x / 2, df / 2, true, true));

/**
 * The two-sided critical value of the standard normal: z with P(|Z| <= z) = confidence, e.g.
 * 0.95 -> 1.959963984540054. Taken as -quantile((1 - confidence) / 2), which keeps its digits for
 * confidences close to 1.
 */
export function zFor(confidence: number): number {
  checkConfidence(confidence);
  return -normalQuantile((1 - confidence) / 2, 0, 1);
}

/**
 * Wilson's score interval for a rate of `successes` out of `n`:
 *
 *   (x + z²/2 ± z·√(x(n - x)/n + z²/4)) / (n + z²)
 *
 * With n = 0 nothing is known: [0, 1]. At 0 successes the lower end is exactly 0, at n it is
 * exactly 1 at the top.
 */
export function wilsonInterval(successes: number, n: number, confidence = 0.95): Interval {
  checkCounts(successes, n, 'successes', 'n');
  const z = zFor(confidence);
  if (n === 0) return [0, 1];
  const z2 = z * z;
  const centre = (successes + z2 / 2) / (n + z2);
  const half = (z / (n + z2)) * Math.sqrt((successes * (n - successes)) / n + z2 / 4);
  const lower = successes === 0 ? 0 : Math.max(0, centre - half);
  const upper = successes === n ? 1 : Math.min(1, centre + half);
  return [lower, upper];
}

/**
 * Newcombe (1998) method 10: hybrid score interval for p1 - p2 (independent samples).
 *
 * With no members on either side nothing is known of the difference: [-1, 1].
 */
export function newcombeInterval(x1: number, n1: number, x2: number, n2: number, confidence = 0.95): Interval {
  checkCounts(x1, n1, 'x1', 'n1');
  checkCounts(x2, n2, 'x2', 'n2');
  checkConfidence(confidence);
  if (n1 === 0 || n2 === 0) return [-1, 1];
  const [l1, u1] = wilsonInterval(x1, n1, confidence);
  const [l2, u2] = wilsonInterval(x2, n2, confidence);
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const d = p1 - p2;
  const lower = d - Math.hypot(p1 - l1, u2 - p2);
  const upper = d + Math.hypot(u1 - p1, p2 - l2);
  return [Math.max(-1, lower), Math.min(1, upper)];
}

/**
 * Relative lift p1/p2 - 1 with the Katz log interval of the risk ratio; null when x1 or x2 is 0
 * or n is 0.
 *
 * The interval is exp(ln(p1/p2) ± z·se) - 1 with se² = (n1 - x1)/(x1·n1) + (n2 - x2)/(x2·n2)
 * (that is 1/x1 - 1/n1 + 1/x2 - 1/n2, without the cancellation). It is not symmetric around the
 * observed lift; its lower end is above -1.
 */
export function relativeLiftInterval(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  confidence = 0.95,
): Interval | null {
  checkCounts(x1, n1, 'x1', 'n1');
  checkCounts(x2, n2, 'x2', 'n2');
  const z = zFor(confidence);
  if (x1 === 0 || x2 === 0 || n1 === 0 || n2 === 0) return null;
  const logRatio = Math.log(x1 / n1 / (x2 / n2));
  const se = Math.sqrt((n1 - x1) / (x1 * n1) + (n2 - x2) / (x2 * n2));
  return [Math.expm1(logRatio - z * se), Math.expm1(logRatio + z * se)];
}

/**
 * Pooled two-proportion z-test, two-sided.
 *
 * z = (p1 - p2) / √(p̄(1 - p̄)(1/n1 + 1/n2)) with p̄ = (x1 + x2)/(n1 + n2); the p-value is
 * P(|Z| >= |z|). When the pooled rate is 0 or 1 (every member failed, or every one succeeded) or
 * a side has no members, there is no evidence of a difference: z = 0, p = 1.
 *
 * smallSample: any expected count (p̄·n and (1 - p̄)·n, for each group) is under 5.
 */
export function twoProportionTest(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
): { z: number; pValue: number; smallSample: boolean } {
  checkCounts(x1, n1, 'x1', 'n1');
  checkCounts(x2, n2, 'x2', 'n2');
  if (n1 === 0 || n2 === 0) return { z: 0, pValue: 1, smallSample: true };
  const pooled = (x1 + x2) / (n1 + n2);
  const pooledFailures = (n1 - x1 + (n2 - x2)) / (n1 + n2);
  const smallSample = Math.min(pooled, pooledFailures) * Math.min(n1, n2) < SMALL_SAMPLE_EXPECTED;
  if (pooled === 0 || pooledFailures === 0) return { z: 0, pValue: 1, smallSample };
  const se = Math.sqrt(pooled * pooledFailures * (1 / n1 + 1 / n2));
  const z = (x1 / n1 - x2 / n2) / se;
  return { z, pValue: normalTwoSided(z), smallSample };
}

/**
 * Holm-Bonferroni step-down adjusted p-values, same order as given, monotone, capped at 1; nulls
 * pass through.
 *
 * Of the m p-values present, sorted ascending p(1) <= ... <= p(m), the i-th (1-based) becomes
 * max over j <= i of min(1, (m - j + 1)·p(j)). Rejecting where the adjusted value is under alpha is
 * Holm's procedure at level alpha. Nulls (a comparison that could not be made) are not counted in m.
 */
export function holmAdjust(pValues: readonly (number | null)[]): (number | null)[] {
  const present: { p: number; at: number }[] = [];
  pValues.forEach((p, at) => {
    if (p === null) return;
    if (!(typeof p === 'number' && p >= 0 && p <= 1)) {
      throw new ValidationError(`pValues[${at}] must be between 0 and 1, got ${p}`, `pValues[${at}]`);
    }
    present.push({ p, at });
  });
  // Ties keep their given order (a stable sort), which does not change the adjusted values.
  present.sort((a, b) => a.p - b.p);
  const adjusted: (number | null)[] = pValues.map(() => null);
  const m = present.length;
  let running = 0;
  present.forEach(({ p, at }, i) => {
    running = Math.max(running, Math.min(1, (m - i) * p));
    adjusted[at] = running;
  });
  return adjusted;
}

/**
 * Pearson chi-square test of independence for a 2 x k table of (successes, failures) per group, no
 * continuity correction.
 *
 * With P = all successes / all members and Q = 1 - P, a group of n members is expected to have n·P
 * successes and n·Q failures, and
 *
 *   X² = Σ (observed - expected)² / expected = Σ over groups (x - n·P)² / (n·P·Q)
 *
 * on k - 1 degrees of freedom. Groups with no members carry no information and are left out
 * (of k too). When fewer than two groups remain, or every member succeeded or every one failed,
 * there is nothing to test: statistic 0, p = 1.
 *
 * minExpected is the smallest expected count; smallSample when it is under 5.
 */
export function chiSquareTest(groups: readonly { successes: number; n: number }[]): {
  statistic: number;
  df: number;
  pValue: number;
  minExpected: number;
  smallSample: boolean;
} {
  if (groups.length < 2) throw new ValidationError('at least two groups are needed', 'groups');
  groups.forEach((g, i) => checkCounts(g.successes, g.n, `groups[${i}].successes`, `groups[${i}].n`));
  const used = groups.filter((g) => g.n > 0);
  const members = used.reduce((sum, g) => sum + g.n, 0);
  const successes = used.reduce((sum, g) => sum + g.successes, 0);
  const df = Math.max(0, used.length - 1);
  const p = members === 0 ? 0 : successes / members;
  const q = members === 0 ? 0 : (members - successes) / members;
  const minExpected = used.length === 0 ? 0 : Math.min(...used.map((g) => g.n)) * Math.min(p, q);
  const smallSample = minExpected < SMALL_SAMPLE_EXPECTED;
  if (used.length < 2 || successes === 0 || successes === members) {
    return { statistic: 0, df, pValue: 1, minExpected, smallSample };
  }
  let statistic = 0;
  for (const g of used) {
    const deviation = g.successes - g.n * p;
    statistic += (deviation * deviation) / (g.n * p * q);
  }
  return { statistic, df, pValue: chiSquareUpper(statistic, df), minExpected, smallSample };
}

/** Summary statistics of one group's values: mean, sample variance (n - 1 denominator), count. */
export interface MeanSummary {
  mean: number;
  variance: number;
  n: number;
}

function checkSummary(s: MeanSummary, field: string): void {
  if (!Number.isFinite(s.mean)) throw new ValidationError(`${field}.mean must be a finite number`, `${field}.mean`);
  if (!(Number.isFinite(s.variance) && s.variance >= 0)) {
    throw new ValidationError(`${field}.variance must be a number of at least 0`, `${field}.variance`);
  }
  checkCount(s.n, `${field}.n`);
}

/**
 * Welch's t-test from summary statistics (mean, sample variance, n), two-sided; and the interval
 * of mean1 - mean2.
 *
 *   t = (m1 - m2) / se, se² = v1/n1 + v2/n2,
 *   df = se⁴ / ((v1/n1)²/(n1 - 1) + (v2/n2)²/(n2 - 1))   (Welch-Satterthwaite)
 *
 * The p-value is P(|T| >= |t|) on df degrees of freedom (not a whole number in general), the
 * interval m1 - m2 ± t(df)·se. Null when n < 2 on either side (no variance to speak of) or both
 * variances are 0 (every value equal within each group: no spread to measure against).
 */
export function welchTest(
  a: MeanSummary,
  b: MeanSummary,
  confidence = 0.95,
): { t: number; df: number; pValue: number; ci: Interval } | null {
  checkSummary(a, 'a');
  checkSummary(b, 'b');
  checkConfidence(confidence);
  if (a.n < 2 || b.n < 2 || (a.variance === 0 && b.variance === 0)) return null;
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const se = Math.sqrt(va + vb);
  // The same df, written with shares of se² so that tiny or huge variances neither under- nor overflow.
  const sa = va / (va + vb);
  const sb = vb / (va + vb);
  const df = 1 / ((sa * sa) / (a.n - 1) + (sb * sb) / (b.n - 1));
  const diff = a.mean - b.mean;
  const t = diff / se;
  const pValue = Math.min(1, 2 * tCdf(-Math.abs(t), df));
  const critical = -tQuantile((1 - confidence) / 2, df);
  return { t, df, pValue, ci: [diff - critical * se, diff + critical * se] };
}
