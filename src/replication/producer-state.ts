/**
 * What a partition remembers about each producer that wrote to it (KIP-98): the producer's
 * epoch, the sequence ranges and offsets of its last five batches (so a retried batch is
 * answered with its original offsets instead of being written twice), its last write time
 * (for producer.id.expiration.ms), and the first offset of its open transaction (which holds
 * back the last stable offset).
 *
 * Pure bookkeeping: the log calls `check` before an append, `onAppend` after it, and rebuilds
 * the state after a restart either from a snapshot or by replaying batch headers.
 */

import { ErrorCode } from '../protocol/error-codes.js';
import { crc32c } from '../protocol/records/crc32c.js';

/** Kafka keeps this many batches per producer for duplicate detection. */
export const NUM_BATCHES_TO_RETAIN = 5;
export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
const INT32_MAX = 2147483647;

export interface BatchMetadata {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly timestamp: number;
}

export interface ProducerEntry {
  readonly producerId: bigint;
  producerEpoch: number;
  /** Oldest first, at most NUM_BATCHES_TO_RETAIN. */
  batches: BatchMetadata[];
  lastTimestamp: number;
  /** Epoch of the transaction coordinator that last wrote a marker for this producer. */
  coordinatorEpoch: number;
  /** First offset of the producer's open transaction here, or null. */
  currentTxnFirstOffset: number | null;
}

/** The batch header fields the checks need. */
export interface ProducerBatch {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  /** Number of offsets the batch spans minus one (lastOffsetDelta). */
  readonly lastOffsetDelta: number;
  readonly isTransactional: boolean;
  readonly isControl: boolean;
}

export type CheckResult =
  | { readonly kind: 'append' }
  | {
      readonly kind: 'duplicate';
      readonly firstOffset: number;
      readonly lastOffset: number;
      readonly timestamp: number;
    }
  | { readonly kind: 'error'; readonly errorCode: number; readonly message: string };

/** A transaction that a control batch ended on this partition. */
export interface CompletedTxn {
  readonly producerId: bigint;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly aborted: boolean;
}

export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  if (baseSequence === NO_SEQUENCE) return NO_SEQUENCE;
  const last = baseSequence + lastOffsetDelta;
  return last > INT32_MAX ? last - INT32_MAX - 1 : last;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

export class ProducerStateManager {
  private readonly producers = new Map<bigint, ProducerEntry>();
  /** Open transactions by first offset (for the last stable offset). */
  private readonly ongoing = new Map<bigint, number>();

  constructor(private producerIdExpirationMs: number) {}

  setExpiration(ms: number): void {
    this.producerIdExpirationMs = ms;
  }

  get size(): number {
    return this.producers.size;
  }

  entry(producerId: bigint): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  entries(): IterableIterator<ProducerEntry> {
    return this.producers.values();
  }

