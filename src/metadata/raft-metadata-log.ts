// The metadata log replicated by KRaft: the controller (on the Raft leader) appends batches of
// metadata records through Raft and answers once they are committed; every node applies the
// committed batches, in order, to its image and tells the listeners what changed. Every node
// also snapshots its image now and then (KIP-630), starts from its latest snapshot, and takes
// the leader's snapshot as its whole image when it is too far behind to fetch the log.

import { logger } from '../observability/logger.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { decodeRecords, type KafkaRecord } from '../protocol/records/record.js';
import { isControl, LOG_OVERHEAD, maxTimestampAt, partitionLeaderEpochAt } from '../protocol/records/record-batch.js';
import type { RaftNode, RaftNodeOptions } from '../raft/raft-node.js';
import { RaftNode as RaftNodeClass } from '../raft/raft-node.js';
import type { AppendResult, RaftRole, SnapshotId } from '../raft/types.js';
import { type Clock, systemClock } from '../runtime/clock.js';
import { clearTimer, setTimer } from '../runtime/timers.js';
import { applyBatch } from './apply-records.js';
import { EMPTY_IMAGE, type MetadataImage } from './image.js';
import { ImageBuilder } from './image-builder.js';
import { readImageSnapshot, writeImageSnapshot } from './image-snapshot.js';
import type { MetadataDelta } from './metadata-delta.js';
import { applyMetadataRecord, decodeMetadataRecord, encodeMetadataRecord, type MetadataRecord } from './records.js';
import {
  DEFAULT_SNAPSHOT_GENERATOR_OPTIONS,
  SnapshotGenerator,
  type SnapshotGeneratorOptions,
} from './snapshot-generator.js';

const log = logger('metadata');

/** The controller operation reached a node that is not (or no longer) the active controller. */
export class NotControllerError extends Error {
  override readonly name = 'NotControllerError';
  readonly errorCode = ErrorCode.NOT_CONTROLLER;
}

/**
 * Whether a node may act as the controller: it leads, the high watermark has passed the first
 * record of its epoch, and it has applied everything committed. A new leader's log may end with
 * records of earlier epochs that its high watermark (learnt as a follower) does not cover yet:
 * they commit with its epoch's first record (KIP-595). Deciding before they are applied decides
 * on an image without them: a topic created in the old epoch is created again under another
 * id, and every node then stops on the second TopicRecord. Kafka's Raft client likewise tells
 * the controller that it leads only once it has read up to the epoch start offset.
 */
export function mayActAsController(
  core: { readonly role: RaftRole; readonly highWatermark: number; readonly epochStartOffset: number | undefined },
  applied: number,
): boolean {
  const start = core.epochStartOffset;
  return core.role === 'leader' && start !== undefined && core.highWatermark > start && applied >= core.highWatermark;
}

