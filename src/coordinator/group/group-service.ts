/**
 * The group coordinator as the broker runs it: the pure core (group-coordinator.ts) on top of
 * the `__consumer_offsets` topic. Creates the topic on first use (compacted, with
 * offsets.topic.num.partitions partitions), replays a partition when this broker becomes its
 * leader (onElection) and forgets its groups when it stops leading it (onResignation), appends
 * the core's records as v2 batches, and runs the core's timers with one unref'd Node timer.
 */
import type { BrokerConfig } from '../../config/broker-config.js';
import type { CreatableTopic, CreateTopicResult } from '../../controller/topic-operations.js';
import { logger } from '../../observability/logger.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { buildRecordBatch } from '../../protocol/records/batch-builder.js';
import { parseEndTxnMarkerBatch } from '../../protocol/records/control-record.js';
import { decodeRecords } from '../../protocol/records/record.js';
import { isControl, isTransactional } from '../../protocol/records/record-batch.js';
import { scanBatches } from '../../replication/log-scan.js';
import { awaitReplication, type Partition } from '../../replication/partition.js';
import { random } from '../../runtime/random.js';
import { clearTimer, setTimer, type Timer } from '../../runtime/timers.js';
import { notCoordinatorError, PartitionLoads } from '../coordinator-shards.js';
import { GroupCoordinator, type LoadedRecord } from './group-coordinator.js';
import type { CoordinatorRecord } from './records.js';

const log = logger('group-coordinator');

export const GROUP_METADATA_TOPIC = '__consumer_offsets';

export interface GroupServiceDeps {
  readonly config: () => BrokerConfig;
  readonly now: () => number;
  /** The hosted partition, if any. */
  readonly partition: (topic: string, partition: number) => Partition | undefined;
  /** Number of partitions of a topic, or undefined when it does not exist. */
  readonly partitionCount: (topic: string) => number | undefined;
  readonly createTopics: (topics: readonly CreatableTopic[]) => Promise<CreateTopicResult[]>;
  /** Live (unfenced) brokers: the replication factor of the topic is at most this. */
  readonly liveBrokers: () => number;
}

export class GroupService {
  readonly core: GroupCoordinator;
  private timer: Timer | null = null;
  private readonly appendChains = new Map<number, Promise<void>>();
  /** Loads in progress by partition. */
  private readonly loads = new PartitionLoads();
  private creating: Promise<boolean> | null = null;
  private closed = false;

  constructor(private readonly deps: GroupServiceDeps) {
    const cfg = deps.config();
    this.core = new GroupCoordinator(
      {
        groupMinSessionTimeoutMs: cfg.groupMinSessionTimeoutMs,
        groupMaxSessionTimeoutMs: cfg.groupMaxSessionTimeoutMs,
        groupInitialRebalanceDelayMs: cfg.groupInitialRebalanceDelayMs,
        groupMaxSize: cfg.groupMaxSize,
        offsetMetadataMaxBytes: cfg.getNumber('offset.metadata.max.bytes'),
        offsetsRetentionMs: cfg.offsetsRetentionMs,
        offsetsRetentionCheckIntervalMs: cfg.getNumber('offsets.retention.check.interval.ms'),
        offsetsTopicPartitions: deps.partitionCount(GROUP_METADATA_TOPIC) ?? cfg.offsetsTopicNumPartitions,
      },
      {
        now: deps.now,
        append: (partition, records, txn) => this.append(partition, records, txn),
        partitionExists: (topic, partition) => {
          const n = deps.partitionCount(topic);
          return n !== undefined && partition >= 0 && partition < n;
        },
        setWakeup: (deadline) => this.setWakeup(deadline),
        randomId: () => random().uuid(),
      },
    );
  }

  /**
   * This broker became the leader of `__consumer_offsets` partition `partition` at
   * `leaderEpoch`: replays that partition, then serves its groups (COORDINATOR_LOAD_IN_PROGRESS
   * meanwhile). Resolves once the load is over (or was not needed); a failed load is logged and
   * the partition left unserved until the next election.
   */
  onElection(partition: number, leaderEpoch: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.loads.elect(
      {
        topic: GROUP_METADATA_TOPIC,
        what: 'group coordinator',
        log,
        onElection: (p, epoch) => this.core.onElection(p, epoch),
        hosted: (p) => this.deps.partition(GROUP_METADATA_TOPIC, p),
        read: readGroupRecords,
        completeLoad: (shard, records) => this.core.completeLoad(shard, records),
        failLoad: (shard) => this.core.failLoad(shard),
      },
      partition,
      leaderEpoch,
    );
  }

  /**
   * This broker no longer leads `__consumer_offsets` partition `partition` (`leaderEpoch` is
   * the new leader's; undefined when the partition is gone): its groups leave memory and their
   * waiting requests get NOT_COORDINATOR.
   */
  onResignation(partition: number, leaderEpoch?: number): void {
    if (this.core.onResignation(partition, leaderEpoch)) {
      log.info('group coordinator unloaded a partition', { partition, leaderEpoch: leaderEpoch ?? null });
    }
  }

