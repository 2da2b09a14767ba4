/**
 * Which program cell a conversion (a purchase, a sign-up) is credited to, when the customer did
 * not quote a response code (a quoted code names its cell directly and is handled elsewhere).
 *
 * A touch is one customer's membership of one program cell. Its attribution window opens at `at`
 * (when the message was sent; for control-cell members, and for members never contacted, when the
 * program launched) and lasts `windowDays` days of 24 hours: a conversion at `occurredAt` falls
 * inside when
 *
 *   at <= occurredAt < at + windowDays * 86 400 000 ms
 *
 * so a conversion at the very instant of the send counts, one at the exact end of the window does
 * not, and neither does one before the send. A window of 0 days holds nothing: such a program
 * attributes only by response code.
 *
 * Last touch wins: of the touches whose window holds the conversion, the one with the latest `at`
 * gets it. Equal `at`s are broken by programId, then cellId, in ascending (code unit) order, so
 * the same data always gives the same answer.
 *
 * Control-cell members are touches like any other, their window starting at program launch:
 * lift is the difference between the mailed cells and the control, so the control must collect
 * the conversions that would have happened anyway, by the same rule.
 *
 * Counting, per cell (a customer belongs to one cell of a program only):
 * - converters: distinct customers with at least one conversion, the numerator of conversion
 *   rates (one conversion per customer per program, however often they bought);
 * - conversions and revenue: every conversion, and the sum of their values.
 */
export interface Touch {
  programId: string;
  cellId: string;
  responseCode: string;
  isControl: boolean;
  /** sent_at of the send; for control members or members never contacted, when the program launched */
  at: Date;
  windowDays: number;
}

export interface AttributedConversion {
  customerId: string;
  programId: string;
  cellId: string;
  /** In minor units (cents). */
  value: number;
}

export interface CellConversionCounts {
  converters: number;
  conversions: number;
  revenue: number;
}

const DAY_MS = 86_400_000;

/** The first instant outside the touch's window: at + windowDays days. */
export function attributionWindowEnd(touch: Touch): Date {
  return new Date(touch.at.getTime() + touch.windowDays * DAY_MS);
}

/** Ascending order of the tie-break: programId, then cellId. */
const compareIds = (a: Touch, b: Touch): number => {
  if (a.programId !== b.programId) return a.programId < b.programId ? -1 : 1;
  if (a.cellId !== b.cellId) return a.cellId < b.cellId ? -1 : 1;
  return 0;
};

/** The touch credited with a conversion at occurredAt (last touch within its window), or null. */
export function attributeByWindow(touches: readonly Touch[], occurredAt: Date): Touch | null {
  const t = occurredAt.getTime();
  let best: Touch | null = null;
  for (const touch of touches) {
    const at = touch.at.getTime();
    if (!(at <= t && t < attributionWindowEnd(touch).getTime())) continue;
    if (best === null) {
      best = touch;
      continue;
    }
    const bestAt = best.at.getTime();
    if (at > bestAt || (at === bestAt && compareIds(touch, best) < 0)) best = touch;
  }
  return best;
}

/** Converters, conversions and revenue per cell id. */
export function conversionCounts(conversions: readonly AttributedConversion[]): Map<string, CellConversionCounts> {
  const counts = new Map<string, CellConversionCounts>();
  const customers = new Map<string, Set<string>>();
  for (const c of conversions) {
    let cell = counts.get(c.cellId);
    let seen = customers.get(c.cellId);
    if (!cell || !seen) {
      cell = { converters: 0, conversions: 0, revenue: 0 };
      seen = new Set();
      counts.set(c.cellId, cell);
      customers.set(c.cellId, seen);
    }
    cell.conversions++;
    cell.revenue += c.value;
    if (!seen.has(c.customerId)) {
      seen.add(c.customerId);
      cell.converters++;
    }
  }
  return counts;
}
