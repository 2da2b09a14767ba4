import { ValidationError } from './errors';
import {
  chiSquareTest,
  holmAdjust,
  newcombeInterval,
  relativeLiftInterval,
  twoProportionTest,
  welchTest,
  wilsonInterval,
  zFor,
} from './statistics';

// Reference values: published tables where they exist (to the 4 decimals printed), otherwise
// computed outside this code with python3 + scipy 1.17.1 (and mpmath 1.3 at 50 digits where the
// definition is a closed formula), by the call named beside each. Checked to 1e-6 at least.

/** |actual / expected - 1| < 1e-9: for p-values far below 1e-6, where toBeCloseTo says nothing. */
const expectRelative = (actual: number, expected: number) => {
  expect(actual).toBeGreaterThan(0);
  expect(Math.abs(actual / expected - 1)).toBeLessThan(1e-9);
};

const expectInterval = (actual: readonly [number, number] | null, lower: number, upper: number, digits = 6) => {
  expect(actual).not.toBeNull();
  expect(actual![0]).toBeCloseTo(lower, digits);
  expect(actual![1]).toBeCloseTo(upper, digits);
};

const validationField = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).field;
  }
  throw new Error('expected a ValidationError');
};

describe('zFor', () => {
  it('gives the two-sided critical value of the standard normal', () => {
    // scipy.stats.norm.isf((1 - c) / 2)
    expect(zFor(0.95)).toBeCloseTo(1.959963984540054, 12);
    expect(zFor(0.9)).toBeCloseTo(1.6448536269514729, 12);
    expect(zFor(0.99)).toBeCloseTo(2.5758293035489004, 12);
    expect(zFor(0.8)).toBeCloseTo(1.2815515655446004, 12);
    expect(zFor(0.999999)).toBeCloseTo(4.8916384756929325, 9);
  });

  it('refuses a confidence outside (0, 1)', () => {
    for (const c of [0, 1, -0.5, 1.5, NaN, Infinity]) expect(validationField(() => zFor(c))).toBe('confidence');
  });
});

describe('wilsonInterval', () => {
  // Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven
  // methods. Statistics in Medicine 1998;17:857-872, Table I, method 3 (score, no continuity correction).
  const table1: [number, number, number, number][] = [
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
  ];
  it.each(table1)('matches Newcombe 1998 Table I for %i/%i', (x, n, lower, upper) => {
    expectInterval(wilsonInterval(x, n), lower, upper, 4);
  });

  // mpmath (50 digits): (x + z²/2 ∓ z·√(x(n - x)/n + z²/4)) / (n + z²), z = scipy norm.isf((1 - c)/2)
  const computed: [number, number, number, number, number][] = [
    [81, 263, 0.95, 0.2552885198782742, 0.36620957698280004],
    [15, 148, 0.95, 0.06238639953073628, 0.16048724172330803],
    [1, 29, 0.95, 0.006113214292762661, 0.17175521879320285],
    [0, 10, 0.95, 0, 0.2775327998628892],
    [10, 10, 0.95, 0.7224672001371107, 1],
    [5, 10, 0.9, 0.26927182113826714, 0.7307281788617328],
    [3, 1000, 0.99, 0.0007581012310614677, 0.01179351668292492],
  ];
  it.each(computed)('matches the definition for %i/%i at %f', (x, n, c, lower, upper) => {
    expectInterval(wilsonInterval(x, n, c), lower, upper, 9);
  });

  it('starts at exactly 0 with no successes and ends at exactly 1 with all', () => {
    expect(wilsonInterval(0, 20)[0]).toBe(0);
    expect(wilsonInterval(10, 10)[1]).toBe(1);
    expect(wilsonInterval(1, 1)[1]).toBe(1);
  });

  it('knows nothing with no members', () => {
    expect(wilsonInterval(0, 0)).toEqual([0, 1]);
    expect(wilsonInterval(0, 0, 0.99)).toEqual([0, 1]);
  });

  it('stays accurate for huge n', () => {
    // mpmath, 50 digits, as above
    const [l, u] = wilsonInterval(300_000_000_000, 1_000_000_000_000);
    expect(l).toBeCloseTo(0.29999910183243644, 12);
    expect(u).toBeCloseTo(0.30000089816910014, 12);
    const [l1, u1] = wilsonInterval(1, 1_000_000_000_000);
    expectRelative(l1, 1.7652455493517475e-13);
    expectRelative(u1, 5.664934265736511e-12);
  });

  it('refuses counts that are not counts', () => {
    expect(validationField(() => wilsonInterval(-1, 10))).toBe('successes');
    expect(validationField(() => wilsonInterval(1.5, 10))).toBe('successes');
    expect(validationField(() => wilsonInterval(11, 10))).toBe('successes');
    expect(validationField(() => wilsonInterval(0, -1))).toBe('n');
    expect(validationField(() => wilsonInterval(0, NaN))).toBe('n');
    expect(validationField(() => wilsonInterval(1, 10, 1))).toBe('confidence');
  });
});

