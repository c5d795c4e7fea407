/**
 * The only door to timers. Modules schedule through `setTimer`/`setRepeatingTimer`/`sleep`;
 * a simulation swaps in `ManualTimers` (with a ManualClock) to run the same code on simulated
 * time, where nothing fires until the test advances it.
 */
export interface Timer {
  /** Lets the process exit while this timer is pending (a no-op under simulated time). */
  unref(): Timer;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): Timer;
  setInterval(fn: () => void, ms: number): Timer;
  clear(timer: Timer): void;
}

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  setInterval: (fn, ms) => setInterval(fn, ms),
  // clearTimeout clears intervals too (one id space in Node).
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

let current: Timers = systemTimers;

/** Replaces the timers every module uses (null: back to real time). For simulations and tests. */
export function useTimers(timers: Timers | null): void {
  current = timers ?? systemTimers;
}

export function setTimer(fn: () => void, ms: number): Timer {
  return current.setTimeout(fn, ms);
}

export function setRepeatingTimer(fn: () => void, ms: number): Timer {
  return current.setInterval(fn, ms);
}

export function clearTimer(timer: Timer | null | undefined): void {
  if (timer !== null && timer !== undefined) current.clear(timer);
}

/** Resolves after `ms`; `unref` lets the process exit meanwhile. */
export function sleep(ms: number, options: { unref?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimer(resolve, ms);
    if (options.unref === true) t.unref();
  });
}

interface ManualEntry {
  at: number;
  seq: number;
  fn: () => void;
  every: number;
  cancelled: boolean;
}

/**
 * Timers on simulated time: `advance(ms)` runs, in due order (ties in the order they were set),
 * every timer that falls due, including those set by timers that ran. Bounded: a timer that
 * re-arms itself at 0 ms forever is an error, not a hang.
 */
export class ManualTimers implements Timers {
  private now = 0;
  private seq = 0;
  private readonly pending = new Set<ManualEntry>();

  setTimeout(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, 0);
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clear(timer: Timer): void {
    const e = (timer as ManualTimer).entry;
    e.cancelled = true;
    this.pending.delete(e);
  }

  /** Timers not yet fired (or cancelled). */
  get size(): number {
    return this.pending.size;
  }

  advance(ms: number, maxRuns = 1_000_000): void {
    const until = this.now + ms;
    for (let runs = 0; ; runs++) {
      if (runs >= maxRuns) throw new Error(`ManualTimers: more than ${maxRuns} timers fired in one advance`);
      let next: ManualEntry | undefined;
      for (const e of this.pending)
        if (next === undefined || e.at < next.at || (e.at === next.at && e.seq < next.seq)) next = e;
      if (next === undefined || next.at > until) break;
      this.now = next.at;
      if (next.every > 0) {
        next.at += next.every;
        next.seq = this.seq++;
      } else this.pending.delete(next);
      next.fn();
    }
    this.now = until;
  }

  private add(fn: () => void, ms: number, every: number): Timer {
    const entry: ManualEntry = { at: this.now + Math.max(0, ms), seq: this.seq++, fn, every, cancelled: false };
    this.pending.add(entry);
    return new ManualTimer(entry);
  }
}

class ManualTimer implements Timer {
  constructor(readonly entry: ManualEntry) {}
  unref(): Timer {
    return this;
  }
}
