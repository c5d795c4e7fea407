import { ErrorCode } from '../protocol/error-codes.js';
import { parseEndTxnMarkerBatch } from '../protocol/records/control-record.js';
import {
  type BatchHeader,
  isControl,
  isTransactional,
  LOG_OVERHEAD,
  readBatchHeader,
  splitBatches,
} from '../protocol/records/record-batch.js';
import type { AbortedTxn } from '../storage/txn-index.js';
import { scanBatches } from './log-scan.js';
import { type CompletedTxn, lastSequenceOf, type ProducerBatch, ProducerStateManager } from './producer-state.js';
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
  /** Producer-state snapshots kept with the log; without them producer state is rebuilt from the batches. */
  readonly producerSnapshots?: ProducerSnapshotPort;
  /** Set by the partition: called when the log completes a segment and starts one at `baseOffset`. */
  onRoll?: ((baseOffset: number) => void) | null;
}

/** Kafka's `<offset>.snapshot` files: the snapshot at N describes every batch below offset N. */
export interface ProducerSnapshotPort {
  latest(maxOffset: number): { offset: number; data: Buffer } | null;
  write(offset: number, data: Buffer): void;
}

/**
 * Who is appending (Kafka's AppendOrigin): producers' batches get the full epoch and sequence
 * checks; the coordinators' (transaction markers, internal topics) only the epoch check.
 */
export type AppendOrigin = 'client' | 'coordinator';

export interface LeaderAppendOptions {
  readonly origin: AppendOrigin;
  /** Set when the topic uses LogAppendTime and the batches' max timestamps were rewritten to it. */
  readonly logAppendTime?: number;
  /** The batches' headers, in order, when the caller has already read them. */
  readonly headers?: readonly BatchHeader[];
}

/**
 * The outcome of a leader append, for the whole partition as Kafka's LogAppendInfo: either
 * everything was appended, or it was a retry of batches already in the log (`duplicate`, with
 * their original offsets and timestamp, error NONE), or nothing was appended (`errorCode`).
 */
export interface LeaderAppendResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** -1 when nothing was appended. */
  readonly firstOffset: number;
  readonly lastOffset: number;
  /** LogAppendTime given, or for a duplicate its stored max timestamp (as Kafka answers it); -1 otherwise. */
  readonly logAppendTime: number;
  readonly duplicate: boolean;
  /** Transactions the appended control batches ended (for the aborted-transaction index). */
  readonly completedTxns: readonly CompletedTxn[];
}

function refused(errorCode: number, errorMessage: string): LeaderAppendResult {
  return {
    errorCode,
    errorMessage,
    firstOffset: -1,
    lastOffset: -1,
    logAppendTime: -1,
    duplicate: false,
    completedTxns: [],
  };
}

