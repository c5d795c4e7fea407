/**
 * The transaction coordinator as the broker runs it: the pure core (transaction-coordinator.ts)
 * on top of the `__transaction_state` topic (created on first use, compacted, with
 * transaction.state.log.num.partitions partitions; a partition is replayed when this broker
 * becomes its leader and forgotten when it stops), producer ids from the ProducerIdManager,
 * transaction markers written to every partition of a transaction (directly to those this
 * broker leads, with WriteTxnMarkers to the leaders of the others: marker-channel.ts), the
 * produce-side check of transactional writes with the transaction's coordinator, here or on
 * another broker (KIP-890), and the timeout sweep every
 * transaction.abort.timed.out.transaction.cleanup.interval.ms.
 */
import type { BrokerConfig } from '../../config/broker-config.js';
import type { CreatableTopic, CreateTopicResult } from '../../controller/topic-operations.js';
import { logger } from '../../observability/logger.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { ProduceRequest, ProduceRequestPartitionProduceData } from '../../protocol/generated/api/00-produce.js';
import { buildRecordBatch } from '../../protocol/records/batch-builder.js';
import { buildEndTxnMarkerBatch } from '../../protocol/records/control-record.js';
import { decodeRecords } from '../../protocol/records/record.js';
import { isControl } from '../../protocol/records/record-batch.js';
import { scanBatches } from '../../replication/log-scan.js';
import { awaitReplication, type Partition } from '../../replication/partition.js';
import { clearTimer, setRepeatingTimer, type Timer } from '../../runtime/timers.js';
import { notCoordinatorError, PartitionLoads } from '../coordinator-shards.js';
import { GROUP_METADATA_TOPIC } from '../group/group-service.js';
import { partitionFor } from '../group/partitioner.js';
import { type InterBrokerClient, TransactionMarkerChannel } from './marker-channel.js';
import {
  localTransactionVerifier,
  PARTITION_VERIFICATION_CONFIG,
  type TransactionVerifier,
  verifyTransactionalProduce,
} from './partition-verification.js';
import type { ProducerIdManager } from './producer-id-manager.js';
import type { TransactionStateRecord } from './records.js';
import { TransactionCoordinator, type TxnMarkers } from './transaction-coordinator.js';
import { TransactionVerificationChannel } from './verification-channel.js';

/** How long a transaction-state write or marker waits for the in-sync replicas (Kafka's request.timeout.ms default). */
const REPLICATION_TIMEOUT_MS = 30_000;

const log = logger('transaction-coordinator');

export const TRANSACTION_STATE_TOPIC = '__transaction_state';

export interface TransactionServiceDeps {
  readonly config: () => BrokerConfig;
  readonly now: () => number;
  readonly partition: (topic: string, partition: number) => Partition | undefined;
  readonly partitionCount: (topic: string) => number | undefined;
  readonly createTopics: (topics: readonly CreatableTopic[]) => Promise<CreateTopicResult[]>;
  /** Live (unfenced) brokers: the replication factor of the topic is at most this. */
  readonly liveBrokers: () => number;
  readonly producerIds: ProducerIdManager;
  /**
   * Called after a marker reached `__consumer_offsets` partition `partition`: the group
   * coordinator commits or drops the producer's offsets of that partition's groups.
   */
  readonly onOffsetsMarker: (producerId: bigint, commit: boolean, partition: number) => void;
  /** This broker's id (default: the leader of every partition, as a lone broker). */
  readonly brokerId?: number;
  /**
   * A partition's leader in the metadata image: -1 when it has none, undefined when the
   * metadata has no such partition. Default: this broker leads every partition it hosts.
   */
  readonly leaderOf?: (topic: string, partition: number) => number | undefined;
  /** Requests to other brokers (WriteTxnMarkers, AddPartitionsToTxn verifyOnly). */
  readonly interBroker?: InterBrokerClient;
}

