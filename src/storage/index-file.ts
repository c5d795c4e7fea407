/**
 * The machinery shared by the offset and time indexes: a file of fixed-size entries for one
 * segment, appended as batches are written, read back lazily.
 *
 * Kafka memory-maps its index files. Here the entries live in the file and, only while the
 * index is being searched, in a cached buffer bounded by a broker-wide LRU budget; an idle
 * partition holds no index memory at all. Appended entries are written behind in small
 * groups: an index only has to be complete after a roll or a clean shutdown (both write it;
 * a clean shutdown syncs it, a roll leaves the sync to the flush after it, which runs before
 * the recovery point passes the segment), because after a crash the segments from the
 * recovery point on are rescanned and their indexes rebuilt.
 */
import { closeSync, constants, fdatasyncSync, fstatSync, ftruncateSync, openSync, rmSync, statSync } from 'node:fs';
import { type FileSyncJob, openForWrite, readFully, writeFully } from './file-io.js';
import type { LruBudget, Releasable } from './lru-budget.js';

/** An index file failed a sanity check; the segment rebuilds it from its log. */
export class CorruptIndexError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`corrupt index ${path}: ${reason}`);
    this.name = 'CorruptIndexError';
  }
}

/** Entries kept for writing behind while the index is not cached. */
const WRITE_BEHIND_ENTRIES = 64;
/** Entries kept for writing behind while the index is cached (during a rebuild, or a busy segment). */
const WRITE_BEHIND_CACHED_ENTRIES = 4096;

export abstract class IndexFile implements Releasable {
  /** Entries in the index, written to the file or not. */
  protected count = 0;
  /** Entries already in the file. */
  private written = 0;
  /** Every entry, while cached; its length is the capacity. */
  private cache: Buffer | null = null;
  /** Entries [written, count) while not cached. */
  private tail: Buffer | null = null;
  /** The file has been stat'ed (or created) and its last entry read. */
  private opened = false;
  /**
   * The file does not exist yet: an index of an empty log is only created once it is written
   * to (or the log has data at a roll or a close), so that 10,000 idle partitions do not cost
   * 20,000 file creations when created or recovered.
   */
  private fileMissing = false;
  /**
   * Whether a missing file reads as an empty index rather than a corrupt one: set by the
   * segment, true while its log is empty (an empty log's indexes are empty).
   */
  missingIsEmpty: () => boolean = () => false;
  /** Changes made to the file (entries written, truncations); the first `syncedChanges` of them are on disk. */
  private changes = 0;
  private syncedChanges = 0;

  protected constructor(
    readonly path: string,
    readonly baseOffset: number,
    readonly entrySize: number,
    /** `segment.index.bytes` in entries: a segment rolls once either index holds this many. */
    readonly maxEntries: number,
    private readonly budget: LruBudget,
  ) {}

  get entries(): number {
    this.open();
    return this.count;
  }

  get isFull(): boolean {
    return this.entries >= this.maxEntries;
  }

  /** Bytes of memory this index holds right now (for tests and metrics). */
  get memoryBytes(): number {
    return (this.cache?.length ?? 0) + (this.tail?.length ?? 0);
  }

  /** Reads one stored entry into the subclass's "last entry" fields. */
  protected abstract setLast(buf: Buffer, pos: number): void;
  /** Resets the "last entry" fields for an empty index. */
  protected abstract clearLast(): void;
  /** Throws CorruptIndexError unless the `n` entries in `buf` are well ordered. */
  protected abstract checkOrder(buf: Buffer, n: number): void;

  /**
   * Makes sure the file has been looked at: its size must be a whole number of entries
   * (Kafka's first sanity check) and its last entry is read. Cheap: a stat and one small read.
   */
  open(): void {
    if (this.opened) return;
    let size: number;
    try {
      size = statSync(this.path).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (!this.missingIsEmpty()) throw new CorruptIndexError(this.path, 'missing');
      this.clearLast();
      this.count = 0;
      this.written = 0;
      this.fileMissing = true;
      this.opened = true;
      return;
    }
    if (size % this.entrySize !== 0) {
      throw new CorruptIndexError(this.path, `size ${size} is not a multiple of the ${this.entrySize}-byte entry`);
    }
    const n = size / this.entrySize;
    if (n > 0) {
      const last = Buffer.allocUnsafe(this.entrySize);
      this.readRange(last, (n - 1) * this.entrySize, this.entrySize);
      this.setLast(last, 0);
    } else {
      this.clearLast();
    }
    this.count = n;
    this.written = n;
    this.opened = true;
  }

