/**
 * Large buffers of the hot paths lent from free lists by power-of-two size class and given
 * back once their last reader is done:
 * - segment read windows (what a fetch reads), given back by the connection once the socket
 *   has taken the response's bytes;
 * - Produce request frames assembled from several socket chunks, given back by the connection
 *   once the request has been answered (the produce path writes the batches to the segment
 *   synchronously and must keep no view into a request's records past its response).
 *
 * Why: at a few hundred MB/s the broker would otherwise allocate a fresh megabyte of external
 * memory per request, and V8 answers external-memory growth with full garbage collections whose
 * cost grows with the broker's heap (many partitions, groups, metadata), stalling every client.
 *
 * Safety rule: a buffer is reused only after `give` returned it, and `give` is called only for a
 * buffer this pool lent and only once the last reader of its bytes is done (the socket write
 * completed). A lent buffer that is never given back (an internal reader, a destroyed
 * connection) is simply collected as usual. Bounded: at most `maxFreeBytes` are kept; when a
 * buffer comes back to a full pool, buffers of other size classes make room for it, so the
 * pool follows the sizes in use now (read windows while consumers fetch) instead of staying
 * full of a size used earlier (Produce frames) and allocating every buffer of the new one.
 */
const MIN_CLASS_SHIFT = 16; // 64 KiB
const MAX_CLASS_SHIFT = 22; // 4 MiB

export class BufferPool {
  private readonly free: ArrayBuffer[][] = [];
  private readonly lent = new WeakSet<ArrayBuffer>();
  private freeBytes = 0;
  /** Takes served from a free list, and takes that had to allocate. */
  hits = 0;
  misses = 0;

  constructor(readonly maxFreeBytes = 16 * 1024 * 1024) {
    for (let s = MIN_CLASS_SHIFT; s <= MAX_CLASS_SHIFT; s++) this.free.push([]);
  }

  /** Bytes currently kept for reuse. */
  get retainedBytes(): number {
    return this.freeBytes;
  }

  /** An uninitialised buffer of exactly `size` bytes, lent from the pool; null when too large to pool. */
  take(size: number): Buffer | null {
    const shift = classShift(size);
    if (shift > MAX_CLASS_SHIFT) return null;
    const list = this.free[shift - MIN_CLASS_SHIFT] as ArrayBuffer[];
    let ab = list.pop();
    if (ab === undefined) {
      ab = Buffer.allocUnsafeSlow(1 << shift).buffer as ArrayBuffer;
      this.misses++;
    } else {
      this.freeBytes -= ab.byteLength;
      this.hits++;
    }
    this.lent.add(ab);
    return Buffer.from(ab, 0, size);
  }

  /** Whether `buf` is a view on a buffer this pool lent and that has not come back. */
  isLent(buf: Uint8Array): boolean {
    return this.lent.has(buf.buffer as ArrayBuffer);
  }

  /** Takes back the buffer `buf` is a view on; a no-op for anything the pool did not lend or already has back. */
  give(buf: Uint8Array): void {
    const ab = buf.buffer as ArrayBuffer;
    if (!this.lent.has(ab)) return;
    this.lent.delete(ab);
    const shift = Math.log2(ab.byteLength);
    const own = this.free[shift - MIN_CLASS_SHIFT] as ArrayBuffer[];
    while (this.freeBytes + ab.byteLength > this.maxFreeBytes) {
      if (!this.dropOtherThan(own)) return;
    }
    own.push(ab);
    this.freeBytes += ab.byteLength;
  }

  /** Drops one kept buffer of the class holding the most bytes other than `own`; false if there is none. */
  private dropOtherThan(own: ArrayBuffer[]): boolean {
    let victim: ArrayBuffer[] | null = null;
    let victimBytes = 0;
    for (const list of this.free) {
      if (list === own || list.length === 0) continue;
      const bytes = list.length * (list[0] as ArrayBuffer).byteLength;
      if (bytes > victimBytes) {
        victim = list;
        victimBytes = bytes;
      }
    }
    if (victim === null) return false;
    this.freeBytes -= (victim.pop() as ArrayBuffer).byteLength;
    return true;
  }
}

function classShift(size: number): number {
  let shift = MIN_CLASS_SHIFT;
  while (1 << shift < size && shift <= MAX_CLASS_SHIFT) shift++;
  return shift;
}

/** The process's pool: segment reads and the frame decoder take from it, connections give back. */
export const bufferPool = new BufferPool();
