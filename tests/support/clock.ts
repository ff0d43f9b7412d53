/** A clock that moves only when told to: what tests inject wherever the code takes a clock. */
export interface FrozenClock {
  (): number;
  /** Moves the clock forward. */
  advance(seconds: number): void;
  set(ms: number): void;
}

export function frozenClock(start = Date.UTC(2026, 10, 23, 12, 0, 0)): FrozenClock {
  let now = start;
  return Object.assign(() => now, {
    advance: (seconds: number) => void (now += seconds * 1000),
    set: (ms: number) => void (now = ms),
  });
}
