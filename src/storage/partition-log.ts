import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { LogConfig } from '../config/topic-config.js';
import { logger } from '../observability/logger.js';
import {
  baseOffsetAt,
  LOG_OVERHEAD,
  lastOffsetAt,
  maxTimestampAt,
  partitionLeaderEpochAt,
  setBaseOffset,
  setPartitionLeaderEpoch,
  splitBatches,
  validPrefix,
} from '../protocol/records/record-batch.js';
import type { PartitionLogPort, ReadResult } from '../replication/partition.js';

const log = logger('storage');

/** One sparse index entry: the first offset of a batch and where it starts in the segment. */
interface IndexEntry {
  offset: number;
  position: number;
  maxTimestamp: number;
}

interface Segment {
  readonly baseOffset: number;
  readonly path: string;
  fd: number;
  size: number;
  /** First batch offset and position of every batch at least `indexIntervalBytes` apart. */
  index: IndexEntry[];
  lastIndexedPosition: number;
  /** Offset after the last batch in this segment. */
  nextOffset: number;
  maxTimestamp: number;
  maxTimestampOffset: number;
  createdAt: number;
}

const SEGMENT_SUFFIX = '.log';
const CLEAN_SHUTDOWN = '.clean-shutdown';
const LOG_START_FILE = 'log-start-offset';
const EPOCH_FILE = 'leader-epoch-checkpoint';

