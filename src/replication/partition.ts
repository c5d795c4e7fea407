import { ErrorCode } from '../protocol/error-codes.js';
import type { DeferredBytes } from '../protocol/primitives/writer.js';
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
 * fetches waiting for data (long polling). As leader it follows its followers' fetch offsets,
 * moves the high watermark to the smallest log end of the in-sync replicas, and proposes ISR
 * changes (Kafka's Partition); as follower its log is written by the replica fetcher.
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
  /**
   * With `spans`, each buffer returned is also named there as bytes of a file (in the same order),
   * which a response may send in its place, read as the socket drains.
   */
  read(
    fetchOffset: number,
    maxBytes: number,
    opts: { maxOffset?: number; minOneBatch: boolean; spans?: DeferredBytes[] },
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
  /** Records that a leader epoch starts at this offset (a new leader, at its log end). */
  assignEpochStart?(epoch: number, startOffset: number): void;
  /** A follower's truncations and its latest epoch (the storage log has them; test doubles may not). */
  truncateTo?(offset: number): void;
  truncateFullyAndStartAt?(offset: number): void;
  latestEpoch?(): number;
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

/** The partition's replicas as the metadata image gives them. */
export interface ReplicaAssignment {
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

/** What the leader knows of one follower, from its fetches (Kafka's Replica state). */
interface FollowerProgress {
  /** The follower's fetch offset: its log end offset. -1 until it fetches in this leader epoch. */
  logEndOffset: number;
  /** When it last had everything the leader had (at its previous fetch); 0 never. */
  lastCaughtUpMs: number;
  lastFetchMs: number;
  /** The leader's log end offset at that previous fetch. */
  lastFetchLeaderLogEnd: number;
}

/** A proposed ISR, sent to the controller with AlterPartition; it answers with the partition as it now stands. */
export type IsrChangeSender = (
  p: Partition,
  isr: readonly number[],
) => Promise<{ errorCode: number; isr?: readonly number[]; leaderEpoch?: number; partitionEpoch?: number }>;

interface HighWatermarkWaiter {
  readonly offset: number;
  readonly resolve: (errorCode: number) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * After a coordinator's append (group or transaction state, written with acks=all as Kafka
 * does): moves the high watermark if it can, then waits for the in-sync replicas; throws with
 * the error code when they do not follow in `timeoutMs`.
 */
export async function awaitReplication(part: Partition, lastOffset: number, timeoutMs: number): Promise<void> {
  part.notifyAppend();
  part.maybeIncrementHighWatermark();
  const code = await part.waitForHighWatermark(lastOffset + 1, timeoutMs);
  if (code !== ErrorCode.NONE) {
    throw Object.assign(new Error(`the in-sync replicas did not confirm the write: ${code}`), { errorCode: code });
  }
}

/** Producer ids expire after this long without writes unless the broker says otherwise (Kafka's default). */
const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;

export class Partition {
  leaderEpoch: number;
  private waiters = new Set<Waiter>();
  replicas: readonly number[];
  isr: readonly number[];
  partitionEpoch = 0;
  /** min.insync.replicas for acks=all (kept current by the replica manager). */
  minInsyncReplicas = 1;
  /** replica.lag.time.max.ms: a follower not caught up for this long leaves the ISR. */
  replicaLagTimeMaxMs = 30_000;
  /**
   * write.caching off (the default): with replicas, the leader counts toward the high watermark
   * only what it has flushed, as followers report only what they flushed, so an acknowledged
   * acks=all write is on the disk of every in-sync replica. On: page cache, as Kafka.
   */
  writeCaching = false;
  /** Everything below this is on the leader's disk (replicated partitions without write caching). */
  private flushedOffset = 0;
  private leaderFlush: Promise<void> | null = null;
  private leaderFlushAgain = false;
  /** Proposes ISR changes; without one (a lone broker) the ISR never changes here. */
  isrChangeSender: IsrChangeSender | null = null;
  private readonly followers = new Map<number, FollowerProgress>();
  /** An ISR proposed and not yet answered: the high watermark counts the larger of it and the ISR (Kafka's maximal ISR). */
  private pendingIsr: readonly number[] | null = null;
  /** The log end offset when this replica became leader: a follower joins the ISR only once it has that much. */
  private leaderEpochStartOffset = 0;
  private hwWaiters: HighWatermarkWaiter[] = [];

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
    this.replicas = [localBrokerId];
    this.isr = [localBrokerId];
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

  // ------------------------------------------------------------------------------ replication

  /**
   * Follows the metadata image's view of this partition. Returns what changed for this replica:
   * it became the leader, it became (or moved to another leader as) a follower, or neither.
   */
  applyAssignment(a: ReplicaAssignment, now: number): 'leader' | 'follower' | 'unchanged' {
    const wasLeader = this.isLeader;
    const epochChanged = a.leaderEpoch !== this.leaderEpoch || a.leader !== this.leaderId;
    if (a.leaderEpoch < this.leaderEpoch) return 'unchanged';
    this.replicas = a.replicas;
    if (a.partitionEpoch >= this.partitionEpoch) {
      this.isr = a.isr;
      this.partitionEpoch = a.partitionEpoch;
      this.pendingIsr = null;
    }
    this.leaderEpoch = a.leaderEpoch;
    this.leaderId = a.leader;
    if (this.isLeader) {
      if (!wasLeader || epochChanged) {
        // Kafka's makeLeader: every follower starts unknown; those in the ISR count as caught up now.
        this.followers.clear();
        for (const r of a.replicas) {
          if (r === this.localBrokerId) continue;
          this.followers.set(r, {
            logEndOffset: -1,
            lastCaughtUpMs: a.isr.includes(r) ? now : 0,
            lastFetchMs: 0,
            lastFetchLeaderLogEnd: -1,
          });
        }
        this.leaderEpochStartOffset = this.log.logEndOffset;
        this.log.assignEpochStart?.(a.leaderEpoch, this.leaderEpochStartOffset);
        this.flushedOffset = Math.min(
          this.log.logEndOffset,
          (this.log as { recoveryPointOffset?: number }).recoveryPointOffset ?? 0,
        );
        // The producer state a follower kept may miss what it fetched: rebuilt from the log when needed.
        if (!wasLeader) this.dropProducerState();
      } else {
        for (const r of a.replicas) {
          if (r !== this.localBrokerId && !this.followers.has(r)) {
            this.followers.set(r, { logEndOffset: -1, lastCaughtUpMs: 0, lastFetchMs: 0, lastFetchLeaderLogEnd: -1 });
          }
        }
        for (const r of [...this.followers.keys()]) if (!a.replicas.includes(r)) this.followers.delete(r);
      }
      this.maybeIncrementHighWatermark();
      this.notifyAppend();
      return !wasLeader || epochChanged ? 'leader' : 'unchanged';
    }
    if (wasLeader) {
      this.followers.clear();
      this.failHighWatermarkWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    if (epochChanged) this.notifyAppend();
    return epochChanged || wasLeader ? 'follower' : 'unchanged';
  }

  private dropProducerState(): void {
    if (this.producersLoading !== null) return;
    this.producers = null;
  }

  /** The replicas the high watermark waits for: the ISR, with any proposed additions. */
  private maximalIsr(): readonly number[] {
    const pending = this.pendingIsr;
    if (pending === null) return this.isr;
    const all = new Set([...this.isr, ...pending]);
    return [...all];
  }

  /**
   * The leader's high watermark: the smallest log end offset among the in-sync replicas (its
   * own included). It only moves forward; waiting long polls and acks=all produces are woken.
   */
  maybeIncrementHighWatermark(): boolean {
    if (!this.isLeader) return false;
    let hw = this.log.logEndOffset;
    if (this.flushesBeforeAck) {
      if (this.flushedOffset < hw) this.flushLeader();
      hw = Math.min(hw, this.flushedOffset);
    }
    for (const r of this.maximalIsr()) {
      if (r === this.localBrokerId) continue;
      const f = this.followers.get(r);
      // An ISR member not heard from yet in this epoch holds the high watermark where it is.
      const end = f === undefined ? -1 : f.logEndOffset;
      if (end < hw) hw = end;
    }
    if (hw <= this.log.highWatermark) return false;
    this.log.highWatermark = hw;
    this.completeHighWatermarkWaiters();
    this.notifyAppend();
    return true;
  }

  /**
   * A follower's fetch at `fetchOffset` (Kafka's updateFollowerFetchState): its log end, whether
   * it is caught up, then the ISR and the high watermark. Returns false for a replica that is not
   * one of this partition's followers.
   */
  onFollowerFetch(replicaId: number, fetchOffset: number, now: number): boolean {
    if (!this.isLeader) return false;
    const f = this.followers.get(replicaId);
    if (f === undefined) return false;
    const leaderEnd = this.log.logEndOffset;
    const end = Math.min(fetchOffset, leaderEnd);
    if (fetchOffset >= leaderEnd) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, now);
    else if (f.lastFetchLeaderLogEnd >= 0 && fetchOffset >= f.lastFetchLeaderLogEnd) {
      f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, f.lastFetchMs);
    }
    f.logEndOffset = end;
    f.lastFetchMs = now;
    f.lastFetchLeaderLogEnd = leaderEnd;
    this.maybeExpandIsr(replicaId, f);
    this.maybeIncrementHighWatermark();
    return true;
  }

  private maybeExpandIsr(replicaId: number, f: FollowerProgress): void {
    if (this.pendingIsr !== null || this.isr.includes(replicaId) || this.isrChangeSender === null) return;
    // Kafka's isFollowerInSync: caught up to the high watermark and to this epoch's start.
    if (f.logEndOffset < this.log.highWatermark || f.logEndOffset < this.leaderEpochStartOffset) return;
    this.proposeIsr([...this.isr, replicaId]);
  }

  /** Drops from the ISR the followers not caught up within replica.lag.time.max.ms (run periodically by the leader). */
  maybeShrinkIsr(now: number): void {
    if (!this.isLeader || this.pendingIsr !== null || this.isrChangeSender === null) return;
    const out = this.isr.filter((r) => {
      if (r === this.localBrokerId) return false;
      const f = this.followers.get(r);
      return f === undefined || now - f.lastCaughtUpMs > this.replicaLagTimeMaxMs;
    });
    if (out.length === 0) return;
    this.proposeIsr(this.isr.filter((r) => !out.includes(r)));
  }

  /**
   * KIP-207: a new leader whose high watermark has not yet reached the start of its epoch (its
   * log end when it was elected) may show clients an end older than the previous leader did.
   */
  get highWatermarkLagging(): boolean {
    return this.isLeader && this.leaderEpochStartOffset > this.log.highWatermark;
  }

  /** Whether this replica's writes count only once flushed (replicated, write.caching off). */
  get flushesBeforeAck(): boolean {
    return !this.writeCaching && this.replicas.length > 1;
  }

  /** One flush at a time off the event loop; appends meanwhile are covered by the next one. */
  private flushLeader(): void {
    if (this.leaderFlush !== null) {
      this.leaderFlushAgain = true;
      return;
    }
    const flush = (this.log as { flushOffLoop?: () => Promise<number> }).flushOffLoop;
    if (flush === undefined) {
      this.flushedOffset = this.log.logEndOffset;
      return;
    }
    this.leaderFlush = flush.call(this.log).then(
      (upTo) => {
        this.leaderFlush = null;
        // A truncation meanwhile (leadership lost) cut what the flush covered.
        if (upTo > this.flushedOffset) this.flushedOffset = Math.min(upTo, this.log.logEndOffset);
        const again = this.leaderFlushAgain;
        this.leaderFlushAgain = false;
        if (!this.maybeIncrementHighWatermark() && again && this.flushedOffset < this.log.logEndOffset) {
          this.flushLeader();
        }
      },
      () => {
        // The log closed (deleted, or the broker stopping): nothing more to acknowledge here.
        this.leaderFlush = null;
        this.leaderFlushAgain = false;
      },
    );
  }

  private proposeIsr(isr: readonly number[]): void {
    const send = this.isrChangeSender;
    if (send === null) return;
    this.pendingIsr = isr;
    const epoch = this.leaderEpoch;
    const sent = this.partitionEpoch;
    send(this, isr).then(
      (r) => {
        if (this.pendingIsr !== isr) return;
        this.pendingIsr = null;
        if (r.errorCode !== ErrorCode.NONE || epoch !== this.leaderEpoch) return;
        if (r.partitionEpoch !== undefined && r.isr !== undefined && r.partitionEpoch > this.partitionEpoch) {
          this.isr = r.isr;
          this.partitionEpoch = r.partitionEpoch;
        } else if (this.partitionEpoch === sent) {
          return;
        }
        this.maybeIncrementHighWatermark();
      },
      () => {
        if (this.pendingIsr === isr) this.pendingIsr = null;
      },
    );
  }

  /**
   * acks=all: resolves with NONE once the high watermark covers `offset` (NOT_ENOUGH_REPLICAS_
   * AFTER_APPEND if the ISR is then smaller than min.insync.replicas), REQUEST_TIMED_OUT after
   * `timeoutMs`, or NOT_LEADER_OR_FOLLOWER if leadership moves meanwhile.
   */
  waitForHighWatermark(offset: number, timeoutMs: number): number | Promise<number> {
    if (!this.isLeader) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (this.log.highWatermark >= offset) return this.afterReplicated();
    return new Promise<number>((resolve) => {
      const waiter: HighWatermarkWaiter = {
        offset,
        resolve,
        timer: setTimeout(
          () => {
            const i = this.hwWaiters.indexOf(waiter);
            if (i >= 0) this.hwWaiters.splice(i, 1);
            resolve(ErrorCode.REQUEST_TIMED_OUT);
          },
          Math.max(0, timeoutMs),
        ),
      };
      this.hwWaiters.push(waiter);
    });
  }

  private afterReplicated(): number {
    return this.isr.length < this.minInsyncReplicas ? ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND : ErrorCode.NONE;
  }

  private completeHighWatermarkWaiters(): void {
    if (this.hwWaiters.length === 0) return;
    const hw = this.log.highWatermark;
    const left: HighWatermarkWaiter[] = [];
    for (const w of this.hwWaiters) {
      if (w.offset <= hw) {
        clearTimeout(w.timer);
        w.resolve(this.afterReplicated());
      } else left.push(w);
    }
    this.hwWaiters = left;
  }

  private failHighWatermarkWaiters(errorCode: number): void {
    const ws = this.hwWaiters;
    this.hwWaiters = [];
    for (const w of ws) {
      clearTimeout(w.timer);
      w.resolve(errorCode);
    }
  }

  /** Whether an acks=all write may be appended now (Kafka checks the ISR against min.insync.replicas first). */
  get hasEnoughReplicas(): boolean {
    return this.isr.length >= this.minInsyncReplicas;
  }

  /** A follower's append of batches fetched from the leader: offsets and epochs kept as they are. */
  appendAsFollower(batches: Buffer): void | Promise<void> {
    const r = this.log.append(batches, { assignOffsets: false, leaderEpoch: this.leaderEpoch });
    if (r instanceof Promise) return r.then(() => this.notifyAppend());
    this.notifyAppend();
  }

  /** A follower learns the leader's high watermark; it never exceeds what this replica holds. */
  followLeaderHighWatermark(leaderHw: number): void {
    const hw = Math.min(leaderHw, this.log.logEndOffset);
    if (hw === this.log.highWatermark) return;
    this.log.highWatermark = hw;
    this.notifyAppend();
  }

  /** Removes this replica's records from `offset` on (a diverging epoch, KIP-320). */
  truncateTo(offset: number): void {
    if (offset >= this.log.logEndOffset) return;
    this.log.truncateTo?.(offset);
    this.dropProducerState();
  }

  /** Empties this replica's log and starts it at `offset` (behind the leader's log start). */
  truncateFullyAndStartAt(offset: number): void {
    this.log.truncateFullyAndStartAt?.(offset);
    this.dropProducerState();
  }

  /** The latest leader epoch in this replica's log, -1 if none (a follower's lastFetchedEpoch). */
  get lastFetchedEpoch(): number {
    return this.log.latestEpoch?.() ?? -1;
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