export class TransactionService {
  readonly core: TransactionCoordinator;
  /** How a partition leader checks a transactional write with the coordinator (KIP-890). */
  readonly verifier: TransactionVerifier;
  private readonly markers: TransactionMarkerChannel;
  private readonly remoteVerification: TransactionVerificationChannel | undefined;
  private readonly timers: Timer[] = [];
  private readonly appendChains = new Map<number, Promise<void>>();
  /** Loads in progress by partition. */
  private readonly loads = new PartitionLoads();
  private creating: Promise<boolean> | null = null;
  private closed = false;

  constructor(private readonly deps: TransactionServiceDeps) {
    const cfg = deps.config();
    const offsetsPartitions = () => deps.partitionCount(GROUP_METADATA_TOPIC) ?? cfg.offsetsTopicNumPartitions;
    this.core = new TransactionCoordinator(
      {
        transactionMaxTimeoutMs: cfg.getNumber('transaction.max.timeout.ms'),
        transactionalIdExpirationMs: cfg.getNumber('transactional.id.expiration.ms'),
        transactionStatePartitions:
          deps.partitionCount(TRANSACTION_STATE_TOPIC) ?? cfg.getNumber('transaction.state.log.num.partitions'),
      },
      {
        now: deps.now,
        append: (partition, records) => this.append(partition, records),
        generateProducerId: () => deps.producerIds.generate(),
        writeMarkers: (m) => this.writeMarkers(m),
        groupPartition: (groupId) => ({
          topic: GROUP_METADATA_TOPIC,
          partition: partitionFor(groupId, offsetsPartitions()),
        }),
      },
    );
    this.verifier = localTransactionVerifier(this.core);
    // Without a broker id (a lone broker in tests) any id serves: every hosted partition is led here.
    const brokerId = deps.brokerId ?? 0;
    const leaderOf =
      deps.leaderOf ??
      ((topic: string, partition: number) => {
        const n = deps.partitionCount(topic);
        if (n === undefined || partition >= n) return undefined;
        return deps.partition(topic, partition) === undefined ? -1 : brokerId;
      });
    this.markers = new TransactionMarkerChannel({
      localBrokerId: brokerId,
      leaderOf,
      writeLocal: (topic, partition, producerId, producerEpoch, coordinatorEpoch, commit) =>
        this.writeMarker(topic, partition, producerId, producerEpoch, coordinatorEpoch, commit),
      client: deps.interBroker,
      coordinates: (id, epoch) => this.core.coordinates(id, epoch),
    });
    this.remoteVerification =
      deps.interBroker === undefined ? undefined : new TransactionVerificationChannel({ client: deps.interBroker });
  }

  /**
   * The partitions of a transactional Produce request that must be refused, with their error
   * (transaction.partition.verification.enable, KIP-890); empty when the check is off.
   */
  async verifyProduce(req: ProduceRequest): Promise<Map<ProduceRequestPartitionProduceData, number>> {
    if (!this.deps.config().getBoolean(PARTITION_VERIFICATION_CONFIG)) return new Map();
    if (req.transactionalId === null) return new Map();
    return verifyTransactionalProduce(this.verifierOf(req.transactionalId), req, (tp, producerId, producerEpoch) =>
      this.needsVerification(tp, producerId, producerEpoch),
    );
  }

  /**
   * Who answers for `transactionalId`: the coordinator here when this broker leads its
   * `__transaction_state` partition (or the topic does not exist yet: it answers NOT_COORDINATOR),
   * else the partition's leader, asked with AddPartitionsToTxn v4+ (verifyOnly).
   */
  private verifierOf(transactionalId: string): TransactionVerifier {
    if (this.deps.partitionCount(TRANSACTION_STATE_TOPIC) === undefined) return this.verifier;
    const partition = this.core.partitionFor(transactionalId);
    if (this.core.leads(partition)) return this.verifier;
    const leader = this.deps.leaderOf?.(TRANSACTION_STATE_TOPIC, partition);
    const remote = this.remoteVerification;
    if (leader === undefined || leader < 0 || leader === this.deps.brokerId || remote === undefined) {
      // No coordinator to ask (no leader, or one here that has not loaded the partition yet).
      return this.verifier;
    }
    return remote.verifierFor(leader);
  }

