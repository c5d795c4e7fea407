/**
 * The metadata log on disk (`__cluster_metadata-0`), as Kafka's KafkaMetadataLog keeps it: a
 * PartitionLog of v2 record batches whose partitionLeaderEpoch is the Raft epoch (so the
 * leader-epoch checkpoint is the epoch history KIP-595's truncation needs), and next to the
 * segments the snapshots of KIP-630, `<20-digit end offset>-<10-digit epoch>.checkpoint`, each
 * a sequence of batches from a control batch holding a SnapshotHeader record to one holding a
 * SnapshotFooter record.
 *
 * Reads and appends act at once on the log in memory and page cache; nothing is durable until
 * `flush()` resolves, and the shell reports only what it resolved with (`flushed`). Batches
 * travel as bytes: a follower stores the leader's batches as received, a leader's read is the
 * stored bytes.
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerConfig } from '../config/broker-config.js';
import { defaultLogConfig, type LogConfig } from '../config/topic-config.js';
import { logger } from '../observability/logger.js';
import { buildRecordBatch, type RecordInput } from '../protocol/records/batch-builder.js';
import { decodeRecords } from '../protocol/records/record.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  isControl,
  LOG_OVERHEAD,
  lastOffsetAt,
  RECORD_BATCH_HEADER_SIZE,
  splitBatches,
  validateBatch,
} from '../protocol/records/record-batch.js';
import { fsyncDir, fsyncDirOffLoop, readExactly, writeFully } from '../storage/file-io.js';
import { PartitionLog, type PartitionLogOptions } from '../storage/partition-log.js';
import { controlRecordInput, decodeControlRecord } from './control-records.js';
import type { RaftLog } from './raft-log.js';
import { type SnapshotHeader, SnapshotWriter } from './snapshot-writer.js';
import type { AppendInfo, ControlRecordAt, LogEntry, OffsetAndEpoch, SnapshotId } from './types.js';

const log = logger('raft');

export const SNAPSHOT_SUFFIX = '.checkpoint';
export const PARTIAL_SNAPSHOT_SUFFIX = '.checkpoint.part';
export const DELETED_SNAPSHOT_SUFFIX = '.checkpoint.deleted';
const SNAPSHOT_NAME = /^(\d{20})-(\d{10})\.checkpoint(\.part|\.deleted)?$/;
/** Bytes of the log read at a time when scanning it for control records. */
const SCAN_READ_BYTES = 1024 * 1024;
/** Tells apart the temporary files of snapshots this process writes itself. */
let localSnapshotSeq = 0;

/** Kafka's snapshot file name: `<offset, 20 digits>-<epoch, 10 digits>.checkpoint`. */
export function snapshotFileName(id: SnapshotId, suffix = SNAPSHOT_SUFFIX): string {
  return `${String(id.offset).padStart(20, '0')}-${String(id.epoch).padStart(10, '0')}${suffix}`;
}

export function parseSnapshotFileName(
  name: string,
): { id: SnapshotId; state: 'complete' | 'partial' | 'deleted' } | undefined {
  const m = SNAPSHOT_NAME.exec(name);
  if (m === null) return undefined;
  const id = { offset: Number(m[1]), epoch: Number(m[2]) };
  return { id, state: m[3] === '.part' ? 'partial' : m[3] === '.deleted' ? 'deleted' : 'complete' };
}

/** Fetched batches that cannot follow this log: corrupt, or not continuing it. The fetch is refused. */
export class InvalidRaftRecordsError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidRaftRecordsError';
  }
}

/**
 * The config of the metadata log's PartitionLog: Kafka's defaults for a topic, except that it
 * never flushes on its own (the core asks for flushes) and deletes nothing by retention
 * (records go only below a snapshot, as KafkaMetadataLog sets retention.ms/bytes to -1).
 */
export function metadataLogConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return {
    ...defaultLogConfig(BrokerConfig.defaults()),
    flushMessages: Number.MAX_SAFE_INTEGER,
    flushMs: Number.MAX_SAFE_INTEGER,
    flushOnAppend: false,
    retentionMs: -1,
    retentionBytes: -1,
    retentionDiskPercent: -1,
    cleanupPolicy: ['delete'],
    ...overrides,
  };
}

