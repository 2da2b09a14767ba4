/** The clock automation reads (drip waits, date triggers, enrollments): injected, so tests fix it. */
export const AUTOMATION_CLOCK = Symbol('AUTOMATION_CLOCK');
