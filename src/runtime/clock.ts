/** The only door to wall-clock and monotonic time; tests inject a manual clock. */
export interface Clock {
  /** Milliseconds since the epoch (record timestamps, retention). */
  now(): number;
  /** Monotonic milliseconds (timeouts, durations). */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/** A clock that moves only when told to: for pure state machines under test. */
export class ManualClock implements Clock {
  constructor(
    private wall = 1_700_000_000_000,
    private mono = 0,
  ) {}
  now(): number {
    return this.wall;
  }
  monotonic(): number {
    return this.mono;
  }
  advance(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }
}