/**
 * How much the log keeps below its latest snapshot (KafkaMetadataLog's retention): old
 * snapshots, and the records below the next one, go once the log and snapshots together pass
 * `bytes` or a snapshot is older than `ms` (-1: no limit). The latest snapshot and everything
 * after it always stay.
 */
export interface MetadataLogRetention {
  /** metadata.max.retention.bytes (Kafka default 100 MiB). */
  readonly bytes: number;
  /** metadata.max.retention.ms (Kafka default 7 days). */
  readonly ms: number;
}

export const DEFAULT_METADATA_LOG_RETENTION: MetadataLogRetention = {
  bytes: 100 * 1024 * 1024,
  ms: 7 * 24 * 60 * 60 * 1000,
};

export interface PartitionRaftLogOptions extends PartitionLogOptions {
  readonly config?: LogConfig;
  readonly retention?: MetadataLogRetention;
}

interface SnapshotDownload {
  readonly id: SnapshotId;
  readonly path: string;
  readonly fd: number;
  size: number;
}

/** A flush in flight: the lowest log end a truncation left while it ran. */
interface FlushInFlight {
  lowestEnd: number;
}

export class PartitionRaftLog implements RaftLog<Buffer> {
  /** Complete snapshots, oldest first. */
  private snapshots: SnapshotId[] = [];
  private download: SnapshotDownload | null = null;
  private readonly flushes = new Set<FlushInFlight>();

  private constructor(
    readonly dir: string,
    private readonly log: PartitionLog,
    private readonly now: () => number,
    private readonly retention: MetadataLogRetention,
  ) {}

  /**
   * Opens (or creates) the metadata log in `dir`. As KafkaMetadataLog on start-up: partial and
   * deleted snapshots and snapshots below the log start are removed; a log start above 0 with
   * no snapshot reaching it is an error; a snapshot past the log's end (a download completed
   * just before a crash) empties the log and restarts it there.
   */
  static open(dir: string, options: PartitionRaftLogOptions = {}): PartitionRaftLog {
    const partitionLog = PartitionLog.open(dir, options.config ?? metadataLogConfig(), options);
    const raftLog = new PartitionRaftLog(
      dir,
      partitionLog,
      options.now ?? Date.now,
      options.retention ?? DEFAULT_METADATA_LOG_RETENTION,
    );
    try {
      raftLog.loadSnapshots();
    } catch (err) {
      partitionLog.abandon();
      throw err;
    }
    return raftLog;
  }

  private loadSnapshots(): void {
    const start = this.log.logStartOffset;
    const kept: SnapshotId[] = [];
    let removed = false;
    for (const name of readdirSync(this.dir)) {
      const parsed = parseSnapshotFileName(name);
      if (parsed === undefined) {
        // A snapshot this node was writing itself when it stopped (see beginSnapshot).
        if (name.endsWith(PARTIAL_SNAPSHOT_SUFFIX)) {
          rmSync(join(this.dir, name), { force: true });
          removed = true;
          log.info('removed a partial snapshot file', { dir: this.dir, file: name });
        }
        continue;
      }
      if (parsed.state !== 'complete' || parsed.id.offset < start) {
        rmSync(join(this.dir, name), { force: true });
        removed = true;
        log.info('removed an unneeded snapshot file', { dir: this.dir, file: name });
      } else {
        kept.push(parsed.id);
      }
    }
    if (removed) fsyncDir(this.dir);
    kept.sort(compareIds);
    this.snapshots = kept;
    const latest = kept[kept.length - 1];
    if (start > 0 && (latest === undefined || latest.offset < start)) {
      throw new Error(
        `metadata log ${this.dir} starts at ${start} but no snapshot reaches it (latest: ${
          latest === undefined ? 'none' : snapshotFileName(latest)
        })`,
      );
    }
    const end = this.endOffset();
    const hasRecords = end > this.log.logStartOffset;
    if (latest !== undefined && (latest.offset > end || (hasRecords && latest.epoch > this.latestLogEpoch()))) {
      log.warn('the latest snapshot is past the log: emptying the log to start at it', {
        dir: this.dir,
        snapshot: snapshotFileName(latest),
        logEndOffset: this.endOffset(),
      });
      this.restartAt(latest);
    }
  }

