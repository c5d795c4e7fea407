/**
 * Writes one snapshot file as Kafka's RecordsSnapshotWriter lays it out: a control batch with
 * the SnapshotHeader record and the Raft control records of the snapshot's point (KRaftVersion,
 * Voters), the state machine's records in data batches, a control batch with the SnapshotFooter
 * — every batch in the snapshot's epoch, offsets counted from 0 within the file.
 *
 * Batches go to a temporary `.checkpoint.part` file as they are appended, each append awaiting
 * its write, so a large state machine is written in pieces without holding the event loop.
 * `freeze()` adds the footer, syncs the file and hands it to the log, which names it (or drops
 * it when the log has moved past it meanwhile). A crash at any point leaves at most a `.part`
 * file, which the log removes when it opens.
 */
import type { FileHandle } from 'node:fs/promises';
import { open, rm } from 'node:fs/promises';
import { buildRecordBatch, type RecordInput } from '../protocol/records/batch-builder.js';
import { controlRecordInput, snapshotFooterInput, snapshotHeaderInput } from './control-records.js';
import type { ControlRecord, SnapshotId } from './types.js';

/** A snapshot's data batches are cut at about this size (Kafka's KafkaRaftClient.MAX_BATCH_SIZE_BYTES). */
export const SNAPSHOT_BATCH_BYTES = 8 * 1024 * 1024;

export interface SnapshotHeader {
  /** The append time of the last batch the snapshot covers (retention by time reads it). */
  readonly lastContainedLogTimestamp: number;
  /** The KRaftVersion and Voters records in force at the snapshot's point. */
  readonly control: readonly ControlRecord[];
}

/** Names a frozen snapshot file: resolves false when it was dropped instead (the log moved on). */
export type PublishSnapshot = (id: SnapshotId, partPath: string) => Promise<boolean>;

export class SnapshotWriter {
  /** The offset within the snapshot of the next record. */
  private nextOffset = 0;
  private position = 0;
  private state: 'open' | 'frozen' | 'aborted' = 'open';
  /** Appends run one after another even if a caller does not await them. */
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    readonly id: SnapshotId,
    private readonly path: string,
    private readonly file: FileHandle,
    private readonly now: () => number,
    private readonly publish: PublishSnapshot,
  ) {}

  /** Creates the `.part` file at `path` and writes the header batch. */
  static async create(
    id: SnapshotId,
    path: string,
    header: SnapshotHeader,
    now: () => number,
    publish: PublishSnapshot,
  ): Promise<SnapshotWriter> {
    const file = await open(path, 'wx', 0o644);
    const writer = new SnapshotWriter(id, path, file, now, publish);
    const t = now();
    try {
      await writer.write([
        writer.batch(
          [
            snapshotHeaderInput(header.lastContainedLogTimestamp, t),
            ...header.control.map((c) => controlRecordInput(c, t)),
          ],
          true,
        ),
      ]);
    } catch (err) {
      await writer.abort();
      throw err;
    }
    return writer;
  }

  /** Bytes written so far. */
  get sizeInBytes(): number {
    return this.position;
  }

  /** Appends state machine records (one or more data batches). */
  append(values: readonly Buffer[]): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error(`snapshot writer ${this.state}`));
    if (values.length === 0) return this.chain;
    const t = this.now();
    const batches: Buffer[] = [];
    let pending: RecordInput[] = [];
    let pendingBytes = 0;
    for (const value of values) {
      if (pending.length > 0 && pendingBytes + value.length > SNAPSHOT_BATCH_BYTES) {
        batches.push(this.batch(pending, false));
        pending = [];
        pendingBytes = 0;
      }
      pending.push({ value, timestamp: t });
      pendingBytes += value.length;
    }
    if (pending.length > 0) batches.push(this.batch(pending, false));
    return this.write(batches);
  }

  /**
   * Writes the footer, makes the file durable and hands it to the log. Resolves true once the
   * snapshot is named, false when the log dropped it (it no longer holds the snapshot's point).
   */
  async freeze(): Promise<boolean> {
    if (this.state !== 'open') throw new Error(`snapshot writer ${this.state}`);
    await this.write([this.batch([snapshotFooterInput(this.now())], true)]);
    this.state = 'frozen';
    try {
      await this.file.sync();
    } finally {
      await this.file.close();
    }
    return this.publish(this.id, this.path);
  }

  /** Drops the partial file; a no-op once frozen or aborted. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.chain.catch(() => undefined);
    await this.file.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }

  private batch(records: RecordInput[], control: boolean): Buffer {
    const b = buildRecordBatch({ baseOffset: this.nextOffset, records, control, partitionLeaderEpoch: this.id.epoch });
    this.nextOffset += records.length;
    return b;
  }

  private write(batches: readonly Buffer[]): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.state !== 'open') throw new Error(`snapshot writer ${this.state}`);
      let bytes = 0;
      for (const b of batches) bytes += b.length;
      const at = this.position;
      this.position += bytes;
      const { bytesWritten } = await this.file.writev(batches as Buffer[], at);
      if (bytesWritten !== bytes) throw new Error(`${this.path}: wrote ${bytesWritten} of ${bytes} bytes`);
    };
    this.chain = this.chain.then(run);
    return this.chain;
  }
}