  /**
   * Checks a batch a client sent (Kafka's rules for the leader): a stale epoch is refused, a
   * batch already written is reported as a duplicate with its offsets, and a sequence gap is
   * OUT_OF_ORDER_SEQUENCE_NUMBER. Batches without a producer id always pass. For a COMMIT/ABORT
   * marker `markerCoordinatorEpoch` is the epoch of the coordinator that sent it.
   */
  check(b: ProducerBatch, markerCoordinatorEpoch?: number): CheckResult {
    if (b.producerId < 0n) return { kind: 'append' };
    const e = this.producers.get(b.producerId);
    if (e === undefined) return { kind: 'append' };
    if (b.producerEpoch < e.producerEpoch) {
      return {
        kind: 'error',
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `Epoch of producer ${b.producerId} is ${b.producerEpoch}, which is smaller than the last seen epoch ${e.producerEpoch}`,
      };
    }
    // Kafka's checkCoordinatorEpoch: a marker from a coordinator older than the one that wrote
    // this producer's last marker comes from a stale coordinator and is fenced.
    if (markerCoordinatorEpoch !== undefined && e.coordinatorEpoch > markerCoordinatorEpoch) {
      return {
        kind: 'error',
        errorCode: ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        message: `Coordinator epoch ${markerCoordinatorEpoch} of the marker for producer ${b.producerId} is older than the last seen ${e.coordinatorEpoch}`,
      };
    }
    if (b.isControl) return { kind: 'append' };
    const lastSeq = lastSequenceOf(b.baseSequence, b.lastOffsetDelta);
    if (b.producerEpoch === e.producerEpoch) {
      for (const m of e.batches) {
        if (m.firstSeq === b.baseSequence && m.lastSeq === lastSeq) {
          return { kind: 'duplicate', firstOffset: m.firstOffset, lastOffset: m.lastOffset, timestamp: m.timestamp };
        }
      }
    }
    if (b.producerEpoch !== e.producerEpoch) {
      if (b.baseSequence !== 0 && e.producerEpoch !== NO_PRODUCER_EPOCH) {
        return {
          kind: 'error',
          errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: `Invalid sequence number for new epoch of producer ${b.producerId}: ${b.producerEpoch} (request epoch), ${b.baseSequence} (seq. number), ${e.producerEpoch} (current producer epoch)`,
        };
      }
      return { kind: 'append' };
    }
    const current = e.batches.length > 0 ? (e.batches[e.batches.length - 1] as BatchMetadata).lastSeq : NO_SEQUENCE;
    if (current === NO_SEQUENCE) {
      if (b.baseSequence !== 0) {
        return {
          kind: 'error',
          errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: `Out of order sequence number for producer ${b.producerId} at epoch ${b.producerEpoch}: ${b.baseSequence} (incoming seq. number), expected 0`,
        };
      }
      return { kind: 'append' };
    }
    if (!inSequence(current, b.baseSequence)) {
      return {
        kind: 'error',
        errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `Out of order sequence number for producer ${b.producerId} at offset ${e.batches[e.batches.length - 1]?.lastOffset} in partition: ${b.baseSequence} (incoming seq. number), ${current} (current end sequence number)`,
      };
    }
    return { kind: 'append' };
  }

  /**
   * Records a batch now in the log at `firstOffset..lastOffset` (also used when replaying the
   * log). Returns the transaction a control batch completed, if any.
   */
  onAppend(
    b: ProducerBatch,
    firstOffset: number,
    lastOffset: number,
    maxTimestamp: number,
    control?: { readonly commit: boolean; readonly coordinatorEpoch: number },
  ): CompletedTxn | null {
    if (b.producerId < 0n) return null;
    let e = this.producers.get(b.producerId);
    if (e === undefined) {
      e = {
        producerId: b.producerId,
        producerEpoch: b.producerEpoch,
        batches: [],
        lastTimestamp: maxTimestamp,
        coordinatorEpoch: -1,
        currentTxnFirstOffset: null,
      };
      this.producers.set(b.producerId, e);
    }
    if (b.producerEpoch !== e.producerEpoch) {
      e.producerEpoch = b.producerEpoch;
      e.batches = [];
    }
    e.lastTimestamp = Math.max(e.lastTimestamp, maxTimestamp);
    if (b.isControl) {
      const started = e.currentTxnFirstOffset;
      e.currentTxnFirstOffset = null;
      if (control !== undefined) e.coordinatorEpoch = control.coordinatorEpoch;
      this.ongoing.delete(b.producerId);
      if (started === null) return null;
      return { producerId: b.producerId, firstOffset: started, lastOffset, aborted: control?.commit !== true };
    }
    if (b.baseSequence !== NO_SEQUENCE) {
      e.batches.push({
        firstSeq: b.baseSequence,
        lastSeq: lastSequenceOf(b.baseSequence, b.lastOffsetDelta),
        firstOffset,
        lastOffset,
        timestamp: maxTimestamp,
      });
      if (e.batches.length > NUM_BATCHES_TO_RETAIN) e.batches.shift();
    }
    if (b.isTransactional && e.currentTxnFirstOffset === null) {
      e.currentTxnFirstOffset = firstOffset;
      this.ongoing.set(b.producerId, firstOffset);
    }
    return null;
  }

  /** The first offset of the oldest open transaction: the last stable offset cannot pass it. */
  firstUnstableOffset(): number | null {
    let min: number | null = null;
    for (const o of this.ongoing.values()) if (min === null || o < min) min = o;
    return min;
  }

