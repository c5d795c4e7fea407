/**
 * One log segment, as Kafka's LogSegment: a `.log` file of record batches exactly as they
 * were appended, named by the base offset, with its sparse `.index` and `.timeindex`.
 *
 * A segment opened from disk knows only its base offset and size until something asks for
 * more: its file descriptor is opened on first use and given back under the broker-wide
 * LRU bound, its indexes are checked and read on first use, and its largest timestamp comes
 * from the time index's last entry. Only the active segment keeps appending state.
 */
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../observability/logger.js';
import {
  BATCH_LENGTH_OFFSET,
  baseOffsetAt,
  LOG_OVERHEAD,
  lastOffsetAt,
  lastOffsetDeltaAt,
  maxTimestampAt,
  partitionLeaderEpochAt,
  RECORD_BATCH_HEADER_SIZE,
  validateBatch,
} from '../protocol/records/record-batch.js';
import { type FileSyncJob, readExactly, readFully, writeFully } from './file-io.js';
import { CorruptIndexError } from './index-file.js';
import type { Releasable } from './lru-budget.js';
import { OFFSET_INDEX_SUFFIX, OffsetIndex } from './offset-index.js';
import type { StorageResources } from './storage-resources.js';
import { TIME_INDEX_SUFFIX, TimeIndex } from './time-index.js';

const log = logger('storage');

export const LOG_SUFFIX = '.log';
export const DELETED_SUFFIX = '.deleted';

/** Bytes read at a time when scanning a segment in recovery. */
const SCAN_CHUNK = 1024 * 1024;
/** Bytes read at a time when walking batch headers only. */
const HEADER_CHUNK = 16 * 1024;

/** `<dir>/<20-digit base offset>`: the segment's files add `.log`, `.index` and `.timeindex`. */
export function segmentPrefix(dir: string, baseOffset: number): string {
  return join(dir, String(baseOffset).padStart(20, '0'));
}

/** The base offset named by a segment or index file name, or null if the name is not one. */
export function baseOffsetOfFile(name: string, suffix: string): number | null {
  if (!name.endsWith(suffix)) return null;
  const digits = name.slice(0, -suffix.length);
  if (!/^\d{20}$/.test(digits)) return null;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : null;
}

export interface ScanResult {
  /** Bytes from the start of the segment that hold whole, intact batches. */
  readonly validBytes: number;
  /** Size of the file before any truncation. */
  readonly fileSize: number;
  /** Why the scan stopped before the end of the file, or null. */
  readonly stopReason: string | null;
}

/** A batch's framing as found while walking headers. */
export interface BatchLocation {
  readonly position: number;
  readonly size: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
}

/** Called by recovery with each valid batch's partitionLeaderEpoch and base offset. */
export type BatchVisitor = (leaderEpoch: number, baseOffset: number) => void;

export class LogSegment implements Releasable {
  /** Bytes in the `.log` file. */
  size: number;
  /** Created on first use: an untouched older segment costs no index objects. */
  private oi: OffsetIndex | null = null;
  private ti: TimeIndex | null = null;
  /** Offset after the last batch; -1 until known (an older segment that was trusted, not scanned). */
  nextOffset: number;
  /** An offset no batch of this segment reaches: the next segment's base offset (Infinity when active). */
  nextOffsetBound = Number.POSITIVE_INFINITY;
  deleted = false;
  /** Deleted, but the renamed `.log` file is kept open for `file.delete.delay.ms`: spans still read it. */
  private lingering = false;

  private maxTs = -1;
  private offsetOfMaxTs = -1;
  private maxTsKnown: boolean;
  private bytesSinceLastIndexEntry = 0;
  private fd = -1;
  /** Largest timestamp of the first batch: segment.ms counts from it (-2 until read). */
  private firstBatchTs: number;
  private indexesChecked: boolean;
  /** Changes made to the `.log` file (appends, truncations, recovery); the first `syncedWrites` are on disk. */
  private writes = 0;
  private syncedWrites = 0;

