/**
 * Customer lifecycle stage from purchase timing (PRODUCT.md "Customer intelligence"). Ages are
 * measured in exact milliseconds back from `now` (a day is 86,400,000 ms, never a calendar day, so
 * the SQL recompute and this rule agree to the millisecond whatever the time zone). First match wins:
 *
 * | stage      | when                                                                               |
 * | ---------- | ---------------------------------------------------------------------------------- |
 * | `prospect` | no order                                                                           |
 * | `new`      | first order at most `newWithinDays` (90) days ago                                  |
 * | `won-back` | last order at most `activeWithinDays` (180) days ago, and more than                |
 * |            | `wonBackGapDays` (365) days after the order before it                              |
 * | `active`   | last order at most `activeWithinDays` (180) days ago                               |
 * | `at-risk`  | last order more than 180 and at most `lapsedAfterDays` (365) days ago              |
 * | `lapsed`   | last order more than 365 days ago                                                  |
 *
 * "The order before it" is the second most recent order (two orders at the same instant leave no
 * gap). A won-back customer who does not buy again becomes at-risk after 180 days, like any other.
 */
export const LIFECYCLE_STAGES = ['prospect', 'new', 'active', 'at-risk', 'lapsed', 'won-back'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

export const LIFECYCLE_THRESHOLDS = {
  /** `new`: the first order is at most this many days old. */
  newWithinDays: 90,
  /** `active` / `won-back`: the last order is at most this many days old. */
  activeWithinDays: 180,
  /** `lapsed`: the last order is more than this many days old (`at-risk` in between). */
  lapsedAfterDays: 365,
  /** `won-back`: the last order came more than this many days after the order before it. */
  wonBackGapDays: 365,
} as const;

export const DAY_MS = 86_400_000;

export interface OrderTiming {
  firstOrderAt: Date | null;
  lastOrderAt: Date | null;
  /** The second most recent order; null with fewer than two orders. */
  previousOrderAt: Date | null;
}

/** The instants the rule compares order times with, at `now`: also the parameters of the SQL recompute. */
export interface LifecycleCutoffs {
  /** A first order at or after this is `new`. */
  newSince: Date;
  /** A last order at or after this is `active` (or `won-back`). */
  activeSince: Date;
  /** A last order before this is `lapsed`; at or after it (and before activeSince), `at-risk`. */
  lapsedBefore: Date;
  /** `won-back` needs last order minus previous order greater than this. */
  wonBackGapMs: number;
}

export function lifecycleCutoffs(now: Date): LifecycleCutoffs {
  const t = now.getTime();
  const thresholds = LIFECYCLE_THRESHOLDS;
  return {
    newSince: new Date(t - thresholds.newWithinDays * DAY_MS),
    activeSince: new Date(t - thresholds.activeWithinDays * DAY_MS),
    lapsedBefore: new Date(t - thresholds.lapsedAfterDays * DAY_MS),
    wonBackGapMs: thresholds.wonBackGapDays * DAY_MS,
  };
}

/** The stage of a customer whose orders have this timing, at `now`. */
export function lifecycleStage(timing: OrderTiming, now: Date): LifecycleStage {
  const { firstOrderAt, lastOrderAt, previousOrderAt } = timing;
  if (!lastOrderAt) return 'prospect';
  const c = lifecycleCutoffs(now);
  const last = lastOrderAt.getTime();
  if ((firstOrderAt ?? lastOrderAt).getTime() >= c.newSince.getTime()) return 'new';
  if (last >= c.activeSince.getTime()) {
    return previousOrderAt && last - previousOrderAt.getTime() > c.wonBackGapMs ? 'won-back' : 'active';
  }
  return last >= c.lapsedBefore.getTime() ? 'at-risk' : 'lapsed';
}

/** First, last and previous order times of a customer's orders, in any order. */
export function orderTiming(orderedAt: readonly Date[]): OrderTiming {
  const times = orderedAt.map((d) => d.getTime()).sort((a, b) => a - b);
  const at = (i: number) => (i >= 0 && i < times.length ? new Date(times[i]) : null);
  return { firstOrderAt: at(0), lastOrderAt: at(times.length - 1), previousOrderAt: at(times.length - 2) };
}

export function isLifecycleStage(value: unknown): value is LifecycleStage {
  return typeof value === 'string' && (LIFECYCLE_STAGES as readonly string[]).includes(value);
}
