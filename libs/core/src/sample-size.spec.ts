import { ValidationError } from './errors';
import { detectableEffect, membersToDetect, sampleSize, SampleSizeInput } from './sample-size';

// References: R's documentation of power.prop.test (the same formula with equal sizes), and sizes
// found in python3 + scipy 1.17.1 by solving the definition of power numerically:
//
//   def power(n, p2, d, alpha, r):   # pooled z-test, two-sided; n treatment members, r·n control
//       p1 = p2 + d; n1, n2 = n, r * n; pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
//       c = norm.isf(alpha / 2) * sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))  # threshold on |p1^ - p2^|
//       sd = sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)                    # sd of p1^ - p2^ under d
//       return norm.sf((c - abs(d)) / sd)
//   n = scipy.optimize.brentq(lambda n: power(n, p2, d, alpha, r) - target, 1e-6, 1e12, xtol=1e-12)
//
// perCell = ceil(n), controlPerCell = ceil(r · perCell). Adding the other tail's rejections
// (R's strict = TRUE) moves n by less than 0.1 member in every case below: no rounded size changes.

const validationField = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).field;
  }
  throw new Error('expected a ValidationError');
};

describe('sampleSize', () => {
  it("matches R's power.prop.test example: p1 = .50, p2 = .75, power = .90 -> n = 76.7", () => {
    // ?power.prop.test, Examples: "power.prop.test(p1 = .50, p2 = .75, power = .90)  # => n = 76.7"
    // brentq above: 76.70692845177747
    expect(sampleSize({ baselineRate: 0.5, minimumDetectableEffect: 0.25, power: 0.9 })).toEqual({
      perCell: 77,
      controlPerCell: 77,
      total: 154,
    });
    // the same pair read the other way round: a fall from 0.75 to 0.5
    expect(sampleSize({ baselineRate: 0.75, minimumDetectableEffect: -0.25, power: 0.9 }).perCell).toBe(77);
  });

  // [baselineRate, minimumDetectableEffect, alpha, power, unrounded n (brentq), perCell]
  const equal: [number, number, number, number, number, number][] = [
    [0.05, 0.01, 0.05, 0.8, 8157.7314478492735, 8158],
    [0.1, 0.02, 0.05, 0.8, 3840.847482436274, 3841],
    [0.02, 0.005, 0.01, 0.9, 26177.809890771907, 26178],
    [0.3, -0.05, 0.1, 0.8, 985.0710001811176, 986],
    [0.85, -0.2, 0.05, 0.8, 72.39301031574256, 73],
    [0.001, 0.001, 0.05, 0.8, 23510.14027301903, 23511],
  ];
  it.each(equal)(
    'sizes equal cells for baseline %f, effect %f, alpha %f, power %f (n = %f)',
    (baselineRate, minimumDetectableEffect, alpha, power, _n, perCell) => {
      expect(sampleSize({ baselineRate, minimumDetectableEffect, alpha, power })).toEqual({
        perCell,
        controlPerCell: perCell,
        total: 2 * perCell,
      });
    },
  );

  it('asks a few members more than the unpooled-only form', () => {
    // 0.85 vs 0.65, alpha 0.05, power 0.8: (z(.975) + z(.8))²·(p1q1 + p2q2)/d² = 69.6588 -> 70
    // (scipy norm.isf / norm.ppf); the pooled-null form used here: 72.3930 -> 73 (brentq above).
    expect(membersToDetect(0.85, -0.2)).toBe(73);
  });

  it('sizes each of several treatment cells like one, and does not change alpha', () => {
    // brentq above with r = 1: 8157.73 -> 8158 per cell; 3 cells + control
    expect(sampleSize({ baselineRate: 0.05, minimumDetectableEffect: 0.01, cells: 3 })).toEqual({
      perCell: 8158,
      controlPerCell: 8158,
      total: 4 * 8158,
    });
  });

  // [cells, controlShare, r = s·k/(1 - s), unrounded n (brentq with that r), perCell, controlPerCell]
  const shares: [number, number, number, number, number, number][] = [
    [1, 0.1, 0.11111111111111112, 41854.87944536141, 41855, 4651],
    [4, 0.1, 0.4444444444444445, 13426.873344700798, 13427, 5968],
    [3, 0.25, 1, 8157.7314478492735, 8158, 8158],
    [2, 0.5, 2, 6047.325356486828, 6048, 12096],
  ];
  it.each(shares)(
    'sizes %i cell(s) for a control that is %f of all members (r = %f, n = %f)',
    (cells, controlShare, _r, _n, perCell, controlPerCell) => {
      const plan = sampleSize({ baselineRate: 0.05, minimumDetectableEffect: 0.01, cells, controlShare });
      expect(plan).toEqual({ perCell, controlPerCell, total: perCell * cells + controlPerCell });
      // the control is at least its share of everyone, and only just
      expect(plan.controlPerCell / plan.total).toBeGreaterThanOrEqual(controlShare);
      expect((plan.controlPerCell - 1) / (plan.total - 1)).toBeLessThan(controlShare);
    },
  );

  it('gives equal sizes when the share is one cell in k + 1', () => {
    const base = { baselineRate: 0.07, minimumDetectableEffect: 0.015 };
    for (const cells of [1, 2, 4, 9]) {
      expect(sampleSize({ ...base, cells, controlShare: 1 / (cells + 1) })).toEqual(sampleSize({ ...base, cells }));
    }
  });

  it('always totals perCell · cells + controlPerCell', () => {
    for (const cells of [1, 2, 5, 20]) {
      for (const controlShare of [undefined, 0.05, 0.3, 0.9]) {
        const p = sampleSize({ baselineRate: 0.2, minimumDetectableEffect: 0.03, cells, controlShare });
        expect(p.total).toBe(p.perCell * cells + p.controlPerCell);
        expect(Number.isInteger(p.perCell) && Number.isInteger(p.controlPerCell)).toBe(true);
      }
    }
  });

  it('needs more members for a smaller effect, a stricter alpha or more power', () => {
    const n = (over: Partial<SampleSizeInput>) =>
      sampleSize({ baselineRate: 0.05, minimumDetectableEffect: 0.01, ...over }).perCell;
    expect(n({ minimumDetectableEffect: 0.005 })).toBeGreaterThan(n({}));
    expect(n({ alpha: 0.01 })).toBeGreaterThan(n({}));
    expect(n({ power: 0.9 })).toBeGreaterThan(n({}));
  });

  it('refuses bad input, naming the field', () => {
    const ok: SampleSizeInput = { baselineRate: 0.05, minimumDetectableEffect: 0.01 };
    const field = (over: Partial<SampleSizeInput>) => validationField(() => sampleSize({ ...ok, ...over }));
    expect(field({ baselineRate: 0 })).toBe('baselineRate');
    expect(field({ baselineRate: 1 })).toBe('baselineRate');
    expect(field({ baselineRate: NaN })).toBe('baselineRate');
    expect(field({ minimumDetectableEffect: 0 })).toBe('minimumDetectableEffect');
    expect(field({ minimumDetectableEffect: 0.95 })).toBe('minimumDetectableEffect'); // 0.05 + 0.95 = 1
    expect(field({ minimumDetectableEffect: -0.05 })).toBe('minimumDetectableEffect'); // 0
    expect(field({ minimumDetectableEffect: Infinity })).toBe('minimumDetectableEffect');
    expect(field({ alpha: 0 })).toBe('alpha');
    expect(field({ alpha: 0.5 })).toBe('alpha');
    expect(field({ power: 0.5 })).toBe('power');
    expect(field({ power: 1 })).toBe('power');
    expect(field({ cells: 0 })).toBe('cells');
    expect(field({ cells: 21 })).toBe('cells');
    expect(field({ cells: 1.5 })).toBe('cells');
    expect(field({ controlShare: 0 })).toBe('controlShare');
    expect(field({ controlShare: 1 })).toBe('controlShare');
  });
});

