/** Something holding a resource (a file descriptor, a cached index) it can give back and re-acquire on demand. */
export interface Releasable {
  /** Gives the resource back; the owner re-acquires it on its next use. Must not touch the budget. */
  release(): void;
}

/**
 * A bound on live resources, spent in least-recently-used order: `touch` marks an item as the
 * most recent user of `weight` units, and once the total exceeds the limit the least recent
 * items are released until it fits again (never the one just touched).
 */
export class LruBudget {
  /** Map iteration order is insertion order: the first key is the least recently used. */
  private readonly items = new Map<Releasable, number>();
  private total = 0;
  private releases = 0;
  /** The item touched last and its weight: touching it again changes nothing (a hot path). */
  private mostRecent: Releasable | null = null;
  private mostRecentWeight = 0;

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`LRU budget limit must be at least 1, got ${limit}`);
  }

  touch(item: Releasable, weight = 1): void {
    if (item === this.mostRecent && weight === this.mostRecentWeight) return;
    const prev = this.items.get(item);
    if (prev !== undefined) {
      this.items.delete(item);
      this.total -= prev;
    }
    this.items.set(item, weight);
    this.total += weight;
    this.mostRecent = item;
    this.mostRecentWeight = weight;
    if (this.total > this.limit) this.shrink(item);
  }

  /** Stops tracking an item whose owner released the resource itself. */
  forget(item: Releasable): void {
    const w = this.items.get(item);
    if (w === undefined) return;
    this.items.delete(item);
    this.total -= w;
    if (item === this.mostRecent) this.mostRecent = null;
  }

  has(item: Releasable): boolean {
    return this.items.has(item);
  }

  /** Items currently holding a resource. */
  get count(): number {
    return this.items.size;
  }

  /** Sum of the weights currently held. */
  get weight(): number {
    return this.total;
  }

  /** How many times an item was released to make room (a measure of thrashing). */
  get releaseCount(): number {
    return this.releases;
  }

  private shrink(keep: Releasable): void {
    for (const [item, w] of this.items) {
      if (this.total <= this.limit) return;
      if (item === keep) continue;
      this.items.delete(item);
      this.total -= w;
      this.releases++;
      item.release();
    }
  }
}
