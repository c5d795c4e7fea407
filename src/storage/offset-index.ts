/**
 * A segment's sparse offset index (`.index`), laid out as Kafka's OffsetIndex: 8-byte
 * entries of relative offset (uint32, from the segment's base offset) and position (uint32,
 * a byte position in the `.log` file), both strictly increasing. An entry is added for a
 * batch once more than `index.interval.bytes` were appended since the previous one, so a
 * lookup lands at most that many bytes (plus one batch) before the batch wanted.
 *
 * Our entries name a batch's base offset, so the batch at `position` is the one holding it.
 */
import { CorruptIndexError, IndexFile } from './index-file.js';
import type { LruBudget } from './lru-budget.js';

export const OFFSET_INDEX_ENTRY_SIZE = 8;
export const OFFSET_INDEX_SUFFIX = '.index';

export interface OffsetPosition {
  readonly offset: number;
  readonly position: number;
}

export class OffsetIndex extends IndexFile {
  /** Absolute offset and position of the last entry; -1 when empty. */
  lastOffset = -1;
  lastPosition = -1;

  constructor(path: string, baseOffset: number, maxIndexBytes: number, budget: LruBudget) {
    super(
      path,
      baseOffset,
      OFFSET_INDEX_ENTRY_SIZE,
      Math.max(1, Math.floor(maxIndexBytes / OFFSET_INDEX_ENTRY_SIZE)),
      budget,
    );
  }

  append(offset: number, position: number): void {
    const relative = offset - this.baseOffset;
    if (relative < 0 || relative > 0xffffffff) {
      throw new RangeError(`offset ${offset} does not fit the index of segment ${this.baseOffset}`);
    }
    if (this.entries > 0 && (offset <= this.lastOffset || position <= this.lastPosition)) {
      throw new Error(
        `index ${this.path}: entry (${offset}, ${position}) does not follow (${this.lastOffset}, ${this.lastPosition})`,
      );
    }
    this.appendEntry((buf, pos) => {
      buf.writeUInt32BE(relative, pos);
      buf.writeUInt32BE(position, pos + 4);
    });
    this.lastOffset = offset;
    this.lastPosition = position;
  }

  /**
   * The entry with the largest offset not above `target`, or the segment start when there is
   * none. Lookups at or past the last entry (a consumer at the tail) never touch the file.
   */
  lookup(target: number): OffsetPosition {
    const n = this.entries;
    if (n === 0 || target < this.baseOffset) return { offset: this.baseOffset, position: 0 };
    if (target >= this.lastOffset) return { offset: this.lastOffset, position: this.lastPosition };
    const buf = this.view();
    const rel = target - this.baseOffset;
    let lo = 0;
    let hi = n - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (buf.readUInt32BE(mid * OFFSET_INDEX_ENTRY_SIZE) <= rel) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return { offset: this.baseOffset, position: 0 };
    const at = found * OFFSET_INDEX_ENTRY_SIZE;
    return { offset: this.baseOffset + buf.readUInt32BE(at), position: buf.readUInt32BE(at + 4) };
  }

  /** Drops entries for positions at or after `position` (the log was truncated there). */
  truncateToPosition(position: number): void {
    const n = this.entries;
    if (n === 0 || this.lastPosition < position) return;
    const buf = this.view();
    let keep = n;
    while (keep > 0 && buf.readUInt32BE((keep - 1) * OFFSET_INDEX_ENTRY_SIZE + 4) >= position) keep--;
    this.truncateEntries(keep);
  }

  /**
   * The cheap checks Kafka makes before trusting an index: the last entry points inside the
   * log and below the next segment's base offset.
   */
  checkBounds(logSize: number, nextOffsetBound: number): void {
    if (this.entries === 0) return;
    if (this.lastPosition >= logSize) {
      throw new CorruptIndexError(this.path, `last entry position ${this.lastPosition} is past the log end ${logSize}`);
    }
    if (this.lastOffset >= nextOffsetBound) {
      throw new CorruptIndexError(this.path, `last entry offset ${this.lastOffset} is not below ${nextOffsetBound}`);
    }
  }

  protected setLast(buf: Buffer, pos: number): void {
    this.lastOffset = this.baseOffset + buf.readUInt32BE(pos);
    this.lastPosition = buf.readUInt32BE(pos + 4);
  }

  protected clearLast(): void {
    this.lastOffset = -1;
    this.lastPosition = -1;
  }

  protected checkOrder(buf: Buffer, n: number): void {
    let prevRel = -1;
    let prevPos = -1;
    for (let i = 0; i < n; i++) {
      const rel = buf.readUInt32BE(i * OFFSET_INDEX_ENTRY_SIZE);
      const position = buf.readUInt32BE(i * OFFSET_INDEX_ENTRY_SIZE + 4);
      if (rel <= prevRel || position <= prevPos) {
        throw new CorruptIndexError(
          this.path,
          `entry ${i} (${rel}, ${position}) does not follow (${prevRel}, ${prevPos})`,
        );
      }
      prevRel = rel;
      prevPos = position;
    }
  }
}
