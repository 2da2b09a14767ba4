/** Time is injected (STYLE.md): production uses the system clock, tests a fixed one. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export function fixedClock(at: Date | string): Clock & { advance(ms: number): void; set(at: Date | string): void } {
  let current = new Date(at).getTime();
  return {
    now: () => new Date(current),
    advance: (ms: number) => {
      current += ms;
    },
    set: (next: Date | string) => {
      current = new Date(next).getTime();
    },
  };
}