  // ------------------------------------------------------------------ offsets and epochs

  startOffset(): number {
    return this.log.logStartOffset;
  }

  endOffset(): number {
    return this.log.logEndOffset;
  }

  /** Bytes of the log's segments on disk (snapshots not counted). */
  sizeInBytes(): number {
    return this.log.sizeInBytes;
  }

  /** The epoch of the last batch, -1 when the log holds none. */
  private latestLogEpoch(): number {
    const entries = this.log.leaderEpochEntries();
    return entries.length === 0 ? -1 : (entries[entries.length - 1] as { epoch: number }).epoch;
  }

  lastFetchedEpoch(): number {
    const epoch = this.latestLogEpoch();
    if (epoch >= 0) return epoch;
    const snapshot = this.latestSnapshotId();
    if (snapshot === undefined) return 0;
    if (snapshot.offset !== this.startOffset() || snapshot.offset !== this.endOffset()) {
      throw new Error(
        `metadata log ${this.dir} has no epoch but a snapshot ${snapshotFileName(snapshot)} that is not at its ` +
          `start ${this.startOffset()} and end ${this.endOffset()}`,
      );
    }
    return snapshot.epoch;
  }

  /** As KafkaMetadataLog.endOffsetForEpoch, over the leader-epoch cache (Kafka's LeaderEpochFileCache.endOffsetFor). */
  endOffsetForEpoch(epoch: number): OffsetAndEpoch {
    const found = this.log.endOffsetForEpoch(epoch);
    if (found.endOffset < 0) return { offset: this.endOffset(), epoch: this.lastFetchedEpoch() };
    const earliest = this.snapshots[0];
    // Older than every epoch left in the log: the log starts at the earliest snapshot, which
    // is the answer (the follower then fetches that snapshot).
    if (earliest !== undefined && found.endOffset === earliest.offset && found.epoch === epoch) return earliest;
    return { offset: found.endOffset, epoch: found.epoch };
  }

  // ------------------------------------------------------------------ appends and reads