describe('newcombeInterval', () => {
  // Newcombe RG. Interval estimation for the difference between independent proportions:
  // comparison of eleven methods. Statistics in Medicine 1998;17:873-890, Table II, method 10.
  // The 50-digit mpmath values come from the same definition (Wilson bounds, square and add).
  const table2: [number, number, number, number, number, number, number, number][] = [
    [56, 70, 48, 80, 0.0524, 0.3339, 0.05243147240236489, 0.33387265403690597], // (a)
    [9, 10, 3, 10, 0.1705, 0.809, 0.1705227239345029, 0.809017973535488], // (b)
    [6, 7, 2, 7, 0.0582, 0.8062, 0.058227927482312244, 0.8062496375242277], // (c)
    [5, 56, 0, 29, -0.0381, 0.1926, -0.03813714790353689, 0.1925600138551116], // (d)
    [0, 10, 0, 20, -0.1611, 0.2775, -0.16112515805281935, 0.2775327998628892], // (e)
    [0, 10, 0, 10, -0.2775, 0.2775, -0.2775327998628892, 0.2775327998628892], // (f)
    [10, 10, 0, 20, 0.6791, 1, 0.6790860371419147, 1], // (g)
    [10, 10, 0, 10, 0.6075, 1, 0.6075093504305242, 1], // (h)
  ];
  it.each(table2)(
    'matches Newcombe 1998 Table II for %i/%i - %i/%i',
    (x1, n1, x2, n2, lower, upper, exactLower, exactUpper) => {
      const ci = newcombeInterval(x1, n1, x2, n2);
      expectInterval(ci, lower, upper, 4);
      expectInterval(ci, exactLower, exactUpper, 9);
    },
  );

  it('takes the confidence level', () => {
    // mpmath, as above, at 90%
    expectInterval(newcombeInterval(130, 2000, 100, 2000, 0.9), 0.002883938871585108, 0.027190475880724624, 9);
  });

  it('is symmetric: swapping the groups negates the interval', () => {
    const [l, u] = newcombeInterval(56, 70, 48, 80);
    const [l2, u2] = newcombeInterval(48, 80, 56, 70);
    expect(l2).toBeCloseTo(-u, 12);
    expect(u2).toBeCloseTo(-l, 12);
  });

  it('knows nothing of the difference when a side has no members', () => {
    expect(newcombeInterval(0, 0, 5, 10)).toEqual([-1, 1]);
    expect(newcombeInterval(5, 10, 0, 0)).toEqual([-1, 1]);
  });

  it('refuses bad counts, naming them', () => {
    expect(validationField(() => newcombeInterval(11, 10, 1, 10))).toBe('x1');
    expect(validationField(() => newcombeInterval(1, 10, 1, -10))).toBe('n2');
    expect(validationField(() => newcombeInterval(1, 10, 1, 10, 0))).toBe('confidence');
  });
});