function segmentName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}${SEGMENT_SUFFIX}`;
}

/**
 * A partition's log: a directory of segment files named by base offset holding record
 * batches exactly as they were appended. Batches are located with a sparse in-memory index
 * rebuilt from the files on open; after an unclean shutdown every segment is rescanned and
 * truncated at the first torn or corrupt batch, so a torn batch is never served.
 */
export class PartitionLog implements PartitionLogPort {
  private segments: Segment[] = [];
  private _logStartOffset = 0;
  private _highWatermark = 0;
  private sinceFlush = 0;
  private lastFlushAt = Date.now();
  /** Leader epoch → start offset (KIP-101), in increasing order. */
  private epochs: Array<{ epoch: number; startOffset: number }> = [];
  private closed = false;

  private constructor(
    readonly dir: string,
    private config: LogConfig,
  ) {}

  static open(dir: string, config: LogConfig): PartitionLog {
    mkdirSync(dir, { recursive: true });
    const l = new PartitionLog(dir, config);
    l.load();
    return l;
  }

  setConfig(config: LogConfig): void {
    this.config = config;
  }

  private load(): void {
    const clean = existsSync(join(this.dir, CLEAN_SHUTDOWN));
    if (clean) rmSync(join(this.dir, CLEAN_SHUTDOWN), { force: true });
    const names = readdirSync(this.dir)
      .filter((n) => n.endsWith(SEGMENT_SUFFIX))
      .sort();
    let expectedNext = -1;
    for (const name of names) {
      const baseOffset = Number(name.slice(0, -SEGMENT_SUFFIX.length));
      const path = join(this.dir, name);
      if (expectedNext >= 0 && baseOffset < expectedNext) {
        log.warn('dropping overlapping segment', { path });
        rmSync(path, { force: true });
        continue;
      }
      const seg = this.scanSegment(path, baseOffset);
      this.segments.push(seg);
      expectedNext = seg.nextOffset;
      if (seg.stopReason !== null) {
        // Everything after a corrupt batch is suspect: drop later segments too.
        log.warn('truncated log at an invalid batch', { path, position: seg.size, reason: seg.stopReason, clean });
        for (const later of names.slice(names.indexOf(name) + 1)) rmSync(join(this.dir, later), { force: true });
        break;
      }
    }
    if (existsSync(join(this.dir, LOG_START_FILE))) {
      this._logStartOffset = Number(readFileSync(join(this.dir, LOG_START_FILE), 'utf8').trim()) || 0;
    }
    const first = this.segments[0];
    if (first !== undefined && this._logStartOffset < first.baseOffset) this._logStartOffset = first.baseOffset;
    if (this.segments.length === 0) {
      this.segments.push(this.newSegment(this._logStartOffset));
    }
    if (this._logStartOffset > this.logEndOffset) this._logStartOffset = this.logEndOffset;
    this.loadEpochs();
    this._highWatermark = this.logEndOffset;
  }

  private scanSegment(path: string, baseOffset: number): Segment & { stopReason: string | null } {
    const fd = openSync(path, 'r+');
    const size = statSync(path).size;
    const buf = Buffer.allocUnsafe(size);
    let read = 0;
    while (read < size) read += readSync(fd, buf, read, size - read, read);
    const valid = validPrefix(buf, 0, size);
    if (valid.validBytes < size) ftruncateSync(fd, valid.validBytes);
    const seg: Segment & { stopReason: string | null } = {
      baseOffset,
      path,
      fd,
      size: valid.validBytes,
      index: [],
      lastIndexedPosition: -Infinity,
      nextOffset: baseOffset,
      maxTimestamp: -1,
      maxTimestampOffset: -1,
      createdAt: statSync(path).mtimeMs,
      stopReason: valid.validBytes < size ? (valid.stopReason ?? 'torn tail') : null,
    };
    if (valid.validBytes > 0) {
      for (const { pos } of splitBatches(buf, 0, valid.validBytes)) this.indexBatch(seg, buf, pos, pos);
    }
    return seg;
  }

  private indexBatch(seg: Segment, buf: Buffer, pos: number, position: number): void {
    const first = baseOffsetAt(buf, pos);
    const last = lastOffsetAt(buf, pos);
    const ts = maxTimestampAt(buf, pos);
    if (seg.index.length === 0 || position - seg.lastIndexedPosition >= this.config.indexIntervalBytes) {
      seg.index.push({ offset: first, position, maxTimestamp: ts });
      seg.lastIndexedPosition = position;
    } else {
      const lastEntry = seg.index[seg.index.length - 1] as IndexEntry;
      if (ts > lastEntry.maxTimestamp) lastEntry.maxTimestamp = ts;
    }
    if (ts > seg.maxTimestamp) {
      seg.maxTimestamp = ts;
      seg.maxTimestampOffset = last;
    }
    seg.nextOffset = last + 1;
  }

  private newSegment(baseOffset: number): Segment {
    const path = join(this.dir, segmentName(baseOffset));
    const fd = openSync(path, 'a+');
    return {
      baseOffset,
      path,
      fd,
      size: 0,
      index: [],
      lastIndexedPosition: -Infinity,
      nextOffset: baseOffset,
      maxTimestamp: -1,
      maxTimestampOffset: -1,
      createdAt: Date.now(),
    };
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1] as Segment;
  }

  get logStartOffset(): number {
    return this._logStartOffset;
  }

  get logEndOffset(): number {
    return this.active.nextOffset;
  }

  get highWatermark(): number {
    return this._highWatermark;
  }

  set highWatermark(v: number) {
    this._highWatermark = Math.min(Math.max(v, this._logStartOffset), this.logEndOffset);
  }

  get sizeInBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  /** `retention.disk.percent` of this log (-1 when off). */
  get diskPercentLimit(): number {
    return this.config.retentionDiskPercent;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /**
   * Appends validated v2 batches. As leader (assignOffsets) the base offsets and leader epoch
   * are rewritten in place; as follower the batches keep their offsets.
   */
  append(
    batches: Buffer,
    opts: { assignOffsets: boolean; leaderEpoch: number; logAppendTime?: number },
  ): { firstOffset: number; lastOffset: number; logAppendTime: number } {
    if (this.closed) throw new Error(`log ${this.dir} is closed`);
    const spans = splitBatches(batches);
    let next = this.logEndOffset;
    const firstOffset = opts.assignOffsets ? next : baseOffsetAt(batches, 0);
    if (!opts.assignOffsets && firstOffset < next) throw new Error(`append at ${firstOffset} below log end ${next}`);
    for (const { pos } of spans) {
      if (opts.assignOffsets) {
        const count = lastOffsetAt(batches, pos) - baseOffsetAt(batches, pos) + 1;
        setBaseOffset(batches, pos, next);
        setPartitionLeaderEpoch(batches, pos, opts.leaderEpoch);
        next += count;
      } else {
        next = lastOffsetAt(batches, pos) + 1;
      }
    }
    const epoch = partitionLeaderEpochAt(batches, 0);
    if (epoch >= 0) this.assignEpoch(epoch, firstOffset);
    this.maybeRoll(batches.length, next - 1);
    const seg = this.active;
    let written = 0;
    while (written < batches.length)
      written += writeSync(seg.fd, batches, written, batches.length - written, seg.size + written);
    for (const { pos } of spans) this.indexBatch(seg, batches, pos, seg.size + pos);
    seg.size += batches.length;
    this.sinceFlush += spans.length;
    if (
      this.config.flushOnAppend ||
      this.sinceFlush >= this.config.flushMessages ||
      Date.now() - this.lastFlushAt >= this.config.flushMs
    ) {
      this.flush();
    }
    return { firstOffset, lastOffset: next - 1, logAppendTime: opts.logAppendTime ?? -1 };
  }

  private maybeRoll(incomingBytes: number, lastOffset: number): void {
    const seg = this.active;
    if (seg.size === 0) return;
    const tooBig = seg.size + incomingBytes > this.config.segmentBytes;
    const tooOld = Date.now() - seg.createdAt >= this.config.segmentMs;
    const deltaOverflow = lastOffset - seg.baseOffset > 0x7fffffff;
    if (tooBig || tooOld || deltaOverflow) {
      fsyncSync(seg.fd);
      this.segments.push(this.newSegment(this.logEndOffset));
    }
  }

  /** Reads whole batches from fetchOffset, up to maxBytes (at least one batch when asked). */
  read(fetchOffset: number, maxBytes: number, opts: { maxOffset?: number; minOneBatch: boolean }): ReadResult {
    const maxOffset = opts.maxOffset ?? this.logEndOffset;
    if (fetchOffset >= maxOffset || fetchOffset < this._logStartOffset) return { buffers: [], bytes: 0 };
    let si = this.segmentFor(fetchOffset);
    const buffers: Buffer[] = [];
    let bytes = 0;
    let offset = fetchOffset;
    while (si < this.segments.length) {
      const seg = this.segments[si] as Segment;
      let pos = this.positionFor(seg, offset);
      const header = Buffer.allocUnsafe(LOG_OVERHEAD);
      // Walk batch headers to find the range of whole batches to return.
      let start = -1;
      let end = pos;
      while (end < seg.size) {
        readSync(seg.fd, header, 0, LOG_OVERHEAD, end);
        const base = header.readInt32BE(0) * 2 ** 32 + header.readUInt32BE(4);
        const size = LOG_OVERHEAD + header.readInt32BE(8);
        if (base >= maxOffset) break;
        const last = this.lastOffsetOfBatchAt(seg, end, size);
        if (last < offset) {
          end += size;
          pos = end;
          continue;
        }
        if (start < 0) start = end;
        const wouldBe = bytes + (end + size - start);
        if (wouldBe > maxBytes && !(opts.minOneBatch && bytes === 0 && end === start)) break;
        end += size;
        offset = last + 1;
        if (offset >= maxOffset) break;
      }
      if (start >= 0 && end > start) {
        const b = Buffer.allocUnsafe(end - start);
        let r = 0;
        while (r < b.length) r += readSync(seg.fd, b, r, b.length - r, start + r);
        buffers.push(b);
        bytes += b.length;
      }
      if (end < seg.size || offset >= maxOffset || bytes >= maxBytes) break;
      si++;
    }
    return { buffers, bytes };
  }

  private lastOffsetOfBatchAt(seg: Segment, position: number, size: number): number {
    if (size < 27) return -1;
    const h = Buffer.allocUnsafe(27);
    readSync(seg.fd, h, 0, 27, position);
    return lastOffsetAt(h, 0);
  }

  private segmentFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.segments[mid] as Segment).baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private positionFor(seg: Segment, offset: number): number {
    let lo = 0;
    let hi = seg.index.length - 1;
    let pos = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = seg.index[mid] as IndexEntry;
      if (e.offset <= offset) {
        pos = e.position;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return pos;
  }

  /** First offset whose batch has a timestamp at or after ts (by batch max timestamp). */
  offsetForTimestamp(ts: number): { offset: number; timestamp: number } | null {
    for (const seg of this.segments) {
      if (seg.maxTimestamp < ts) continue;
      const h = Buffer.allocUnsafe(43);
      let pos = 0;
      for (const e of seg.index) {
        if (e.maxTimestamp >= ts) break;
        pos = e.position;
      }
      while (pos < seg.size) {
        readSync(seg.fd, h, 0, 43, pos);
        const size = LOG_OVERHEAD + h.readInt32BE(8);
        const maxTs = maxTimestampAt(h, 0);
        if (maxTs >= ts) {
          const base = baseOffsetAt(h, 0);
          return { offset: Math.max(base, this._logStartOffset), timestamp: maxTs };
        }
        pos += size;
      }
    }
    return null;
  }

  maxTimestampOffset(): { offset: number; timestamp: number } | null {
    let best: { offset: number; timestamp: number } | null = null;
    for (const seg of this.segments) {
      if (seg.maxTimestampOffset >= 0 && (best === null || seg.maxTimestamp > best.timestamp)) {
        best = { offset: seg.maxTimestampOffset, timestamp: seg.maxTimestamp };
      }
    }
    return best;
  }

  /** DeleteRecords: advances the log start offset and drops segments wholly below it. */
  deleteRecordsBefore(offset: number): void {
    if (offset <= this._logStartOffset) return;
    this._logStartOffset = Math.min(offset, this.logEndOffset);
    writeFileSync(join(this.dir, LOG_START_FILE), String(this._logStartOffset));
    this.dropSegmentsBelow(this._logStartOffset);
  }

  private dropSegmentsBelow(offset: number): void {
    while (this.segments.length > 1 && (this.segments[1] as Segment).baseOffset <= offset) {
      const seg = this.segments.shift() as Segment;
      closeSync(seg.fd);
      const deleted = `${seg.path}.deleted`;
      renameSync(seg.path, deleted);
      rmSync(deleted, { force: true });
    }
  }

  /** Time- and size-based retention over non-active segments; returns bytes deleted. */
  applyRetention(now: number): number {
    let deleted = 0;
    const { retentionMs, retentionBytes } = this.config;
    while (this.segments.length > 1) {
      const oldest = this.segments[0] as Segment;
      const expired = retentionMs >= 0 && oldest.maxTimestamp >= 0 && now - oldest.maxTimestamp > retentionMs;
      const oversize = retentionBytes >= 0 && this.sizeInBytes - oldest.size >= retentionBytes;
      if (!expired && !oversize) break;
      deleted += this.deleteOldestSegment();
    }
    return deleted;
  }

  /** Deletes the oldest non-active segment (disk-percent retention); returns its size or 0. */
  deleteOldestSegment(): number {
    if (this.segments.length <= 1) return 0;
    const next = this.segments[1] as Segment;
    const size = (this.segments[0] as Segment).size;
    this._logStartOffset = Math.max(this._logStartOffset, next.baseOffset);
    writeFileSync(join(this.dir, LOG_START_FILE), String(this._logStartOffset));
    this.dropSegmentsBelow(this._logStartOffset);
    return size;
  }

  oldestSegmentTimestamp(): number {
    return this.segments.length > 1 ? (this.segments[0] as Segment).maxTimestamp : Number.POSITIVE_INFINITY;
  }

  private assignEpoch(epoch: number, startOffset: number): void {
    const last = this.epochs[this.epochs.length - 1];
    if (last !== undefined && last.epoch >= epoch) return;
    this.epochs.push({ epoch, startOffset });
    this.saveEpochs();
  }

  /** OffsetForLeaderEpoch: the end offset of `epoch` (the start of the next higher epoch). */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    let found = -1;
    for (let i = 0; i < this.epochs.length; i++) if ((this.epochs[i] as { epoch: number }).epoch <= epoch) found = i;
    if (found < 0) return { epoch: -1, endOffset: -1 };
    const e = this.epochs[found] as { epoch: number; startOffset: number };
    const next = this.epochs[found + 1];
    return { epoch: e.epoch, endOffset: next === undefined ? this.logEndOffset : next.startOffset };
  }

  private saveEpochs(): void {
    const text = `0\n${this.epochs.length}\n${this.epochs.map((e) => `${e.epoch} ${e.startOffset}`).join('\n')}\n`;
    const tmp = join(this.dir, `${EPOCH_FILE}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(this.dir, EPOCH_FILE));
  }

  private loadEpochs(): void {
    const p = join(this.dir, EPOCH_FILE);
    if (!existsSync(p)) return;
    const lines = readFileSync(p, 'utf8').trim().split('\n').slice(2);
    this.epochs = lines
      .map((l) => l.trim().split(/\s+/).map(Number))
      .filter((a) => a.length === 2 && a.every(Number.isFinite))
      .map(([epoch, startOffset]) => ({ epoch: epoch as number, startOffset: startOffset as number }))
      .filter((e) => e.startOffset <= this.logEndOffset);
  }

  flush(): void {
    fsyncSync(this.active.fd);
    this.sinceFlush = 0;
    this.lastFlushAt = Date.now();
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    for (const s of this.segments) closeSync(s.fd);
    writeFileSync(join(this.dir, CLEAN_SHUTDOWN), '');
    this.closed = true;
  }

  /** Closes and removes the whole directory. */
  delete(): void {
    if (!this.closed) {
      for (const s of this.segments) closeSync(s.fd);
      this.closed = true;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
