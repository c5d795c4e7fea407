/**
 * The transaction coordinator (KIP-98) as a state machine driven by requests and a clock:
 * InitProducerId with a transactional id, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
 * timeouts and transactional id expiry, Describe/ListTransactions. Every state change is
 * written to `__transaction_state` through `TransactionCoordinatorRuntime.append` before it
 * takes effect (Kafka's pending state: while a write is in flight the transactional id answers
 * CONCURRENT_TRANSACTIONS), and markers are written through `writeMarkers`; so the core runs in
 * unit tests with a fake runtime and a manual clock.
 *
 * States (Kafka's TransactionState, with its ids in the log):
 *   Empty -> Ongoing (partitions added) -> PrepareCommit | PrepareAbort (EndTxn, timeout, fence)
 *   -> CompleteCommit | CompleteAbort (markers written) -> Ongoing | Empty (next InitProducerId) ...
 *   Dead (expired id) and PrepareEpochFence (an InitProducerId or a timeout fencing the epoch
 *   of an Ongoing transaction before aborting it).
 *
 * A transactional id lives in one `__transaction_state` partition. The core serves only the ids
 * of partitions this broker leads and has loaded (onElection, completeLoad), as Kafka's
 * TransactionStateManager: the others get NOT_COORDINATOR, and COORDINATOR_LOAD_IN_PROGRESS
 * while their partition loads. The partition's leader epoch is the coordinator epoch of the
 * markers it writes.
 */

import { logger } from '../../observability/logger.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { TransactionLogValue } from '../../protocol/generated/transaction-coordinator/transaction-log-value.js';
import { appendErrorCode, type CoordinatorShard, CoordinatorShards } from '../coordinator-shards.js';
import { partitionFor } from '../group/partitioner.js';
import {
  decodeTransactionLogKeyRecord,
  decodeTransactionLogValueRecord,
  type TransactionStateRecord,
  transactionLogKey,
  transactionLogValue,
} from './records.js';

const log = logger('transaction-coordinator');

export const TRANSACTION_STATES = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
  'Dead',
  'PrepareEpochFence',
] as const;
export type TransactionState = (typeof TRANSACTION_STATES)[number];

export function stateId(s: TransactionState): number {
  return TRANSACTION_STATES.indexOf(s);
}

/** Epochs are int16; at Short.MAX_VALUE - 1 a producer gets a new id instead of a bump (Kafka's rule). */
const MAX_EPOCH = 32766;
const NO_PRODUCER_ID = -1n;
const NO_EPOCH = -1;

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface TransactionMetadata {
  readonly transactionalId: string;
  producerId: bigint;
  previousProducerId: bigint;
  producerEpoch: number;
  lastProducerEpoch: number;
  txnTimeoutMs: number;
  state: TransactionState;
  /** Partitions of the current transaction: topic -> partitions. */
  partitions: Map<string, Set<number>>;
  txnStartTimestamp: number;
  txnLastUpdateTimestamp: number;
  /** The state being written to the log, or null when nothing is in flight. */
  pendingState: TransactionState | null;
}

/**
 * `writeMarkers` stopped because the markers are no longer this coordinator's to write (it
 * resigned the partition, a newer coordinator epoch exists, the broker is shutting down).
 */
export class TxnMarkersCancelledError extends Error {
  override readonly name = 'TxnMarkersCancelledError';
}

/** The markers a transaction's end needs: one control batch per partition. */
export interface TxnMarkers {
  readonly transactionalId: string;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
  readonly commit: boolean;
  readonly partitions: readonly TopicPartition[];
}

export interface TransactionCoordinatorConfig {
  /** transaction.max.timeout.ms */
  readonly transactionMaxTimeoutMs: number;
  /** transactional.id.expiration.ms */
  readonly transactionalIdExpirationMs: number;
  /** Partitions of `__transaction_state` (transaction.state.log.num.partitions, or the topic's count). */
  readonly transactionStatePartitions: number;
}

export interface TransactionCoordinatorRuntime {
  now(): number;
  /** Appends records to a `__transaction_state` partition; resolves once they are durable. */
  append(partition: number, records: readonly TransactionStateRecord[]): Promise<void>;
  generateProducerId(): Promise<bigint>;
  /** Writes the markers to every partition (retrying as needed); resolves once all are written. */
  writeMarkers(markers: TxnMarkers): Promise<void>;
  /** The `__consumer_offsets` partition of a group (AddOffsetsToTxn adds it to the transaction). */
  groupPartition(groupId: string): TopicPartition;
}

