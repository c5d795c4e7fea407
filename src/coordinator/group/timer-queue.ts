/**
 * Keyed deadlines for the group coordinator's pure core: heartbeat expirations, join and sync
 * phase timeouts, the initial rebalance delay and the offset expiration cycle. Scheduling a key
 * that is already present replaces it (Kafka's coordinator timer does the same), so a member's
 * heartbeat deadline moves instead of piling up. An indexed binary heap keeps schedule, cancel
 * and pop at O(log n) and the size equal to the number of live keys.
 */

interface Entry<A> {
  readonly key: string;
  deadline: number;
  seq: number;
  action: A;
  index: number;
}

export interface DueTimer<A> {
  readonly key: string;
  readonly deadline: number;
  readonly action: A;
}

export class TimerQueue<A> {
  private readonly heap: Entry<A>[] = [];
  private readonly byKey = new Map<string, Entry<A>>();
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Sets (or moves) the deadline of `key`. */
  schedule(key: string, deadline: number, action: A): void {
    const existing = this.byKey.get(key);
    const seq = this.seq++;
    if (existing !== undefined) {
      existing.deadline = deadline;
      existing.seq = seq;
      existing.action = action;
      this.siftUp(existing.index);
      this.siftDown(existing.index);
      return;
    }
    const entry: Entry<A> = { key, deadline, seq, action, index: this.heap.length };
    this.heap.push(entry);
    this.byKey.set(key, entry);
    this.siftUp(entry.index);
  }

  cancel(key: string): boolean {
    const entry = this.byKey.get(key);
    if (entry === undefined) return false;
    this.byKey.delete(key);
    const last = this.heap.pop() as Entry<A>;
    if (last !== entry) {
      this.heap[entry.index] = last;
      last.index = entry.index;
      this.siftUp(last.index);
      this.siftDown(last.index);
    }
    return true;
  }

  /** Cancels every timer whose action matches (a linear scan: for rare bulk removals). Returns how many. */
  cancelWhere(matches: (action: A) => boolean): number {
    const keys: string[] = [];
    for (const e of this.heap) if (matches(e.action)) keys.push(e.key);
    for (const k of keys) this.cancel(k);
    return keys.length;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  deadlineOf(key: string): number | undefined {
    return this.byKey.get(key)?.deadline;
  }

  /** The sequence number the next `schedule` will get (to tell timers set during a tick apart). */
  get nextSeq(): number {
    return this.seq;
  }

  nextDeadline(): number | null {
    return this.heap[0]?.deadline ?? null;
  }

  /**
   * Removes and returns the earliest timer due at `now` (ties in scheduling order), considering
   * only timers scheduled before sequence `seqLimit`, so that a timer re-armed at `now` while
   * handling another cannot keep a single tick busy forever.
   */
  popDue(now: number, seqLimit = Number.POSITIVE_INFINITY): DueTimer<A> | null {
    const top = this.heap[0];
    if (top === undefined || top.deadline > now) return null;
    if (top.seq >= seqLimit) {
      // The earliest is too new; look for an older one that is also due (rare: linear scan).
      let best: Entry<A> | undefined;
      for (const e of this.heap) {
        if (e.deadline <= now && e.seq < seqLimit && (best === undefined || less(e, best))) best = e;
      }
      if (best === undefined) return null;
      this.cancel(best.key);
      return { key: best.key, deadline: best.deadline, action: best.action };
    }
    this.cancel(top.key);
    return { key: top.key, deadline: top.deadline, action: top.action };
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const e = heap[i] as Entry<A>;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p] as Entry<A>;
      if (!less(e, parent)) break;
      heap[i] = parent;
      parent.index = i;
      i = p;
    }
    heap[i] = e;
    e.index = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const e = heap[i] as Entry<A>;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && less(heap[r] as Entry<A>, heap[l] as Entry<A>)) c = r;
      const child = heap[c] as Entry<A>;
      if (!less(child, e)) break;
      heap[i] = child;
      child.index = i;
      i = c;
    }
    heap[i] = e;
    e.index = i;
  }
}

function less<A>(a: Entry<A>, b: Entry<A>): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
}