  /**
   * Makes sure `__consumer_offsets` exists (Kafka creates it on the first FindCoordinator).
   * False while it cannot be created; clients then get COORDINATOR_NOT_AVAILABLE and retry.
   */
  ensureTopic(): Promise<boolean> {
    if (this.deps.partitionCount(GROUP_METADATA_TOPIC) !== undefined) return Promise.resolve(true);
    if (this.creating !== null) return this.creating;
    const cfg = this.deps.config();
    this.creating = (async () => {
      try {
        const rf = Math.min(cfg.getNumber('offsets.topic.replication.factor'), Math.max(1, this.deps.liveBrokers()));
        const [r] = await this.deps.createTopics([
          {
            name: GROUP_METADATA_TOPIC,
            numPartitions: cfg.offsetsTopicNumPartitions,
            replicationFactor: rf,
            assignments: [],
            configs: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'compression.type', value: 'producer' },
              // Committed offsets survive the loss of one in-sync replica once there are three.
              { name: 'min.insync.replicas', value: String(Math.min(2, rf)) },
              { name: 'segment.bytes', value: String(cfg.getNumber('offsets.topic.segment.bytes')) },
            ],
          },
        ]);
        const ok =
          r !== undefined && (r.errorCode === ErrorCode.NONE || r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS);
        if (!ok) log.error('could not create __consumer_offsets', { error: r?.errorMessage ?? null });
        else log.info('created __consumer_offsets', { partitions: cfg.offsetsTopicNumPartitions });
        return ok;
      } catch (err) {
        // This node may not be the active controller (yet): the client retries its lookup.
        log.warn('could not create __consumer_offsets', { error: String(err) });
        return false;
      } finally {
        this.creating = null;
      }
    })();
    return this.creating;
  }

  private append(
    partition: number,
    records: readonly CoordinatorRecord[],
    txn?: { readonly producerId: bigint; readonly producerEpoch: number },
  ): Promise<void> {
    const prev = this.appendChains.get(partition) ?? Promise.resolve();
    const next = prev.then(async () => {
      // Only the leader writes: an append queued before a resignation is refused.
      if (!this.core.leads(partition)) throw notCoordinatorError(GROUP_METADATA_TOPIC, partition);
      const part = this.deps.partition(GROUP_METADATA_TOPIC, partition);
      if (part === undefined) throw notCoordinatorError(GROUP_METADATA_TOPIC, partition);
      const now = this.deps.now();
      const batch = buildRecordBatch({
        records: records.map((r) => ({ key: r.key, value: r.value, timestamp: now })),
        ...(txn !== undefined
          ? { producerId: txn.producerId, producerEpoch: txn.producerEpoch, transactional: true }
          : {}),
      });
      const r = await part.appendAsLeader(batch, { origin: 'coordinator' });
      if (r.errorCode !== ErrorCode.NONE) {
        // A fenced transactional producer's offsets (a stale epoch) are refused like its data.
        throw Object.assign(new Error(r.errorMessage ?? `append refused with error ${r.errorCode}`), {
          errorCode: r.errorCode,
        });
      }
      await awaitReplication(part, r.lastOffset, this.deps.config().getNumber('offsets.commit.timeout.ms'));
    });
    const settled = next.catch(() => undefined);
    this.appendChains.set(partition, settled);
    void settled.then(() => {
      if (this.appendChains.get(partition) === settled) this.appendChains.delete(partition);
    });
    return next;
  }

  private setWakeup(deadline: number | null): void {
    clearTimer(this.timer);
    this.timer = null;
    if (deadline === null || this.closed) return;
    const delay = Math.max(0, Math.min(deadline - this.deps.now(), 2 ** 31 - 1));
    this.timer = setTimer(() => {
      this.timer = null;
      this.core.runDueTimers(this.deps.now());
    }, delay);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    this.core.shutdown();
    clearTimer(this.timer);
    this.timer = null;
  }
}

/** The records of a `__consumer_offsets` partition in log order, transaction markers included. */
async function readGroupRecords(part: Partition): Promise<LoadedRecord[]> {
  const records: LoadedRecord[] = [];
  const from = part.log.logStartOffset;
  await scanBatches(part.log, from, (batch, header) => {
    if (isControl(header.attributes)) {
      const marker = parseEndTxnMarkerBatch(batch);
      if (marker !== null) {
        records.push({
          key: null,
          value: null,
          producerId: marker.producerId,
          marker: marker.commit ? 'commit' : 'abort',
        });
      }
      return;
    }
    const producerId = isTransactional(header.attributes) ? header.producerId : undefined;
    for (const r of decodeRecords(batch)) {
      if (r.offset < from) continue;
      records.push(
        producerId === undefined ? { key: r.key, value: r.value } : { key: r.key, value: r.value, producerId },
      );
    }
  });
  return records;
}