interface CommitWaiter {
  readonly lastOffset: number;
  readonly epoch: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** Bytes read from the log per step while applying committed batches. */
const APPLY_READ_BYTES = 1024 * 1024;

/**
 * Records encoded, or decoded and applied, between two yields to the event loop. A batch of
 * more is applied in slices (applyInSlices), and a commit of more is encoded in slices: one
 * CreateTopics of 10,000 partitions writes one batch of 10,000 records, whose decoding and
 * applying would otherwise hold every other request (and the quorum's own fetches) for a
 * hundred milliseconds and more.
 */
const SLICE_RECORDS = 1000;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Called when the whole image is replaced by a snapshot's: views are rebuilt from `image`. */
export type ImageReplacedListener = (image: MetadataImage, previous: MetadataImage) => void;

export class RaftMetadataLog {
  private current: MetadataImage = EMPTY_IMAGE;
  /** The next log offset to apply (everything below it is in `current`). */
  private applied = 0;
  /** The epoch and append time of the batch that ends at `applied` (what a snapshot there is named by). */
  private appliedEpoch = 0;
  private appliedTimestamp = -1;
  /** Whether a commit was heard since start-up (an image loaded from a snapshot may be behind). */
  private commitSeen = false;
  private readonly replacedListeners: ImageReplacedListener[] = [];
  private snapshots: SnapshotGenerator | undefined;
  private clock: Clock = systemClock;
  private closing = false;
  private readonly listeners: Array<(delta: MetadataDelta) => void> = [];
  private readonly leaderListeners: Array<(leaderId: number | undefined, epoch: number) => void> = [];
  private waiters: CommitWaiter[] = [];
  private raftNode: RaftNode | undefined;
  private caughtUpWaiters: Array<() => void> = [];
  /** Callers waiting for the applied offset to reach an offset. */
  private appliedWaiters: Array<{ readonly offset: number; readonly resolve: () => void }> = [];
  private failed: Error | undefined;
  /** A large batch is being applied in slices: applying waits, up to `slicedHighWatermark`, until it is in. */
  private slicing = false;
  private slicedHighWatermark = 0;
  /** Bumped when a snapshot replaces the image: a batch being applied in slices to the old one is dropped. */
  private imageGeneration = 0;
  /** Resolves when the latest commit() has handed its batch to Raft (commits append in call order). */
  private appendTurn: Promise<void> = Promise.resolve();

  private constructor(readonly clusterId: string) {}

  /**
   * Opens the Raft-replicated metadata log and loads its latest snapshot, if any, as the image
   * (the log after it is applied as it commits); `start()` joins the quorum.
   */
  static async open(
    options: Omit<RaftNodeOptions, 'listener'> & {
      onFatal?: (err: Error) => void;
      /** When to snapshot the image (Kafka's defaults when absent). */
      snapshots?: SnapshotGeneratorOptions;
    },
  ): Promise<RaftMetadataLog> {
    const m = new RaftMetadataLog(options.clusterId);
    m.raftNode = await RaftNodeClass.open({
      ...options,
      listener: {
        onCommit: (hw) => m.applyCommitted(hw),
        onRoleChange: (role, epoch, leaderId) => m.onRoleChange(role, epoch, leaderId),
        onTruncated: (offset) => {
          // The core never truncates below the high watermark; nothing applied is affected.
          if (offset < m.applied) m.fail(new Error(`metadata log truncated to ${offset} below applied ${m.applied}`));
        },
        onSnapshotLoaded: (id) => m.installSnapshot(id),
        onFatal: (err) => {
          m.fail(err);
          options.onFatal?.(err);
        },
      },
    });
    const clock = options.clock ?? systemClock;
    m.clock = clock;
    m.snapshots = new SnapshotGenerator(
      options.snapshots ?? DEFAULT_SNAPSHOT_GENERATOR_OPTIONS,
      () => clock.monotonic(),
      (reason) => m.writeSnapshot(reason),
    );
    const latest = m.raft.log.latestSnapshotId();
    if (latest !== undefined) {
      try {
        m.loadSnapshot(latest);
      } catch (err) {
        await m.raftNode.close();
        throw err;
      }
      log.info('loaded the metadata image from the latest snapshot', {
        snapshot: `${latest.offset}-${latest.epoch}`,
        topics: m.current.topicsByName.size,
        brokers: m.current.brokers.size,
      });
    }
    return m;
  }

  get raft(): RaftNode {
    return this.raftNode!;
  }

  start(): void {
    this.raft.start();
  }

  /** The committed image. */
  snapshot(): MetadataImage {
    return this.current;
  }

  /** The image the controller decides against: the committed one (operations wait for their commit). */
  image(): MetadataImage {
    return this.current;
  }

  /** The offset the next appended record gets (the leader's log end). */
  nextOffset(): number {
    return this.raft.log.endOffset();
  }

