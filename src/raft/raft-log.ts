import type { AppendInfo, ControlRecordAt, LogEntry, OffsetAndEpoch, SnapshotId } from './types.js';

/**
 * The log the Raft core replicates, as the core sees it (Kafka's `ReplicatedLog`). Reads and
 * appends act on the log as it stands in memory and page cache, at once; durability is separate:
 * the core asks for a `flush` output and counts nothing as durable before the `flushed` event.
 *
 * `R` is how a range of record batches travels between leader and follower: Kafka record batch
 * bytes for the real log, plain objects in the simulator. The core never looks inside; it asks
 * the log what it needs (sizes, control records).
 */
export interface RaftLog<R> {
  /**
   * The first offset still in the log: 0, or the end offset of a snapshot once the records it
   * covers are gone — the earliest snapshot kept (the core relies on this: the log start only
   * moves to a snapshot, never past the latest, and never past the high watermark).
   */
  startOffset(): number;
  /** The offset the next append gets. */
  endOffset(): number;
  /** The epoch of the last batch in the log, or of the latest snapshot when the log is empty past it. */
  lastFetchedEpoch(): number;
  /**
   * Kafka's `endOffsetForEpoch`: the end offset of the largest epoch ≤ `epoch` that the log
   * knows, with that epoch. An epoch the log has records of answers with the offset after its
   * last record; an epoch later than every batch answers with the log end; an epoch older than
   * every epoch in the log answers with the snapshot id when the log starts at a snapshot, else
   * with the requested epoch at the offset where the log's first epoch starts (Kafka's
   * LeaderEpochFileCache.endOffsetFor).
   */
  endOffsetForEpoch(epoch: number): OffsetAndEpoch;

  /** Appends entries as one batch written in `epoch`. */
  appendAsLeader(entries: readonly LogEntry[], epoch: number): AppendInfo;
  /** Appends batches fetched from the leader; returns the control records they held. */
  appendAsFollower(records: R): AppendInfo & { readonly control: readonly ControlRecordAt[] };
  /** Batches from `startOffset` on, at least one batch if any, about `maxBytes` in all. */
  read(startOffset: number, maxBytes: number): R;
  /** Whether a read came back with no batches. */
  isEmpty(records: R): boolean;
  /** Removes every record at or after `offset` (never below the high watermark). */
  truncateTo(offset: number): void;
  /**
   * The truncation KIP-595 prescribes for a diverging epoch: to the smaller of the leader's end
   * offset for that epoch and ours. Returns the new end offset.
   */
  truncateToEndOffset(divergence: OffsetAndEpoch): number;

  /** Every control record from the log start on, in offset order (replayed at start-up). */
  controlRecords(): readonly ControlRecordAt[];

  // Snapshots (KIP-630). A snapshot is written whole and durable before it is named here.
  latestSnapshotId(): SnapshotId | undefined;
  /** The oldest snapshot kept: when the log starts past 0, the one it starts at. */
  earliestSnapshotId(): SnapshotId | undefined;
  /** Control records held in the latest snapshot (its VotersRecord and KRaftVersionRecord). */
  latestSnapshotControlRecords(): readonly ControlRecordAt[];
  snapshotSize(id: SnapshotId): number;
  readSnapshot(id: SnapshotId, position: number, maxBytes: number): Buffer;
  /** Starts receiving a snapshot from the leader (discarding a partial one). */
  beginSnapshotDownload(id: SnapshotId): void;
  /** Appends a chunk of the snapshot being received at `position`. */
  writeSnapshotChunk(id: SnapshotId, position: number, bytes: Buffer): void;
  /**
   * Makes the received snapshot durable, then empties the log and restarts it at the snapshot's
   * end offset (Kafka's `truncateToLatestSnapshot`).
   */
  completeSnapshotDownload(id: SnapshotId): void;
  /**
   * Deletes old snapshots and the records below the next one as far as retention asks
   * (KafkaMetadataLog.maybeClean); the latest snapshot and the log after it stay. Returns
   * whether anything was deleted.
   */
  maybeClean(): boolean;
}