describe('membersToDetect', () => {
  it('is the equal-size perCell of sampleSize', () => {
    // brentq above: 8157.73 and 26177.81
    expect(membersToDetect(0.05, 0.01)).toBe(8158);
    expect(membersToDetect(0.02, 0.005, 0.01, 0.9)).toBe(26178);
    expect(membersToDetect(0.5, 0.25, 0.05, 0.9)).toBe(77);
    expect(membersToDetect(0.1, 0.02)).toBe(
      sampleSize({ baselineRate: 0.1, minimumDetectableEffect: 0.02, cells: 5 }).perCell,
    );
  });

  it('sizes a fall like the rise between the same two rates', () => {
    expect(membersToDetect(0.12, -0.02)).toBe(membersToDetect(0.1, 0.02));
  });

  it('refuses bad input, naming the field', () => {
    expect(validationField(() => membersToDetect(0, 0.01))).toBe('baselineRate');
    expect(validationField(() => membersToDetect(0.05, 0))).toBe('effect');
    expect(validationField(() => membersToDetect(0.5, 0.5))).toBe('effect');
    expect(validationField(() => membersToDetect(0.05, 0.01, 0.6))).toBe('alpha');
    expect(validationField(() => membersToDetect(0.05, 0.01, 0.05, 0.4))).toBe('power');
  });
});

describe('detectableEffect', () => {
  it('inverts membersToDetect: the lift found needs exactly the members given', () => {
    for (const [baseline, effect] of [
      [0.05, 0.01],
      [0.2, 0.03],
      [0.5, 0.1],
    ]) {
      const n = membersToDetect(baseline, effect);
      const found = detectableEffect(baseline, n, n)!;
      // n is rounded up, so the lift n detects is at most the one asked for, and close to it.
      expect(found).toBeLessThanOrEqual(effect + 1e-9);
      expect(found).toBeGreaterThan(effect * 0.995);
      expect(membersToDetect(baseline, found)).toBeLessThanOrEqual(n);
    }
  });

  it('needs a larger lift with a smaller reference cell, and has none for empty cells', () => {
    const equal = detectableEffect(0.05, 4000, 4000)!;
    const smallControl = detectableEffect(0.05, 4000, 900)!;
    expect(smallControl).toBeGreaterThan(equal);
    expect(detectableEffect(0.05, 0, 100)).toBeNull();
    expect(detectableEffect(0.05, 2, 2)).toBeNull();
  });
});