  onChange(listener: (delta: MetadataDelta) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Called when the image is replaced as a whole by a snapshot received from the leader (this
   * node was too far behind to fetch the log): no delta says what changed, so listeners rebuild
   * their views from the image. Deltas follow from there as usual.
   */
  onImageReplaced(listener: ImageReplacedListener): void {
    this.replacedListeners.push(listener);
  }

  /** Called when the leader (active controller) changes; undefined while none is known. */
  onLeaderChange(listener: (leaderId: number | undefined, epoch: number) => void): void {
    this.leaderListeners.push(listener);
  }

  /** The active controller: the Raft leader, once known. */
  get controllerId(): number | undefined {
    return this.raft.core.leaderId;
  }

  /** Whether this node may act as the controller now (see `mayActAsController`). */
  get isActiveController(): boolean {
    return mayActAsController(this.raft.core, this.applied);
  }

  /** The Raft epoch this node is the active controller in; undefined when it is not. */
  activeEpoch(): number | undefined {
    return this.isActiveController ? this.raft.core.epoch : undefined;
  }

  /** Resolves once this node has heard of a commit since start-up and applied everything committed. */
  caughtUp(): Promise<void> {
    if (this.commitSeen && this.applied >= this.raft.core.highWatermark) return Promise.resolve();
    return new Promise((resolve) => this.caughtUpWaiters.push(resolve));
  }

  /** The next offset to apply: every record below it is in the image. */
  get appliedOffset(): number {
    return this.applied;
  }

  /**
   * Resolves once every record below `offset` is applied here, or after `timeoutMs` (the
   * caller goes on either way: it only wants to see a change made elsewhere if it can).
   */
  waitApplied(offset: number, timeoutMs: number): Promise<void> {
    if (this.applied >= offset || this.failed !== undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter = {
        offset,
        resolve: () => {
          clearTimer(timer);
          resolve();
        },
      };
      const timer = setTimer(() => {
        this.appliedWaiters = this.appliedWaiters.filter((w) => w !== waiter);
        resolve();
      }, timeoutMs);
      timer.unref();
      this.appliedWaiters.push(waiter);
    });
  }

  /**
   * Appends records as one batch and resolves once they are committed and applied here.
   * Rejects with NotControllerError when this node does not lead, or stops leading first.
   */
  async commit(records: readonly MetadataRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (this.failed !== undefined) throw this.failed;
    if (!this.isActiveController) throw new NotControllerError(`node ${this.raft.nodeId} is not the active controller`);
    // Appended in the order of the calls, whichever is encoded first.
    const turn = this.appendTurn;
    let release!: () => void;
    this.appendTurn = new Promise<void>((resolve) => {
      release = resolve;
    });
    let appended: Promise<AppendResult>;
    try {
      const values: Buffer[] = [];
      for (let i = 0; i < records.length; i++) {
        values.push(encodeMetadataRecord(records[i] as MetadataRecord));
        if ((i + 1) % SLICE_RECORDS === 0 && i + 1 < records.length) await nextTurn();
      }
      await turn;
      if (this.failed !== undefined) throw this.failed;
      if (!this.isActiveController) {
        throw new NotControllerError(`node ${this.raft.nodeId} is no longer the active controller`);
      }
      appended = this.raft.append(values);
    } finally {
      release();
    }
    const result = await appended;
    if (!result.ok) throw new NotControllerError(`append refused: ${result.reason}`);
    if (this.applied > result.lastOffset) return;
    await new Promise<void>((resolve, reject) => {
      this.waiters.push({ lastOffset: result.lastOffset, epoch: result.epoch, resolve, reject });
    });
  }

  private onRoleChange(role: RaftRole, epoch: number, leaderId: number | undefined): void {
    if (role !== 'leader' && this.waiters.length > 0) {
      // Appends of a leadership that ended may or may not commit later: their callers hear
      // NOT_CONTROLLER and retry, as with Kafka's controller.
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w.reject(new NotControllerError(`leadership lost in epoch ${w.epoch}`));
    }
    for (const l of this.leaderListeners) l(leaderId, epoch);
  }