export interface InitProducerIdParams {
  readonly transactionalId: string;
  readonly transactionTimeoutMs: number;
  /** KIP-360: the id and epoch the producer had (-1 when it has none). */
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

export interface ProducerIdAndEpoch {
  readonly errorCode: number;
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

export interface DescribedTransaction {
  readonly errorCode: number;
  readonly transactionalId: string;
  readonly transactionState: string;
  readonly transactionTimeoutMs: number;
  readonly transactionStartTimeMs: bigint;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly topics: { topic: string; partitions: number[] }[];
}

export interface ListedTransaction {
  readonly transactionalId: string;
  readonly producerId: bigint;
  readonly transactionState: string;
}

function failed(errorCode: number): ProducerIdAndEpoch {
  return { errorCode, producerId: NO_PRODUCER_ID, producerEpoch: NO_EPOCH };
}

export class TransactionCoordinator {
  /** The transactional ids of the partitions loaded here. */
  private readonly txns = new Map<string, TransactionMetadata>();
  /** False once shut down (COORDINATOR_NOT_AVAILABLE). */
  private active = true;
  /** The `__transaction_state` partitions this broker leads, loading or loaded. */
  private readonly shards = new CoordinatorShards();
  /** Marker writes in flight, so shutdown and tests can wait for them. */
  private readonly completing = new Set<Promise<void>>();

  constructor(
    private readonly config: TransactionCoordinatorConfig,
    private readonly runtime: TransactionCoordinatorRuntime,
  ) {}

  partitionFor(transactionalId: string): number {
    return partitionFor(transactionalId, this.config.transactionStatePartitions);
  }

  metadata(transactionalId: string): Readonly<TransactionMetadata> | undefined {
    return this.txns.get(transactionalId);
  }

  /** Resolves when every marker write started so far has finished. */
  async idle(): Promise<void> {
    while (this.completing.size > 0) await Promise.all([...this.completing]);
  }

  // ---------------------------------------------------------------- partitions led here

  /**
   * This broker became the leader of `__transaction_state` partition `partition` at
   * `leaderEpoch` (the coordinator epoch). Returns the shard to load, or null when the
   * partition is already loading or loaded.
   */
  onElection(partition: number, leaderEpoch: number): CoordinatorShard | null {
    return this.shards.elect(partition, leaderEpoch);
  }

  /**
   * Replays the partition's records in log order, then serves its transactional ids.
   * Transactions found in PrepareCommit/PrepareAbort get their markers (re)written; Ongoing
   * ones stay open until they time out. Null, and nothing kept, when the partition was unloaded
   * while it was being read.
   */
  completeLoad(
    shard: CoordinatorShard,
    records: Iterable<{ key: Buffer | null; value: Buffer | null }>,
  ): { transactions: number } | null {
    if (this.shards.get(shard.partition) !== shard || shard.state !== 'loading') return null;
    const loaded = new Map<string, TransactionMetadata>();
    let foreign = 0;
    for (const { key, value } of records) {
      if (key === null) continue;
      try {
        const id = decodeTransactionLogKeyRecord(key);
        if (this.partitionFor(id) !== shard.partition) {
          foreign++;
          continue;
        }
        if (value === null) {
          loaded.delete(id);
          continue;
        }
        loaded.set(id, fromLogValue(id, decodeTransactionLogValueRecord(value)));
      } catch (err) {
        log.warn('skipping an unreadable __transaction_state record', { error: String(err) });
      }
    }
    if (foreign > 0) {
      log.warn('skipped records of transactional ids that belong to another partition', {
        partition: shard.partition,
        foreign,
      });
    }
    for (const [id, m] of loaded) if (m.state !== 'Dead') this.txns.set(id, m);
    this.shards.loaded(shard);
    for (const m of loaded.values()) {
      if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') this.sendMarkers(m);
    }
    return { transactions: [...loaded.values()].filter((m) => m.state !== 'Dead').length };
  }

  /** Reading the partition failed: it is not served, and the next election loads it again. */
  failLoad(shard: CoordinatorShard): void {
    this.shards.failed(shard);
  }

