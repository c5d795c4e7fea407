import { closeSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { budgetCeiling } from '../config/size-budget.js';
import type { LogConfig } from '../config/topic-config.js';
import { logger } from '../observability/logger.js';
import type { DeferredBytes } from '../protocol/primitives/writer.js';
import { decodeBatch } from '../protocol/records/record.js';
import {
  BATCH_LENGTH_OFFSET,
  type BatchSpan,
  baseOffsetAt,
  LOG_OVERHEAD,
  lastOffsetDeltaAt,
  maxTimestampAt,
  partitionLeaderEpochAt,
  RECORD_BATCH_HEADER_SIZE,
  setBaseOffset,
  setPartitionLeaderEpoch,
  splitBatches,
} from '../protocol/records/record-batch.js';
import type { PartitionLogPort, ReadResult } from '../replication/partition.js';
import { type FileSyncJob, fdatasyncOffLoop, fsyncDir, fsyncDirOffLoop, readBuffer } from './file-io.js';
import { FileSpan } from './file-span.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import { readOffsetCheckpoint, writeOffsetCheckpoint } from './offset-checkpoint.js';
import { OFFSET_INDEX_SUFFIX } from './offset-index.js';
import { ProducerSnapshotFiles } from './producer-snapshots.js';
import { type BatchLocation, baseOffsetOfFile, DELETED_SUFFIX, LOG_SUFFIX, LogSegment } from './segment.js';
import { CLEANED_SUFFIX, completeInterruptedSwaps, swapInCleanedFiles } from './segment-swap.js';
import { type StorageResources, sharedStorageResources } from './storage-resources.js';
import { TIME_INDEX_SUFFIX } from './time-index.js';
import { type AbortedTxn, TransactionIndex, TXN_INDEX_SUFFIX } from './txn-index.js';

const log = logger('storage');

/** Written by a clean close; its absence on open means the log may end in a torn write. */
export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';
export const LOG_START_OFFSET_FILE = 'log-start-offset';
/** Everything below this offset had been fsynced; recovery after a crash starts at its segment. */
export const RECOVERY_POINT_FILE = 'recovery-point-offset-checkpoint';

/** Leftovers of interrupted deletes and atomic writes, removed on open. */
const LEFTOVER_SUFFIXES = [DELETED_SUFFIX, '.tmp', CLEANED_SUFFIX];
/** Where recent reads ended, so a consumer reading on needs no index lookup. */
const READ_HINTS = 4;
/** The bytes a read needs to see of a batch header: framing up to lastOffsetDelta. */
const READ_HEADER_BYTES = 27;

/** Scratch state of the read in progress, shared by all logs (reads are synchronous). */
const cursor = { next: 0, position: 0, done: false };
/** Where each buffer a segment read returned starts in its file, in order (for the read's spans). */
const spanPositions: number[] = [];

export interface PartitionLogOptions {
  /** Bounds on open files and index memory shared with other logs (default: the process-wide one). */
  readonly resources?: StorageResources;
  /** Wall-clock milliseconds, for segment.ms, flush.ms and retention (default Date.now). */
  readonly now?: () => number;
  /**
   * The log directory's shutdown record lists this log as closed cleanly (LogManager keeps one
   * such list per directory instead of a marker file per log); the log's own marker counts too.
   */
  readonly closedCleanly?: boolean;
  /**
   * fdatasync of a file off the event loop: the flush after a roll and the leader-epoch
   * checkpoint's writes (default: fs.fdatasync on the libuv threadpool). Tests hold it to
   * order events around a flush in flight.
   */
  readonly syncFile?: (fd: number) => Promise<void>;
  /**
   * Runs each background write of the leader-epoch checkpoint (default: at once). LogManager
   * runs them in its bounded BackgroundSyncs, so that thousands of new leaders at once neither
   * queue thousands of syncs ahead of a produce's flush on the threadpool nor hold thousands of
   * files open while they wait.
   */
  readonly checkpointWrites?: (write: () => Promise<void>) => Promise<void>;
}

/** What the last open found and did. */
export interface LoadSummary {
  readonly cleanShutdown: boolean;
  readonly segments: number;
  /** Segments rescanned (all batches validated, indexes rebuilt). */
  readonly recoveredSegments: number;
  /** Bytes cut from torn or corrupt tails, and in segments dropped after them. */
  readonly truncatedBytes: number;
  readonly durationMs: number;
}

interface ReadHint {
  offset: number;
  segment: LogSegment;
  position: number;
}

/**
 * A partition's log: a directory of segments named by base offset, each a `.log` of record
 * batches exactly as appended with a sparse `.index` and `.timeindex` (Kafka's layout), plus
 * the leader-epoch checkpoint, the log start offset and the recovery point.
 *
 * Opening after a clean shutdown trusts the indexes and reads only the tail of the active
 * segment. After a crash, segments from the recovery point on are rescanned and truncated at
 * the first torn or corrupt batch, so a torn batch is never served; older segments keep their
 * indexes if these pass Kafka's sanity checks. Segment files and indexes are opened lazily
 * and released under broker-wide bounds, so an idle partition costs little.
 */
export class PartitionLog implements PartitionLogPort {
  private segments: LogSegment[] = [];
  private _logStartOffset = 0;
  private _highWatermark = 0;
  /** Everything below it is on disk (fsynced). */
  private recoveryPoint = 0;
  /** Offsets below it are to be flushed by the flush after a roll; -1 when nothing is asked. */
  private flushRequestedUpTo = -1;
  /** The flushes after rolls in progress, one at a time (see requestFlush); null when idle. */
  private flushing: Promise<void> | null = null;
  /**
   * A log made by create() whose directory is not synced yet: the leader-epoch checkpoint's
   * background writes wait here until it is (syncDir) or a flush needs them, so that creating
   * many logs at once is not slowed by those writes' syncs (see create). Null otherwise.
   */
  private parkedEpochWrites: Array<() => void> | null = null;
  /** Names created or removed in the directory (new segments); the first `syncedDirChanges` are on disk. */
  private dirChanges = 0;
  private syncedDirChanges = 0;
  private readonly syncFile: (fd: number) => Promise<void>;
  private checkpointedRecoveryPoint = -1;
  private lastFlushAt: number;
  private epochs: LeaderEpochCache;
  private closed = false;
  private hints: ReadHint[] | null = null;
  /** Truncations of this log (bytes changed in place): a span read before one is not sent. */
  truncations = 0;
  private nextHint = 0;
  private readonly resources: StorageResources;
  private readonly now: () => number;
  private _loadSummary: LoadSummary | null = null;
  /** Aborted-transaction indexes by segment base offset, opened on first use. */
  private txnIndexes = new Map<number, TransactionIndex>();
  /** Producer-state snapshots (`<offset>.snapshot`) kept beside the segments. */
  readonly producerSnapshots: ProducerSnapshotFiles;
  /** Called when a segment is completed and a new one starts at `baseOffset`, before any batch at or past it is written. */
  onRoll: ((baseOffset: number) => void) | null = null;
  private truncatedTo: number | null = null;

  private constructor(
    readonly dir: string,
    private config: LogConfig,
    options: PartitionLogOptions,
    fresh = false,
  ) {
    this.resources = options.resources ?? sharedStorageResources();
    this.now = options.now ?? Date.now;
    this.lastFlushAt = this.now();
    this.syncFile = options.syncFile ?? fdatasyncOffLoop;
    const runWrite = options.checkpointWrites ?? ((write: () => Promise<void>) => write());
    if (fresh) this.parkedEpochWrites = [];
    this.epochs = new LeaderEpochCache(dir, this.syncFile, {
      fresh,
      runWrite: (write) => {
        const parked = this.parkedEpochWrites;
        if (parked === null) return runWrite(write);
        return new Promise<void>((resolve, reject) => parked.push(() => runWrite(write).then(resolve, reject)));
      },
    });
    this.producerSnapshots = new ProducerSnapshotFiles(dir);
  }

  static open(dir: string, config: LogConfig, options: PartitionLogOptions = {}): PartitionLog {
    mkdirSync(dir, { recursive: true });
    const l = new PartitionLog(dir, config, options);
    l.load(options.closedCleanly === true);
    return l;
  }

  /**
   * A new, empty log in `dir`, which must not exist yet (its parent must): the directory and
   * the first segment are created, and nothing is read, since there is nothing to find. The
   * new names are not synced here: `syncDir()` does it, so that a caller creating many logs
   * syncs their directories together, off the event loop (LogManager); until then a flush of
   * the log syncs the directory itself, before any data of it counts as on disk.
   */
  static create(dir: string, config: LogConfig, options: PartitionLogOptions = {}): PartitionLog {
    const started = performance.now();
    mkdirSync(dir);
    const l = new PartitionLog(dir, config, options, true);
    l.segments.push(LogSegment.create(dir, 0, config.segmentIndexBytes, l.resources, l.now(), true));
    l.dirChanges++;
    l._loadSummary = {
      cleanShutdown: false,
      segments: 1,
      recoveredSegments: 0,
      truncatedBytes: 0,
      durationMs: performance.now() - started,
    };
    return l;
  }

  /**
   * fsync of the directory off the event loop: every name created in it before the call (by
   * the log or by its owner, as partition.metadata) is on disk once this resolves.
   */
  async syncDir(): Promise<void> {
    const dirChanges = this.dirChanges;
    await fsyncDirOffLoop(this.dir);
    if (dirChanges > this.syncedDirChanges) this.syncedDirChanges = dirChanges;
    this.releaseEpochWrites();
  }

  private releaseEpochWrites(): void {
    const parked = this.parkedEpochWrites;
    if (parked === null) return;
    this.parkedEpochWrites = null;
    for (const run of parked) run();
  }

  /** syncDir() if the log created or removed names since the last one (the first `dirChanges` count). */
  private async syncDirChanges(dirChanges: number): Promise<void> {
    if (dirChanges === this.syncedDirChanges) return;
    await fsyncDirOffLoop(this.dir);
    if (dirChanges > this.syncedDirChanges) this.syncedDirChanges = dirChanges;
  }

  setConfig(config: LogConfig): void {
    this.config = config;
  }

  get logConfig(): LogConfig {
    return this.config;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get loadSummary(): LoadSummary {
    return this._loadSummary as LoadSummary;
  }

  // ---------------------------------------------------------------- loading

  private load(closedCleanly: boolean): void {
    const started = performance.now();
    const markerPath = join(this.dir, CLEAN_SHUTDOWN_FILE);
    // A cleaner swap cut short by a crash is finished (or undone) first; the segments it
    // swapped in have no trusted indexes, so recovery starts at the first of them.
    const swappedFrom = completeInterruptedSwaps(this.dir);
    const clean = (closedCleanly || existsSync(markerPath)) && swappedFrom === null;
    const names = readdirSync(this.dir);
    const logs = new Set<number>();
    for (const name of names) {
      if (LEFTOVER_SUFFIXES.some((s) => name.endsWith(s))) {
        rmSync(join(this.dir, name), { force: true });
        continue;
      }
      const base = baseOffsetOfFile(name, LOG_SUFFIX);
      if (base !== null) logs.add(base);
    }
    for (const name of names) {
      // An index without its log (a delete interrupted midway) is of no use.
      const base =
        baseOffsetOfFile(name, OFFSET_INDEX_SUFFIX) ??
        baseOffsetOfFile(name, TIME_INDEX_SUFFIX) ??
        baseOffsetOfFile(name, TXN_INDEX_SUFFIX);
      if (base !== null && !logs.has(base)) rmSync(join(this.dir, name), { force: true });
    }
    const bases = [...logs].sort((a, b) => a - b);
    const now = this.now();
    this.segments = bases.map((b) =>
      LogSegment.existing(
        this.dir,
        b,
        statSync(join(this.dir, `${String(b).padStart(20, '0')}${LOG_SUFFIX}`)).size,
        this.config.segmentIndexBytes,
        this.resources,
        now,
      ),
    );
    for (let i = 0; i + 1 < this.segments.length; i++) {
      (this.segments[i] as LogSegment).nextOffsetBound = (this.segments[i + 1] as LogSegment).baseOffset;
    }
    this._logStartOffset = readOffsetCheckpoint(join(this.dir, LOG_START_OFFSET_FILE)) ?? 0;
    let checkpointed = readOffsetCheckpoint(join(this.dir, RECOVERY_POINT_FILE));
    if (swappedFrom !== null && checkpointed !== null) checkpointed = Math.min(checkpointed, swappedFrom);
    this.checkpointedRecoveryPoint = checkpointed ?? -1;

    let recovered = 0;
    let truncatedBytes = 0;
    const active = this.segments[this.segments.length - 1];
    if (active !== undefined && clean) {
      const r = active.loadActiveAfterCleanShutdown(this.config.indexIntervalBytes);
      truncatedBytes += r.fileSize - active.size;
      if (r.recovered) recovered = 1;
    } else if (active !== undefined) {
      const r = this.recoverAfterCrash(checkpointed);
      recovered = r.recovered;
      truncatedBytes = r.truncatedBytes;
    }
    // Only now: a crash before this point must find the marker and trust nothing we wrote.
    rmSync(markerPath, { force: true });

    if (this.segments.length === 0) {
      this.segments.push(
        LogSegment.create(this.dir, this._logStartOffset, this.config.segmentIndexBytes, this.resources, now),
      );
      fsyncDir(this.dir);
    }
    const first = this.segments[0] as LogSegment;
    if (this._logStartOffset < first.baseOffset) this._logStartOffset = first.baseOffset;
    if (this._logStartOffset > this.logEndOffset) this._logStartOffset = this.logEndOffset;
    this.epochs.truncateFromEnd(this.logEndOffset);
    this.epochs.truncateFromStart(this._logStartOffset);
    // Recovery keeps the .txnindex entries whose markers survived and drops the others.
    if (truncatedBytes > 0) for (const seg of this.segments) this.txnIndexOf(seg).truncateTo(this.logEndOffset);
    // A snapshot past the recovered log end describes batches that are gone.
    this.producerSnapshots.removeAfter(this.logEndOffset);
    this.recoveryPoint = clean
      ? this.logEndOffset
      : Math.min(Math.max(this.recoveryPoint, checkpointed ?? 0), this.logEndOffset);
    this._highWatermark = this.logEndOffset;
    this._loadSummary = {
      cleanShutdown: clean,
      segments: this.segments.length,
      recoveredSegments: recovered,
      truncatedBytes,
      durationMs: performance.now() - started,
    };
    if (truncatedBytes > 0) {
      log.warn('truncated invalid bytes from the log', { dir: this.dir, bytes: truncatedBytes, clean });
    }
  }

  /**
   * Kafka's LogLoader after an unclean shutdown: segments wholly below the recovery point were
   * fsynced, so they are trusted once their indexes pass the sanity checks (a failing one is
   * recovered); the segment holding the recovery point and every later one are rescanned.
   * The first invalid byte ends the log: the rest of that segment and every later segment go.
   */
  private recoverAfterCrash(recoveryPoint: number | null): { recovered: number; truncatedBytes: number } {
    let start = 0;
    if (recoveryPoint !== null) {
      for (let i = 0; i < this.segments.length; i++) {
        if ((this.segments[i] as LogSegment).baseOffset <= recoveryPoint) start = i;
      }
    }
    let recovered = 0;
    let truncatedBytes = 0;
    const interval = this.config.indexIntervalBytes;
    // The leader-epoch checkpoint is written behind, so it may have missed changes made after
    // the recovery point (never before: the log makes it durable before the point passes an
    // entry). As Kafka's LogSegment.recover, the entries from the first rescanned segment on
    // are rebuilt from the batches, which carry their leader epoch.
    const rescanFrom = (this.segments[start] as LogSegment).baseOffset;
    this.epochs.truncateFromEnd(rescanFrom);
    const epochs = this.epochs;
    const assignEpoch = (epoch: number, baseOffset: number): void => {
      if (epoch > epochs.latestEpoch) epochs.assign(epoch, baseOffset);
    };
    for (let i = 0; i < this.segments.length; i++) {
      const seg = this.segments[i] as LogSegment;
      const isActive = i === this.segments.length - 1;
      if (i < start) {
        try {
          seg.checkIndexesStrict();
          continue;
        } catch (err) {
          log.warn('index failed its sanity check; recovering the segment', { reason: String(err) });
        }
      }
      const r = seg.recover(interval, i >= start ? assignEpoch : null);
      recovered++;
      if (r.stopReason !== null) {
        truncatedBytes += r.fileSize - r.validBytes;
        log.warn('truncated the log at an invalid batch', {
          segment: seg.logPath,
          position: r.validBytes,
          reason: r.stopReason,
        });
        for (const later of this.segments.splice(i + 1)) {
          truncatedBytes += later.size;
          later.deleteFiles();
        }
        seg.nextOffsetBound = Number.POSITIVE_INFINITY;
      }
      if (i < this.segments.length - 1) {
        // Recovered bytes may not have reached the disk before the crash; sync them before
        // the recovery point moves past this segment.
        seg.onBecomeInactive();
      }
      seg.uncacheIndexes();
      if (isActive || r.stopReason !== null) break;
    }
    const active = this.segments[this.segments.length - 1] as LogSegment;
    if (recovered > 0 && this.recoveryPointMovesOn(active.baseOffset)) {
      // Everything before the active segment has now been validated and synced; the epochs
      // rebuilt from it go to disk before the recovery point passes them.
      this.epochs.writeNow();
      this.recoveryPoint = active.baseOffset;
      this.writeRecoveryPoint();
    }
    return { recovered, truncatedBytes };
  }

  // ---------------------------------------------------------------- offsets

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1] as LogSegment;
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

  /** Offsets below it are known to be on disk. */
  get recoveryPointOffset(): number {
    return this.recoveryPoint;
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

  /** Base offsets of the segments, oldest first. */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  // ---------------------------------------------------------------- append

  /**
   * Appends validated v2 batches. As leader (assignOffsets) the base offsets and leader epoch
   * are rewritten in place; as follower the batches keep their offsets, which must follow the
   * log end.
   */
  append(
    batches: Buffer,
    opts: { assignOffsets: boolean; leaderEpoch: number; logAppendTime?: number },
  ): { firstOffset: number; lastOffset: number; logAppendTime: number } {
    if (this.closed) throw new Error(`log ${this.dir} is closed`);
    const logAppendTime = opts.logAppendTime ?? -1;
    const leo = this.logEndOffset;
    if (batches.length === 0) return { firstOffset: leo, lastOffset: leo - 1, logAppendTime };
    // Most produce requests carry one batch: skip the general split for it.
    const spans =
      batches.length >= RECORD_BATCH_HEADER_SIZE &&
      batches.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD === batches.length
        ? [{ pos: 0, size: batches.length }]
        : splitBatches(batches);
    const assign = opts.assignOffsets;
    let next = leo;
    let maxTimestamp = -1;
    const firstOffset = assign ? leo : baseOffsetAt(batches, 0);
    for (let i = 0; i < spans.length; i++) {
      const pos = (spans[i] as BatchSpan).pos;
      if (assign) {
        setBaseOffset(batches, pos, next);
        setPartitionLeaderEpoch(batches, pos, opts.leaderEpoch);
        next += lastOffsetDeltaAt(batches, pos) + 1;
      } else {
        const base = baseOffsetAt(batches, pos);
        if (base < next) throw new Error(`append at offset ${base} below the log end ${next} in ${this.dir}`);
        next = base + lastOffsetDeltaAt(batches, pos) + 1;
      }
      const ts = maxTimestampAt(batches, pos);
      if (ts > maxTimestamp) maxTimestamp = ts;
    }
    this.maybeRoll(batches.length, firstOffset, next - 1, maxTimestamp);
    this.active.append(batches, spans, this.config.indexIntervalBytes);
    if (assign) {
      if (opts.leaderEpoch > this.epochs.latestEpoch) this.epochs.assign(opts.leaderEpoch, firstOffset);
    } else {
      // A follower's append may carry several epochs.
      for (let i = 0; i < spans.length; i++) {
        const pos = (spans[i] as BatchSpan).pos;
        const epoch = partitionLeaderEpochAt(batches, pos);
        if (epoch > this.epochs.latestEpoch) this.epochs.assign(epoch, baseOffsetAt(batches, pos));
      }
    }
    // flush.messages counts offsets not yet flushed, as Kafka's unflushedMessages does.
    const config = this.config;
    if (
      config.flushOnAppend ||
      next - this.recoveryPoint >= config.flushMessages ||
      // flush.ms defaults to "never": skip reading the clock then.
      (config.flushMs < Number.MAX_SAFE_INTEGER && this.now() - this.lastFlushAt >= config.flushMs)
    ) {
      this.flush();
    }
    return { firstOffset, lastOffset: next - 1, logAppendTime };
  }

  /**
   * Kafka's roll conditions: the segment would pass segment.bytes, an index is full, the
   * offsets would not fit its relative index entries, or it has waited segment.ms.
   */
  private maybeRoll(incomingBytes: number, firstOffset: number, lastOffset: number, maxTimestamp: number): void {
    const seg = this.active;
    if (seg.size === 0) {
      // An empty active segment is re-based when a follower's data starts elsewhere.
      if (firstOffset !== seg.baseOffset) {
        this.roll(firstOffset);
        if (this.segments.length === 1 && this._logStartOffset < firstOffset) this.setLogStartOffset(firstOffset);
      }
      return;
    }
    if (
      seg.size > this.config.segmentBytes - incomingBytes ||
      seg.offsetIndex.isFull ||
      seg.timeIndex.isFull ||
      lastOffset - seg.baseOffset > 0x7fffffff ||
      seg.timeWaitedForRoll(this.now, maxTimestamp) > this.config.segmentMs
    ) {
      this.roll(firstOffset);
    }
  }

  /**
   * Starts a new active segment at `baseOffset`. The old one is completed (its last index
   * entries written) and, as Kafka's roll schedules its "flush-log" task, synced off the
   * event loop afterwards, with the directory; the recovery point moves to `baseOffset` only
   * once that is done (requestFlush).
   */
  private roll(baseOffset: number): void {
    const old = this.active;
    if (old.size === 0) {
      this.segments.pop();
      old.deleteFiles();
    } else {
      old.completeForRoll();
      old.nextOffsetBound = baseOffset;
      this.onRoll?.(baseOffset);
    }
    this.segments.push(
      LogSegment.create(this.dir, baseOffset, this.config.segmentIndexBytes, this.resources, this.now()),
    );
    this.dirChanges++;
    if (old.size > 0) this.requestFlush(baseOffset);
    // Only an empty segment re-based (no data to flush): the new name is synced at once.
    else this.syncDirNow();
  }

  /**
   * Asks for everything below `upTo` to be flushed in the background, then the recovery point
   * moved there. One flush runs at a time; requests made meanwhile are merged into the next
   * one, so a log has at most one flush in flight and one waiting, however fast it rolls.
   */
  private requestFlush(upTo: number): void {
    if (upTo > this.flushRequestedUpTo) this.flushRequestedUpTo = upTo;
    this.flushing ??= this.runFlushes();
  }

  private async runFlushes(): Promise<void> {
    // Decisions below are made after the caller has stored this promise in `flushing`, and
    // `flushing` is cleared in the same step as the last decision, so no request is missed.
    await Promise.resolve();
    while (!this.closed && this.flushRequestedUpTo >= 0) {
      const upTo = this.flushRequestedUpTo;
      this.flushRequestedUpTo = -1;
      try {
        await this.flushInBackground(upTo);
      } catch (err) {
        // As a failed flush in Kafka would take the log directory offline: the recovery point
        // stays behind (a crash rescans from it), the next roll, flush or clean close retries.
        log.error('flushing rolled segments failed', { dir: this.dir, upTo, error: String(err) });
        break;
      }
    }
    this.flushing = null;
  }

  /**
   * The flush after a roll: syncs every segment below `upTo` with unsynced writes (log and
   * indexes), the directory and the leader-epoch checkpoint, each fdatasync on the libuv
   * threadpool on descriptors of the flush's own (so retention, truncation or a close of the
   * log may go on meanwhile), then moves the recovery point to `upTo` if nothing below it was
   * written since and the log is still open.
   */
  private async flushInBackground(upTo: number): Promise<void> {
    const jobs: FileSyncJob[] = [];
    const dirChanges = this.dirChanges;
    // The flush waits for the checkpoint: it cannot wait for the new log's syncDir() too.
    this.releaseEpochWrites();
    let epochsDurable: Promise<boolean>;
    try {
      for (let i = this.segmentFor(this.recoveryPoint); i < this.segments.length; i++) {
        const seg = this.segments[i] as LogSegment;
        if (seg.baseOffset >= upTo) break;
        seg.beginSync(jobs);
      }
      epochsDurable = this.epochs.durable();
      // The files' syncs run side by side on the threadpool: the file system commits them in
      // one journal transaction where it can, where one after the other costs a commit each
      // (a replicated write waits for this flush before it is acknowledged).
      const synced = await Promise.allSettled(jobs.map((job) => this.syncFile(job.fd).then(() => job.done())));
      const failed = synced.find((s) => s.status === 'rejected');
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    } finally {
      // Only now: no fdatasync of the flush runs on these descriptors any more.
      for (const job of jobs) closeSync(job.fd);
    }
    await this.syncDirChanges(dirChanges);
    const epochsWritten = await epochsDurable;
    if (this.closed) return;
    if (!epochsWritten) throw new Error('the leader epoch checkpoint could not be written');
    this.advanceRecoveryPoint(upTo);
  }

  /**
   * Moves the recovery point to `upTo` (at most the log end) once a flush has synced what lies
   * below it; not if anything there was written since (a truncation, appends to a segment that
   * became active again): the recovery point never passes data that is not on disk.
   */
  private advanceRecoveryPoint(upTo: number): void {
    const to = Math.min(upTo, this.logEndOffset);
    if (to > this.recoveryPoint) {
      for (let i = this.segmentFor(this.recoveryPoint); i < this.segments.length; i++) {
        const seg = this.segments[i] as LogSegment;
        if (seg.baseOffset >= to) break;
        if (seg.needsSync) return;
      }
      this.recoveryPoint = to;
    }
    // Also when a synchronous flush already moved the point here: it was then inside the
    // active segment, and the roll since has made it worth writing down.
    this.checkpointRecoveryPoint();
  }

  /**
   * Resolves once the flushes after rolls asked for so far, and the leader-epoch checkpoint's
   * background write, have finished (or failed: see the log).
   */
  async flushesSettled(): Promise<void> {
    while (this.flushing !== null) await this.flushing;
    this.releaseEpochWrites();
    await this.epochs.durable();
  }

  /** Test hook and operator tool: rolls now if the active segment has data. */
  forceRoll(): void {
    if (this.active.size > 0) this.roll(this.logEndOffset);
  }

  // ---------------------------------------------------------------- read

  /**
   * Reads whole batches from the one holding fetchOffset, up to maxBytes (at least one batch
   * with minOneBatch), stopping before any batch at or past maxOffset (the high watermark for
   * consumers). Bytes come back as stored, in as few reads as possible.
   */
  read(
    fetchOffset: number,
    maxBytes: number,
    opts: { maxOffset?: number; minOneBatch: boolean; spans?: DeferredBytes[] },
  ): ReadResult {
    if (this.closed) throw new Error(`log ${this.dir} is closed`);
    const leo = this.logEndOffset;
    const maxOffset = opts.maxOffset === undefined || opts.maxOffset > leo ? leo : opts.maxOffset;
    if (fetchOffset >= maxOffset || fetchOffset < this._logStartOffset) return { buffers: [], bytes: 0 };
    let si = this.segmentFor(fetchOffset);
    let seg = this.segments[si] as LogSegment;
    const hint = this.hintFor(seg, fetchOffset);
    // A hint is where the wanted batch starts; an index entry may be up to an interval before it.
    let position: number;
    let slack = 0;
    if (hint !== null) position = hint.position;
    else {
      position = seg.lookupPosition(fetchOffset, this.config.indexIntervalBytes);
      slack = this.config.indexIntervalBytes;
    }
    const buffers: Buffer[] = [];
    let bytes = 0;
    cursor.next = fetchOffset;
    cursor.position = position;
    for (;;) {
      const before = buffers.length;
      spanPositions.length = 0; // a read that threw leaves none behind
      bytes += this.readSegment(seg, maxOffset, maxBytes - bytes, opts.minOneBatch && bytes === 0, slack, buffers);
      if (opts.spans !== undefined) {
        for (let i = before; i < buffers.length; i++) {
          const b = buffers[i] as Buffer;
          opts.spans.push(new FileSpan(seg, spanPositions[i - before] as number, b.length, baseOffsetAt(b, 0), this));
        }
      }
      if (cursor.done || ++si >= this.segments.length) break;
      seg = this.segments[si] as LogSegment;
      cursor.position = seg.lookupPosition(cursor.next, this.config.indexIntervalBytes);
      slack = this.config.indexIntervalBytes;
    }
    if (bytes > 0) this.rememberHint(hint, cursor.next, seg, cursor.position);
    return { buffers, bytes };
  }

  /**
   * Reads from one segment, from `cursor.position` on, the batches from `cursor.next` on:
   * windows of the file are read whole and their batch headers walked in memory, so a read
   * costs one system call per window, not per batch. Leaves the cursor after the last batch
   * taken and returns the bytes taken.
   */
  private readSegment(
    seg: LogSegment,
    maxOffset: number,
    budget: number,
    mustTakeOne: boolean,
    slack: number,
    out: Buffer[],
  ): number {
    const end = seg.size;
    let pos = cursor.position;
    let next = cursor.next;
    let taken = 0;
    let done = false;
    while (!done && end - pos >= RECORD_BATCH_HEADER_SIZE) {
      if (budget - taken < RECORD_BATCH_HEADER_SIZE && !(mustTakeOne && taken === 0)) {
        done = true;
        break;
      }
      // Before the first wanted batch is found the window also covers what the index skipped.
      let want = (budget > taken ? budget - taken : 0) + (taken === 0 ? slack : 0);
      if (want < RECORD_BATCH_HEADER_SIZE) want = RECORD_BATCH_HEADER_SIZE;
      if (want > end - pos) want = end - pos;
      const window = readBuffer(want);
      const got = seg.readInto(window, 0, want, pos);
      if (got !== want) throw new Error(`${seg.logPath}: read ${got} of ${want} bytes at ${pos} (size ${end})`);
      let p = 0;
      let start = -1;
      let stop = 0;
      while (p + READ_HEADER_BYTES <= want) {
        const size = LOG_OVERHEAD + window.readInt32BE(p + BATCH_LENGTH_OFFSET);
        if (size < RECORD_BATCH_HEADER_SIZE || pos + p + size > end) {
          throw new Error(`${seg.logPath}: invalid batch framing at ${pos + p} (length ${size})`);
        }
        const base = baseOffsetAt(window, p);
        if (base >= maxOffset) {
          done = true;
          break;
        }
        const last = base + lastOffsetDeltaAt(window, p);
        if (last < next) {
          p += size;
          continue;
        }
        if (taken + size > budget && !(mustTakeOne && taken === 0)) {
          done = true;
          break;
        }
        if (p + size > want) {
          if (start < 0) {
            // A batch larger than the window: read it on its own.
            out.push(seg.read(pos + p, size));
            spanPositions.push(pos + p);
            taken += size;
            next = last + 1;
            p += size;
            if (next >= maxOffset) done = true;
          }
          break;
        }
        if (start < 0) start = p;
        p += size;
        stop = p;
        taken += size;
        next = last + 1;
        if (next >= maxOffset) {
          done = true;
          break;
        }
      }
      if (start === 0 && stop === want) out.push(window);
      else if (start >= 0) out.push(window.subarray(start, stop));
      if (start >= 0) spanPositions.push(pos + start);
      pos += p;
    }
    cursor.position = pos;
    cursor.next = next;
    cursor.done = done;
    return taken;
  }

  private hintFor(seg: LogSegment, offset: number): ReadHint | null {
    const hints = this.hints;
    if (hints === null) return null;
    for (let i = 0; i < hints.length; i++) {
      const h = hints[i] as ReadHint;
      if (h.offset === offset && h.segment === seg && !seg.deleted && h.position <= seg.size) return h;
    }
    return null;
  }

  /** Where a read ended: updates the hint it started from (a consumer reading on), or takes the oldest slot. */
  private rememberHint(used: ReadHint | null, offset: number, segment: LogSegment, position: number): void {
    let h = used;
    if (h === null) {
      this.hints ??= [];
      if (this.hints.length < READ_HINTS) {
        h = { offset, segment, position };
        this.hints.push(h);
        return;
      }
      h = this.hints[this.nextHint] as ReadHint;
      this.nextHint = (this.nextHint + 1) % READ_HINTS;
    }
    h.offset = offset;
    h.segment = segment;
    h.position = position;
  }

  private segmentFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.segments[mid] as LogSegment).baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  // ---------------------------------------------------------------- timestamps

  /**
   * ListOffsets by timestamp, as Kafka's fetchOffsetByTimestamp: the first segment whose
   * largest timestamp reaches `ts`, its time index to skip earlier batches, the first batch
   * whose largest timestamp reaches `ts`, and in it the first record at or after `ts`.
   */
  offsetForTimestamp(ts: number): { offset: number; timestamp: number } | null {
    const interval = this.config.indexIntervalBytes;
    const lso = this._logStartOffset;
    for (let si = this.segmentFor(lso); si < this.segments.length; si++) {
      const seg = this.segments[si] as LogSegment;
      if (seg.maxTimestamp(interval) < ts) continue;
      const entry = seg.lookupTimestamp(ts, interval);
      let from = seg.lookupPosition(Math.max(entry.offset, lso), interval);
      for (;;) {
        const batch = seg.findBatch(from, (b) => b.lastOffset >= lso && b.maxTimestamp >= ts);
        if (batch === null) break;
        // As Kafka: a batch whose matching records all lie below the log start does not count.
        const found = this.firstRecordAtOrAfter(seg, batch, ts, lso);
        if (found !== null) return found;
        from = batch.position + batch.size;
      }
    }
    return null;
  }

  /** The first record of `batch` at or after `ts` and `minOffset`; the batch itself if it cannot be decoded. */
  private firstRecordAtOrAfter(
    seg: LogSegment,
    batch: BatchLocation,
    ts: number,
    minOffset: number,
  ): { offset: number; timestamp: number } | null {
    try {
      const { records } = decodeBatch(seg.read(batch.position, batch.size));
      for (const r of records) {
        if (r.timestamp >= ts && r.offset >= minOffset) return { offset: r.offset, timestamp: r.timestamp };
      }
      return null;
    } catch (err) {
      log.warn('could not decode a batch to find a timestamp; answering with the batch', {
        segment: seg.logPath,
        position: batch.position,
        error: String(err),
      });
      return { offset: Math.max(batch.baseOffset, minOffset), timestamp: batch.maxTimestamp };
    }
  }

  /** ListOffsets MAX_TIMESTAMP (KIP-734): the first record carrying the largest timestamp. */
  maxTimestampOffset(): { offset: number; timestamp: number } | null {
    const interval = this.config.indexIntervalBytes;
    let best: LogSegment | null = null;
    let bestTs = -1;
    for (const seg of this.segments) {
      const t = seg.maxTimestamp(interval);
      if (t > bestTs) {
        bestTs = t;
        best = seg;
      }
    }
    if (best === null) return null;
    const seg = best;
    const offset = seg.offsetOfMaxTimestamp(interval);
    const found = seg.findBatch(seg.lookupPosition(offset, interval), (b) => b.lastOffset >= offset);
    if (found !== null) {
      const r = this.firstRecordAtOrAfter(seg, found, bestTs, 0);
      if (r !== null && r.timestamp === bestTs) return r;
    }
    return { offset, timestamp: bestTs };
  }

  // ---------------------------------------------------------------- compaction

  /**
   * The lowest log end a truncation left since the last call (null if none): the cleaner
   * checkpoint must not stay above it, or data appended again there would pass for clean.
   */
  takeTruncationPoint(): number | null {
    const t = this.truncatedTo;
    this.truncatedTo = null;
    return t;
  }

  /** The segments, oldest first, the active one last (a copy: the cleaner reads them while appends go on). */
  segmentsSnapshot(): readonly LogSegment[] {
    return [...this.segments];
  }

  /**
   * Puts the cleaner's output in place of `old` (consecutive inactive segments): `newBases`
   * name `.cleaned` files already written and synced. The files are swapped as
   * segment-swap.ts describes and the new segments' indexes rebuilt, all in one synchronous
   * step, so a read sees either the old segments or the new ones. Meanwhile the recovery
   * point on disk is lowered to the first new segment, so a crash in the middle rescans
   * them. Returns false, changing nothing, when `old` are no longer the log's (retention
   * or truncation removed some while the cleaner worked).
   */
  replaceSegments(
    old: readonly LogSegment[],
    newBases: readonly number[],
    carriedAbortedTxns: readonly AbortedTxn[] = [],
  ): boolean {
    if (this.closed || old.length === 0 || newBases.length === 0) return false;
    const first = this.segments.indexOf(old[0] as LogSegment);
    if (first < 0 || first + old.length >= this.segments.length) return false;
    for (let i = 0; i < old.length; i++) {
      const seg = old[i] as LogSegment;
      if (this.segments[first + i] !== seg || seg.deleted) return false;
    }
    if (newBases[0] !== (old[0] as LogSegment).baseOffset)
      throw new Error('cleaned segments must start where the old ones did');
    const lowered = Math.min(this.recoveryPoint, newBases[0] as number);
    writeOffsetCheckpoint(join(this.dir, RECOVERY_POINT_FILE), lowered);
    this.checkpointedRecoveryPoint = lowered;
    swapInCleanedFiles(this.dir, old, newBases, this.config.fileDeleteDelayMs);
    // The old segments' .txnindex files went with them; the entries the cleaner keeps (those
    // whose abort marker it retained) are written to the new segments' indexes below.
    for (const s of old) this.txnIndexes.delete(s.baseOffset);
    const after = this.segments[first + old.length] as LogSegment;
    const now = this.now();
    const fresh = newBases.map((b) =>
      LogSegment.existing(
        this.dir,
        b,
        statSync(`${this.dir}/${String(b).padStart(20, '0')}${LOG_SUFFIX}`).size,
        this.config.segmentIndexBytes,
        this.resources,
        now,
      ),
    );
    for (let i = 0; i < fresh.length; i++) {
      const seg = fresh[i] as LogSegment;
      seg.nextOffsetBound = (fresh[i + 1] ?? after).baseOffset;
      const r = seg.recover(this.config.indexIntervalBytes);
      if (r.stopReason !== null) throw new Error(`cleaned segment ${seg.logPath} is invalid: ${r.stopReason}`);
      seg.onBecomeInactive();
      seg.uncacheIndexes();
    }
    this.segments.splice(first, old.length, ...fresh);
    this.hints = null;
    // Kafka's cleaner carries these into the cleaned segment's index (a crash before this is
    // repaired by the recovery from the lowered recovery point, which rebuilds the entries).
    for (const e of [...carriedAbortedTxns].sort((a, b) => a.lastOffset - b.lastOffset)) this.appendAbortedTxn(e);
    this.writeRecoveryPoint();
    return true;
  }

  // ---------------------------------------------------------------- deletion

  /** DeleteRecords: advances the log start offset and drops segments wholly below it. */
  deleteRecordsBefore(offset: number): void {
    if (offset <= this._logStartOffset) return;
    this.setLogStartOffset(Math.min(offset, this.logEndOffset));
    this.dropSegmentsBelow(this._logStartOffset, this.config.fileDeleteDelayMs);
  }

  private setLogStartOffset(offset: number): void {
    this._logStartOffset = offset;
    writeOffsetCheckpoint(join(this.dir, LOG_START_OFFSET_FILE), offset);
    this.epochs.truncateFromStart(offset);
    if (this._highWatermark < offset) this._highWatermark = offset;
  }

  /** `lingerMs`: how long the dropped files stay readable (segment.ts deleteFiles). */
  private dropSegmentsBelow(offset: number, lingerMs: number): void {
    while (this.segments.length > 1 && (this.segments[1] as LogSegment).baseOffset <= offset) {
      (this.segments.shift() as LogSegment).deleteFiles(lingerMs);
    }
  }

  /**
   * retention.ms, then retention.bytes, as Kafka applies them (only with cleanup.policy delete): oldest segments first, only
   * below the high watermark; the active segment too (rolled first) once all of it expired.
   * Then the size budgets (config/size-budget.ts): the topic's retention.bytes.total share and
   * `brokerShare`, this log's share of log.retention.bytes.total (-1 when off). A budget is a
   * ceiling, unlike retention.bytes: old segments go while the log is above it (never the active one).
   * Returns the bytes deleted.
   */
  applyRetention(now: number = this.now(), brokerShare = -1): number {
    // As Kafka: time and size retention are for cleanup.policy=delete (alone or with compact).
    if (!this.config.cleanupPolicy.includes('delete')) return 0;
    const interval = this.config.indexIntervalBytes;
    const { retentionMs, retentionBytes } = this.config;
    let deleted = 0;
    if (retentionMs >= 0) {
      deleted += this.deleteSegmentsWhile((seg) => now - seg.largestTimestamp(interval) > retentionMs);
    }
    if (retentionBytes >= 0) {
      let excess = this.sizeInBytes - retentionBytes;
      deleted += this.deleteSegmentsWhile((seg) => {
        if (excess - seg.size < 0) return false;
        excess -= seg.size;
        return true;
      });
    }
    const ceiling = this.budgetCeiling(brokerShare);
    if (ceiling >= 0) {
      let size = this.sizeInBytes;
      const active = this.segments[this.segments.length - 1];
      deleted += this.deleteSegmentsWhile((seg) => {
        if (size <= ceiling || seg === active) return false;
        size -= seg.size;
        return true;
      });
    }
    return deleted;
  }

  /** The ceiling the size budgets put on this log given its share of the broker's; -1 when none is set. */
  budgetCeiling(brokerShare = -1): number {
    return budgetCeiling({
      retentionBytesTotal: this.config.retentionBytesTotal,
      partitionCount: this.config.partitionCount,
      brokerRetentionBytesTotal: brokerShare,
      brokerPartitionCount: 1,
    });
  }

  private deleteSegmentsWhile(predicate: (seg: LogSegment) => boolean): number {
    let n = 0;
    for (let i = 0; i < this.segments.length; i++) {
      const seg = this.segments[i] as LogSegment;
      const next = this.segments[i + 1];
      const upper = next !== undefined ? next.baseOffset : seg.nextOffset;
      if (upper > this._highWatermark || (next === undefined && seg.size === 0)) break;
      if (!predicate(seg)) break;
      n++;
    }
    if (n === 0) return 0;
    // Kafka keeps at least one segment: with every segment going, roll a new one first.
    if (n === this.segments.length) this.roll(this.logEndOffset);
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += (this.segments[i] as LogSegment).size;
    const newStart = (this.segments[n] as LogSegment).baseOffset;
    if (newStart > this._logStartOffset) this.setLogStartOffset(newStart);
    for (const seg of this.segments.splice(0, n)) seg.deleteFiles(this.config.fileDeleteDelayMs);
    return bytes;
  }

  /**
   * Deletes the oldest non-active segment (disk-percent retention); returns its size or 0. Its
   * file goes at once, not after file.delete.delay.ms: the caller measures the space it freed.
   */
  deleteOldestSegment(): number {
    const next = this.segments[1];
    if (next === undefined || next.baseOffset > this._highWatermark) return 0;
    const size = (this.segments[0] as LogSegment).size;
    if (next.baseOffset > this._logStartOffset) this.setLogStartOffset(next.baseOffset);
    this.dropSegmentsBelow(this._logStartOffset, 0);
    return size;
  }

  /** Largest timestamp of the oldest non-active segment (what disk-percent retention deletes first). */
  oldestSegmentTimestamp(): number {
    return this.segments.length > 1
      ? (this.segments[0] as LogSegment).largestTimestamp(this.config.indexIntervalBytes)
      : Number.POSITIVE_INFINITY;
  }

  /**
   * Follower truncation (KIP-101): removes every batch at or after `offset` (a batch holding it
   * goes entirely), with the segments, indexes and leader epochs after it.
   */
  truncateTo(offset: number): void {
    if (this.closed) throw new Error(`log ${this.dir} is closed`);
    if (offset >= this.logEndOffset) return;
    this.truncations++;
    if (offset <= (this.segments[0] as LogSegment).baseOffset) {
      this.truncateFullyAndStartAt(offset);
      return;
    }
    while (this.segments.length > 1 && this.active.baseOffset >= offset) {
      (this.segments.pop() as LogSegment).deleteFiles();
    }
    this.active.truncateTo(offset, this.config.indexIntervalBytes);
    this.afterTruncation();
  }

  /** Deletes everything and starts an empty log at `offset` (a follower far behind the leader's log start). */
  truncateFullyAndStartAt(offset: number): void {
    if (this.closed) throw new Error(`log ${this.dir} is closed`);
    for (const seg of this.segments.splice(0)) seg.deleteFiles();
    this.segments.push(LogSegment.create(this.dir, offset, this.config.segmentIndexBytes, this.resources, this.now()));
    fsyncDir(this.dir);
    this._logStartOffset = offset;
    writeOffsetCheckpoint(join(this.dir, LOG_START_OFFSET_FILE), offset);
    // Epoch entries below `offset` would outlive the records they describe (Kafka clears them too).
    this.epochs.clear();
    this.producerSnapshots.removeAfter(-1);
    this.afterTruncation();
  }

  private afterTruncation(): void {
    this.hints = null;
    const leo = this.logEndOffset;
    this.txnIndexes.clear();
    for (const seg of this.segments) this.txnIndexOf(seg).truncateTo(leo);
    if (this.truncatedTo === null || leo < this.truncatedTo) this.truncatedTo = leo;
    if (this._logStartOffset > leo) this.setLogStartOffset(leo);
    this.epochs.truncateFromEnd(leo);
    this.producerSnapshots.removeAfter(leo);
    this._highWatermark = Math.min(Math.max(this._highWatermark, this._logStartOffset), leo);
    if (this.recoveryPoint > leo) {
      this.recoveryPoint = leo;
      this.writeRecoveryPoint();
    }
    // A flush still to start need not cover offsets that are gone (one in flight checks, as
    // it ends, that nothing below its target was written since it began).
    if (this.flushRequestedUpTo > leo) this.flushRequestedUpTo = leo;
  }

  // ---------------------------------------------------------------- aborted transactions

  private txnIndexOf(seg: LogSegment): TransactionIndex {
    let idx = this.txnIndexes.get(seg.baseOffset);
    if (idx === undefined) {
      idx = new TransactionIndex(seg.prefix + TXN_INDEX_SUFFIX);
      this.txnIndexes.set(seg.baseOffset, idx);
    }
    return idx;
  }

  /** Records a transaction aborted by the marker at `e.lastOffset` in that marker's segment's `.txnindex`. */
  appendAbortedTxn(e: AbortedTxn): void {
    const seg = this.segments[this.segmentFor(e.lastOffset)] as LogSegment;
    const idx = this.txnIndexOf(seg);
    // Already indexed (a replay after a restart) when an entry at or past this marker exists.
    const last = idx.all[idx.all.length - 1];
    if (last === undefined || last.lastOffset < e.lastOffset) idx.append(e);
  }

  /**
   * The aborted transactions a read_committed fetch of [fetchOffset, upperBoundOffset) must
   * report: those whose marker is at or after fetchOffset and that began before the bound.
   */
  collectAbortedTxns(fetchOffset: number, upperBoundOffset: number): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    for (let i = this.segmentFor(fetchOffset); i < this.segments.length; i++) {
      const seg = this.segments[i] as LogSegment;
      for (const e of this.txnIndexOf(seg).all) {
        if (e.lastOffset >= fetchOffset && e.firstOffset < upperBoundOffset) out.push(e);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- epochs

  /**
   * A new leader's epoch starts at its log end (Kafka's maybeAssignEpochStartOffset), before
   * it appends anything: a follower whose last fetched epoch is newer than any this log holds
   * records of is then told where its log diverges, not that the epoch is unknown.
   */
  assignEpochStart(epoch: number, startOffset: number): void {
    this.epochs.assign(epoch, startOffset);
  }

  /** OffsetForLeaderEpoch: the end offset of `epoch` (the start of the next higher epoch). */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.epochs.endOffsetFor(epoch, this.logEndOffset);
  }

  /** The leader epoch checkpoint's entries, oldest first. */
  /** The epoch of the last batch in the log, -1 for an empty log. */
  latestEpoch(): number {
    return this.epochs.latestEpoch;
  }

  leaderEpochEntries(): ReadonlyArray<{ epoch: number; startOffset: number }> {
    return this.epochs.all;
  }

  // ---------------------------------------------------------------- durability

  /**
   * fsyncs the log up to its end and advances the recovery point there: the active segment,
   * older segments whose flush after a roll has not finished (this does it now, on the event
   * loop), the directory and the leader-epoch checkpoint.
   */
  flush(): void {
    if (this.closed) return;
    const last = this.segments.length - 1;
    for (let i = this.segmentFor(this.recoveryPoint); i < last; i++) {
      const seg = this.segments[i] as LogSegment;
      if (!seg.needsSync) continue;
      seg.syncIndexes();
      seg.flush();
    }
    this.active.flush();
    this.syncDirNow();
    this.epochs.writeNow();
    this.recoveryPoint = this.logEndOffset;
    this.lastFlushAt = this.now();
    this.checkpointRecoveryPoint();
  }

  /**
   * flush() off the event loop: syncs every file written so far (segments, indexes, the
   * directory, the leader-epoch checkpoint) on the libuv threadpool and resolves with the log
   * end offset as it stood when called — everything below it is then on disk. Appends may go
   * on meanwhile; they are not covered. Rejects if a sync fails or the log is closed or
   * abandoned before the syncs finish. A truncation meanwhile is the caller's to account for:
   * offsets rewritten after it are not covered.
   */
  async flushOffLoop(): Promise<number> {
    if (this.closed) throw new Error(`log ${this.dir} is closed`);
    const upTo = this.logEndOffset;
    await this.flushInBackground(upTo);
    if (this.closed) throw new Error(`log ${this.dir} was closed during a flush`);
    this.lastFlushAt = this.now();
    return upTo;
  }

  /** fsync of the directory now if names were created or removed since the last one. */
  private syncDirNow(): void {
    if (this.syncedDirChanges === this.dirChanges) return;
    fsyncDir(this.dir);
    this.syncedDirChanges = this.dirChanges;
  }

  /**
   * Recovery after a crash restarts at the segment holding the checkpointed point (the first
   * segment when there is none), so the file only needs rewriting when `point` lies in a later
   * segment than that one. A log of one segment never needs it: with 10,000 such logs, writing
   * it anyway cost a file creation and a rename each on every start after a crash and every
   * clean close.
   */
  private recoveryPointMovesOn(point: number): boolean {
    const segs = this.segments;
    let from = 0;
    for (let i = segs.length - 1; i > 0; i--) {
      if ((segs[i] as LogSegment).baseOffset <= this.checkpointedRecoveryPoint) {
        from = i;
        break;
      }
    }
    const next = segs[from + 1];
    return next !== undefined && point >= next.baseOffset;
  }

  /** Writes the recovery point's checkpoint if it has moved on far enough to matter (recoveryPointMovesOn). */
  private checkpointRecoveryPoint(): void {
    if (this.recoveryPointMovesOn(this.recoveryPoint)) this.writeRecoveryPoint();
  }

  private writeRecoveryPoint(): void {
    // No fsync: a recovery point that does not reach the disk leaves the older one, which is
    // only more cautious, and a garbled file reads as "recover everything".
    writeOffsetCheckpoint(join(this.dir, RECOVERY_POINT_FILE), this.recoveryPoint, false);
    this.checkpointedRecoveryPoint = this.recoveryPoint;
  }

  /**
   * Clean shutdown: indexes completed and synced, data flushed (what a flush after a roll
   * still in flight had to sync, too: done here on the event loop; that flush then ends
   * without touching the log), the directory and the leader-epoch checkpoint synced, the
   * recovery point written, then the marker. LogManager.close waits for flushesSettled() first.
   * `marker: false` leaves the clean-shutdown marker to the caller, which records the clean
   * close of many logs in one file (LogManager).
   */
  close(opts: { marker?: boolean } = {}): void {
    if (this.closed) return;
    for (const seg of this.segments) seg.close();
    this.syncDirNow();
    this.epochs.close();
    this.recoveryPoint = this.logEndOffset;
    this.checkpointRecoveryPoint();
    if (opts.marker !== false) writeFileSync(join(this.dir, CLEAN_SHUTDOWN_FILE), '');
    this.closed = true;
  }

  /**
   * Lets go of files and memory without any of the clean-shutdown steps: the state a crash
   * leaves behind (pending index entries are lost, no marker). For tests and tools.
   */
  abandon(): void {
    if (this.closed) return;
    for (const seg of this.segments) seg.abandon();
    this.epochs.abandon();
    this.closed = true;
  }

  /** Closes and removes the whole directory. */
  delete(): void {
    this.abandon();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