  private constructor(
    /** The partition directory (shared with the log, not copied). */
    private readonly dir: string,
    readonly baseOffset: number,
    size: number,
    private readonly maxIndexBytes: number,
    private readonly resources: StorageResources,
    /** When this process created or loaded the segment: segment.ms counts from it when batches have no timestamps. */
    readonly createdAt: number,
    fresh: boolean,
  ) {
    this.size = size;
    this.nextOffset = fresh ? baseOffset : -1;
    this.maxTsKnown = fresh;
    this.firstBatchTs = fresh ? -1 : -2;
    this.indexesChecked = fresh;
  }

  /** `<dir>/<20-digit base offset>`, computed when needed rather than kept per segment. */
  get prefix(): string {
    return segmentPrefix(this.dir, this.baseOffset);
  }

  get offsetIndex(): OffsetIndex {
    this.oi ??= new OffsetIndex(
      this.prefix + OFFSET_INDEX_SUFFIX,
      this.baseOffset,
      this.maxIndexBytes,
      this.resources.indexCache,
    );
    this.oi.missingIsEmpty = () => this.size === 0;
    return this.oi;
  }

  get timeIndex(): TimeIndex {
    this.ti ??= new TimeIndex(
      this.prefix + TIME_INDEX_SUFFIX,
      this.baseOffset,
      this.maxIndexBytes,
      this.resources.indexCache,
    );
    this.ti.missingIsEmpty = () => this.size === 0;
    return this.ti;
  }

  /**
   * A new, empty segment. A leftover file of the same name is replaced: the log ends before it.
   * `inNewDir`: the directory was just created, so no index file is looked for.
   */
  static create(
    dir: string,
    baseOffset: number,
    maxIndexBytes: number,
    resources: StorageResources,
    now: number,
    inNewDir = false,
  ) {
    const seg = new LogSegment(dir, baseOffset, 0, maxIndexBytes, resources, now, true);
    seg.fd = openSync(seg.logPath, 'w+', 0o644);
    resources.openFiles.touch(seg);
    seg.offsetIndex.reset(false, inNewDir);
    seg.timeIndex.reset(false, inNewDir);
    return seg;
  }

  /** A segment found on disk; nothing is read until it is used. */
  static existing(
    dir: string,
    baseOffset: number,
    size: number,
    maxIndexBytes: number,
    resources: StorageResources,
    now: number,
  ): LogSegment {
    return new LogSegment(dir, baseOffset, size, maxIndexBytes, resources, now, false);
  }

  get logPath(): string {
    return this.prefix + LOG_SUFFIX;
  }

  /** The file descriptor, reopened if the LRU bound closed it. Use it at once: the next call may close it. */
  handle(): number {
    if (this.deleted) {
      if (this.lingering) return this.fd;
      throw new Error(`segment ${this.logPath} was deleted`);
    }
    if (this.fd < 0) this.fd = openSync(this.logPath, 'r+');
    this.resources.openFiles.touch(this);
    return this.fd;
  }

  /** LRU eviction of the file descriptor. Data already written stays in the page cache. */
  release(): void {
    if (this.fd < 0 || this.lingering) return;
    closeSync(this.fd);
    this.fd = -1;
  }

  /** Whether its bytes can still be read: not deleted, or deleted and kept open for its delete delay. */
  get readable(): boolean {
    return !this.deleted || this.lingering;
  }

  get isOpen(): boolean {
    return this.fd >= 0;
  }

