/**
 * Log compaction (`cleanup.policy=compact`), as Kafka's LogCleaner does it.
 *
 * A log is split at the cleaner checkpoint: below it is the clean part (already compacted
 * once), from it up to the first uncleanable offset the dirty part. The first uncleanable
 * offset is the smallest of the active segment's base, the high watermark, the first batch
 * of a still open transaction (the last stable offset) and the first segment younger than
 * `min.compaction.lag.ms`, rounded down to a segment boundary. A log is cleaned once its dirty
 * share passes `min.cleanable.dirty.ratio`, once its oldest dirty record is older than
 * `max.compaction.lag.ms`, or once retained tombstones reach their delete horizon.
 *
 * A pass builds an offset map (key → last offset, bounded) over the dirty part, then rewrites
 * every segment from the start of the log to where the map ends, in groups of at most
 * `segment.bytes`, keeping a record only if no later record has its key. Offsets never
 * change (compaction leaves gaps). Batches keep their header fields (producer id, epoch,
 * base sequence, offset range, leader epoch); a batch left with no records is dropped unless
 * it is its producer's last, which producer state needs. Records of aborted transactions
 * are removed; a transaction marker is kept until no batch of its transaction is left, then
 * until its own delete horizon. Tombstones (null values) are kept until their batch's
 * delete horizon (KIP-534: set to now + `delete.retention.ms` by the first pass that sees
 * them) has passed. Compressed batches are decompressed, filtered and recompressed with the
 * same codec; batches with nothing to change are copied as they are.
 *
 * A pass reads segments in chunks of `log.cleaner.io.buffer.size` and yields to the event
 * loop between chunks, so appends and fetches go on meanwhile; the new segments are put in
 * place in one synchronous step (PartitionLog.replaceSegments, crash-safe).
 */