  /** Applies every committed batch below `highWatermark`, in order. */
  private applyCommitted(highWatermark: number): void {
    if (this.failed !== undefined) return;
    this.commitSeen = true;
    if (this.slicing) {
      if (highWatermark > this.slicedHighWatermark) this.slicedHighWatermark = highWatermark;
      return;
    }
    const raftLog = this.raft.log;
    // The log restarted past what is applied: a snapshot from the leader was just installed in
    // the log, and `installSnapshot` follows with it.
    if (this.applied < raftLog.startOffset()) return;
    let appliedBytes = 0;
    while (this.applied < highWatermark) {
      const buf = raftLog.read(this.applied, APPLY_READ_BYTES);
      if (buf.length === 0) break;
      let pos = 0;
      let progressed = false;
      while (pos + LOG_OVERHEAD <= buf.length) {
        const size = LOG_OVERHEAD + buf.readInt32BE(pos + 8);
        if (pos + size > buf.length) break;
        const batch = buf.subarray(pos, pos + size);
        pos += size;
        const base = Number(batch.readBigInt64BE(0));
        const last = base + batch.readInt32BE(23);
        if (last < this.applied) continue;
        if (last >= highWatermark) {
          pos = buf.length;
          break;
        }
        progressed = true;
        appliedBytes += size;
        if (isControl(batch.readInt16BE(21))) {
          this.advanceApplied(batch, last);
          continue;
        }
        const decoded = decodeRecords(batch);
        if (decoded.length > SLICE_RECORDS) {
          this.snapshots?.batchesApplied(appliedBytes);
          this.settleApplied(highWatermark);
          this.slicing = true;
          this.slicedHighWatermark = highWatermark;
          this.applyInSlices(batch, decoded, last).catch((err: unknown) =>
            this.fail(err instanceof Error ? err : new Error(String(err))),
          );
          return;
        }
        const records: MetadataRecord[] = [];
        for (const r of decoded) {
          if (r.value !== null) records.push(decodeMetadataRecord(r.value));
        }
        let next: { image: MetadataImage; delta: MetadataDelta };
        try {
          next = applyBatch(this.current, records, last);
        } catch (err) {
          this.fail(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        this.current = next.image;
        this.advanceApplied(batch, last);
        for (const l of this.listeners) l(next.delta);
      }
      if (!progressed) break;
    }
    this.snapshots?.batchesApplied(appliedBytes);
    this.settleApplied(highWatermark);
  }

  /**
   * One batch of many records, decoded and applied a slice at a time with a turn of the event
   * loop between slices. The records go into one ImageBuilder (so the cost stays linear in
   * their number), and the image changes only once all are in: readers never see part of a
   * batch. Meanwhile nothing else is applied (applyCommitted notes how far it may go, and
   * goes on from there when this is done), and this node does not act as the controller (it
   * has not applied everything committed). A snapshot that replaces the image meanwhile drops
   * this batch: the snapshot covers it.
   */
  private async applyInSlices(batch: Buffer, decoded: readonly KafkaRecord[], last: number): Promise<void> {
    const generation = this.imageGeneration;
    const builder = new ImageBuilder(this.current);
    for (let i = 0; i < decoded.length; i++) {
      const value = (decoded[i] as KafkaRecord).value;
      if (value !== null) applyMetadataRecord(builder, decodeMetadataRecord(value));
      if ((i + 1) % SLICE_RECORDS === 0 && i + 1 < decoded.length) {
        await nextTurn();
        if (generation !== this.imageGeneration || this.failed !== undefined || this.closing) return;
      }
    }
    const next = builder.finish(last);
    this.slicing = false;
    this.current = next.image;
    this.advanceApplied(batch, last);
    for (const l of this.listeners) l(next.delta);
    // The batches committed meanwhile, and the waiters.
    this.applyCommitted(this.slicedHighWatermark);
  }

  /** Resolves the commits, and the callers waiting for offsets, that what is applied now covers. */
  private settleApplied(highWatermark: number): void {
    // Control batches advance the applied offset without a new image; keep the image's offset.
    if (this.waiters.length > 0) {
      const keep: CommitWaiter[] = [];
      for (const w of this.waiters) {
        if (w.lastOffset < this.applied) w.resolve();
        else keep.push(w);
      }
      this.waiters = keep;
    }
    if (this.appliedWaiters.length > 0) {
      const due = this.appliedWaiters.filter((w) => w.offset <= this.applied);
      if (due.length > 0) {
        this.appliedWaiters = this.appliedWaiters.filter((w) => w.offset > this.applied);
        for (const w of due) w.resolve();
      }
    }
    if (this.caughtUpWaiters.length > 0 && this.applied >= highWatermark) {
      const waiters = this.caughtUpWaiters;
      this.caughtUpWaiters = [];
      for (const w of waiters) w();
    }
  }

  private advanceApplied(batch: Buffer, lastOffset: number): void {
    this.applied = lastOffset + 1;
    this.appliedEpoch = partitionLeaderEpochAt(batch, 0);
    this.appliedTimestamp = maxTimestampAt(batch, 0);
  }

  /** Makes snapshot `id` of the log the image (at start-up, before anything is applied). */
  private loadSnapshot(id: SnapshotId): void {
    const raftLog = this.raft.log;
    this.current = readImageSnapshot(raftLog, id);
    this.applied = id.offset;
    this.appliedEpoch = id.epoch;
    this.appliedTimestamp = raftLog.snapshotTimestamp(id);
    this.snapshots?.reset();
  }

  /**
   * The Raft core installed the leader's snapshot `id` (the log now starts at its end): the image
   * becomes the snapshot's, listeners rebuild from it, and applying goes on from there.
   */
  private installSnapshot(id: SnapshotId): void {
    if (this.failed !== undefined) return;
    // A batch being applied in slices to the image this replaces is dropped.
    this.imageGeneration++;
    this.slicing = false;
    const previous = this.current;
    try {
      this.loadSnapshot(id);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    log.info('replaced the metadata image with the leader’s snapshot', {
      snapshot: `${id.offset}-${id.epoch}`,
      previousOffset: previous.offset,
      topics: this.current.topicsByName.size,
      brokers: this.current.brokers.size,
    });
    for (const l of this.replacedListeners) l(this.current, previous);
    this.applyCommitted(this.raft.core.highWatermark);
  }

  /**
   * Writes a snapshot of the image as it is now, at the applied offset (a committed batch end),
   * unless the latest snapshot already covers it; then tells the core, which cleans the log.
   */
  private async writeSnapshot(reason: string): Promise<void> {
    const raftLog = this.raft.log;
    const id: SnapshotId = { offset: this.applied, epoch: this.appliedEpoch };
    const image = this.current;
    const latest = raftLog.latestSnapshotId();
    if (this.failed !== undefined || this.closing || id.offset === 0) return;
    if ((latest !== undefined && latest.offset >= id.offset) || id.offset < raftLog.startOffset()) return;
    const started = this.clock.monotonic();
    const writer = await this.raft.beginSnapshot(id, this.appliedTimestamp);
    const written = await writeImageSnapshot(writer, image, () => this.closing || this.failed !== undefined);
    if (written === undefined) return;
    log.info('wrote a metadata snapshot', {
      snapshot: `${id.offset}-${id.epoch}`,
      reason,
      records: written.records,
      bytes: written.bytes,
      ms: Math.round(this.clock.monotonic() - started),
    });
    this.raft.snapshotCreated(id);
  }

  private fail(err: Error): void {
    if (this.failed !== undefined) return;
    this.failed = err;
    log.error('metadata log stopped', { error: err.message });
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(err);
  }

  async close(): Promise<void> {
    this.closing = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(new NotControllerError('the metadata log is closing'));
    await this.snapshots?.close();
    await this.raftNode?.close();
  }
}