describe('relativeLiftInterval', () => {
  // scipy.stats.contingency.relative_risk(x1, n1, x2, n2).confidence_interval(c) (Katz et al. 1978
  // log interval), minus 1. The first row is the example of scipy's documentation (27/122 vs 44/487).
  const cases: [number, number, number, number, number, number, number][] = [
    [27, 122, 44, 487, 0.95, 0.5836990926700116, 2.7886786315466354],
    [56, 70, 48, 80, 0.95, 0.07662642276319298, 0.651248511266387],
    [130, 2000, 100, 2000, 0.9, 0.05111477472719583, 0.607816806150993],
    [1, 10, 3, 10, 0.99, -0.9785234145029437, 4.173592940383393],
    [20, 20, 30, 30, 0.95, 0, 0],
  ];
  it.each(cases)('matches scipy for %i/%i vs %i/%i at %f', (x1, n1, x2, n2, c, lower, upper) => {
    expectInterval(relativeLiftInterval(x1, n1, x2, n2, c), lower, upper, 9);
  });

  it('contains the observed lift, not symmetrically', () => {
    const [l, u] = relativeLiftInterval(27, 122, 44, 487)!;
    const lift = 27 / 122 / (44 / 487) - 1; // 1.4495156482861398 (scipy relative_risk - 1)
    expect(lift).toBeCloseTo(1.4495156482861398, 12);
    expect(l).toBeLessThan(lift);
    expect(u).toBeGreaterThan(lift);
    expect(u - lift).toBeGreaterThan(lift - l);
  });

  it('has no answer when a side has no successes or no members', () => {
    expect(relativeLiftInterval(0, 100, 5, 100)).toBeNull();
    expect(relativeLiftInterval(5, 100, 0, 100)).toBeNull();
    expect(relativeLiftInterval(0, 0, 5, 100)).toBeNull();
    expect(relativeLiftInterval(5, 100, 0, 0)).toBeNull();
  });

  it('refuses bad input', () => {
    expect(validationField(() => relativeLiftInterval(5, 4, 1, 10))).toBe('x1');
    expect(validationField(() => relativeLiftInterval(5, 10, 1, 10, 2))).toBe('confidence');
  });
});

describe('twoProportionTest', () => {
  // z from its definition, (p1 - p2)/√(p̄q̄(1/n1 + 1/n2)); pValue = scipy.stats.chi2_contingency(
  // [[x1, n1 - x1], [x2, n2 - x2]], correction=False).pvalue (Pearson's X² is z²); the smallest
  // expected count is min(expected_freq).
  const cases: [number, number, number, number, number, number, boolean][] = [
    [56, 70, 48, 80, 2.6501719512585336, 0.008045081368196585, false],
    [130, 2000, 100, 2000, 2.0375893277870785, 0.04159102022986792, false],
    [7, 10, 3, 10, 1.7888543819998317, 0.07363827012030258, false], // smallest expected count exactly 5
    [3, 1000, 0, 1000, 1.733351308921596, 0.08303324629912998, true], // expected 1.5
    [1, 1, 0, 1, 1.414213562373095, 0.15729920705028105, true],
    [0, 3, 3, 3, -2.449489742783178, 0.014305878435429641, true],
    [50_010_000, 1_000_000_000, 50_000_000, 1_000_000_000, 1.0259297568329522, 0.30492469520354026, false],
  ];
  it.each(cases)('matches scipy for %i/%i vs %i/%i', (x1, n1, x2, n2, z, p, small) => {
    const r = twoProportionTest(x1, n1, x2, n2);
    expect(r.z).toBeCloseTo(z, 9);
    expect(r.pValue).toBeCloseTo(p, 9);
    expect(r.smallSample).toBe(small);
  });

  it('keeps the digits of tiny p-values (2·scipy.stats.norm.sf(|z|))', () => {
    const a = twoProportionTest(600, 10_000, 400, 10_000);
    expect(a.z).toBeCloseTo(6.4888568452305, 9);
    expectRelative(a.pValue, 8.649009680852842e-11);
    const b = twoProportionTest(1500, 10_000, 1000, 10_000);
    expect(b.z).toBeCloseTo(10.690449676496971, 9);
    expectRelative(b.pValue, 1.128226302869106e-26);
    expect(twoProportionTest(1000, 10_000, 1500, 10_000).pValue).toBe(b.pValue); // two-sided
  });

  it('says nothing differs between identical groups', () => {
    expect(twoProportionTest(50, 100, 50, 100)).toEqual({ z: 0, pValue: 1, smallSample: false });
    expect(twoProportionTest(0, 40, 0, 40)).toEqual({ z: 0, pValue: 1, smallSample: true });
    expect(twoProportionTest(40, 40, 20, 20)).toEqual({ z: 0, pValue: 1, smallSample: true });
  });

  it('gives no evidence without members on a side', () => {
    expect(twoProportionTest(0, 0, 5, 10)).toEqual({ z: 0, pValue: 1, smallSample: true });
  });

  it('underflows to 0 only far beyond any real difference', () => {
    // z = 102.1 (scipy: p = 0.0 too)
    const r = twoProportionTest(51_000_000, 1_000_000_000, 50_000_000, 1_000_000_000);
    expect(r.z).toBeCloseTo(102.11553771422021, 6);
    expect(r.pValue).toBe(0);
  });

  it('refuses bad counts', () => {
    expect(validationField(() => twoProportionTest(1, 10, 11, 10))).toBe('x2');
    expect(validationField(() => twoProportionTest(1, 10.5, 1, 10))).toBe('n1');
  });
});