  /**
   * Kafka checks only a transaction's first write to a partition (UnifiedLog's
   * maybeStartTransactionVerification): once the producer's transaction is open there at this
   * epoch, it was verified. A partition not led here is refused by the append anyway.
   */
  private needsVerification(tp: { topic: string; partition: number }, producerId: bigint, producerEpoch: number) {
    const part = this.deps.partition(tp.topic, tp.partition);
    if (part === undefined || !part.isLeader) return false;
    const e = part.loadedProducerState?.entry(producerId);
    return !(e !== undefined && e.currentTxnFirstOffset !== null && e.producerEpoch === producerEpoch);
  }

  /** Starts the timeout sweep and the expiry of unused transactional ids (over the partitions loaded here). */
  start(): void {
    const cfg = this.deps.config();
    const abortEvery = cfg.getNumber('transaction.abort.timed.out.transaction.cleanup.interval.ms');
    const expireEvery = cfg.getNumber('transaction.remove.expired.transaction.cleanup.interval.ms');
    this.timers.push(
      setRepeatingTimer(() => this.core.abortTimedOutTransactions(this.deps.now()), abortEvery),
      setRepeatingTimer(() => this.core.removeExpiredTransactionalIds(this.deps.now()), expireEvery),
    );
    for (const t of this.timers) t.unref();
  }

  /**
   * This broker became the leader of `__transaction_state` partition `partition` at
   * `leaderEpoch`: replays that partition, then serves its transactional ids (completing the
   * transactions it finds being completed). Resolves once the load is over (or was not
   * needed); a failed load is logged and the partition left unserved until the next election.
   */
  onElection(partition: number, leaderEpoch: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.loads.elect(
      {
        topic: TRANSACTION_STATE_TOPIC,
        what: 'transaction coordinator',
        log,
        onElection: (p, epoch) => this.core.onElection(p, epoch),
        hosted: (p) => this.deps.partition(TRANSACTION_STATE_TOPIC, p),
        read: readTransactionRecords,
        completeLoad: (shard, records) => this.core.completeLoad(shard, records),
        failLoad: (shard) => this.core.failLoad(shard),
      },
      partition,
      leaderEpoch,
    );
  }

  /**
   * This broker no longer leads `__transaction_state` partition `partition` (`leaderEpoch` is
   * the new leader's; undefined when the partition is gone): its transactional ids leave memory.
   */
  onResignation(partition: number, leaderEpoch?: number): void {
    if (this.core.onResignation(partition, leaderEpoch)) {
      log.info('transaction coordinator unloaded a partition', { partition, leaderEpoch: leaderEpoch ?? null });
    }
  }