  /**
   * Starts an empty index, truncating or creating the file. `cached` keeps the entries in
   * memory while they are appended (a rebuild) instead of writing them behind in small groups.
   * `absent`: the caller knows there is no file (a directory just created), so none is looked for.
   */
  reset(cached = false, absent = false): void {
    this.dropCache();
    this.tail = null;
    if (cached) {
      this.cache = Buffer.allocUnsafe(this.entrySize * 64);
      this.budget.touch(this, this.cache.length);
    }
    let hadBytes = false;
    let fd = -1;
    try {
      if (!absent) fd = openSync(this.path, constants.O_WRONLY);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.fileMissing = fd < 0;
    if (fd >= 0) {
      try {
        hadBytes = fstatSync(fd).size > 0;
        if (hadBytes) ftruncateSync(fd, 0);
      } finally {
        closeSync(fd);
      }
    }
    this.count = 0;
    this.written = 0;
    this.clearLast();
    this.opened = true;
    // A new empty file needs no sync; a truncated one does, or old entries could come back.
    if (hadBytes) this.changes++;
    else this.syncedChanges = this.changes;
  }

  /** Appends one entry, written by `fill` at `buf[pos, pos + entrySize)`. */
  protected appendEntry(fill: (buf: Buffer, pos: number) => void): void {
    this.open();
    const size = this.entrySize;
    if (this.cache !== null) {
      const need = (this.count + 1) * size;
      if (need > this.cache.length) this.grow(need);
      const cache = this.cache as Buffer;
      fill(cache, this.count * size);
      this.count++;
      if (this.count - this.written >= WRITE_BEHIND_CACHED_ENTRIES) this.writeBehind();
      return;
    }
    if (this.tail === null) this.tail = Buffer.allocUnsafe(WRITE_BEHIND_ENTRIES * size);
    fill(this.tail, (this.count - this.written) * size);
    this.count++;
    if (this.count - this.written >= WRITE_BEHIND_ENTRIES) this.writeBehind();
  }

  /**
   * Every entry as one buffer (the cache), read from the file on first use and checked: this
   * is where a corrupt index that passed the cheap checks is found. Counts against the budget.
   */
  protected view(): Buffer {
    this.open();
    if (this.cache === null) {
      const bytes = this.count * this.entrySize;
      const buf = Buffer.allocUnsafe(Math.max(bytes, this.entrySize * 16));
      const fromFile = this.written * this.entrySize;
      if (fromFile > 0) {
        const n = this.readRange(buf, 0, fromFile);
        if (n !== fromFile) throw new CorruptIndexError(this.path, `shrank to ${n} bytes while in use`);
      }
      if (this.tail !== null) this.tail.copy(buf, fromFile, 0, bytes - fromFile);
      this.checkOrder(buf, this.count);
      this.tail = null;
      this.cache = buf;
    }
    this.budget.touch(this, this.cache.length);
    return this.cache;
  }

  /** Keeps only the first `n` entries. */
  protected truncateEntries(n: number): void {
    this.open();
    if (n >= this.count) return;
    const buf = this.view();
    this.count = n;
    if (this.written > n) {
      const fd = openForWrite(this.path);
      try {
        ftruncateSync(fd, n * this.entrySize);
      } finally {
        closeSync(fd);
      }
      this.written = n;
      this.changes++;
    }
    if (n > 0) this.setLast(buf, (n - 1) * this.entrySize);
    else this.clearLast();
  }

  /** Writes entries not yet in the file. */
  writeBehind(): void {
    const pending = this.count - this.written;
    if (pending <= 0) return;
    const size = this.entrySize;
    const src = this.cache ?? this.tail;
    if (src === null) throw new Error(`index ${this.path}: ${pending} pending entries and no buffer`);
    const start = this.cache !== null ? this.written * size : 0;
    const fd = openForWrite(this.path);
    this.fileMissing = false;
    try {
      writeFully(fd, src, this.written * size, start, start + pending * size);
    } finally {
      closeSync(fd);
    }
    this.written = this.count;
    this.tail = null;
    this.changes++;
  }

  /** Entries are pending or written since the last sync. */
  get needsSync(): boolean {
    return this.opened && (this.count > this.written || this.changes !== this.syncedChanges);
  }

  /** Writes pending entries and syncs the file (clean shutdown, recovery, cleaned segments). */
  sync(): void {
    const job = this.beginSync();
    if (job === null) return;
    try {
      fdatasyncSync(job.fd);
      job.done();
    } finally {
      closeSync(job.fd);
    }
  }

  /**
   * sync() for a caller that runs the fdatasync off the event loop (after a roll): pending
   * entries are written now; returns the job, or null when the file is already synced.
   */
  beginSync(): FileSyncJob | null {
    if (!this.opened) return null;
    this.writeBehind();
    if (this.changes === this.syncedChanges) return null;
    const upTo = this.changes;
    const fd = openForWrite(this.path);
    return {
      fd,
      done: () => {
        if (upTo > this.syncedChanges) this.syncedChanges = upTo;
      },
    };
  }

  /**
   * Creates the file if it was never written: called when the log has data and the index is
   * completed (a roll, a close), so that a missing file keeps meaning a lost one there.
   */
  ensureFile(): void {
    if (!this.opened || !this.fileMissing) return;
    closeSync(openForWrite(this.path));
    this.fileMissing = false;
  }

  /** LRU eviction: the cached entries go; pending ones are written first. */
  release(): void {
    this.writeBehind();
    this.cache = null;
  }

  /** Writes what is pending and gives the cached entries back (after a rebuild, to keep idle memory low). */
  uncache(): void {
    this.writeBehind();
    this.dropCache();
  }

  /** Writes what is pending and drops the cache. */
  close(): void {
    if (this.opened) this.writeBehind();
    this.dropCache();
  }

  /** Forgets pending entries and the cache without writing anything (what a crash does). */
  abandon(): void {
    this.dropCache();
    this.tail = null;
  }

  deleteFile(): void {
    this.abandon();
    rmSync(this.path, { force: true });
  }

  private dropCache(): void {
    if (this.cache !== null) this.budget.forget(this);
    this.cache = null;
  }

  private grow(need: number): void {
    const old = this.cache as Buffer;
    const cap = Math.max(need, Math.min(old.length * 2, (this.maxEntries + 1) * this.entrySize));
    const buf = Buffer.allocUnsafe(Math.max(cap, need));
    old.copy(buf, 0, 0, this.count * this.entrySize);
    this.cache = buf;
    this.budget.touch(this, buf.length);
  }

  private readRange(buf: Buffer, position: number, length: number): number {
    const fd = openSync(this.path, 'r');
    try {
      return readFully(fd, buf, 0, length, position);
    } finally {
      closeSync(fd);
    }
  }
}