import { closeSync, fdatasyncSync, openSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { LONG_MAX } from '../config/config-def.js';
import { logger } from '../observability/logger.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { parseEndTxnMarkerBatch } from '../protocol/records/control-record.js';
import { decodeBatch } from '../protocol/records/record.js';
import {
  attributesAt,
  BATCH_LENGTH_OFFSET,
  type BatchHeader,
  baseOffsetAt,
  Compression,
  compressionOf,
  hasDeleteHorizon,
  isControl,
  isTransactional,
  LOG_OVERHEAD,
  lastOffsetAt,
  maxTimestampAt,
  producerIdAt,
  RECORD_BATCH_HEADER_SIZE,
  recordCountAt,
  TimestampType,
  timestampTypeOf,
} from '../protocol/records/record-batch.js';
import { clearTimer, setTimer, type Timer } from '../runtime/timers.js';
import {
  type CleanerCheckpoints,
  checkpointKey,
  readCleanerCheckpoint,
  writeCleanerCheckpoint,
} from './cleaner-checkpoint.js';
import { writeFully } from './file-io.js';
import { OffsetMap } from './offset-map.js';
import type { PartitionLog } from './partition-log.js';
import type { LogSegment } from './segment.js';
import { cleanedLogPath } from './segment-swap.js';
import type { AbortedTxn } from './txn-index.js';

const log = logger('storage');

/** Kafka's limit on the offset range of one segment (offset index entries hold 32-bit deltas). */
const MAX_SEGMENT_OFFSET_RANGE = 0x7fffffff;

export interface CleanerSettings {
  /** Bytes of the offset map of one pass (`log.cleaner.dedupe.buffer.size` / `log.cleaner.threads`). */
  readonly dedupeBufferSize: number;
  /** `log.cleaner.io.buffer.load.factor`: how full the offset map may get. */
  readonly loadFactor: number;
  /** `log.cleaner.io.buffer.size`: bytes read (and written) at a time. */
  readonly ioBufferSize: number;
}

export const DEFAULT_CLEANER_SETTINGS: CleanerSettings = Object.freeze({
  dedupeBufferSize: 128 * 1024 * 1024,
  loadFactor: 0.9,
  ioBufferSize: 512 * 1024,
});

/** How a log divides into clean and dirty parts right now. */
export interface CleanableRange {
  readonly firstDirtyOffset: number;
  /** Segment-aligned; the dirty part is [firstDirtyOffset, firstUncleanableOffset). */
  readonly firstUncleanableOffset: number;
  readonly cleanBytes: number;
  readonly dirtyBytes: number;
  /** dirtyBytes / (cleanBytes + dirtyBytes). */
  readonly dirtyRatio: number;
  /** The oldest dirty record is older than max.compaction.lag.ms. */
  readonly maxLagExceeded: boolean;
}

export interface CleanResult {
  /** Where the dirty part now begins (the next checkpoint). */
  readonly nextDirtyOffset: number;
  /** Base offsets of the segments written (each replaced a group of old ones). */
  readonly cleanedBaseOffsets: readonly number[];
  readonly segmentsBefore: number;
  readonly segmentsAfter: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly recordsRemoved: number;
  /** The earliest delete horizon of the tombstones kept (Infinity when none). */
  readonly nextDeleteHorizonMs: number;
}

/** Thrown inside a pass that must stop (broker shutdown, log closed or removed). */
export class CleaningAborted extends Error {}

function lastIndexAtOrBelow(segs: readonly LogSegment[], offset: number): number {
  let idx = 0;
  for (let i = 0; i < segs.length; i++) if ((segs[i] as LogSegment).baseOffset <= offset) idx = i;
  return idx;
}

/** The clean/dirty split of `plog` for a checkpoint (undefined when none). */
export function cleanableRange(
  plog: PartitionLog,
  checkpoint: number | undefined,
  now: number,
  segs: readonly LogSegment[] = plog.segmentsSnapshot(),
  extraBound = Number.POSITIVE_INFINITY,
): CleanableRange {
  const cfg = plog.logConfig;
  const lso = plog.logStartOffset;
  const active = segs[segs.length - 1] as LogSegment;
  const firstDirty = checkpoint === undefined || checkpoint < lso || checkpoint > plog.logEndOffset ? lso : checkpoint;
  let bound = Math.min(active.baseOffset, plog.highWatermark, extraBound);
  const d = lastIndexAtOrBelow(segs, firstDirty);
  if (cfg.minCompactionLagMs > 0) {
    for (let i = d; i < segs.length - 1; i++) {
      const seg = segs[i] as LogSegment;
      if (seg.largestTimestamp(cfg.indexIntervalBytes) > now - cfg.minCompactionLagMs) {
        bound = Math.min(bound, seg.baseOffset);
        break;
      }
    }
  }
  const u = lastIndexAtOrBelow(segs, bound);
  const firstUncleanable = (segs[u] as LogSegment).baseOffset;
  let cleanBytes = 0;
  let dirtyBytes = 0;
  for (let i = 0; i < u; i++) {
    if (i < d) cleanBytes += (segs[i] as LogSegment).size;
    else dirtyBytes += (segs[i] as LogSegment).size;
  }
  let maxLagExceeded = false;
  if (dirtyBytes > 0 && cfg.maxCompactionLagMs < LONG_MAX) {
    const first = segs[d] as LogSegment;
    if (first.size >= RECORD_BATCH_HEADER_SIZE) {
      const ts = maxTimestampAt(first.read(0, RECORD_BATCH_HEADER_SIZE), 0);
      maxLagExceeded = ts >= 0 && now - ts > cfg.maxCompactionLagMs;
    }
  }
  const total = cleanBytes + dirtyBytes;
  return {
    firstDirtyOffset: firstDirty,
    firstUncleanableOffset: firstUncleanable,
    cleanBytes,
    dirtyBytes,
    dirtyRatio: total === 0 ? 0 : dirtyBytes / total,
    maxLagExceeded,
  };
}

/** Whether a log with this split is due for cleaning (Kafka's grabFilthiestCompactedLog test). */
export function needsCleaning(range: CleanableRange, minCleanableDirtyRatio: number): boolean {
  return range.dirtyBytes > 0 && (range.maxLagExceeded || range.dirtyRatio > minCleanableDirtyRatio);
}

interface PassControl {
  /** Called after each chunk of `bytes` read; throws CleaningAborted to stop the pass. */
  pause(bytes: number): Promise<void>;
}

/**
 * Calls `visit(buf, pos, size)` for each batch of `seg` in its first `end` bytes, reading
 * `chunkBytes` at a time and pausing between chunks. `visit` returns false to stop.
 */
async function forEachBatch(
  seg: LogSegment,
  end: number,
  chunkBytes: number,
  control: PassControl,
  visit: (buf: Buffer, pos: number, size: number) => boolean | undefined,
): Promise<void> {
  let pos = 0;
  while (end - pos >= RECORD_BATCH_HEADER_SIZE) {
    const len = Math.min(chunkBytes, end - pos);
    const chunk = Buffer.allocUnsafe(len);
    if (seg.readInto(chunk, 0, len, pos) !== len) throw new Error(`${seg.logPath}: short read at ${pos}`);
    let p = 0;
    while (len - p >= RECORD_BATCH_HEADER_SIZE) {
      const size = LOG_OVERHEAD + chunk.readInt32BE(p + BATCH_LENGTH_OFFSET);
      if (size < RECORD_BATCH_HEADER_SIZE) throw new Error(`${seg.logPath}: invalid batch length at ${pos + p}`);
      if (p + size > len) break;
      if (visit(chunk, p, size) === false) return;
      p += size;
    }
    if (p === 0) {
      // A batch larger than a chunk: read it whole.
      const size = LOG_OVERHEAD + chunk.readInt32BE(BATCH_LENGTH_OFFSET);
      if (pos + size > end) throw new Error(`${seg.logPath}: batch at ${pos} runs past the segment`);
      if (visit(seg.read(pos, size), 0, size) === false) return;
      p = size;
    }
    pos += p;
    await control.pause(p);
  }
}

/** What the cleaner learns from the batch headers of the whole log. */
interface LogFacts {
  /** Last offset of each producer's last data batch (its batch is kept even when emptied). */
  readonly lastDataOffset: Map<bigint, number>;
  /** Offset ranges of aborted transactions, per producer. */
  readonly aborted: Map<bigint, Array<{ first: number; last: number }>>;
  /** First offset of the earliest transaction still open (Infinity when none). */
  readonly firstOpenTxnOffset: number;
  /** Records in batches at or after each offset bound asked for (offset map sizing). */
  dirtyRecords: number;
}

async function gatherFacts(
  segs: readonly LogSegment[],
  firstDirty: number,
  ioBufferSize: number,
  control: PassControl,
): Promise<LogFacts> {
  const lastDataOffset = new Map<bigint, number>();
  const aborted = new Map<bigint, Array<{ first: number; last: number }>>();
  const open = new Map<bigint, number>();
  let dirtyRecords = 0;
  for (const seg of segs) {
    await forEachBatch(seg, seg.size, ioBufferSize, control, (buf, pos, size) => {
      const attrs = attributesAt(buf, pos);
      const pid = producerIdAt(buf, pos);
      const base = baseOffsetAt(buf, pos);
      if (isControl(attrs)) {
        const marker = parseEndTxnMarkerBatch(buf.subarray(pos, pos + size));
        const first = open.get(pid);
        if (marker !== null && first !== undefined) {
          open.delete(pid);
          if (!marker.commit) {
            const list = aborted.get(pid) ?? [];
            list.push({ first, last: base });
            aborted.set(pid, list);
          }
        }
        return true;
      }
      if (pid >= 0n) lastDataOffset.set(pid, lastOffsetAt(buf, pos));
      if (isTransactional(attrs) && !open.has(pid)) open.set(pid, base);
      if (lastOffsetAt(buf, pos) >= firstDirty) dirtyRecords += recordCountAt(buf, pos);
      return true;
    });
  }
  let firstOpenTxnOffset = Number.POSITIVE_INFINITY;
  for (const first of open.values()) firstOpenTxnOffset = Math.min(firstOpenTxnOffset, first);
  return { lastDataOffset, aborted, firstOpenTxnOffset, dirtyRecords };
}

function isAborted(facts: LogFacts, pid: bigint, offset: number): boolean {
  const list = facts.aborted.get(pid);
  if (list === undefined) return false;
  for (const r of list) if (offset >= r.first && offset <= r.last) return true;
  return false;
}

/** A batch with the header of `h` and no records: what is left of a producer's last batch. */
function emptyBatchLike(h: BatchHeader): Buffer {
  return buildRecordBatch({
    baseOffset: h.baseOffset,
    records: [],
    compression: Compression.NONE,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    transactional: isTransactional(h.attributes),
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    timestampType: timestampTypeOf(h.attributes),
    lastOffsetDelta: h.lastOffsetDelta,
  });
}

/**
 * One cleaning pass over `plog` (see the file comment). Returns null when there was nothing
 * to clean or the log changed under it (the pass is then simply dropped). `force` cleans
 * even with no dirty data (to drop tombstones whose delete horizon passed).
 */
export async function cleanLog(
  plog: PartitionLog,
  checkpoint: number | undefined,
  now: number,
  settings: CleanerSettings = DEFAULT_CLEANER_SETTINGS,
  control: PassControl = { pause: () => new Promise((resolve) => setImmediate(resolve)) },
  force = false,
): Promise<CleanResult | null> {
  const segs = plog.segmentsSnapshot();
  if (segs.length < 2) return null;
  try {
    return await cleanSegments(plog, segs, checkpoint, now, settings, control, force);
  } catch (err) {
    // Retention or truncation removed a segment under the pass: not a failure, just stale.
    if (!(err instanceof CleaningAborted) && segs.some((s) => s.deleted)) return null;
    throw err;
  }
}

async function cleanSegments(
  plog: PartitionLog,
  segs: readonly LogSegment[],
  checkpoint: number | undefined,
  now: number,
  settings: CleanerSettings,
  control: PassControl,
  force: boolean,
): Promise<CleanResult | null> {
  const cfg = plog.logConfig;
  const preliminary = cleanableRange(plog, checkpoint, now, segs);
  const facts = await gatherFacts(segs, preliminary.firstDirtyOffset, settings.ioBufferSize, control);
  const range = cleanableRange(plog, checkpoint, now, segs, facts.firstOpenTxnOffset);
  if (!force && range.dirtyBytes === 0) return null;
  const firstDirty = range.firstDirtyOffset;
  const u = lastIndexAtOrBelow(segs, range.firstUncleanableOffset);

  // 1. The offset map over the dirty part, as far as it fits.
  const map = new OffsetMap(settings.dedupeBufferSize, settings.loadFactor, facts.dirtyRecords);
  let mapEnd = range.firstUncleanableOffset;
  let full = false;
  for (let i = lastIndexAtOrBelow(segs, firstDirty); i < u && !full; i++) {
    const seg = segs[i] as LogSegment;
    await forEachBatch(seg, seg.size, settings.ioBufferSize, control, (buf, pos, size) => {
      if (lastOffsetAt(buf, pos) < firstDirty) return true;
      const attrs = attributesAt(buf, pos);
      if (isControl(attrs)) return true;
      if (isTransactional(attrs) && isAborted(facts, producerIdAt(buf, pos), baseOffsetAt(buf, pos))) return true;
      if (map.wouldOverflow(recordCountAt(buf, pos))) {
        full = true;
        mapEnd = baseOffsetAt(buf, pos);
        return false;
      }
      for (const r of decodeBatch(buf.subarray(pos, pos + size)).records) {
        if (r.key !== null && r.offset >= firstDirty) map.put(r.key, r.offset);
      }
      return true;
    });
  }
  if (full && mapEnd <= firstDirty) {
    throw new Error(
      `log.cleaner.dedupe.buffer.size holds ${map.maxEntries} keys, too few for the first dirty batch of ${plog.dir}`,
    );
  }
  if (full) log.debug('offset map full; cleaning part of the dirty log', { dir: plog.dir, upTo: mapEnd });

  // 2. The segments to rewrite, grouped up to segment.bytes.
  let k = 0;
  while (k < u && (segs[k] as LogSegment).baseOffset < mapEnd) k++;
  if (k === 0) return null;
  const toClean = segs.slice(0, k);
  const groups: LogSegment[][] = [];
  for (let i = 0; i < k; ) {
    const group = [segs[i] as LogSegment];
    let bytes = (segs[i] as LogSegment).size;
    let j = i + 1;
    while (j < k) {
      const next = segs[j] as LogSegment;
      const end = (segs[j + 1] as LogSegment).baseOffset - 1;
      if (bytes + next.size > cfg.segmentBytes || end - (group[0] as LogSegment).baseOffset > MAX_SEGMENT_OFFSET_RANGE)
        break;
      group.push(next);
      bytes += next.size;
      j++;
    }
    groups.push(group);
    i = j;
  }

  // 3. Write each group's cleaned segment.
  let recordsRemoved = 0;
  let nextHorizon = Number.POSITIVE_INFINITY;
  const horizonMs = now + cfg.deleteRetentionMs;
  // Producers whose current transaction had a batch in this pass (Kafka's CleanedTransactionMetadata).
  const committedSeen = new Set<bigint>();
  const abortedSeen = new Set<bigint>();
  // Offsets of the abort markers kept because their transaction still had batches here: their
  // aborted-transaction index entries go into the cleaned segments (Kafka's cleanedIndex).
  const keptAbortMarkers = new Set<number>();
  const filter = (buf: Buffer, pos: number, size: number): Buffer | null => {
    const batch = buf.subarray(pos, pos + size);
    const attrs = attributesAt(buf, pos);
    const pid = producerIdAt(buf, pos);
    if (isControl(attrs)) return filterMarker(batch, pid);
    const keepEmpty = pid >= 0n && facts.lastDataOffset.get(pid) === lastOffsetAt(buf, pos);
    const { header, records } = decodeBatch(batch);
    if (isTransactional(attrs) && isAborted(facts, pid, header.baseOffset)) {
      abortedSeen.add(pid);
      recordsRemoved += records.length;
      return keepEmpty ? emptyBatchLike(header) : null;
    }
    if (isTransactional(attrs)) committedSeen.add(pid);
    const horizon = hasDeleteHorizon(attrs) ? header.baseTimestamp : -1;
    const kept = records.filter((r) => {
      if (r.key === null) return false;
      if (map.get(r.key) > r.offset) return false;
      if (r.value === null && horizon >= 0 && now >= horizon) return false;
      return true;
    });
    recordsRemoved += records.length - kept.length;
    const tombstones = kept.some((r) => r.value === null);
    if (tombstones) nextHorizon = Math.min(nextHorizon, horizon >= 0 ? horizon : horizonMs);
    if (kept.length === records.length && (!tombstones || horizon >= 0)) return batch;
    if (kept.length === 0) return keepEmpty ? emptyBatchLike(header) : null;
    const logAppendTime = timestampTypeOf(attrs) === TimestampType.LOG_APPEND_TIME;
    return buildRecordBatch({
      baseOffset: header.baseOffset,
      records: kept.map((r) => ({
        key: r.key,
        value: r.value,
        headers: r.headers,
        timestamp: r.timestamp,
        offsetDelta: r.offset - header.baseOffset,
      })),
      compression: compressionOf(attrs),
      producerId: header.producerId,
      producerEpoch: header.producerEpoch,
      baseSequence: header.baseSequence,
      transactional: isTransactional(attrs),
      partitionLeaderEpoch: header.partitionLeaderEpoch,
      timestampType: timestampTypeOf(attrs),
      ...(logAppendTime ? { logAppendTime: header.maxTimestamp } : {}),
      lastOffsetDelta: header.lastOffsetDelta,
      ...(tombstones ? { deleteHorizonMs: horizon >= 0 ? horizon : horizonMs } : {}),
    });
  };

  /**
   * As Kafka: a transaction marker stays while any batch of its transaction does; once none
   * is left it gets a delete horizon, and goes when that has passed.
   */
  const filterMarker = (batch: Buffer, pid: bigint): Buffer | null => {
    const marker = parseEndTxnMarkerBatch(batch);
    if (marker === null) return batch;
    const hadData = marker.commit ? committedSeen.delete(pid) : abortedSeen.delete(pid);
    if (hadData) {
      if (!marker.commit) keptAbortMarkers.add(baseOffsetAt(batch, 0));
      return batch;
    }
    const { header, records } = decodeBatch(batch);
    if (hasDeleteHorizon(header.attributes)) {
      if (now >= header.baseTimestamp) {
        recordsRemoved += records.length;
        return null;
      }
      nextHorizon = Math.min(nextHorizon, header.baseTimestamp);
      return batch;
    }
    nextHorizon = Math.min(nextHorizon, horizonMs);
    return buildRecordBatch({
      baseOffset: header.baseOffset,
      records: records.map((r) => ({
        key: r.key,
        value: r.value,
        headers: r.headers,
        timestamp: r.timestamp,
        offsetDelta: r.offset - header.baseOffset,
      })),
      producerId: header.producerId,
      producerEpoch: header.producerEpoch,
      baseSequence: header.baseSequence,
      transactional: true,
      control: true,
      partitionLeaderEpoch: header.partitionLeaderEpoch,
      timestampType: timestampTypeOf(header.attributes),
      lastOffsetDelta: header.lastOffsetDelta,
      deleteHorizonMs: horizonMs,
    });
  };

  const written: string[] = [];
  let bytesAfter = 0;
  try {
    for (const group of groups) {
      const path = cleanedLogPath(plog.dir, (group[0] as LogSegment).baseOffset);
      written.push(path);
      bytesAfter += await writeCleanedSegment(path, group, settings.ioBufferSize, control, filter);
    }
    await control.pause(0);
    const bases = groups.map((g) => (g[0] as LogSegment).baseOffset);
    if (!plog.replaceSegments(toClean, bases, carriedAbortedTxns(plog, toClean, facts, keptAbortMarkers))) {
      for (const p of written) rmSync(p, { force: true });
      return null;
    }
  } catch (err) {
    for (const p of written) rmSync(p, { force: true });
    throw err;
  }
  let bytesBefore = 0;
  for (const s of toClean) bytesBefore += s.size;
  return {
    nextDirtyOffset: Math.max(firstDirty, mapEnd),
    cleanedBaseOffsets: groups.map((g) => (g[0] as LogSegment).baseOffset),
    segmentsBefore: toClean.length,
    segmentsAfter: groups.length,
    bytesBefore,
    bytesAfter,
    recordsRemoved,
    nextDeleteHorizonMs: nextHorizon,
  };
}

/**
 * The aborted-transaction index entries of the cleaned segments: one per abort marker kept,
 * as the old index had it, or rebuilt from the log when the old index lacked it.
 */
function carriedAbortedTxns(
  plog: PartitionLog,
  toClean: readonly LogSegment[],
  facts: LogFacts,
  keptAbortMarkers: ReadonlySet<number>,
): AbortedTxn[] {
  if (keptAbortMarkers.size === 0) return [];
  const from = (toClean[0] as LogSegment).baseOffset;
  const byMarker = new Map<number, AbortedTxn>();
  for (const e of plog.collectAbortedTxns(from, Number.POSITIVE_INFINITY)) {
    if (keptAbortMarkers.has(e.lastOffset)) byMarker.set(e.lastOffset, e);
  }
  for (const [producerId, list] of facts.aborted) {
    for (const { first, last } of list) {
      if (keptAbortMarkers.has(last) && !byMarker.has(last)) {
        byMarker.set(last, { producerId, firstOffset: first, lastOffset: last, lastStableOffset: first });
      }
    }
  }
  return [...byMarker.values()];
}

/** Writes the kept batches of `group` to `path` and fsyncs it; returns its size. */
async function writeCleanedSegment(
  path: string,
  group: readonly LogSegment[],
  ioBufferSize: number,
  control: PassControl,
  filter: (buf: Buffer, pos: number, size: number) => Buffer | null,
): Promise<number> {
  const fd = openSync(path, 'w', 0o644);
  let filePos = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (pendingBytes === 0) return;
    writeFully(fd, pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes), filePos);
    filePos += pendingBytes;
    pending = [];
    pendingBytes = 0;
  };
  try {
    for (const seg of group) {
      await forEachBatch(seg, seg.size, ioBufferSize, control, (buf, pos, size) => {
        const out = filter(buf, pos, size);
        if (out !== null) {
          pending.push(out);
          pendingBytes += out.length;
          if (pendingBytes >= ioBufferSize) flush();
        }
        return true;
      });
    }
    flush();
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return filePos;
}

