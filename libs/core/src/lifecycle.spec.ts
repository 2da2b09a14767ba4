import {
  DAY_MS,
  isLifecycleStage,
  LIFECYCLE_STAGES,
  LIFECYCLE_THRESHOLDS,
  lifecycleCutoffs,
  lifecycleStage,
  orderTiming,
} from './lifecycle';

const now = new Date('2026-06-01T12:00:00.000Z');
/** The instant `days` days (plus `ms`) before now. */
const ago = (days: number, ms = 0) => new Date(now.getTime() - days * DAY_MS - ms);
const stageOf = (...orders: Date[]) => lifecycleStage(orderTiming(orders), now);

describe('lifecycle thresholds', () => {
  it('are the documented ones', () => {
    expect(LIFECYCLE_THRESHOLDS).toEqual({
      newWithinDays: 90,
      activeWithinDays: 180,
      lapsedAfterDays: 365,
      wonBackGapDays: 365,
    });
    expect(LIFECYCLE_STAGES).toEqual(['prospect', 'new', 'active', 'at-risk', 'lapsed', 'won-back']);
  });

  it('give cutoffs in exact days of 24 hours, whatever the calendar', () => {
    expect(lifecycleCutoffs(now)).toEqual({
      newSince: new Date('2026-03-03T12:00:00.000Z'),
      activeSince: new Date('2025-12-03T12:00:00.000Z'),
      lapsedBefore: new Date('2025-06-01T12:00:00.000Z'),
      wonBackGapMs: 365 * 86_400_000,
    });
  });
});

describe('lifecycleStage', () => {
  it('is prospect without an order', () => {
    expect(stageOf()).toBe('prospect');
    expect(lifecycleStage({ firstOrderAt: null, lastOrderAt: null, previousOrderAt: null }, now)).toBe('prospect');
  });

  it.each([
    ['first order today', [ago(0)], 'new'],
    ['first order exactly 90 days ago', [ago(90)], 'new'],
    ['first order 90 days and 1 ms ago', [ago(90, 1)], 'active'],
    ['single order 180 days ago', [ago(180)], 'active'],
    ['single order 180 days and 1 ms ago', [ago(180, 1)], 'at-risk'],
    ['single order 200 days ago', [ago(200)], 'at-risk'],
    ['single order exactly 365 days ago', [ago(365)], 'at-risk'],
    ['single order 365 days and 1 ms ago', [ago(365, 1)], 'lapsed'],
    ['single order 3 years ago', [ago(1100)], 'lapsed'],
    ['recent orders, the first long ago', [ago(700), ago(150), ago(10)], 'active'],
    ['a new customer with several orders', [ago(80), ago(40), ago(1)], 'new'],
  ])('%s', (_, orders, stage) => {
    expect(stageOf(...(orders as Date[]))).toBe(stage);
  });

  it('is won-back when the last order, within 180 days, came more than 365 days after the one before', () => {
    expect(stageOf(ago(600), ago(30))).toBe('won-back');
    expect(stageOf(ago(30, -1), ago(30 + 365, 1))).toBe('won-back');
    // a gap of exactly 365 days is not enough
    expect(stageOf(ago(30 + 365), ago(30))).toBe('active');
    // only the gap before the last order counts
    expect(stageOf(ago(1000), ago(100), ago(20))).toBe('active');
    expect(stageOf(ago(1000), ago(990), ago(20))).toBe('won-back');
    // a won-back customer who does not buy again is at risk, then lapsed, like anyone else
    expect(stageOf(ago(800), ago(200))).toBe('at-risk');
    expect(stageOf(ago(1800), ago(400))).toBe('lapsed');
  });

  it('leaves no gap between two orders at the same instant', () => {
    const t = ago(10);
    expect(orderTiming([t, new Date(t)])).toEqual({ firstOrderAt: t, lastOrderAt: t, previousOrderAt: t });
    expect(stageOf(ago(500), ago(10), ago(10))).toBe('active');
  });

  it('prefers new over won-back: every order of a new customer is recent', () => {
    expect(stageOf(ago(89), ago(1))).toBe('new');
  });

  it('reads the timing of orders given in any order', () => {
    expect(orderTiming([ago(5), ago(900), ago(300)])).toEqual({
      firstOrderAt: ago(900),
      lastOrderAt: ago(5),
      previousOrderAt: ago(300),
    });
    expect(orderTiming([ago(5)])).toEqual({ firstOrderAt: ago(5), lastOrderAt: ago(5), previousOrderAt: null });
  });

  it('counts an order in the future as recent', () => {
    expect(stageOf(new Date(now.getTime() + DAY_MS))).toBe('new');
  });
});

describe('isLifecycleStage', () => {
  it('accepts the six stages only', () => {
    for (const s of LIFECYCLE_STAGES) expect(isLifecycleStage(s)).toBe(true);
    expect(isLifecycleStage('churned')).toBe(false);
    expect(isLifecycleStage(undefined)).toBe(false);
  });
});