describe('holmAdjust', () => {
  it('matches the worked example (Wikipedia, "Holm-Bonferroni method")', () => {
    // p = 0.01, 0.04, 0.03, 0.005: sorted 0.005·4, 0.01·3, 0.03·2, 0.04·1 -> running max
    const adjusted = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((x, i) => expect(adjusted[i]).toBeCloseTo(x, 12));
  });

  // From the definition, in python: sort ascending, (m - k)·p, running max, min 1, back in order.
  const cases: [(number | null)[], (number | null)[]][] = [
    [
      [0.01, 0.02, 0.03, 0.04, 0.05],
      [0.05, 0.08, 0.09, 0.09, 0.09],
    ],
    [
      [0.2, null, 0.01, 0.5, null],
      [0.4, null, 0.03, 0.5, null],
    ],
    [
      [0.04, 0.04, 0.001],
      [0.08, 0.08, 0.003],
    ],
    [
      [0.6, 0.7, 0.3],
      [1, 1, 0.9],
    ],
  ];
  it.each(cases)('adjusts %j', (given, expected) => {
    const adjusted = holmAdjust(given);
    expect(adjusted).toHaveLength(expected.length);
    expected.forEach((x, i) => {
      if (x === null) expect(adjusted[i]).toBeNull();
      else expect(adjusted[i]).toBeCloseTo(x, 12);
    });
  });

  it('is monotone in the order of the raw p-values and never below them', () => {
    const raw = [0.03, 0.001, 0.2, 0.04, 0.0001, 0.5];
    const adjusted = holmAdjust(raw) as number[];
    const order = raw.map((_, i) => i).sort((a, b) => raw[a] - raw[b]);
    for (let k = 1; k < order.length; k++) {
      expect(adjusted[order[k]]).toBeGreaterThanOrEqual(adjusted[order[k - 1]]);
    }
    raw.forEach((p, i) => expect(adjusted[i]).toBeGreaterThanOrEqual(p));
    adjusted.forEach((p) => expect(p).toBeLessThanOrEqual(1));
  });

  it('leaves one p-value as it is, and handles none', () => {
    expect(holmAdjust([0.03])).toEqual([0.03]);
    expect(holmAdjust([])).toEqual([]);
    expect(holmAdjust([null, null])).toEqual([null, null]);
  });

  it('refuses something that is not a p-value, naming its place', () => {
    expect(validationField(() => holmAdjust([0.1, 1.2]))).toBe('pValues[1]');
    expect(validationField(() => holmAdjust([-0.1]))).toBe('pValues[0]');
    expect(validationField(() => holmAdjust([null, NaN]))).toBe('pValues[1]');
  });
});