  /** Makes sure `__transaction_state` exists (Kafka creates it on the first transactional FindCoordinator). */
  ensureTopic(): Promise<boolean> {
    if (this.deps.partitionCount(TRANSACTION_STATE_TOPIC) !== undefined) return Promise.resolve(true);
    if (this.creating !== null) return this.creating;
    const cfg = this.deps.config();
    const partitions = cfg.getNumber('transaction.state.log.num.partitions');
    this.creating = (async () => {
      try {
        const rf = Math.min(
          cfg.getNumber('transaction.state.log.replication.factor'),
          Math.max(1, this.deps.liveBrokers()),
        );
        const [r] = await this.deps.createTopics([
          {
            name: TRANSACTION_STATE_TOPIC,
            numPartitions: partitions,
            replicationFactor: rf,
            assignments: [],
            configs: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'compression.type', value: 'uncompressed' },
              {
                name: 'min.insync.replicas',
                value: String(Math.min(rf, cfg.getNumber('transaction.state.log.min.isr'))),
              },
              { name: 'segment.bytes', value: String(cfg.getNumber('transaction.state.log.segment.bytes')) },
            ],
          },
        ]);
        const ok =
          r !== undefined && (r.errorCode === ErrorCode.NONE || r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS);
        if (!ok) log.error('could not create __transaction_state', { error: r?.errorMessage ?? null });
        else log.info('created __transaction_state', { partitions });
        return ok;
      } catch (err) {
        // This node may not be the active controller (yet): the client retries its lookup.
        log.warn('could not create __transaction_state', { error: String(err) });
        return false;
      } finally {
        this.creating = null;
      }
    })();
    return this.creating;
  }

  private append(partition: number, records: readonly TransactionStateRecord[]): Promise<void> {
    const prev = this.appendChains.get(partition) ?? Promise.resolve();
    const next = prev.then(async () => {
      if (this.deps.partitionCount(TRANSACTION_STATE_TOPIC) === undefined && !(await this.ensureTopic())) {
        throw new Error(`${TRANSACTION_STATE_TOPIC} does not exist`);
      }
      // Only the leader writes: an append queued before a resignation is refused.
      if (!this.core.leads(partition)) throw notCoordinatorError(TRANSACTION_STATE_TOPIC, partition);
      const part = this.deps.partition(TRANSACTION_STATE_TOPIC, partition);
      if (part === undefined) throw notCoordinatorError(TRANSACTION_STATE_TOPIC, partition);
      const now = this.deps.now();
      const batch = buildRecordBatch({ records: records.map((r) => ({ key: r.key, value: r.value, timestamp: now })) });
      const r = await part.appendAsLeader(batch, { origin: 'coordinator' });
      if (r.errorCode !== ErrorCode.NONE) throw new Error(r.errorMessage ?? `append refused with error ${r.errorCode}`);
      await awaitReplication(part, r.lastOffset, REPLICATION_TIMEOUT_MS);
    });
    const settled = next.catch(() => undefined);
    this.appendChains.set(partition, settled);
    void settled.then(() => {
      if (this.appendChains.get(partition) === settled) this.appendChains.delete(partition);
    });
    return next;
  }

  /**
   * Appends one COMMIT/ABORT marker to a partition led here (the local half of WriteTxnMarkers).
   * A marker older than the producer's epoch on the partition is INVALID_PRODUCER_EPOCH.
   */
  async writeMarker(
    topic: string,
    partitionIndex: number,
    producerId: bigint,
    producerEpoch: number,
    coordinatorEpoch: number,
    commit: boolean,
  ): Promise<number> {
    const part = this.deps.partition(topic, partitionIndex);
    if (part === undefined) {
      const n = this.deps.partitionCount(topic);
      return n === undefined || partitionIndex >= n
        ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        : ErrorCode.NOT_LEADER_OR_FOLLOWER;
    }
    const now = this.deps.now();
    const batch = buildEndTxnMarkerBatch({
      producerId,
      producerEpoch,
      coordinatorEpoch,
      commit,
      timestamp: now,
      partitionLeaderEpoch: part.leaderEpoch,
    });
    // As a coordinator append: the producer's epoch is checked, and the marker ends its transaction here.
    const r = await part.appendAsLeader(batch, { origin: 'coordinator' });
    if (r.errorCode !== ErrorCode.NONE) return r.errorCode;
    part.notifyAppend();
    part.maybeIncrementHighWatermark();
    // Kafka writes markers with acks=all: the answer waits for the in-sync replicas.
    const replicated = await part.waitForHighWatermark(r.lastOffset + 1, REPLICATION_TIMEOUT_MS);
    if (replicated !== ErrorCode.NONE) return replicated;
    if (topic === GROUP_METADATA_TOPIC) this.deps.onOffsetsMarker(producerId, commit, partitionIndex);
    return ErrorCode.NONE;
  }

  /** The coordinator's side: every partition of the transaction gets its marker (marker-channel.ts). */
  private writeMarkers(m: TxnMarkers): Promise<void> {
    return this.markers.writeMarkers(m);
  }

  close(): void {
    this.closed = true;
    this.markers.close();
    this.remoteVerification?.close();
    this.core.shutdown();
    for (const t of this.timers.splice(0)) clearTimer(t);
  }
}

/** The records of a `__transaction_state` partition, from its log start (markers skipped). */
async function readTransactionRecords(part: Partition): Promise<Array<{ key: Buffer | null; value: Buffer | null }>> {
  const records: Array<{ key: Buffer | null; value: Buffer | null }> = [];
  const from = part.log.logStartOffset;
  await scanBatches(part.log, from, (batch, header) => {
    if (isControl(header.attributes)) return;
    for (const r of decodeRecords(batch)) {
      if (r.offset >= from) records.push({ key: r.key, value: r.value });
    }
  });
  return records;
}
