import { parseEndTxnMarkerBatch } from '../protocol/records/control-record.js';
import {
  type BatchHeader,
  isControl,
  isTransactional,
  readBatchHeader,
  splitBatches,
} from '../protocol/records/record-batch.js';
import type { AbortedTxn } from '../storage/txn-index.js';
import { type CompletedTxn, type ProducerBatch, ProducerStateManager } from './producer-state.js';
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
  /** The aborted-transaction index (src/storage/txn-index.ts), when the log keeps one. */
  appendAbortedTxn?(e: AbortedTxn): void;
  collectAbortedTxns?(fetchOffset: number, upperBoundOffset: number): AbortedTxn[];
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

/** The producer fields of a v2 batch header as the producer-state checks read them. */
export function producerBatchOf(h: BatchHeader): ProducerBatch {
  return {
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    lastOffsetDelta: h.lastOffsetDelta,
    isTransactional: isTransactional(h.attributes),
    isControl: isControl(h.attributes),
  };
}

/** Producer ids expire after this long without writes unless the broker says otherwise (Kafka's default). */
const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;

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

  private producers: ProducerStateManager | null = null;
  private producersLoading: Promise<ProducerStateManager> | null = null;
  producerIdExpirationMs = DEFAULT_PRODUCER_ID_EXPIRATION_MS;

  /**
   * The partition's producer state, rebuilt from the log's batch headers the first time it
   * is needed (only partitions idempotent or transactional producers write to pay for it).
   */
  producerState(): ProducerStateManager | Promise<ProducerStateManager> {
    if (this.producers !== null) return this.producers;
    if (this.producersLoading === null) {
      this.producersLoading = this.rebuildProducerState().then((s) => {
        this.producers = s;
        this.producersLoading = null;
        return s;
      });
    }
    return this.producersLoading;
  }

  private async rebuildProducerState(): Promise<ProducerStateManager> {
    const state = new ProducerStateManager(this.producerIdExpirationMs);
    let offset = this.log.logStartOffset;
    const end = this.log.logEndOffset;
    while (offset < end) {
      const read = await this.log.read(offset, 1024 * 1024, { minOneBatch: true });
      if (read.buffers.length === 0) break;
      let next = offset;
      for (const buf of read.buffers) {
        for (const span of splitBatches(buf)) {
          const h = readBatchHeader(buf, span.pos);
          const last = h.baseOffset + h.lastOffsetDelta;
          next = Math.max(next, last + 1);
          if (h.producerId < 0n || last < offset) continue;
          let control: { commit: boolean; coordinatorEpoch: number } | undefined;
          if (isControl(h.attributes)) {
            const marker = parseEndTxnMarkerBatch(buf.subarray(span.pos, span.pos + span.size));
            if (marker === null) continue;
            control = { commit: marker.commit, coordinatorEpoch: marker.coordinatorEpoch };
          }
          const done = state.onAppend(producerBatchOf(h), h.baseOffset, last, h.maxTimestamp, control);
          // An abort whose index entry a crash lost is indexed again.
          if (done?.aborted === true) this.log.appendAbortedTxn?.({ ...done, lastStableOffset: done.firstOffset });
        }
      }
      if (next <= offset) break;
      offset = next;
    }
    return state;
  }

  get highWatermark(): number {
    return this.log.highWatermark;
  }

  /**
   * Last stable offset: the first offset of the oldest open transaction, else the high
   * watermark. Exact once the producer state is loaded (`producerState()`); read_committed
   * readers load it first.
   */
  get lastStableOffset(): number {
    const hw = this.log.highWatermark;
    const unstable = this.producers?.firstUnstableOffset() ?? null;
    return unstable === null ? hw : Math.min(unstable, hw);
  }

  /** After a marker's append: an aborted transaction goes to the aborted-transaction index. */
  onTxnCompleted(done: CompletedTxn | null): void {
    if (done === null || !done.aborted) return;
    this.log.appendAbortedTxn?.({
      producerId: done.producerId,
      firstOffset: done.firstOffset,
      lastOffset: done.lastOffset,
      lastStableOffset: this.lastStableOffset,
    });
  }

  /** The aborted transactions overlapping [fetchOffset, upperBoundOffset), for read_committed fetches. */
  abortedTransactions(fetchOffset: number, upperBoundOffset: number): AbortedTxn[] {
    return this.log.collectAbortedTxns?.(fetchOffset, upperBoundOffset) ?? [];
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
