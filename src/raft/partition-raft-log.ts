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
import { open, rename } from 'node:fs/promises';
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
import {
  controlRecordInput,
  decodeControlRecord,
  snapshotFooterInput,
  snapshotHeaderInput,
} from './control-records.js';
import type { RaftLog } from './raft-log.js';
import type { AppendInfo, ControlRecord, ControlRecordAt, LogEntry, OffsetAndEpoch, SnapshotId } from './types.js';

const log = logger('raft');

export const SNAPSHOT_SUFFIX = '.checkpoint';
export const PARTIAL_SNAPSHOT_SUFFIX = '.checkpoint.part';
export const DELETED_SNAPSHOT_SUFFIX = '.checkpoint.deleted';
const SNAPSHOT_NAME = /^(\d{20})-(\d{10})\.checkpoint(\.part|\.deleted)?$/;
/** Bytes of the log read at a time when scanning it for control records. */
const SCAN_READ_BYTES = 1024 * 1024;
/** A snapshot's data batches are cut at about this size (Kafka's KafkaRaftClient.MAX_BATCH_SIZE_BYTES). */
const SNAPSHOT_BATCH_BYTES = 8 * 1024 * 1024;

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

export interface PartitionRaftLogOptions extends PartitionLogOptions {
  readonly config?: LogConfig;
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
  ) {}

  /**
   * Opens (or creates) the metadata log in `dir`. As KafkaMetadataLog on start-up: partial and
   * deleted snapshots and snapshots below the log start are removed; a log start above 0 with
   * no snapshot reaching it is an error; a snapshot past the log's end (a download completed
   * just before a crash) empties the log and restarts it there.
   */
  static open(dir: string, options: PartitionRaftLogOptions = {}): PartitionRaftLog {
    const partitionLog = PartitionLog.open(dir, options.config ?? metadataLogConfig(), options);
    const raftLog = new PartitionRaftLog(dir, partitionLog, options.now ?? Date.now);
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
      if (parsed === undefined) continue;
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
   * Writes a snapshot of the state machine as Kafka's RecordsSnapshotWriter lays one out: a
   * control batch with the SnapshotHeader record and `control` (the KRaftVersion and Voters
   * records), the `values` in data batches, a control batch with the SnapshotFooter — all in
   * `id.epoch`, offsets from 0 — then makes it durable (`.part` file synced, renamed, directory
   * synced, off the event loop) and names it. `id` must be a point the log holds.
   */
  async createSnapshot(
    id: SnapshotId,
    contents: { lastContainedLogTimestamp: number; control: readonly ControlRecord[]; values: readonly Buffer[] },
  ): Promise<void> {
    if (id.offset < this.startOffset() || id.offset > this.endOffset()) {
      throw new RangeError(
        `snapshot ${snapshotFileName(id)} outside the log [${this.startOffset()}, ${this.endOffset()}]`,
      );
    }
    if (id.offset > 0) {
      const at = this.endOffsetForEpoch(id.epoch);
      if (at.epoch !== id.epoch || at.offset < id.offset) {
        throw new RangeError(
          `snapshot ${snapshotFileName(id)} does not match the log's epochs (${at.epoch}@${at.offset})`,
        );
      }
    }
    const now = this.now();
    const batches: Buffer[] = [];
    let next = 0;
    const push = (records: RecordInput[], control: boolean): void => {
      const b = buildRecordBatch({ baseOffset: next, records, control, partitionLeaderEpoch: id.epoch });
      next += records.length;
      batches.push(b);
    };
    push(
      [
        snapshotHeaderInput(contents.lastContainedLogTimestamp, now),
        ...contents.control.map((c) => controlRecordInput(c, now)),
      ],
      true,
    );
    let pending: RecordInput[] = [];
    let pendingBytes = 0;
    for (const value of contents.values) {
      if (pending.length > 0 && pendingBytes + value.length > SNAPSHOT_BATCH_BYTES) {
        push(pending, false);
        pending = [];
        pendingBytes = 0;
      }
      pending.push({ value, timestamp: now });
      pendingBytes += value.length;
    }
    if (pending.length > 0) push(pending, false);
    push([snapshotFooterInput(now)], true);

    const part = join(this.dir, snapshotFileName(id, PARTIAL_SNAPSHOT_SUFFIX));
    const fh = await open(part, 'w', 0o644);
    try {
      await fh.writev(batches);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(part, this.snapshotPath(id));
    await fsyncDirOffLoop(this.dir);
    this.addSnapshot(id);
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

  deleteBeforeSnapshot(): void {
    const latest = this.latestSnapshotId();
    if (latest === undefined || latest.offset <= this.startOffset()) return;
    this.log.deleteRecordsBefore(latest.offset);
    this.forgetSnapshotsBefore(this.startOffset());
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