describe('chiSquareTest', () => {
  // scipy.stats.chi2_contingency([[successes...], [failures...]], correction=False):
  // statistic, pvalue, dof, expected_freq.min()
  const cases: [[number, number][], number, number, number, number][] = [
    [
      [
        [56, 70],
        [48, 80],
      ],
      7.023411371237457,
      0.008045081368196582,
      1,
      21.466666666666665,
    ],
    [
      [
        [30, 1000],
        [45, 1000],
        [62, 1000],
      ],
      11.76347611484049,
      0.0027899319966116134,
      2,
      45.666666666666664,
    ],
    [
      [
        [12, 40],
        [8, 50],
        [20, 45],
        [5, 30],
      ],
      11.744537037037036,
      0.008311523643648192,
      3,
      8.181818181818182,
    ],
    [
      [
        [5_000_000, 100_000_000],
        [5_001_000, 100_000_000],
        [4_999_500, 100_000_000],
      ],
      0.24560627911432076,
      0.884437756232536,
      2,
      5000166.666666667,
    ],
  ];
  it.each(cases)('matches scipy for %j', (groups, statistic, p, df, minExpected) => {
    const r = chiSquareTest(groups.map(([successes, n]) => ({ successes, n })));
    expect(r.statistic).toBeCloseTo(statistic, 6);
    expect(r.pValue).toBeCloseTo(p, 9);
    expect(r.df).toBe(df);
    expect(r.minExpected).toBeCloseTo(minExpected, 6);
    expect(r.smallSample).toBe(false);
  });

  it('is the two-proportion z-test squared for two groups', () => {
    const chi = chiSquareTest([
      { successes: 130, n: 2000 },
      { successes: 100, n: 2000 },
    ]);
    const z = twoProportionTest(130, 2000, 100, 2000);
    expect(chi.statistic).toBeCloseTo(z.z * z.z, 9);
    expect(chi.pValue).toBeCloseTo(z.pValue, 12);
  });

  it('keeps the digits of tiny p-values (scipy.stats.chi2.sf)', () => {
    const r = chiSquareTest([
      { successes: 100, n: 1000 },
      { successes: 200, n: 1000 },
      { successes: 60, n: 1000 },
    ]);
    expect(r.statistic).toBeCloseTo(98.48484848484848, 9);
    expectRelative(r.pValue, 4.1142139838132284e-22);
  });

  it('flags small expected counts, and still computes', () => {
    // scipy: statistic 3.7500000000000004, p 0.1533549668449284, min expected 2.6666666666666665
    const r = chiSquareTest([
      { successes: 2, n: 20 },
      { successes: 5, n: 20 },
      { successes: 1, n: 20 },
    ]);
    expect(r.statistic).toBeCloseTo(3.75, 9);
    expect(r.pValue).toBeCloseTo(0.1533549668449284, 9);
    expect(r.minExpected).toBeCloseTo(2.6666666666666665, 9);
    expect(r.smallSample).toBe(true);
  });

  it('leaves out groups without members', () => {
    const withEmpty = chiSquareTest([
      { successes: 30, n: 1000 },
      { successes: 0, n: 0 },
      { successes: 45, n: 1000 },
      { successes: 62, n: 1000 },
    ]);
    expect(withEmpty.df).toBe(2);
    expect(withEmpty.statistic).toBeCloseTo(11.76347611484049, 6);
  });

  it('has nothing to test when all succeeded, all failed, or one group has members', () => {
    const none = chiSquareTest([
      { successes: 0, n: 100 },
      { successes: 0, n: 50 },
    ]);
    expect(none).toEqual({ statistic: 0, df: 1, pValue: 1, minExpected: 0, smallSample: true });
    const all = chiSquareTest([
      { successes: 100, n: 100 },
      { successes: 50, n: 50 },
      { successes: 10, n: 10 },
    ]);
    expect(all).toMatchObject({ statistic: 0, df: 2, pValue: 1, smallSample: true });
    const one = chiSquareTest([
      { successes: 10, n: 100 },
      { successes: 0, n: 0 },
    ]);
    expect(one).toMatchObject({ statistic: 0, df: 0, pValue: 1 });
  });

  it('gives p = 1 for identical groups', () => {
    const r = chiSquareTest([
      { successes: 10, n: 100 },
      { successes: 10, n: 100 },
      { successes: 10, n: 100 },
    ]);
    expect(r.statistic).toBe(0);
    expect(r.pValue).toBe(1);
  });

  it('refuses fewer than two groups and bad counts', () => {
    expect(validationField(() => chiSquareTest([{ successes: 1, n: 2 }]))).toBe('groups');
    expect(
      validationField(() =>
        chiSquareTest([
          { successes: 1, n: 2 },
          { successes: 3, n: 2 },
        ]),
      ),
    ).toBe('groups[1].successes');
    expect(
      validationField(() =>
        chiSquareTest([
          { successes: 1, n: -2 },
          { successes: 1, n: 2 },
        ]),
      ),
    ).toBe('groups[0].n');
  });
});