  /** Appends batches already validated and assigned offsets; `spans` are their positions in `buf`. */
  append(buf: Buffer, spans: ReadonlyArray<{ pos: number; size: number }>, indexIntervalBytes: number): void {
    const fd = this.handle();
    writeFully(fd, buf, this.size);
    const start = this.size;
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i] as { pos: number; size: number };
      this.indexBatch(buf, s.pos, start + s.pos, s.size, indexIntervalBytes);
    }
    this.size += buf.length;
    this.writes++;
  }

  private indexBatch(buf: Buffer, pos: number, position: number, size: number, indexIntervalBytes: number): void {
    const base = baseOffsetAt(buf, pos);
    const last = base + lastOffsetDeltaAt(buf, pos);
    const ts = maxTimestampAt(buf, pos);
    if (position === 0) this.firstBatchTs = ts;
    if (ts > this.maxTs) {
      this.maxTs = ts;
      this.offsetOfMaxTs = last;
    }
    // Kafka's rule: an entry once more than index.interval.bytes were appended since the last one.
    if (this.bytesSinceLastIndexEntry > indexIntervalBytes) {
      this.offsetIndex.append(base, position);
      this.timeIndex.maybeAppend(this.maxTs, this.offsetOfMaxTs);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += size;
    this.nextOffset = last + 1;
  }

  /** Reads `length` bytes at `position` into `buf[offset ...]`; returns how many bytes were read. */
  readInto(buf: Buffer, offset: number, length: number, position: number): number {
    return readFully(this.handle(), buf, offset, length, position);
  }

  read(position: number, length: number): Buffer {
    return readExactly(this.handle(), position, length, this.logPath);
  }

  /**
   * Calls `visit` with each batch's framing from `position` on, reading headers only, until it
   * returns false or the segment ends.
   */
  walkBatches(position: number, visit: (b: BatchLocation) => boolean): void {
    const end = this.size;
    let buf: Buffer = Buffer.allocUnsafe(0);
    let bufStart = 0;
    let pos = position;
    while (end - pos >= RECORD_BATCH_HEADER_SIZE) {
      if (pos < bufStart || pos + RECORD_BATCH_HEADER_SIZE > bufStart + buf.length) {
        const len = Math.min(HEADER_CHUNK, end - pos);
        buf = Buffer.allocUnsafe(len);
        const n = this.readInto(buf, 0, len, pos);
        if (n < RECORD_BATCH_HEADER_SIZE) return;
        buf = buf.subarray(0, n);
        bufStart = pos;
      }
      const rel = pos - bufStart;
      const size = LOG_OVERHEAD + buf.readInt32BE(rel + BATCH_LENGTH_OFFSET);
      if (size < RECORD_BATCH_HEADER_SIZE) throw new Error(`${this.logPath}: batch at ${pos} has length ${size}`);
      const more = visit({
        position: pos,
        size,
        baseOffset: baseOffsetAt(buf, rel),
        lastOffset: lastOffsetAt(buf, rel),
        maxTimestamp: maxTimestampAt(buf, rel),
      });
      if (!more) return;
      pos += size;
    }
  }

  /** The first batch from `position` on that satisfies `match`, or null. */
  findBatch(position: number, match: (b: BatchLocation) => boolean): BatchLocation | null {
    let found: BatchLocation | null = null;
    this.walkBatches(position, (b) => {
      if (!match(b)) return true;
      found = b;
      return false;
    });
    return found;
  }

  /**
   * Where to start looking for `offset`: the position of a batch at or before the one holding
   * it, from the offset index (rebuilt first if it turns out to be corrupt).
   */
  lookupPosition(offset: number, indexIntervalBytes: number): number {
    this.checkIndexes(indexIntervalBytes);
    try {
      return this.offsetIndex.lookup(offset).position;
    } catch (err) {
      if (!(err instanceof CorruptIndexError)) throw err;
      this.rebuildIndexesAtRuntime(err, indexIntervalBytes);
      return this.offsetIndex.lookup(offset).position;
    }
  }

  /** The time index entry for `timestamp` (see TimeIndex.lookup), rebuilding a corrupt index first. */
  lookupTimestamp(timestamp: number, indexIntervalBytes: number): { timestamp: number; offset: number } {
    this.checkIndexes(indexIntervalBytes);
    try {
      return this.timeIndex.lookup(timestamp);
    } catch (err) {
      if (!(err instanceof CorruptIndexError)) throw err;
      this.rebuildIndexesAtRuntime(err, indexIntervalBytes);
      return this.timeIndex.lookup(timestamp);
    }
  }

  /** The largest batch timestamp in the segment (-1 if no batch has one). */
  maxTimestamp(indexIntervalBytes: number): number {
    this.loadMaxTimestamp(indexIntervalBytes);
    return this.maxTs;
  }

  /** The last offset of the batch that first reached the largest timestamp (-1 if none). */
  offsetOfMaxTimestamp(indexIntervalBytes: number): number {
    this.loadMaxTimestamp(indexIntervalBytes);
    return this.offsetOfMaxTs;
  }

  /** Kafka's largestTimestamp for retention.ms: the largest batch timestamp, else the file's modification time. */
  largestTimestamp(indexIntervalBytes: number): number {
    const ts = this.maxTimestamp(indexIntervalBytes);
    return ts >= 0 ? ts : statSync(this.logPath).mtimeMs;
  }

  private loadMaxTimestamp(indexIntervalBytes: number): void {
    if (this.maxTsKnown) return;
    this.checkIndexes(indexIntervalBytes);
    if (this.maxTsKnown) return;
    // The last time index entry of a segment that stopped being active is its largest timestamp.
    this.maxTs = this.timeIndex.entries > 0 ? this.timeIndex.lastTimestamp : -1;
    this.offsetOfMaxTs = this.timeIndex.entries > 0 ? this.timeIndex.lastOffset : -1;
    this.maxTsKnown = true;
  }

  /**
   * How long the segment has been filling, for segment.ms: measured in record time from the
   * first batch's timestamp when both it and the incoming batches have one (as Kafka does),
   * else in wall-clock time since this process created or loaded the segment.
   */
  timeWaitedForRoll(clock: () => number, incomingMaxTimestamp: number): number {
    if (this.firstBatchTs === -2) {
      this.firstBatchTs =
        this.size >= RECORD_BATCH_HEADER_SIZE ? maxTimestampAt(this.read(0, RECORD_BATCH_HEADER_SIZE), 0) : -1;
    }
    if (this.firstBatchTs >= 0 && incomingMaxTimestamp >= 0) return incomingMaxTimestamp - this.firstBatchTs;
    return clock() - this.createdAt;
  }

  /**
   * The sanity checks Kafka makes before trusting a segment's indexes, cheap enough for every
   * open: both files exist and hold whole entries, and their last entries lie inside the log.
   * A failure rebuilds the indexes from the log.
   */
  checkIndexes(indexIntervalBytes: number): void {
    if (this.indexesChecked) return;
    try {
      this.checkIndexesStrict();
    } catch (err) {
      if (!(err instanceof CorruptIndexError)) throw err;
      this.rebuildIndexesAtRuntime(err, indexIntervalBytes);
    }
  }

  /** An index found corrupt after the log was opened: rebuild it without touching the log. */
  private rebuildIndexesAtRuntime(err: CorruptIndexError, indexIntervalBytes: number): void {
    log.warn('rebuilding a corrupt index', { segment: this.logPath, reason: err.message });
    const r = this.scan(0, true, false, indexIntervalBytes);
    if (r.stopReason !== null) {
      log.error('segment has invalid bytes; its index covers the valid prefix only', {
        segment: this.logPath,
        position: r.validBytes,
        reason: r.stopReason,
      });
    }
    if (this.nextOffsetBound !== Number.POSITIVE_INFINITY) this.syncIndexes();
  }

  /**
   * Crash recovery of this segment (Kafka's LogSegment.recover): validates every batch (size,
   * CRC, increasing offsets), rebuilds both indexes and truncates the file at the first
   * invalid byte. `onBatch` sees each valid batch's leader epoch and base offset (the log
   * rebuilds its leader-epoch entries from them). Returns what it found.
   */
  recover(indexIntervalBytes: number, onBatch: BatchVisitor | null = null): ScanResult {
    return this.scan(0, true, true, indexIntervalBytes, onBatch);
  }

  /**
   * Opening the active segment after a clean shutdown: its indexes are trusted, so only the
   * batches after the last offset index entry are read (at most index.interval.bytes and a
   * batch) to find the log end offset and the largest timestamp. Anything unexpected there —
   * or an index failing its checks — falls back to full recovery of this segment.
   */
  loadActiveAfterCleanShutdown(indexIntervalBytes: number): ScanResult & { recovered: boolean } {
    try {
      this.checkIndexesStrict();
      const from = this.offsetIndex.entries > 0 ? this.offsetIndex.lastPosition : 0;
      const r = this.scan(from, false, false, indexIntervalBytes);
      if (r.stopReason === null) return { ...r, recovered: false };
      log.warn('invalid bytes after a clean shutdown; recovering the active segment', {
        segment: this.logPath,
        reason: r.stopReason,
      });
    } catch (err) {
      if (!(err instanceof CorruptIndexError)) throw err;
      log.warn('corrupt index after a clean shutdown; recovering the active segment', { reason: err.message });
    }
    return { ...this.recover(indexIntervalBytes), recovered: true };
  }

  /** checkIndexes without the automatic rebuild: throws CorruptIndexError. */
  checkIndexesStrict(): void {
    this.offsetIndex.open();
    this.timeIndex.open();
    this.offsetIndex.checkBounds(this.size, this.nextOffsetBound);
    this.timeIndex.checkBounds(this.nextOffsetBound);
    if (this.offsetIndex.entries > 0 && this.offsetIndex.lastOffset < this.baseOffset) {
      throw new CorruptIndexError(this.offsetIndex.path, 'last entry is below the base offset');
    }
    this.indexesChecked = true;
  }

  /**
   * Validates batches from `from` to the end of the file. With `rebuild`, `from` must be 0
   * and both indexes are rebuilt; otherwise the indexes are trusted up to `from` (the last
   * offset index entry) and only the appending state is recomputed. With `truncate`, the
   * file is cut at the first invalid byte.
   */
  private scan(
    from: number,
    rebuild: boolean,
    truncate: boolean,
    indexIntervalBytes: number,
    onBatch: BatchVisitor | null = null,
  ): ScanResult {
    const fd = this.handle();
    const fileSize = fstatSync(fd).size;
    let prevLast = this.baseOffset - 1;
    let expectFirst = -1;
    if (rebuild) {
      this.offsetIndex.reset(true);
      this.timeIndex.reset(true);
      this.maxTs = -1;
      this.offsetOfMaxTs = -1;
      this.firstBatchTs = -1;
    } else {
      this.maxTs = this.timeIndex.entries > 0 ? this.timeIndex.lastTimestamp : -1;
      this.offsetOfMaxTs = this.timeIndex.entries > 0 ? this.timeIndex.lastOffset : -1;
      if (this.offsetIndex.entries > 0) {
        expectFirst = this.offsetIndex.lastOffset;
        prevLast = expectFirst - 1;
      }
    }
    this.maxTsKnown = true;
    this.bytesSinceLastIndexEntry = 0;
    this.nextOffset = prevLast + 1;
    let chunk: Buffer = Buffer.allocUnsafe(0);
    let chunkStart = from;
    let pos = from;
    let stop: string | null = null;
    while (pos < fileSize) {
      const remaining = fileSize - pos;
      if (remaining < RECORD_BATCH_HEADER_SIZE) {
        stop = `torn batch: ${remaining} trailing bytes`;
        break;
      }
      if (pos + RECORD_BATCH_HEADER_SIZE > chunkStart + chunk.length) {
        chunk = this.readChunk(fd, pos, Math.min(remaining, SCAN_CHUNK));
        chunkStart = pos;
      }
      let rel = pos - chunkStart;
      const size = LOG_OVERHEAD + chunk.readInt32BE(rel + BATCH_LENGTH_OFFSET);
      if (size < RECORD_BATCH_HEADER_SIZE) {
        stop = `batch length ${size - LOG_OVERHEAD} is below the minimum`;
        break;
      }
      if (size > remaining) {
        stop = `batch of ${size} bytes is torn (${remaining} bytes remain)`;
        break;
      }
      if (rel + size > chunk.length) {
        chunk = this.readChunk(fd, pos, Math.min(remaining, Math.max(SCAN_CHUNK, size)));
        chunkStart = pos;
        rel = 0;
      }
      const v = validateBatch(chunk, rel, size, { origin: 'replication' });
      if (!v.ok) {
        stop = v.reason;
        break;
      }
      const base = v.header.baseOffset;
      const last = base + v.header.lastOffsetDelta;
      if (expectFirst >= 0 && base !== expectFirst) {
        throw new CorruptIndexError(
          this.offsetIndex.path,
          `last entry names offset ${expectFirst}, the log has ${base}`,
        );
      }
      expectFirst = -1;
      if (base <= prevLast) {
        stop = `base offset ${base} is not after ${prevLast}`;
        break;
      }
      if (last - this.baseOffset > 0xffffffff || last >= this.nextOffsetBound) {
        stop = `offset ${last} does not belong in segment ${this.baseOffset}`;
        break;
      }
      onBatch?.(partitionLeaderEpochAt(chunk, rel), base);
      if (rebuild || pos > from) this.indexBatch(chunk, rel, pos, size, indexIntervalBytes);
      else {
        // The batch the last index entry names: count it towards the next entry.
        this.bytesSinceLastIndexEntry = size;
        this.nextOffset = last + 1;
        if (v.header.maxTimestamp > this.maxTs) {
          this.maxTs = v.header.maxTimestamp;
          this.offsetOfMaxTs = last;
        }
      }
      prevLast = last;
      pos += size;
    }
    if (rebuild) this.timeIndex.maybeAppend(this.maxTs, this.offsetOfMaxTs);
    if (stop !== null && truncate) {
      ftruncateSync(fd, pos);
      this.writes++;
    }
    if (truncate || stop === null) this.size = pos;
    if (rebuild) {
      this.indexesChecked = true;
      // Whether the bytes just validated reached the disk before the crash is unknown.
      this.writes++;
    }
    return { validBytes: pos, fileSize, stopReason: stop };
  }

  private readChunk(fd: number, position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    const n = readFully(fd, buf, 0, length, position);
    return n === length ? buf : buf.subarray(0, n);
  }

  /**
   * Makes an older segment the active one again (after a truncation removed the later ones):
   * it takes any offset from now on, and its end offset and appending state are recomputed
   * from the tail, as after a clean shutdown.
   */
  becomeActive(indexIntervalBytes: number): void {
    this.nextOffsetBound = Number.POSITIVE_INFINITY;
    if (this.nextOffset >= 0 && this.maxTsKnown) return;
    this.checkIndexes(indexIntervalBytes);
    try {
      this.scan(this.offsetIndex.entries > 0 ? this.offsetIndex.lastPosition : 0, false, false, indexIntervalBytes);
    } catch (err) {
      if (!(err instanceof CorruptIndexError)) throw err;
      this.scan(0, true, false, indexIntervalBytes);
    }
  }

  /**
   * Removes batches at and after `offset` (the batch holding it goes entirely) and trims the
   * indexes to match. Returns the new end offset of the segment.
   */
  truncateTo(offset: number, indexIntervalBytes: number): number {
    this.becomeActive(indexIntervalBytes);
    const at = this.findBatch(this.lookupPosition(offset, indexIntervalBytes), (b) => b.lastOffset >= offset);
    if (at === null) return this.nextOffset;
    const cut = at.position;
    ftruncateSync(this.handle(), cut);
    this.size = cut;
    this.writes++;
    if (cut === 0) {
      this.scan(0, true, false, indexIntervalBytes);
      return this.nextOffset;
    }
    this.offsetIndex.truncateToPosition(cut);
    this.timeIndex.truncateToOffset(offset);
    try {
      // The largest timestamp may have gone with the cut: recompute it from the time index and the tail.
      this.scan(this.offsetIndex.entries > 0 ? this.offsetIndex.lastPosition : 0, false, false, indexIntervalBytes);
    } catch (err) {
      if (!(err instanceof CorruptIndexError)) throw err;
      this.scan(0, true, false, indexIntervalBytes);
    }
    return this.nextOffset;
  }

  /**
   * A newer segment takes over (a roll): the final time index entry, and every pending index
   * entry written. Syncing is left to beginSync, off the event loop.
   */
  completeForRoll(): void {
    if (this.maxTsKnown) this.timeIndex.maybeAppend(this.maxTs, this.offsetOfMaxTs);
    this.ensureIndexFiles();
    this.oi?.writeBehind();
    this.ti?.writeBehind();
  }

  /** A segment with data keeps both index files, even with no entry yet: a missing one means a lost one. */
  private ensureIndexFiles(): void {
    if (this.size === 0) return;
    this.oi?.ensureFile();
    this.ti?.ensureFile();
  }

  /** As completeForRoll, with everything synced before it returns (recovery, cleaned segments). */
  onBecomeInactive(): void {
    this.completeForRoll();
    this.syncIndexes();
    this.flush();
  }

  /**
   * Adds to `jobs` a sync, to run off the event loop, of every file of the segment written
   * since its last sync (the log, then its indexes), each on a descriptor of its own: the
   * segment may be deleted, or its LRU descriptor closed, while the syncs run.
   */
  beginSync(jobs: FileSyncJob[]): void {
    if (this.deleted) return;
    if (this.writes !== this.syncedWrites) {
      const upTo = this.writes;
      jobs.push({
        fd: openSync(this.logPath, 'r+'),
        done: () => {
          if (upTo > this.syncedWrites) this.syncedWrites = upTo;
        },
      });
    }
    const oi = this.oi?.beginSync();
    if (oi != null) jobs.push(oi);
    const ti = this.ti?.beginSync();
    if (ti != null) jobs.push(ti);
  }

  /** Something of the segment (log or indexes) was written and not synced since. */
  get needsSync(): boolean {
    return this.writes !== this.syncedWrites || this.oi?.needsSync === true || this.ti?.needsSync === true;
  }

  /** Writes pending index entries and drops cached ones. */
  uncacheIndexes(): void {
    this.oi?.uncache();
    this.ti?.uncache();
  }

  syncIndexes(): void {
    this.oi?.sync();
    this.ti?.sync();
  }

  /** fdatasync of the log file if anything was written since the last one. */
  flush(): void {
    if (this.writes === this.syncedWrites) return;
    const upTo = this.writes;
    fdatasyncSync(this.handle());
    this.syncedWrites = upTo;
  }

  get hasUnflushedData(): boolean {
    return this.writes !== this.syncedWrites;
  }

  /** Clean close: the final time index entry, indexes written and synced, log flushed, descriptor closed. */
  close(): void {
    if (this.deleted) return;
    if (this.maxTsKnown && this.size > 0) this.timeIndex.maybeAppend(this.maxTs, this.offsetOfMaxTs);
    this.ensureIndexFiles();
    this.syncIndexes();
    this.oi?.close();
    this.ti?.close();
    this.flush();
    this.closeHandle();
  }

  /** Drops descriptors and caches without writing anything, as a crash would. */
  abandon(): void {
    this.oi?.abandon();
    this.ti?.abandon();
    this.closeHandle();
  }

  private closeHandle(): void {
    this.resources.openFiles.forget(this);
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /**
   * Deletes the files: the log is renamed to `.deleted` first, as Kafka does, so a crash midway
   * leaves no half segment (recovery removes `.deleted` files). With `lingerMs` > 0
   * (`file.delete.delay.ms`), the renamed log stays open and readable for that long, so a
   * response already naming its bytes is still sent; the indexes go at once.
   */
  deleteFiles(lingerMs = 0): void {
    this.oi?.abandon();
    this.ti?.abandon();
    this.resources.openFiles.forget(this);
    let linger = lingerMs > 0;
    if (linger && this.fd < 0) {
      try {
        this.fd = openSync(this.logPath, 'r');
      } catch {
        linger = false;
      }
    }
    if (!linger) this.closeHandle();
    this.deleted = true;
    const doomed = this.logPath + DELETED_SUFFIX;
    try {
      renameSync(this.logPath, doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.closeHandle();
        throw err;
      }
    }
    // Index objects may never have been created: remove the files by name.
    rmSync(this.prefix + OFFSET_INDEX_SUFFIX, { force: true });
    rmSync(this.prefix + TIME_INDEX_SUFFIX, { force: true });
    rmSync(`${this.prefix}.txnindex`, { force: true });
    if (!linger) {
      rmSync(doomed, { force: true });
      return;
    }
    this.lingering = true;
    this.resources.lingering.add(() => {
      this.lingering = false;
      this.closeHandle();
      rmSync(doomed, { force: true });
    }, lingerMs);
  }
}