  appendAsLeader(entries: readonly LogEntry[], epoch: number): AppendInfo {
    if (entries.length === 0) throw new Error('an append as leader needs at least one entry');
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`invalid leader epoch ${epoch}`);
    const latest = this.latestLogEpoch();
    if (epoch < latest) throw new Error(`append as leader in epoch ${epoch} after records of epoch ${latest}`);
    const control = entries[0]?.kind === 'control';
    const timestamp = this.now();
    const records: RecordInput[] = [];
    for (const e of entries) {
      // A batch is either a control batch or a data batch (the attribute is the batch's).
      if ((e.kind === 'control') !== control) throw new Error('one append mixes data and control records');
      records.push(e.kind === 'data' ? { value: e.value, timestamp } : controlRecordInput(e.record, timestamp));
    }
    const batch = buildRecordBatch({ records, control, partitionLeaderEpoch: epoch });
    const r = this.log.append(batch, { assignOffsets: true, leaderEpoch: epoch });
    return { firstOffset: r.firstOffset, lastOffset: r.lastOffset };
  }

  /**
   * Appends batches fetched from the leader as they are: every batch intact (CRC), the first
   * one starting at the log end, each following the one before, epochs never going back.
   * Throws InvalidRaftRecordsError, appending nothing, otherwise.
   */
  appendAsFollower(records: Buffer): AppendInfo & { readonly control: readonly ControlRecordAt[] } {
    if (records.length === 0) throw new InvalidRaftRecordsError('an append as follower needs at least one batch');
    let spans: ReturnType<typeof splitBatches>;
    try {
      spans = splitBatches(records);
    } catch (err) {
      throw new InvalidRaftRecordsError(`fetched records are torn: ${(err as Error).message}`);
    }
    let next = this.endOffset();
    let epoch = this.latestLogEpoch();
    const control: ControlRecordAt[] = [];
    for (const { pos, size } of spans) {
      const v = validateBatch(records, pos, size, { origin: 'replication' });
      if (!v.ok) throw new InvalidRaftRecordsError(`fetched batch at byte ${pos}: ${v.reason}`);
      const h = v.header;
      if (h.baseOffset !== next) {
        throw new InvalidRaftRecordsError(`fetched batch starts at offset ${h.baseOffset}, expected ${next}`);
      }
      if (h.partitionLeaderEpoch < 0 || h.partitionLeaderEpoch < epoch) {
        throw new InvalidRaftRecordsError(
          `fetched batch at offset ${h.baseOffset} has epoch ${h.partitionLeaderEpoch}, after epoch ${epoch}`,
        );
      }
      epoch = h.partitionLeaderEpoch;
      next = h.baseOffset + h.lastOffsetDelta + 1;
      if (isControl(h.attributes)) {
        try {
          collectControl(records.subarray(pos, pos + size), control);
        } catch (err) {
          throw new InvalidRaftRecordsError(`control batch at offset ${h.baseOffset}: ${(err as Error).message}`);
        }
      }
    }
    const r = this.log.append(records, { assignOffsets: false, leaderEpoch: -1 });
    return { firstOffset: r.firstOffset, lastOffset: r.lastOffset, control };
  }

  read(startOffset: number, maxBytes: number): Buffer {
    const r = this.log.read(startOffset, maxBytes, { minOneBatch: true });
    if (r.buffers.length === 1) return r.buffers[0] as Buffer;
    return r.buffers.length === 0 ? Buffer.alloc(0) : Buffer.concat(r.buffers, r.bytes);
  }

  isEmpty(records: Buffer): boolean {
    return records.length === 0;
  }

  // ------------------------------------------------------------------ truncation

  truncateTo(offset: number): void {
    this.log.truncateTo(offset);
    this.noteTruncation();
  }

  /** KIP-595's truncation on a diverging epoch, as Kafka's ReplicatedLog.truncateToEndOffset. */
  truncateToEndOffset(divergence: OffsetAndEpoch): number {
    let offset: number;
    if (divergence.epoch === 0) offset = Math.min(divergence.offset, this.endOffset());
    else {
      const local = this.endOffsetForEpoch(divergence.epoch);
      offset = local.epoch === divergence.epoch ? Math.min(local.offset, divergence.offset) : local.offset;
    }
    this.truncateTo(offset);
    return this.endOffset();
  }

  private noteTruncation(): void {
    const end = this.endOffset();
    for (const f of this.flushes) if (end < f.lowestEnd) f.lowestEnd = end;
  }

  // ------------------------------------------------------------------ control records

  /** Every control record from the log start on, read from the stored batches (start-up). */
  controlRecords(): readonly ControlRecordAt[] {
    const out: ControlRecordAt[] = [];
    let offset = this.startOffset();
    const end = this.endOffset();
    while (offset < end) {
      const bytes = this.read(offset, SCAN_READ_BYTES);
      if (bytes.length === 0) break;
      let pos = 0;
      while (pos + RECORD_BATCH_HEADER_SIZE <= bytes.length) {
        const size = LOG_OVERHEAD + bytes.readInt32BE(pos + BATCH_LENGTH_OFFSET);
        if (pos + size > bytes.length) break;
        if (isControl(bytes.readInt16BE(pos + ATTRIBUTES_OFFSET))) collectControl(bytes.subarray(pos, pos + size), out);
        offset = lastOffsetAt(bytes, pos) + 1;
        pos += size;
      }
      // A read returns whole batches; one that does not would make this loop spin.
      if (pos === 0) throw new Error(`metadata log ${this.dir}: no whole batch read at offset ${offset}`);
    }
    return out;
  }

  // ------------------------------------------------------------------ durability

  /**
   * Makes everything appended so far durable, off the event loop, and resolves with the offset
   * below which the log is on disk (answer a `flush` output with `flushed` of it). A truncation
   * while the flush runs lowers it to the truncation point: what was appended again there is
   * not covered.
   */
  async flush(): Promise<number> {
    const inFlight: FlushInFlight = { lowestEnd: Number.POSITIVE_INFINITY };
    this.flushes.add(inFlight);
    try {
      const upTo = await this.log.flushOffLoop();
      return Math.min(upTo, inFlight.lowestEnd);
    } finally {
      this.flushes.delete(inFlight);
    }
  }

  /** Clean shutdown: the log flushed and closed, a download in progress dropped. */
  close(): void {
    this.dropDownload();
    this.log.close();
  }

  /** Lets go of everything as a crash would (tests). */
  abandon(): void {
    if (this.download !== null) closeSync(this.download.fd);
    this.download = null;
    this.log.abandon();
  }

  // ------------------------------------------------------------------ snapshots

  latestSnapshotId(): SnapshotId | undefined {
    return this.snapshots[this.snapshots.length - 1];
  }

  /**
   * The Voters and KRaftVersion (and any LeaderChange) records of the latest snapshot, at the
   * offset Kafka gives them: the last offset the snapshot contains.
   */
  latestSnapshotControlRecords(): readonly ControlRecordAt[] {
    const id = this.latestSnapshotId();
    if (id === undefined) return [];
    const found: ControlRecordAt[] = [];
    scanSnapshot(this.snapshotPath(id), (batch) => {
      if (!isControl(batch.readInt16BE(ATTRIBUTES_OFFSET))) return;
      for (const r of decodeRecords(batch)) {
        const c = decodeControlRecord(r);
        if (c.kind === 'raft') found.push({ offset: id.offset - 1, record: c.record });
      }
    });
    return found;
  }

  snapshotSize(id: SnapshotId): number {
    return statSync(this.snapshotPath(id)).size;
  }

  readSnapshot(id: SnapshotId, position: number, maxBytes: number): Buffer {
    const path = this.snapshotPath(id);
    const fd = openSync(path, 'r');
    try {
      const size = statSync(path).size;
      if (position < 0 || position > size)
        throw new RangeError(`position ${position} outside snapshot of ${size} bytes`);
      return readExactly(fd, position, Math.max(0, Math.min(maxBytes, size - position)), path);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Starts a snapshot of the state machine at `id` (see SnapshotWriter): `id` must be a point
   * the log holds, at or past its start, with an epoch that matches the log's. The writer's
   * `freeze()` names the snapshot once it is durable.
   */
  async beginSnapshot(id: SnapshotId, header: SnapshotHeader): Promise<SnapshotWriter> {
    const invalid = this.invalidSnapshotPoint(id);
    if (invalid !== undefined) throw new RangeError(invalid);
    const part = join(this.dir, `${snapshotFileName(id, '')}.${++localSnapshotSeq}${PARTIAL_SNAPSHOT_SUFFIX}`);
    return SnapshotWriter.create(id, part, header, this.now, (sid, path) => this.publishSnapshot(sid, path));
  }

  /** Writes a whole snapshot at once (beginSnapshot, one append, freeze); resolves as freeze does. */
  async createSnapshot(id: SnapshotId, contents: SnapshotHeader & { values: readonly Buffer[] }): Promise<boolean> {
    const writer = await this.beginSnapshot(id, contents);
    try {
      await writer.append(contents.values);
      return await writer.freeze();
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }

  /** Why `id` cannot be a snapshot of this log now; undefined when it can. */
  private invalidSnapshotPoint(id: SnapshotId): string | undefined {
    if (id.offset < this.startOffset() || id.offset > this.endOffset()) {
      return `snapshot ${snapshotFileName(id)} outside the log [${this.startOffset()}, ${this.endOffset()}]`;
    }
    if (id.offset > 0) {
      const at = this.endOffsetForEpoch(id.epoch);
      if (at.epoch !== id.epoch || at.offset < id.offset) {
        return `snapshot ${snapshotFileName(id)} does not match the log's epochs (${at.epoch}@${at.offset})`;
      }
    }
    return undefined;
  }

  /**
   * Names a snapshot this node wrote (its synced `.part` file): renamed, the directory synced,
   * then added — unless the log moved past its point meanwhile (a snapshot received from the
   * leader restarted the log above it), in which case the file is dropped. The checks and the
   * rename run without yielding, so a download completing at the same time cannot interleave.
   */
  private async publishSnapshot(id: SnapshotId, partPath: string): Promise<boolean> {
    const invalid = this.invalidSnapshotPoint(id);
    if (invalid !== undefined) {
      rmSync(partPath, { force: true });
      log.info('dropped a snapshot the log moved past while it was written', { dir: this.dir, reason: invalid });
      return false;
    }
    const final = this.snapshotPath(id);
    renameSync(partPath, final);
    await fsyncDirOffLoop(this.dir);
    if (id.offset < this.startOffset()) {
      if (!this.snapshots.some((s) => compareIds(s, id) === 0)) rmSync(final, { force: true });
      return false;
    }
    this.addSnapshot(id);
    return true;
  }

  /**
   * Calls `visit` with each batch of snapshot `id` (the bytes of one whole batch), after checking
   * the file is intact batches from a SnapshotHeader to a SnapshotFooter.
   */
  forEachSnapshotBatch(id: SnapshotId, visit: (batch: Buffer) => void): void {
    const path = this.snapshotPath(id);
    checkSnapshotFile(path);
    scanSnapshot(path, visit);
  }

  beginSnapshotDownload(id: SnapshotId): void {
    this.dropDownload();
    const path = join(this.dir, snapshotFileName(id, PARTIAL_SNAPSHOT_SUFFIX));
    this.download = { id, path, fd: openSync(path, 'w', 0o644), size: 0 };
  }

  writeSnapshotChunk(id: SnapshotId, position: number, bytes: Buffer): void {
    const d = this.downloadOf(id);
    // As Kafka's client: a chunk must continue exactly where the snapshot received so far ends.
    if (position !== d.size) {
      throw new Error(`snapshot ${snapshotFileName(id)} chunk at ${position}, but ${d.size} bytes were received`);
    }
    writeFully(d.fd, bytes, position);
    d.size += bytes.length;
  }

  /**
   * Checks the received snapshot (every batch intact, a SnapshotHeader first, a SnapshotFooter
   * last), makes it durable under its final name, then empties the log to start at its end
   * offset and forgets older snapshots (Kafka's truncateToLatestSnapshot). A snapshot that
   * fails the check is deleted and the error thrown; the log is left as it was.
   */
  completeSnapshotDownload(id: SnapshotId): void {
    const d = this.downloadOf(id);
    try {
      fsyncSync(d.fd);
    } finally {
      closeSync(d.fd);
      this.download = null;
    }
    try {
      checkSnapshotFile(d.path);
    } catch (err) {
      rmSync(d.path, { force: true });
      throw err;
    }
    renameSync(d.path, this.snapshotPath(id));
    fsyncDir(this.dir);
    this.addSnapshot(id);
    this.restartAt(id);
  }

  /** Drops every record and snapshot below the latest snapshot, whatever the retention. */
  deleteBeforeSnapshot(): void {
    const latest = this.latestSnapshotId();
    if (latest !== undefined) this.deleteBefore(latest);
  }

  earliestSnapshotId(): SnapshotId | undefined {
    return this.snapshots[0];
  }

  /**
   * KafkaMetadataLog.maybeClean: while the log and its snapshots together exceed the retention
   * bytes, and then while the oldest snapshot is older than the retention time, the oldest
   * snapshot goes and the log restarts at the next one (its records below it go with it). The
   * latest snapshot always stays, so the log start only ever moves to a snapshot at or below the
   * high watermark. Returns whether anything was deleted.
   */
  maybeClean(): boolean {
    try {
      return this.cleanByRetention();
    } catch (err) {
      // As Kafka's cleaner: a failed cleaning is logged and tried again later; what it did so
      // far left the log consistent (the start at a snapshot, the snapshots below it gone).
      log.error('cleaning the metadata log failed', { dir: this.dir, error: (err as Error).message });
      return false;
    }
  }

  private cleanByRetention(): boolean {
    let cleaned = false;
    const { bytes, ms } = this.retention;
    if (bytes >= 0 && this.snapshots.length >= 2) {
      const sizes = new Map(this.snapshots.map((s) => [snapshotFileName(s), this.snapshotSize(s)]));
      let snapshotBytes = 0;
      for (const size of sizes.values()) snapshotBytes += size;
      cleaned =
        this.cleanSnapshots((s) => {
          if (this.log.sizeInBytes + snapshotBytes <= bytes) return undefined;
          const reason = `the log (${this.log.sizeInBytes} bytes) and snapshots (${snapshotBytes} bytes) exceed ${bytes} bytes`;
          snapshotBytes -= sizes.get(snapshotFileName(s)) ?? 0;
          return reason;
        }) || cleaned;
    }
    if (ms >= 0 && this.snapshots.length >= 2) {
      const now = this.now();
      cleaned =
        this.cleanSnapshots((s) => {
          const at = this.snapshotTimestamp(s);
          return now - at > ms ? `its last record is ${now - at} ms old, retention is ${ms} ms` : undefined;
        }) || cleaned;
    }
    return cleaned;
  }

  /**
   * Kafka's cleanSnapshots: walks the snapshots oldest first and, while `why` gives a reason to
   * delete one, restarts the log at the next one; stops at the first it keeps.
   */
  private cleanSnapshots(why: (snapshot: SnapshotId) => string | undefined): boolean {
    const list = [...this.snapshots];
    let cleaned = false;
    for (let i = 0; i + 1 < list.length; i++) {
      const snapshot = list[i] as SnapshotId;
      const reason = why(snapshot);
      if (reason === undefined) break;
      const next = list[i + 1] as SnapshotId;
      if (!this.deleteBefore(next)) break;
      log.info('deleted a metadata snapshot and the log below the next one', {
        dir: this.dir,
        snapshot: snapshotFileName(snapshot),
        logStartOffset: next.offset,
        reason,
      });
      cleaned = true;
    }
    return cleaned;
  }

  /** Moves the log start up to snapshot `id`, deleting the records and snapshots below it. */
  private deleteBefore(id: SnapshotId): boolean {
    if (id.offset <= this.startOffset() || !this.snapshots.some((s) => compareIds(s, id) === 0)) return false;
    this.log.deleteRecordsBefore(id.offset);
    this.forgetSnapshotsBefore(this.startOffset());
    return true;
  }

  /** The SnapshotHeader's lastContainedLogTimestamp of snapshot `id`. */
  snapshotTimestamp(id: SnapshotId): number {
    const path = this.snapshotPath(id);
    const fd = openSync(path, 'r');
    try {
      const size = statSync(path).size;
      if (size < RECORD_BATCH_HEADER_SIZE) throw new Error(`${path}: torn batch at byte 0`);
      const length = readExactly(fd, BATCH_LENGTH_OFFSET, 4, path).readInt32BE(0);
      if (LOG_OVERHEAD + length > size) throw new Error(`${path}: torn batch at byte 0`);
      const batch = readExactly(fd, 0, LOG_OVERHEAD + length, path);
      for (const r of decodeRecords(batch)) {
        const c = decodeControlRecord(r);
        if (c.kind === 'snapshotHeader') return c.lastContainedLogTimestamp;
      }
      throw new Error(`${path}: the snapshot does not begin with a SnapshotHeader record`);
    } finally {
      closeSync(fd);
    }
  }

  // ------------------------------------------------------------------ snapshot helpers

  private snapshotPath(id: SnapshotId): string {
    return join(this.dir, snapshotFileName(id));
  }

  private addSnapshot(id: SnapshotId): void {
    if (!this.snapshots.some((s) => compareIds(s, id) === 0)) {
      this.snapshots.push(id);
      this.snapshots.sort(compareIds);
    }
  }

  /** Empties the log to start at snapshot `id`'s end, dropping older snapshots. */
  private restartAt(id: SnapshotId): void {
    this.log.truncateFullyAndStartAt(id.offset);
    this.noteTruncation();
    this.forgetSnapshotsBefore(id.offset);
  }

  private forgetSnapshotsBefore(offset: number): void {
    const older = this.snapshots.filter((s) => s.offset < offset);
    if (older.length === 0) return;
    this.snapshots = this.snapshots.filter((s) => s.offset >= offset);
    // Renamed first, as Kafka marks them, so a crash in between leaves no complete-looking file.
    for (const s of older) {
      const deleted = join(this.dir, snapshotFileName(s, DELETED_SNAPSHOT_SUFFIX));
      renameSync(this.snapshotPath(s), deleted);
      rmSync(deleted, { force: true });
    }
    fsyncDir(this.dir);
  }

  private downloadOf(id: SnapshotId): SnapshotDownload {
    const d = this.download;
    if (d === null || compareIds(d.id, id) !== 0) {
      throw new Error(`no download of snapshot ${snapshotFileName(id)} in progress`);
    }
    return d;
  }

  private dropDownload(): void {
    const d = this.download;
    if (d === null) return;
    this.download = null;
    closeSync(d.fd);
    rmSync(d.path, { force: true });
  }
}

function compareIds(a: SnapshotId, b: SnapshotId): number {
  return a.offset - b.offset || a.epoch - b.epoch;
}

/** Adds the Raft control records of a control batch (bytes of exactly one batch) to `out`. */
function collectControl(batch: Buffer, out: ControlRecordAt[]): void {
  for (const r of decodeRecords(batch)) {
    const c = decodeControlRecord(r);
    if (c.kind === 'raft') out.push({ offset: r.offset, record: c.record });
  }
}

/** Calls `visit` with each batch of the snapshot file (bytes of one whole batch), in order. */
function scanSnapshot(path: string, visit: (batch: Buffer, index: number) => void): number {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    let pos = 0;
    let index = 0;
    while (pos < size) {
      if (size - pos < RECORD_BATCH_HEADER_SIZE) throw new Error(`${path}: torn batch at byte ${pos}`);
      const length = readExactly(fd, pos + BATCH_LENGTH_OFFSET, 4, path).readInt32BE(0);
      const batchSize = LOG_OVERHEAD + length;
      if (length < RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD || pos + batchSize > size) {
        throw new Error(`${path}: torn batch at byte ${pos}`);
      }
      visit(readExactly(fd, pos, batchSize, path), index++);
      pos += batchSize;
    }
    return index;
  } finally {
    closeSync(fd);
  }
}

/** Throws unless the snapshot file is intact batches from a SnapshotHeader to a SnapshotFooter. */
function checkSnapshotFile(path: string): void {
  /** What the first and the last batch hold: 'data' or the kinds of their control records. */
  const seen = { first: '', last: '' };
  const count = scanSnapshot(path, (batch, index) => {
    const v = validateBatch(batch, 0, batch.length, { origin: 'replication' });
    if (!v.ok) throw new Error(`${path}: batch ${index} is corrupt: ${v.reason}`);
    const kinds = isControl(v.header.attributes)
      ? decodeRecords(batch)
          .map((r) => decodeControlRecord(r).kind)
          .join(',')
      : 'data';
    if (index === 0) seen.first = kinds;
    seen.last = kinds;
  });
  if (count === 0) throw new Error(`${path}: the snapshot is empty`);
  if (!seen.first.startsWith('snapshotHeader')) {
    throw new Error(`${path}: the snapshot does not begin with a SnapshotHeader record`);
  }
  if (!seen.last.endsWith('snapshotFooter')) {
    throw new Error(`${path}: the snapshot does not end with a SnapshotFooter record`);
  }
}
