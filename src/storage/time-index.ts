/**
 * A segment's time index (`.timeindex`), laid out as Kafka's TimeIndex: 12-byte entries of
 * timestamp (int64) and relative offset (uint32). An entry (T, o) says "the largest
 * timestamp so far is T, first reached by the batch ending at offset o", so every batch
 * before that one has a smaller timestamp. Entries are added alongside offset index entries
 * when the largest timestamp grew, and once more when the segment stops being active, so the
 * last entry is the segment's largest timestamp. Timestamps strictly increase; offsets never
 * decrease.
 */
import { readInt64AsNumber, writeInt64FromNumber } from '../protocol/records/record-batch.js';
import { CorruptIndexError, IndexFile } from './index-file.js';
import type { LruBudget } from './lru-budget.js';

export const TIME_INDEX_ENTRY_SIZE = 12;
export const TIME_INDEX_SUFFIX = '.timeindex';

export interface TimestampOffset {
  readonly timestamp: number;
  readonly offset: number;
}

export class TimeIndex extends IndexFile {
  /** The last entry; -1 when empty. */
  lastTimestamp = -1;
  lastOffset = -1;

  constructor(path: string, baseOffset: number, maxIndexBytes: number, budget: LruBudget) {
    super(
      path,
      baseOffset,
      TIME_INDEX_ENTRY_SIZE,
      Math.max(1, Math.floor(maxIndexBytes / TIME_INDEX_ENTRY_SIZE)),
      budget,
    );
  }

  /** Adds (timestamp, offset) if the timestamp is larger than the last entry's. Batches without timestamps add nothing. */
  maybeAppend(timestamp: number, offset: number): void {
    if (timestamp < 0 || !Number.isSafeInteger(timestamp)) return;
    if (this.entries > 0 && timestamp <= this.lastTimestamp) return;
    const relative = offset - this.baseOffset;
    if (relative < 0 || relative > 0xffffffff) {
      throw new RangeError(`offset ${offset} does not fit the time index of segment ${this.baseOffset}`);
    }
    if (this.entries > 0 && offset < this.lastOffset) {
      throw new Error(`time index ${this.path}: offset ${offset} goes back from ${this.lastOffset}`);
    }
    this.appendEntry((buf, pos) => {
      writeInt64FromNumber(buf, pos, timestamp);
      buf.writeUInt32BE(relative, pos + 8);
    });
    this.lastTimestamp = timestamp;
    this.lastOffset = offset;
  }

  /**
   * The entry with the largest timestamp not above `target`; (-1, baseOffset) when `target` is
   * below every entry. The caller scans batches from that offset on.
   */
  lookup(target: number): TimestampOffset {
    const n = this.entries;
    if (n === 0) return { timestamp: -1, offset: this.baseOffset };
    if (target >= this.lastTimestamp) return { timestamp: this.lastTimestamp, offset: this.lastOffset };
    const buf = this.view();
    let lo = 0;
    let hi = n - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (readInt64AsNumber(buf, mid * TIME_INDEX_ENTRY_SIZE) <= target) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return { timestamp: -1, offset: this.baseOffset };
    const at = found * TIME_INDEX_ENTRY_SIZE;
    return { timestamp: readInt64AsNumber(buf, at), offset: this.baseOffset + buf.readUInt32BE(at + 8) };
  }

  /** Drops entries for offsets at or after `offset` (the log was truncated there). */
  truncateToOffset(offset: number): void {
    const n = this.entries;
    if (n === 0 || this.lastOffset < offset) return;
    const buf = this.view();
    const rel = offset - this.baseOffset;
    let keep = n;
    while (keep > 0 && buf.readUInt32BE((keep - 1) * TIME_INDEX_ENTRY_SIZE + 8) >= rel) keep--;
    this.truncateEntries(keep);
  }

  /** Kafka's cheap check: the last entry's offset lies within the segment. */
  checkBounds(nextOffsetBound: number): void {
    if (this.entries === 0) return;
    if (this.lastOffset >= nextOffsetBound) {
      throw new CorruptIndexError(this.path, `last entry offset ${this.lastOffset} is not below ${nextOffsetBound}`);
    }
    if (this.lastTimestamp < 0) throw new CorruptIndexError(this.path, `negative timestamp ${this.lastTimestamp}`);
  }

  protected setLast(buf: Buffer, pos: number): void {
    this.lastTimestamp = readInt64AsNumber(buf, pos);
    this.lastOffset = this.baseOffset + buf.readUInt32BE(pos + 8);
  }

  protected clearLast(): void {
    this.lastTimestamp = -1;
    this.lastOffset = -1;
  }

  protected checkOrder(buf: Buffer, n: number): void {
    let prevTs = -1;
    let prevRel = -1;
    for (let i = 0; i < n; i++) {
      const ts = readInt64AsNumber(buf, i * TIME_INDEX_ENTRY_SIZE);
      const rel = buf.readUInt32BE(i * TIME_INDEX_ENTRY_SIZE + 8);
      if (ts <= prevTs || rel < prevRel) {
        throw new CorruptIndexError(this.path, `entry ${i} (${ts}, ${rel}) does not follow (${prevTs}, ${prevRel})`);
      }
      prevTs = ts;
      prevRel = rel;
    }
  }
}