const NO_TXNS: readonly CompletedTxn[] = [];

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

  /**
   * `leaderId` follows the metadata image; `localBrokerId` is the broker this replica lives on
   * (by default the leader: a partition opened on its own is led here).
   */
  constructor(
    readonly topic: string,
    readonly topicId: string,
    readonly partition: number,
    readonly log: PartitionLogPort,
    leaderEpoch: number,
    public leaderId: number,
    readonly localBrokerId: number = leaderId,
  ) {
    this.leaderEpoch = leaderEpoch;
    this.attachSnapshots();
  }

  /** Whether this broker leads the partition (Kafka's Partition.isLeader): only the leader appends and serves reads. */
  get isLeader(): boolean {
    return this.leaderId === this.localBrokerId;
  }

  private producers: ProducerStateManager | null = null;
  private producersLoading: Promise<ProducerStateManager> | null = null;
  producerIdExpirationMs = DEFAULT_PRODUCER_ID_EXPIRATION_MS;
  /** The last leader append still in progress, when one is: later appends wait for it. */
  private appendTail: Promise<unknown> | null = null;

  /** The producer state if it is in memory (null before the first producer-id append loads it). */
  get loadedProducerState(): ProducerStateManager | null {
    return this.producers;
  }

  /**
   * Appends batches as the partition leader. Appends are serialised: the producer checks, the
   * write and the producer-state update of one append finish before the next append's checks
   * start. With the producer state in memory and a synchronous log this all happens in one
   * call (no promise); the first append carrying a producer id waits for the state to load.
   *
   * Kafka's rules (ProducerStateManager/ProducerAppendInfo): a batch whose epoch is older than
   * the producer's is INVALID_PRODUCER_EPOCH; with origin 'client' a retry of any of the
   * producer's last five batches is answered with its original offsets (error NONE, as Kafka
   * answers a duplicate to every Produce version), a sequence gap is
   * OUT_OF_ORDER_SEQUENCE_NUMBER, a new epoch must start at sequence 0, and a producer the
   * partition has no state for (new, or expired) may start at any sequence — since KIP-360 the
   * broker no longer answers UNKNOWN_PRODUCER_ID. Clients may not write control batches. A
   * replica that is not the leader (when the append runs: leadership may move while it waits)
   * refuses with NOT_LEADER_OR_FOLLOWER, as Kafka's appendRecordsToLeader does.
   */
  appendAsLeader(batches: Buffer, opts: LeaderAppendOptions): LeaderAppendResult | Promise<LeaderAppendResult> {
    const headers = opts.headers ?? splitBatches(batches).map((s) => readBatchHeader(batches, s.pos));
    let needsState = false;
    for (const h of headers) if (h.producerId >= 0n) needsState = true;
    if (this.appendTail === null && (!needsState || this.producers !== null)) {
      const r = this.appendNow(batches, headers, opts, needsState ? this.producers : null);
      if (r instanceof Promise) this.chain(r);
      return r;
    }
    const run = async (): Promise<LeaderAppendResult> => {
      const state = needsState ? await this.producerState() : null;
      return this.appendNow(batches, headers, opts, state);
    };
    const p = (this.appendTail ?? Promise.resolve()).then(run, run);
    this.chain(p);
    return p;
  }

  private chain(p: Promise<unknown>): void {
    const tail = p.then(
      () => undefined,
      () => undefined,
    );
    this.appendTail = tail;
    void tail.then(() => {
      if (this.appendTail === tail) this.appendTail = null;
    });
  }

  private appendNow(
    batches: Buffer,
    headers: readonly BatchHeader[],
    opts: LeaderAppendOptions,
    state: ProducerStateManager | null,
  ): LeaderAppendResult | Promise<LeaderAppendResult> {
    if (!this.isLeader) {
      return refused(
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `Leader not local for partition ${this.topic}-${this.partition} on broker ${this.localBrokerId} (leader: ${this.leaderId})`,
      );
    }
    if (state !== null) {
      const refusal = this.checkProducers(batches, headers, opts.origin, state);
      if (refusal !== null) return refusal;
    }
    const r = this.log.append(batches, {
      assignOffsets: true,
      leaderEpoch: this.leaderEpoch,
      ...(opts.logAppendTime !== undefined ? { logAppendTime: opts.logAppendTime } : {}),
    });
    const done = (a: { firstOffset: number; lastOffset: number }): LeaderAppendResult => {
      const completedTxns =
        state === null ? NO_TXNS : this.recordProducers(batches, headers, a.firstOffset, opts.logAppendTime, state);
      for (const t of completedTxns) this.onTxnCompleted(t);
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        firstOffset: a.firstOffset,
        lastOffset: a.lastOffset,
        logAppendTime: opts.logAppendTime ?? -1,
        duplicate: false,
        completedTxns,
      };
    };
    return r instanceof Promise ? r.then(done) : done(r);
  }

  /** The checks before an append; a refusal or a duplicate answer, or null to append. */
  private checkProducers(
    batches: Buffer,
    headers: readonly BatchHeader[],
    origin: AppendOrigin,
    state: ProducerStateManager,
  ): LeaderAppendResult | null {
    // Batches of one request follow each other: later ones are checked against earlier ones.
    let prev: { producerId: bigint; producerEpoch: number; lastSeq: number } | null = null;
    let pos = 0;
    for (const h of headers) {
      const at = pos;
      pos += h.batchLength + LOG_OVERHEAD;
      if (h.producerId < 0n) continue;
      const b = producerBatchOf(h);
      if (b.isControl && origin === 'client') {
        return refused(ErrorCode.INVALID_RECORD, 'Clients are not allowed to write control records');
      }
      if (origin === 'client' && !b.isControl && prev !== null && prev.producerId === b.producerId) {
        if (b.producerEpoch !== prev.producerEpoch || b.baseSequence !== lastSequenceOf(prev.lastSeq, 1)) {
          return refused(
            ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
            `Out of order sequence number for producer ${b.producerId}: ${b.baseSequence} (incoming seq. number), ${prev.lastSeq} (previous batch of the request)`,
          );
        }
      } else {
        // A coordinator's marker also carries the coordinator's epoch, which may be fenced.
        const marker =
          origin === 'coordinator' && b.isControl
            ? parseEndTxnMarkerBatch(batches.subarray(at, at + h.batchLength + LOG_OVERHEAD))
            : null;
        const c = state.check(origin === 'client' ? b : { ...b, isControl: true }, marker?.coordinatorEpoch);
        if (c.kind === 'error') return refused(c.errorCode, c.message);
        if (c.kind === 'duplicate') {
          return {
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            firstOffset: c.firstOffset,
            lastOffset: c.lastOffset,
            logAppendTime: c.timestamp,
            duplicate: true,
            completedTxns: NO_TXNS,
          };
        }
      }
      prev = {
        producerId: b.producerId,
        producerEpoch: b.producerEpoch,
        lastSeq: lastSequenceOf(b.baseSequence, b.lastOffsetDelta),
      };
    }
    return null;
  }

  /** Records appended batches in the producer state; returns the transactions control batches ended. */
  private recordProducers(
    batches: Buffer,
    headers: readonly BatchHeader[],
    firstOffset: number,
    logAppendTime: number | undefined,
    state: ProducerStateManager,
  ): readonly CompletedTxn[] {
    let completed: CompletedTxn[] | null = null;
    let offset = firstOffset;
    let pos = 0;
    for (const h of headers) {
      const size = h.batchLength + LOG_OVERHEAD;
      const first = offset;
      const last = first + h.lastOffsetDelta;
      offset = last + 1;
      if (h.producerId >= 0n) {
        let control: { commit: boolean; coordinatorEpoch: number } | undefined;
        if (isControl(h.attributes)) {
          const marker = parseEndTxnMarkerBatch(batches.subarray(pos, pos + size));
          if (marker !== null) control = { commit: marker.commit, coordinatorEpoch: marker.coordinatorEpoch };
        }
        const txn = state.onAppend(producerBatchOf(h), first, last, logAppendTime ?? h.maxTimestamp, control);
        if (txn !== null) {
          completed ??= [];
          completed.push(txn);
        }
      }
      pos += size;
    }
    return completed ?? NO_TXNS;
  }

  /** Writes the producer state as the snapshot for the log end (clean shutdown); no-op when not loaded. */
  snapshotProducerState(): void {
    const snapshots = this.log.producerSnapshots;
    if (this.producers === null || snapshots === undefined) return;
    snapshots.write(this.log.logEndOffset, this.producers.snapshot());
  }

  /** producer.id.expiration.ms: forgets producers silent for that long; returns how many. */
  expireProducers(now: number, producerIdExpirationMs: number): number {
    this.producerIdExpirationMs = producerIdExpirationMs;
    if (this.producers === null) return 0;
    this.producers.setExpiration(producerIdExpirationMs);
    return this.producers.expire(now);
  }

  /**
   * The partition's producer state, rebuilt from the log's batch headers the first time it
   * is needed (only partitions idempotent or transactional producers write to pay for it).
   */
  producerState(): ProducerStateManager | Promise<ProducerStateManager> {
    if (this.producers !== null) return this.producers;
    if (this.producersLoading === null) {
      this.producersLoading = this.rebuildProducerState().then(
        (s) => {
          this.producers = s;
          this.producersLoading = null;
          return s;
        },
        (err: unknown) => {
          // A failed read (the log closed under us, a disk error) is retried by the next caller.
          this.producersLoading = null;
          throw err;
        },
      );
    }
    return this.producersLoading;
  }

  private async rebuildProducerState(): Promise<ProducerStateManager> {
    const state = new ProducerStateManager(this.producerIdExpirationMs);
    const end = this.log.logEndOffset;
    let offset = this.log.logStartOffset;
    const snap = this.log.producerSnapshots?.latest(end) ?? null;
    if (snap !== null && state.loadSnapshot(snap.data)) offset = Math.max(offset, snap.offset);
    await scanBatches(
      this.log,
      offset,
      (batch, h) => {
        if (h.producerId < 0n) return;
        let control: { commit: boolean; coordinatorEpoch: number } | undefined;
        if (isControl(h.attributes)) {
          const marker = parseEndTxnMarkerBatch(batch);
          if (marker === null) return;
          control = { commit: marker.commit, coordinatorEpoch: marker.coordinatorEpoch };
        }
        const last = h.baseOffset + h.lastOffsetDelta;
        const done = state.onAppend(producerBatchOf(h), h.baseOffset, last, h.maxTimestamp, control);
        // An abort whose index entry a crash lost is indexed again.
        if (done?.aborted === true) this.log.appendAbortedTxn?.({ ...done, lastStableOffset: done.firstOffset });
      },
      1024 * 1024,
    );
    return state;
  }

  /** Points the log's segment rolls at the producer-state snapshots (Kafka snapshots on every roll). */
  private attachSnapshots(): void {
    if (this.log.producerSnapshots === undefined) return;
    this.log.onRoll = (baseOffset) => {
      // Only called inside an append, before its batches are recorded: the state covers
      // exactly the offsets below the new segment.
      if (this.producers !== null) this.log.producerSnapshots?.write(baseOffset, this.producers.snapshot());
    };
  }

  get highWatermark(): number {
    return this.log.highWatermark;
  }

  /** After a marker's append: an aborted transaction goes to the aborted-transaction index. */
  onTxnCompleted(done: CompletedTxn | null): void {
    if (done === null || !done.aborted) return;
    // The LSO once this transaction is over: the next open transaction, or just past the marker.
    const unstable = this.producers?.firstUnstableOffset() ?? null;
    this.log.appendAbortedTxn?.({
      producerId: done.producerId,
      firstOffset: done.firstOffset,
      lastOffset: done.lastOffset,
      lastStableOffset: unstable ?? done.lastOffset + 1,
    });
  }

  /** The aborted transactions overlapping [fetchOffset, upperBoundOffset), for read_committed fetches. */
  abortedTransactions(fetchOffset: number, upperBoundOffset: number): AbortedTxn[] {
    return this.log.collectAbortedTxns?.(fetchOffset, upperBoundOffset) ?? [];
  }

  /**
   * Last stable offset: the high watermark, held back by the first offset of the oldest open
   * transaction. Exact once the producer state is loaded (`producerState()`); read_committed
   * readers load it first.
   */
  get lastStableOffset(): number {
    const hw = this.log.highWatermark;
    const unstable = this.producers?.firstUnstableOffset() ?? null;
    return unstable !== null && unstable < hw ? unstable : hw;
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