  /**
   * This broker no longer leads `partition` (`leaderEpoch` is the new leader's, undefined when
   * the partition was deleted): its transactional ids leave memory. Writes in flight for them
   * answer NOT_COORDINATOR when they finish, and their markers stop being retried. False when
   * nothing was loaded here (or the resignation is older than the election).
   */
  onResignation(partition: number, leaderEpoch?: number): boolean {
    if (this.shards.resign(partition, leaderEpoch) === undefined) return false;
    for (const id of [...this.txns.keys()]) if (this.partitionFor(id) === partition) this.txns.delete(id);
    return true;
  }

  /** Whether this broker leads `partition` (loading or loaded). */
  leads(partition: number): boolean {
    return this.shards.get(partition) !== undefined;
  }

  /** Whether markers of `transactionalId` at `coordinatorEpoch` are still this broker's to write. */
  coordinates(transactionalId: string, coordinatorEpoch: number): boolean {
    const shard = this.shards.active(this.partitionFor(transactionalId));
    return this.active && shard !== undefined && shard.epoch === coordinatorEpoch;
  }

  /** Why a request for `transactionalId` cannot be served here (NONE when it can). */
  private coordinatorError(transactionalId: string): number {
    if (!this.active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return this.shards.errorFor(this.partitionFor(transactionalId));
  }

  shutdown(): void {
    this.active = false;
    this.shards.resignAll();
    this.txns.clear();
  }

  // ---------------------------------------------------------------- InitProducerId

  /**
   * The checks Kafka makes before it looks at any state (so before the coordinator need be
   * available): an empty transactional id is INVALID_REQUEST, a timeout outside
   * 1..transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT.
   */
  validateInitProducerId(transactionalId: string, transactionTimeoutMs: number): number {
    if (transactionalId === '') return ErrorCode.INVALID_REQUEST;
    if (transactionTimeoutMs <= 0 || transactionTimeoutMs > this.config.transactionMaxTimeoutMs) {
      return ErrorCode.INVALID_TRANSACTION_TIMEOUT;
    }
    return ErrorCode.NONE;
  }

  async initProducerId(p: InitProducerIdParams): Promise<ProducerIdAndEpoch> {
    const invalid = this.validateInitProducerId(p.transactionalId, p.transactionTimeoutMs);
    if (invalid !== ErrorCode.NONE) return failed(invalid);
    const notServed = this.coordinatorError(p.transactionalId);
    if (notServed !== ErrorCode.NONE) return failed(notServed);
    let m = this.txns.get(p.transactionalId);
    if (m === undefined) {
      let producerId: bigint;
      try {
        producerId = await this.runtime.generateProducerId();
      } catch {
        return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
      // The partition may have moved while the id was allocated (Kafka's putTransactionStateIfNotExists).
      const moved = this.coordinatorError(p.transactionalId);
      if (moved !== ErrorCode.NONE) return failed(moved);
      m = this.txns.get(p.transactionalId);
      if (m === undefined) {
        const now = this.runtime.now();
        m = {
          transactionalId: p.transactionalId,
          producerId,
          previousProducerId: NO_PRODUCER_ID,
          producerEpoch: NO_EPOCH,
          lastProducerEpoch: NO_EPOCH,
          txnTimeoutMs: p.transactionTimeoutMs,
          state: 'Empty',
          partitions: new Map(),
          txnStartTimestamp: -1,
          txnLastUpdateTimestamp: now,
          pendingState: null,
        };
        this.txns.set(p.transactionalId, m);
      }
    }
    if (m.pendingState !== null) return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (p.producerId !== NO_PRODUCER_ID && m.producerEpoch !== NO_EPOCH) {
      // KIP-360: a producer that says which id and epoch it had is fenced unless it is this
      // id's current producer, or it retries an init whose answer (a bumped epoch, or a new id
      // after an exhausted epoch) it missed; such a retry gets the current id and epoch back.
      const sameId = p.producerId === m.producerId;
      const retryAfterNewId = p.producerId === m.previousProducerId && p.producerEpoch >= MAX_EPOCH;
      if (!sameId && !retryAfterNewId) return failed(ErrorCode.PRODUCER_FENCED);
      if (m.state === 'Empty' || m.state === 'CompleteCommit' || m.state === 'CompleteAbort') {
        const retry =
          retryAfterNewId || (p.producerEpoch !== m.producerEpoch && p.producerEpoch === m.lastProducerEpoch);
        if (retry) return { errorCode: ErrorCode.NONE, producerId: m.producerId, producerEpoch: m.producerEpoch };
        if (p.producerEpoch !== m.producerEpoch) return failed(ErrorCode.PRODUCER_FENCED);
      }
    }
    switch (m.state) {
      case 'PrepareCommit':
      case 'PrepareAbort':
      case 'PrepareEpochFence':
        return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Dead':
        return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Ongoing':
        // Fence the old producer's epoch and abort its transaction; the client retries and
        // gets a fresh epoch once the abort is complete.
        this.fenceAndAbort(m);
        return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
      default:
        break;
    }
    const next = { ...snapshotOf(m) };
    if (m.producerEpoch >= MAX_EPOCH) {
      let producerId: bigint;
      try {
        producerId = await this.runtime.generateProducerId();
      } catch {
        return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
      if (this.txns.get(p.transactionalId) !== m) return failed(this.coordinatorError(p.transactionalId));
      if (m.pendingState !== null) return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
      next.previousProducerId = m.producerId;
      next.producerId = producerId;
      next.lastProducerEpoch = NO_EPOCH;
      next.producerEpoch = 0;
    } else {
      next.lastProducerEpoch = m.producerEpoch;
      next.producerEpoch = m.producerEpoch + 1;
    }
    next.txnTimeoutMs = p.transactionTimeoutMs;
    next.state = 'Empty';
    next.partitions = new Map();
    next.txnStartTimestamp = -1;
    next.txnLastUpdateTimestamp = this.runtime.now();
    const err = await this.transition(m, next);
    if (err !== ErrorCode.NONE) return failed(err);
    return { errorCode: ErrorCode.NONE, producerId: m.producerId, producerEpoch: m.producerEpoch };
  }

  // ---------------------------------------------------------------- AddPartitionsToTxn / AddOffsetsToTxn

  private checkProducer(m: TransactionMetadata | undefined, producerId: bigint, producerEpoch: number): number {
    if (m === undefined || m.producerId !== producerId || m.state === 'Dead')
      return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (m.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (m.pendingState !== null) return ErrorCode.CONCURRENT_TRANSACTIONS;
    return ErrorCode.NONE;
  }

  /** Adds partitions to the producer's transaction (starting it if it is not Ongoing). */
  async addPartitions(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    partitions: readonly TopicPartition[],
  ): Promise<number> {
    const notServed = this.coordinatorError(transactionalId);
    if (notServed !== ErrorCode.NONE) return notServed;
    const m = this.txns.get(transactionalId);
    const err = this.checkProducer(m, producerId, producerEpoch);
    if (err !== ErrorCode.NONE || m === undefined) return err;
    if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort' || m.state === 'PrepareEpochFence') {
      return ErrorCode.CONCURRENT_TRANSACTIONS;
    }
    const missing = partitions.filter((tp) => m.partitions.get(tp.topic)?.has(tp.partition) !== true);
    if (m.state === 'Ongoing' && missing.length === 0) return ErrorCode.NONE;
    const now = this.runtime.now();
    const next = snapshotOf(m);
    if (m.state !== 'Ongoing') {
      next.partitions = new Map();
      next.txnStartTimestamp = now;
    }
    for (const tp of partitions) {
      let set = next.partitions.get(tp.topic);
      if (set === undefined) {
        set = new Set();
        next.partitions.set(tp.topic, set);
      }
      set.add(tp.partition);
    }
    next.state = 'Ongoing';
    next.txnLastUpdateTimestamp = now;
    return this.transition(m, next);
  }

  /** For the v4+ broker-to-broker form with verifyOnly: is each partition in the ongoing transaction? */
  verifyPartitions(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    partitions: readonly TopicPartition[],
  ): number[] {
    const notServed = this.coordinatorError(transactionalId);
    if (notServed !== ErrorCode.NONE) return partitions.map(() => notServed);
    const m = this.txns.get(transactionalId);
    if (m === undefined || m.producerId !== producerId)
      return partitions.map(() => ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (m.producerEpoch !== producerEpoch) return partitions.map(() => ErrorCode.PRODUCER_FENCED);
    return partitions.map((tp) =>
      m.state === 'Ongoing' && m.partitions.get(tp.topic)?.has(tp.partition) === true
        ? ErrorCode.NONE
        : ErrorCode.INVALID_TXN_STATE,
    );
  }

  addOffsets(transactionalId: string, producerId: bigint, producerEpoch: number, groupId: string): Promise<number> {
    return this.addPartitions(transactionalId, producerId, producerEpoch, [this.runtime.groupPartition(groupId)]);
  }

  // ---------------------------------------------------------------- EndTxn

  async endTransaction(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    commit: boolean,
  ): Promise<ProducerIdAndEpoch> {
    const notServed = this.coordinatorError(transactionalId);
    if (notServed !== ErrorCode.NONE) return failed(notServed);
    const m = this.txns.get(transactionalId);
    const err = this.checkProducer(m, producerId, producerEpoch);
    if (err !== ErrorCode.NONE || m === undefined) return failed(err);
    const ok = { errorCode: ErrorCode.NONE, producerId: m.producerId, producerEpoch: m.producerEpoch };
    switch (m.state) {
      case 'Ongoing': {
        const e = await this.prepareEnd(m, commit);
        return e === ErrorCode.NONE ? ok : failed(e);
      }
      case 'CompleteCommit':
        return commit ? ok : failed(ErrorCode.INVALID_TXN_STATE);
      case 'CompleteAbort':
        return commit ? failed(ErrorCode.INVALID_TXN_STATE) : ok;
      case 'PrepareCommit':
        return failed(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE);
      case 'PrepareAbort':
        return failed(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'PrepareEpochFence':
        return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
      default:
        return failed(ErrorCode.INVALID_TXN_STATE);
    }
  }

  /** Writes PrepareCommit/PrepareAbort, then (in the background) the markers and the Complete state. */
  private async prepareEnd(m: TransactionMetadata, commit: boolean): Promise<number> {
    const next = snapshotOf(m);
    next.state = commit ? 'PrepareCommit' : 'PrepareAbort';
    next.txnLastUpdateTimestamp = this.runtime.now();
    const err = await this.transition(m, next);
    if (err === ErrorCode.NONE) this.sendMarkers(m);
    return err;
  }

  private sendMarkers(m: TransactionMetadata): void {
    const commit = m.state === 'PrepareCommit';
    const partitions: TopicPartition[] = [];
    for (const [topic, set] of m.partitions) for (const partition of set) partitions.push({ topic, partition });
    const shard = this.shards.active(this.partitionFor(m.transactionalId));
    if (shard === undefined) return;
    const markers: TxnMarkers = {
      transactionalId: m.transactionalId,
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      coordinatorEpoch: shard.epoch,
      commit,
      partitions,
    };
    const done = (async () => {
      try {
        await this.runtime.writeMarkers(markers);
      } catch (e) {
        // The transaction stays in its Prepare state; it is completed again after a reload.
        if (e instanceof TxnMarkersCancelledError) {
          log.info('transaction markers cancelled', { transactionalId: m.transactionalId, why: e.message });
        } else {
          log.error('could not write transaction markers', { transactionalId: m.transactionalId, error: String(e) });
        }
        return;
      }
      // Unloaded meanwhile: the new coordinator completes the transaction from the log.
      if (!this.active || !this.shards.isCurrent(shard) || this.txns.get(m.transactionalId) !== m) return;
      const next = snapshotOf(m);
      next.state = commit ? 'CompleteCommit' : 'CompleteAbort';
      next.partitions = new Map();
      next.txnLastUpdateTimestamp = this.runtime.now();
      const err = await this.transition(m, next);
      if (err !== ErrorCode.NONE) log.error('could not complete a transaction', { transactionalId: m.transactionalId });
    })();
    this.completing.add(done);
    void done.finally(() => this.completing.delete(done));
  }

  /** Bumps the epoch of an Ongoing transaction (fencing its producer) and aborts it. */
  private fenceAndAbort(m: TransactionMetadata): void {
    // Kafka aborts with the same epoch when it cannot bump; the next init then gets a new id.
    if (m.producerEpoch < MAX_EPOCH) {
      m.lastProducerEpoch = m.producerEpoch;
      m.producerEpoch += 1;
    }
    const done = this.prepareEnd(m, false).then(() => undefined);
    this.completing.add(done);
    void done.finally(() => this.completing.delete(done));
  }

  // ---------------------------------------------------------------- timers

  /** Both sweeps at once (tests, and callers that run them on one clock). */
  tick(now: number = this.runtime.now()): { aborted: number; expired: number } {
    return { aborted: this.abortTimedOutTransactions(now), expired: this.removeExpiredTransactionalIds(now) };
  }

  /**
   * Aborts the transactions open longer than their producer's transaction.timeout.ms, fencing
   * the producer's epoch as Kafka does (run every
   * transaction.abort.timed.out.transaction.cleanup.interval.ms). Returns how many.
   */
  abortTimedOutTransactions(now: number = this.runtime.now()): number {
    if (!this.active) return 0;
    let aborted = 0;
    for (const m of this.txns.values()) {
      if (m.pendingState !== null || m.state !== 'Ongoing' || m.txnStartTimestamp + m.txnTimeoutMs >= now) continue;
      log.info('aborting a timed-out transaction', { transactionalId: m.transactionalId });
      this.fenceAndAbort(m);
      aborted++;
    }
    return aborted;
  }

  /**
   * Forgets transactional ids without a transaction and unused for transactional.id.expiration.ms,
   * with a tombstone in `__transaction_state` (run every
   * transaction.remove.expired.transaction.cleanup.interval.ms). Returns how many.
   */
  removeExpiredTransactionalIds(now: number = this.runtime.now()): number {
    if (!this.active) return 0;
    let expired = 0;
    for (const m of this.txns.values()) {
      const idle = m.state === 'Empty' || m.state === 'CompleteCommit' || m.state === 'CompleteAbort';
      if (
        m.pendingState !== null ||
        !idle ||
        m.txnLastUpdateTimestamp + this.config.transactionalIdExpirationMs > now
      ) {
        continue;
      }
      m.pendingState = 'Dead';
      expired++;
      const done = this.runtime
        .append(this.partitionFor(m.transactionalId), [{ key: transactionLogKey(m.transactionalId), value: null }])
        .then(
          () => {
            if (this.txns.get(m.transactionalId) === m) this.txns.delete(m.transactionalId);
          },
          () => {
            m.pendingState = null;
          },
        );
      this.completing.add(done);
      void done.finally(() => this.completing.delete(done));
    }
    return expired;
  }

  // ---------------------------------------------------------------- admin

  describe(transactionalIds: readonly string[]): DescribedTransaction[] {
    return transactionalIds.map((id) => {
      const notServed = this.coordinatorError(id);
      const m = notServed === ErrorCode.NONE ? this.txns.get(id) : undefined;
      if (m === undefined) {
        return {
          errorCode: notServed === ErrorCode.NONE ? ErrorCode.TRANSACTIONAL_ID_NOT_FOUND : notServed,
          transactionalId: id,
          transactionState: '',
          transactionTimeoutMs: 0,
          transactionStartTimeMs: -1n,
          producerId: -1n,
          producerEpoch: -1,
          topics: [],
        };
      }
      return {
        errorCode: ErrorCode.NONE,
        transactionalId: id,
        transactionState: m.state,
        transactionTimeoutMs: m.txnTimeoutMs,
        transactionStartTimeMs: BigInt(m.txnStartTimestamp),
        producerId: m.producerId,
        producerEpoch: m.producerEpoch,
        topics: [...m.partitions].map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) })),
      };
    });
  }

  /**
   * ListTransactions: the transactional ids of the partitions served here, filtered by state
   * names, producer ids and (v1, KIP-994) the minimum time the transaction has been running.
   * Unknown state names are reported back. While a partition loads Kafka lists nothing and
   * answers COORDINATOR_LOAD_IN_PROGRESS.
   */
  list(
    stateFilters: readonly string[],
    producerIdFilters: readonly bigint[],
    durationFilterMs: number,
    now: number = this.runtime.now(),
  ): { errorCode: number; unknownStateFilters: string[]; transactionStates: ListedTransaction[] } {
    if (!this.active)
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, unknownStateFilters: [], transactionStates: [] };
    if (this.shards.anyLoading) {
      return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, unknownStateFilters: [], transactionStates: [] };
    }
    const known = new Set<string>(TRANSACTION_STATES);
    const unknownStateFilters = stateFilters.filter((s) => !known.has(s));
    const states = new Set(stateFilters.filter((s) => known.has(s)));
    const ids = new Set(producerIdFilters);
    const out: ListedTransaction[] = [];
    for (const m of this.txns.values()) {
      if (stateFilters.length > 0 && !states.has(m.state)) continue;
      if (ids.size > 0 && !ids.has(m.producerId)) continue;
      if (durationFilterMs >= 0 && (m.state !== 'Ongoing' || now - m.txnStartTimestamp < durationFilterMs)) continue;
      out.push({ transactionalId: m.transactionalId, producerId: m.producerId, transactionState: m.state });
    }
    return { errorCode: ErrorCode.NONE, unknownStateFilters, transactionStates: out };
  }