// ---------------------------------------------------------------------------- scheduling

export interface LogCleanerOptions extends Partial<CleanerSettings> {
  /** `log.cleaner.enable`. */
  readonly enable: boolean;
  /** `log.cleaner.backoff.ms`: the pause when no log needs cleaning. */
  readonly backoffMs: number;
  /** `log.cleaner.io.max.bytes.per.second`: a bound on the bytes a pass reads per second. */
  readonly maxBytesPerSecond?: number;
  /** Wall clock (default Date.now). */
  readonly now?: () => number;
}

/** A log the cleaner may clean, with where it lives. */
export interface CleanerTarget {
  readonly log: PartitionLog;
  readonly topic: string;
  readonly partition: number;
  /** The log directory holding the partition directory (the checkpoint file lives there). */
  readonly logDir: string;
}

export function logDirOf(partitionDir: string): string {
  return dirname(partitionDir);
}

/**
 * Runs cleaning passes in the background, one log at a time (the filthiest first), and keeps
 * the per-directory `cleaner-offset-checkpoint`. With nothing to clean it sleeps
 * `log.cleaner.backoff.ms`. A log whose pass fails is left alone until restart, as Kafka
 * marks it uncleanable.
 */
export class LogCleaner {
  private readonly settings: CleanerSettings;
  private readonly checkpoints = new Map<string, CleanerCheckpoints>();
  private readonly horizons = new Map<PartitionLog, number>();
  private readonly uncleanable = new Set<PartitionLog>();
  private loop: Promise<void> | null = null;
  private stopping = false;
  private sleeper: { timer: Timer; wake: () => void } | null = null;
  private readonly now: () => number;

