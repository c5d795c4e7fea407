/**
 * One partition hosted by this broker: its log, its leader epoch, its high watermark, and the
 * fetches waiting for data (long polling). With one broker every replica is the leader and the
 * high watermark follows the log end; the replication issue adds followers and the ISR here.
 */

/** What a partition needs from its storage log (src/storage/partition-log.ts). */
export interface PartitionLogPort {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  highWatermark: number;
  append(
    batches: Buffer,
    opts: { assignOffsets: boolean; leaderEpoch: number; logAppendTime?: number },
  ):
    | { firstOffset: number; lastOffset: number; logAppendTime: number }
    | Promise<{ firstOffset: number; lastOffset: number; logAppendTime: number }>;
  read(
    fetchOffset: number,
    maxBytes: number,
    opts: { maxOffset?: number; minOneBatch: boolean },
  ): ReadResult | Promise<ReadResult>;
  offsetForTimestamp(
    ts: number,
  ): { offset: number; timestamp: number } | null | Promise<{ offset: number; timestamp: number } | null>;
  maxTimestampOffset():
    | { offset: number; timestamp: number }
    | null
    | Promise<{ offset: number; timestamp: number } | null>;
  deleteRecordsBefore(offset: number): void | Promise<void>;
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number };
  readonly sizeInBytes: number;
}

export interface ReadResult {
  /** Whole stored batches, as bytes (no re-encoding). */
  readonly buffers: Buffer[];
  readonly bytes: number;
}

export interface PartitionKey {
  readonly topic: string;
  readonly partition: number;
}

type Waiter = () => void;

export class Partition {
  leaderEpoch: number;
  private waiters = new Set<Waiter>();

  constructor(
    readonly topic: string,
    readonly topicId: string,
    readonly partition: number,
    readonly log: PartitionLogPort,
    leaderEpoch: number,
    public leaderId: number,
  ) {
    this.leaderEpoch = leaderEpoch;
  }

  get highWatermark(): number {
    return this.log.highWatermark;
  }

  /** Last stable offset: equal to the high watermark until transactions exist. */
  get lastStableOffset(): number {
    return this.log.highWatermark;
  }

  /** Registers a callback for the next append; returns an unregister function. */
  onAppend(w: Waiter): () => void {
    this.waiters.add(w);
    return () => this.waiters.delete(w);
  }

  notifyAppend(): void {
    if (this.waiters.size === 0) return;
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }
}
