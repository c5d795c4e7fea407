// The broker-wide budget for request bytes being read or waiting to be answered
// (`queued.max.request.bytes`, Kafka's SimpleMemoryPool in its non-strict mode). A connection
// reserves a frame's size when it has read the frame's size prefix, before any of the frame is
// buffered; when the budget is spent it stops reading (muted) until answered requests give
// their bytes back. Small frames (at most SMALL_FRAME_BYTES) may use a fixed headroom above the
// budget, so a few clients holding large half-sent frames cannot stall everyone else's small
// produce and metadata requests.

/** Frames up to this size may draw on the headroom. */
export const SMALL_FRAME_BYTES = 64 * 1024;
/** Bytes small frames may take beyond the budget, broker-wide. */
export const SMALL_FRAME_HEADROOM_BYTES = 16 * 1024 * 1024;

export class MemoryPool {
  private used = 0;
  private waiters: Array<() => void> = [];
  /** Peak of `reservedBytes`, for tests and metrics. */
  peakBytes = 0;

  /** `capacity` <= 0 means no budget (Kafka's -1). */
  constructor(readonly capacity: number) {}

  get bounded(): boolean {
    return this.capacity > 0;
  }

  get reservedBytes(): number {
    return this.used;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Reserves `size` bytes if the budget allows: always when nothing is reserved (a frame larger
   * than the whole budget is read alone), else when it fits, small frames counting the headroom.
   */
  tryReserve(size: number): boolean {
    if (size <= 0) return true;
    if (this.bounded && this.used > 0) {
      const limit = this.capacity + (size <= SMALL_FRAME_BYTES ? SMALL_FRAME_HEADROOM_BYTES : 0);
      if (this.used + size > limit) return false;
    }
    this.used += size;
    if (this.used > this.peakBytes) this.peakBytes = this.used;
    return true;
  }

  release(size: number): void {
    if (size <= 0) return;
    this.used -= size;
    if (this.used < 0) throw new Error(`memory pool: released more than reserved (${this.used})`);
    if (this.waiters.length === 0) return;
    // Every waiter tries again, oldest first; those still short of memory wait again.
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Calls `retry` once after the next release. */
  waitForMemory(retry: () => void): void {
    this.waiters.push(retry);
  }

  /** Forgets a waiter (its connection closed). */
  cancel(retry: () => void): void {
    const i = this.waiters.indexOf(retry);
    if (i >= 0) this.waiters.splice(i, 1);
  }
}