  constructor(
    private readonly options: LogCleanerOptions,
    private readonly targets: () => Iterable<CleanerTarget>,
  ) {
    this.settings = {
      dedupeBufferSize: options.dedupeBufferSize ?? DEFAULT_CLEANER_SETTINGS.dedupeBufferSize,
      loadFactor: options.loadFactor ?? DEFAULT_CLEANER_SETTINGS.loadFactor,
      ioBufferSize: options.ioBufferSize ?? DEFAULT_CLEANER_SETTINGS.ioBufferSize,
    };
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (!this.options.enable || this.loop !== null) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Stops the background loop; a pass in progress is abandoned (its files removed). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sleeper?.wake();
    await this.loop;
    this.loop = null;
  }

  /** The cleaner checkpoint of a partition (undefined when it has none). */
  firstDirtyOffset(target: CleanerTarget): number | undefined {
    return this.checkpointsOf(target.logDir).get(checkpointKey(target.topic, target.partition));
  }

  /** A removed partition: its checkpoint entry goes. */
  forget(target: CleanerTarget): void {
    const cps = this.checkpointsOf(target.logDir);
    this.horizons.delete(target.log);
    this.uncleanable.delete(target.log);
    if (cps.delete(checkpointKey(target.topic, target.partition))) this.writeCheckpoint(target.logDir);
  }