  // ---------------------------------------------------------------- writes

  /** Writes `next` to the log; applies it to `m` if the write succeeds. */
  private async transition(m: TransactionMetadata, next: TransactionMetadata): Promise<number> {
    const partition = this.partitionFor(m.transactionalId);
    const shard = this.shards.active(partition);
    if (shard === undefined || this.txns.get(m.transactionalId) !== m) {
      const err = this.coordinatorError(m.transactionalId);
      return err === ErrorCode.NONE ? ErrorCode.NOT_COORDINATOR : err;
    }
    m.pendingState = next.state;
    try {
      await this.runtime.append(partition, [
        { key: transactionLogKey(m.transactionalId), value: transactionLogValue(toLogValue(next)) },
      ]);
    } catch (e) {
      m.pendingState = null;
      log.error('could not write to __transaction_state', { transactionalId: m.transactionalId, error: String(e) });
      return appendErrorCode(e);
    }
    if (!this.shards.isCurrent(shard) || this.txns.get(m.transactionalId) !== m) {
      // Kafka: the partition was unloaded (or reloaded) while the state was being written.
      m.pendingState = null;
      return ErrorCode.NOT_COORDINATOR;
    }
    m.producerId = next.producerId;
    m.previousProducerId = next.previousProducerId;
    m.producerEpoch = next.producerEpoch;
    m.lastProducerEpoch = next.lastProducerEpoch;
    m.txnTimeoutMs = next.txnTimeoutMs;
    m.state = next.state;
    m.partitions = next.partitions;
    m.txnStartTimestamp = next.txnStartTimestamp;
    m.txnLastUpdateTimestamp = next.txnLastUpdateTimestamp;
    m.pendingState = null;
    return ErrorCode.NONE;
  }
}

function snapshotOf(m: TransactionMetadata): TransactionMetadata {
  const partitions = new Map<string, Set<number>>();
  for (const [t, s] of m.partitions) partitions.set(t, new Set(s));
  return { ...m, partitions, pendingState: null };
}

function toLogValue(m: TransactionMetadata) {
  const withPartitions = m.state !== 'Empty' && m.state !== 'CompleteCommit' && m.state !== 'CompleteAbort';
  return {
    producerId: m.producerId,
    previousProducerId: m.previousProducerId,
    nextProducerId: NO_PRODUCER_ID,
    producerEpoch: m.producerEpoch,
    transactionTimeoutMs: m.txnTimeoutMs,
    transactionStatus: stateId(m.state),
    transactionPartitions: withPartitions
      ? [...m.partitions].map(([topic, set]) => ({ topic, partitionIds: [...set].sort((a, b) => a - b) }))
      : null,
    transactionLastUpdateTimestampMs: BigInt(m.txnLastUpdateTimestamp),
    transactionStartTimestampMs: BigInt(m.txnStartTimestamp),
  };
}

function fromLogValue(transactionalId: string, v: TransactionLogValue): TransactionMetadata {
  const state = TRANSACTION_STATES[v.transactionStatus];
  if (state === undefined) throw new Error(`unknown transaction status ${v.transactionStatus}`);
  const partitions = new Map<string, Set<number>>();
  for (const p of v.transactionPartitions ?? []) partitions.set(p.topic, new Set(p.partitionIds));
  return {
    transactionalId,
    producerId: v.producerId,
    previousProducerId: v.previousProducerId,
    producerEpoch: v.producerEpoch,
    lastProducerEpoch: NO_EPOCH,
    txnTimeoutMs: v.transactionTimeoutMs,
    state,
    partitions,
    txnStartTimestamp: Number(v.transactionStartTimestampMs),
    txnLastUpdateTimestamp: Number(v.transactionLastUpdateTimestampMs),
    pendingState: null,
  };
}
