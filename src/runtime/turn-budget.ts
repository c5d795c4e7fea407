/**
 * Bulk bytes moved per turn of the event loop, shared by everyone who moves them: the windows of
 * large responses handed to sockets and the slices of large log reads. Each costs about a
 * millisecond per megabyte of copying on the event loop, so without a shared bound a turn grows
 * with the number of clients fetching tens of megabytes at once, and every other client's
 * request waits behind all of them. With it, a turn does at most `perTurn` bytes of bulk work
 * whatever the number of big readers, and the rest waits for the next turn, in arrival order
 * (each waiter gets its turn, none is starved). Small responses never ask: they are written at
 * once.
 */
export class TurnBudget {
  private left: number;
  private waiters: Array<() => void> = [];
  private refillScheduled = false;
  private readonly refill = (): void => {
    this.refillScheduled = false;
    // A turn that went over (a whole window or slice is taken once any budget is left) pays it
    // back from the next.
    this.left = Math.min(this.perTurn, this.left + this.perTurn);
    // Those waiting now run in order; any that finds the budget spent waits for the next turn.
    const ready = this.waiters;
    this.waiters = [];
    for (const run of ready) run();
    if (this.waiters.length > 0) this.scheduleRefill();
  };

  constructor(readonly perTurn: number) {
    this.left = perTurn;
  }

  /** Takes `bytes` of this turn's budget; false (nothing taken) when it is spent: then `later`. */
  tryTake(bytes: number): boolean {
    this.scheduleRefill();
    if (this.left <= 0) return false;
    this.left -= bytes;
    return true;
  }

  /** Whether any of this turn's budget is left (work whose cost is known only after: then `spend`). */
  hasLeft(): boolean {
    this.scheduleRefill();
    return this.left > 0;
  }

  /** Counts `amount` against this turn's budget (the cost of work just done). */
  spend(amount: number): void {
    this.scheduleRefill();
    this.left -= amount;
  }

  /** Runs `run` on the next turn, after the budget is refilled. */
  later(run: () => void): void {
    this.waiters.push(run);
    this.scheduleRefill();
  }

  /** Resolves once `bytes` have been taken from a turn's budget: this one if any is left. */
  async take(bytes: number): Promise<void> {
    while (!this.tryTake(bytes)) await new Promise<void>((resolve) => this.later(resolve));
  }

  private scheduleRefill(): void {
    if (this.refillScheduled) return;
    this.refillScheduled = true;
    setImmediate(this.refill);
  }
}

/**
 * The broker's bulk budget: 512 KiB per turn, half a millisecond to a millisecond of copying on
 * this class of machine, so a small request waits at most a few such turns behind bulk work.
 */
export const bulkBudget = new TurnBudget(512 * 1024);