describe('welchTest', () => {
  // scipy.stats.ttest_ind_from_stats(m1, √v1, n1, m2, √v2, n2, equal_var=False): statistic, pvalue;
  // df = (v1/n1 + v2/n2)² / ((v1/n1)²/(n1 - 1) + (v2/n2)²/(n2 - 1));
  // ci = m1 - m2 ∓ scipy.stats.t.isf((1 - c)/2, df)·√(v1/n1 + v2/n2)
  type Row = [number, number, number, number, number, number, number, number, number, number, number, number];
  const cases: Row[] = [
    [
      10.5, 4, 30, 9.2, 9, 25, 0.95, 1.8508580917173743, 0.07149729052569984, 40.47508602013509, -0.11903784461666,
      2.719037844616661,
    ],
    [
      3.1, 2.5, 12, 3.3, 0.5, 8, 0.9, -0.38430756913220854, 0.7057219712471084, 16.286608260325412, -1.1076070452509754,
      0.707607045250976,
    ],
    [
      52, 100, 2, 48, 64, 3, 0.95, 0.47360222277831504, 0.6853794809587235, 1.8655694964966592, -34.968222113167684,
      42.968222113167684,
    ],
    [1, 0, 10, 0.5, 1, 10, 0.95, 1.5811388300841895, 0.1483047073665595, 9, -0.2153569059706647, 1.2153569059706646],
    [5, 0, 4, 3, 2, 6, 0.95, 3.464101615137754, 0.017962884609943976, 5, 0.5158738852214115, 3.4841261147785882],
    [
      12, 16, 400, 10, 25, 300, 0.95, 5.694947974514994, 1.9968593595318195e-8, 558.5012156713891, 1.310188390300051,
      2.689811609699949,
    ],
    [0, 1, 2, 0, 1, 2, 0.95, 0, 1, 2, -4.302652729749462, 4.302652729749462],
  ];
  it.each(cases)(
    'matches scipy for (%f, %f, %i) vs (%f, %f, %i) at %f',
    (m1, v1, n1, m2, v2, n2, c, t, p, df, lower, upper) => {
      const r = welchTest({ mean: m1, variance: v1, n: n1 }, { mean: m2, variance: v2, n: n2 }, c);
      expect(r).not.toBeNull();
      expect(r!.t).toBeCloseTo(t, 9);
      expect(r!.pValue).toBeCloseTo(p, 9);
      expect(r!.df).toBeCloseTo(df, 6);
      expectInterval(r!.ci, lower, upper, 6);
    },
  );

  it('keeps the digits of tiny p-values', () => {
    // scipy ttest_ind_from_stats as above
    const a = welchTest({ mean: 12, variance: 16, n: 1000 }, { mean: 10, variance: 25, n: 800 })!;
    expect(a.t).toBeCloseTo(9.200874124564724, 9);
    expect(a.df).toBeCloseTo(1510.0317036593271, 6);
    expectRelative(a.pValue, 1.1451900210690798e-19);
    expectInterval(a.ci, 1.5736195921988065, 2.4263804078011937);
    const b = welchTest({ mean: 105, variance: 400, n: 5000 }, { mean: 100, variance: 400, n: 5000 })!;
    expect(b.t).toBeCloseTo(12.5, 9);
    expect(b.df).toBeCloseTo(9998, 6);
    expectRelative(b.pValue, 1.3765416801893155e-35);
    expectInterval(b.ci, 4.215919485057265, 5.784080514942735);
  });

  it('handles huge n', () => {
    // scipy: t = 70.71067811865471, p = 0.0 (underflow), df = 1999998, 99% ci as above
    const r = welchTest(
      { mean: 0.11, variance: 0.01, n: 1_000_000 },
      { mean: 0.1, variance: 0.01, n: 1_000_000 },
      0.99,
    )!;
    expect(r.t).toBeCloseTo(70.71067811865471, 6);
    expect(r.df).toBeCloseTo(1999998, 3);
    expectInterval(r.ci, 0.009635722378803231, 0.010364277621196759, 9);
  });

  it('is null without two values a side or without any spread', () => {
    expect(welchTest({ mean: 1, variance: 0, n: 1 }, { mean: 2, variance: 1, n: 10 })).toBeNull();
    expect(welchTest({ mean: 1, variance: 1, n: 10 }, { mean: 2, variance: 0, n: 0 })).toBeNull();
    expect(welchTest({ mean: 1, variance: 0, n: 10 }, { mean: 2, variance: 0, n: 10 })).toBeNull();
  });

  it('refuses bad summaries, naming the field', () => {
    const ok = { mean: 1, variance: 1, n: 10 };
    expect(validationField(() => welchTest({ ...ok, variance: -1 }, ok))).toBe('a.variance');
    expect(validationField(() => welchTest(ok, { ...ok, mean: NaN }))).toBe('b.mean');
    expect(validationField(() => welchTest(ok, { ...ok, n: 2.5 }))).toBe('b.n');
    expect(validationField(() => welchTest(ok, ok, 1))).toBe('confidence');
  });
});