  /** Producers open transactions here, oldest first. */
  ongoingTransactions(): Array<{ producerId: bigint; firstOffset: number }> {
    return [...this.ongoing]
      .map(([producerId, firstOffset]) => ({ producerId, firstOffset }))
      .sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** Forgets producers silent for producer.id.expiration.ms (never one with an open transaction). */
  expire(now: number): number {
    let n = 0;
    for (const [id, e] of this.producers) {
      if (e.currentTxnFirstOffset === null && now - e.lastTimestamp >= this.producerIdExpirationMs) {
        this.producers.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Drops state about offsets at or beyond `offset` (after a truncation the log replays the rest). */
  clear(): void {
    this.producers.clear();
    this.ongoing.clear();
  }

  /**
   * A snapshot of the state, to be written next to the log:
   *   magic "JPS1", crc32c of the rest (int32), count (int32), then per producer:
   *   id int64, epoch int16, coordinatorEpoch int32, lastTimestamp int64,
   *   txnFirstOffset int64 (-1 none), batchCount int8, batches { firstSeq int32, lastSeq int32,
   *   firstOffset int64, lastOffset int64, timestamp int64 }
   */
  snapshot(): Buffer {
    let size = 4;
    for (const e of this.producers.values()) size += 8 + 2 + 4 + 8 + 8 + 1 + e.batches.length * (4 + 4 + 8 + 8 + 8);
    const body = Buffer.alloc(size);
    let p = 0;
    body.writeInt32BE(this.producers.size, p);
    p += 4;
    for (const e of this.producers.values()) {
      body.writeBigInt64BE(e.producerId, p);
      body.writeInt16BE(e.producerEpoch, p + 8);
      body.writeInt32BE(e.coordinatorEpoch, p + 10);
      body.writeBigInt64BE(BigInt(e.lastTimestamp), p + 14);
      body.writeBigInt64BE(BigInt(e.currentTxnFirstOffset ?? -1), p + 22);
      body.writeInt8(e.batches.length, p + 30);
      p += 31;
      for (const m of e.batches) {
        body.writeInt32BE(m.firstSeq, p);
        body.writeInt32BE(m.lastSeq, p + 4);
        body.writeBigInt64BE(BigInt(m.firstOffset), p + 8);
        body.writeBigInt64BE(BigInt(m.lastOffset), p + 16);
        body.writeBigInt64BE(BigInt(m.timestamp), p + 24);
        p += 32;
      }
    }
    const head = Buffer.alloc(8);
    head.write('JPS1', 0, 'latin1');
    head.writeInt32BE(crc32c(body) | 0, 4);
    return Buffer.concat([head, body]);
  }

  /** Replaces the state with a snapshot; false (and nothing changed) if it is damaged. */
  loadSnapshot(buf: Buffer): boolean {
    try {
      if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'JPS1') return false;
      const body = buf.subarray(8);
      if ((crc32c(body) | 0) !== buf.readInt32BE(4)) return false;
      const producers = new Map<bigint, ProducerEntry>();
      let p = 0;
      const count = body.readInt32BE(p);
      p += 4;
      for (let i = 0; i < count; i++) {
        const producerId = body.readBigInt64BE(p);
        const producerEpoch = body.readInt16BE(p + 8);
        const coordinatorEpoch = body.readInt32BE(p + 10);
        const lastTimestamp = Number(body.readBigInt64BE(p + 14));
        const txn = Number(body.readBigInt64BE(p + 22));
        const n = body.readInt8(p + 30);
        p += 31;
        const batches: BatchMetadata[] = [];
        for (let j = 0; j < n; j++) {
          batches.push({
            firstSeq: body.readInt32BE(p),
            lastSeq: body.readInt32BE(p + 4),
            firstOffset: Number(body.readBigInt64BE(p + 8)),
            lastOffset: Number(body.readBigInt64BE(p + 16)),
            timestamp: Number(body.readBigInt64BE(p + 24)),
          });
          p += 32;
        }
        producers.set(producerId, {
          producerId,
          producerEpoch,
          batches,
          lastTimestamp,
          coordinatorEpoch,
          currentTxnFirstOffset: txn < 0 ? null : txn,
        });
      }
      if (p !== body.length) return false;
      this.clear();
      for (const [id, e] of producers) {
        this.producers.set(id, e);
        if (e.currentTxnFirstOffset !== null) this.ongoing.set(id, e.currentTxnFirstOffset);
      }
      return true;
    } catch {
      return false;
    }
  }
}