  /**
   * Cleans the log that needs it most, if any: logs past max.compaction.lag.ms first, then
   * by dirty ratio, then logs whose tombstones reached their delete horizon. Returns the
   * log cleaned, or null.
   */
  async cleanOnce(now = this.now()): Promise<CleanerTarget | null> {
    let best: { target: CleanerTarget; score: number; force: boolean } | null = null;
    for (const target of this.targets()) {
      const plog = target.log;
      if (plog.isClosed || this.uncleanable.has(plog) || !plog.logConfig.cleanupPolicy.includes('compact')) continue;
      this.applyTruncation(target);
      const range = cleanableRange(plog, this.firstDirtyOffset(target), now);
      let score = -1;
      let force = false;
      if (needsCleaning(range, plog.logConfig.minCleanableDirtyRatio)) {
        score = range.maxLagExceeded ? 2 + range.dirtyRatio : range.dirtyRatio;
      } else if ((this.horizons.get(plog) ?? Number.POSITIVE_INFINITY) <= now) {
        score = 0;
        force = true;
      }
      if (score >= 0 && (best === null || score > best.score)) best = { target, score, force };
    }
    if (best === null) return null;
    const { target, force } = best;
    const plog = target.log;
    const rate = this.options.maxBytesPerSecond ?? Number.POSITIVE_INFINITY;
    const started = performance.now();
    let bytesRead = 0;
    const control: PassControl = {
      pause: async (bytes) => {
        bytesRead += bytes;
        // Kafka's cleaner throttler: sleep until the pass is back under the rate.
        const aheadMs = Number.isFinite(rate) ? (bytesRead / rate) * 1000 - (performance.now() - started) : 0;
        if (aheadMs > 1) await this.sleep(Math.min(aheadMs, 60_000));
        else await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.stopping || plog.isClosed) throw new CleaningAborted('cleaning stopped');
      },
    };
    try {
      const r = await cleanLog(plog, this.firstDirtyOffset(target), now, this.settings, control, force);
      if (r === null) {
        if (force) this.horizons.delete(plog);
        return null;
      }
      this.horizons.set(plog, r.nextDeleteHorizonMs);
      this.checkpointsOf(target.logDir).set(checkpointKey(target.topic, target.partition), r.nextDirtyOffset);
      this.writeCheckpoint(target.logDir);
      log.info('cleaned log', {
        topic: target.topic,
        partition: target.partition,
        segments: `${r.segmentsBefore} -> ${r.segmentsAfter}`,
        bytes: `${r.bytesBefore} -> ${r.bytesAfter}`,
        recordsRemoved: r.recordsRemoved,
        nextDirtyOffset: r.nextDirtyOffset,
      });
      return target;
    } catch (err) {
      if (err instanceof CleaningAborted) return null;
      this.uncleanable.add(plog);
      log.error('cleaning failed; the log is left uncleaned until restart', {
        topic: target.topic,
        partition: target.partition,
        error: String(err),
      });
      return null;
    }
  }

  /** As Kafka's maybeTruncateCheckpoint: a follower truncation below the checkpoint lowers it. */
  private applyTruncation(target: CleanerTarget): void {
    const t = target.log.takeTruncationPoint();
    const cp = this.firstDirtyOffset(target);
    if (t === null || cp === undefined || cp <= t) return;
    this.checkpointsOf(target.logDir).set(checkpointKey(target.topic, target.partition), t);
    this.writeCheckpoint(target.logDir);
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const cleaned = await this.cleanOnce();
      if (this.stopping) break;
      if (cleaned === null) await this.sleep(this.options.backoffMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimer(timer);
        this.sleeper = null;
        resolve();
      };
      const timer = setTimer(wake, ms);
      timer.unref();
      this.sleeper = { timer, wake };
    });
  }

  private checkpointsOf(logDir: string): CleanerCheckpoints {
    let cps = this.checkpoints.get(logDir);
    if (cps === undefined) {
      cps = readCleanerCheckpoint(logDir);
      this.checkpoints.set(logDir, cps);
    }
    return cps;
  }

  private writeCheckpoint(logDir: string): void {
    try {
      writeCleanerCheckpoint(logDir, this.checkpointsOf(logDir));
    } catch (err) {
      log.error('could not write the cleaner checkpoint', { logDir, error: String(err) });
    }
  }
}
