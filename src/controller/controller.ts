import type { BrokerConfig } from '../config/broker-config.js';
import type { IncrementalAlterOp } from '../config/config-values.js';
import { topicConfigDef } from '../config/topic-configs.js';
import { BrokerHeartbeatManager } from '../membership/broker-heartbeat-manager.js';
import type { MetadataImage } from '../metadata/image.js';
import { NotControllerError } from '../metadata/raft-metadata-log.js';
import type { MetadataRecord } from '../metadata/records.js';
import { logger } from '../observability/logger.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { systemClock } from '../runtime/clock.js';
import * as brokerOps from './broker-operations.js';
import { alterConfigs } from './config-operations.js';
import {
  type ControllerContext,
  type ControllerResult,
  MAX_RECORDS_PER_USER_OP,
  ResourceType,
  type SimpleResult,
} from './controller-operation.js';
import * as reassignmentOps from './reassignment-operations.js';
import * as replicationOps from './replication-operations.js';
import { randomTopicId } from './topic-id.js';
import * as topicOps from './topic-operations.js';

const log = logger('controller');

/**
 * The seam to the metadata log. `image()` is the image operations decide against; `commit`
 * resolves once the records are durable and applied. With one voter both are the local store;
 * under Raft, `image()` is the leader's image with its uncommitted records replayed into it
 * (Kafka's QuorumController applies records as it appends them) and `commit` resolves when
 * the high watermark passes the records.
 */
export interface MetadataPort {
  image(): MetadataImage;
  commit(records: readonly MetadataRecord[]): Promise<void>;
  /** The offset the next appended record gets (a Raft log's end); default: after the image's last. */
  nextOffset?(): number;
  /**
   * The Raft epoch this node is the active controller in, undefined when it is not; a port
   * without it is always active (a lone in-process store) in one unchanging epoch.
   */
  activeEpoch?(): number | undefined;
}

export interface ControllerOptions {
  /** Milliseconds, for broker sessions (default: the system clock). */
  readonly now?: () => number;
  /** This cluster's id: a broker registering for another cluster is refused. */
  readonly clusterId?: string;
  /**
   * The broker hosting this controller. A new active controller does not count that broker's
   * registered incarnation as alive: it runs in this same process, so an older registration
   * of its id is a previous run of this process.
   */
  readonly localBrokerId?: number;
}

/**
 * The controller's runtime: runs each pure operation (`*-operations.ts`) against the current
 * image, appends the records it returns, and answers once they are committed. Operations are
 * serialized so each one decides on the effect of the ones before it.
 */
export class Controller {
  private queue: Promise<unknown> = Promise.resolve();
  /** Broker sessions of the current activation (null until a membership operation runs while active). */
  private heartbeats: BrokerHeartbeatManager | null = null;
  private heartbeatsEpoch: number | undefined;
  private readonly now: () => number;

  constructor(
    private readonly metadata: MetadataPort,
    private readonly config: () => BrokerConfig,
    private readonly options: ControllerOptions = {},
  ) {
    this.now = options.now ?? (() => systemClock.monotonic());
  }

  /**
   * The broker sessions of this controller's activation. A controller that has just become
   * active starts every registered broker's session afresh, as Kafka's ClusterControlManager
   * does on activation, so a leadership change does not fence every broker at once. Throws
   * NotControllerError off the active controller: sessions exist only there.
   */
  private sessions(image: MetadataImage): BrokerHeartbeatManager {
    const epoch = this.metadata.activeEpoch === undefined ? 0 : this.metadata.activeEpoch();
    if (epoch === undefined) throw new NotControllerError('this node is not the active controller');
    if (this.heartbeats === null || this.heartbeatsEpoch !== epoch) {
      const sessions = new BrokerHeartbeatManager(this.config().getNumber('broker.session.timeout.ms'));
      const now = this.now();
      for (const b of image.brokers.values()) {
        sessions.register(b.id, b.fenced || b.id === this.options.localBrokerId, now);
      }
      this.heartbeats = sessions;
      this.heartbeatsEpoch = epoch;
    }
    return this.heartbeats;
  }

  private context(): ControllerContext {
    return {
      config: this.config(),
      newTopicId: randomTopicId,
      shuttingDown: this.shuttingDown(),
    };
  }

  /** Config and the brokers in controlled shutdown, for the operations that elect leaders. */
  private replication(): replicationOps.ReplicationContext {
    return { config: this.config(), shuttingDown: this.shuttingDown() };
  }

  /** The brokers in controlled shutdown in this activation's sessions (none before they start). */
  private shuttingDown(): Set<number> {
    const epoch = this.metadata.activeEpoch === undefined ? 0 : this.metadata.activeEpoch();
    if (this.heartbeats === null || this.heartbeatsEpoch !== epoch) return new Set();
    return this.heartbeats.shuttingDown();
  }

  /**
   * Decides, commits and answers one operation. `committed` runs after the records are
   * committed (not for an operation that wrote none).
   */
  private run<T>(
    decide: (image: MetadataImage) => ControllerResult<T>,
    committed?: (response: T, records: readonly MetadataRecord[]) => void,
  ): Promise<T> {
    const fn = async () => {
      const { records, response } = decide(this.metadata.image());
      if (records.length > 0) {
        await this.metadata.commit(records);
        committed?.(response, records);
      }
      return response;
    };
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  createTopics(
    topics: readonly topicOps.CreatableTopic[],
    validateOnly: boolean,
  ): Promise<topicOps.CreateTopicResult[]> {
    return this.run(
      (image) => {
        const result = topicOps.createTopics(image, this.context(), topics, validateOnly);
        warnIfTooLarge('CreateTopics', result.response);
        return result;
      },
      (results, records) => {
        for (const r of results) {
          if (r.errorCode === 0)
            log.info('created topic', { topic: r.name, topicId: r.topicId, partitions: r.numPartitions });
        }
        warnIgnoredTopicSettings(records);
      },
    );
  }

  deleteTopics(
    targets: ReadonlyArray<{ name: string | null; topicId: string | null }>,
  ): Promise<topicOps.DeleteTopicResult[]> {
    return this.run(
      (image) => topicOps.deleteTopics(image, this.context(), targets),
      (results, records) => {
        log.info('deleted topics', { count: records.length });
        const refused = results.filter((r) => r.errorCode === ErrorCode.UNKNOWN_SERVER_ERROR).length;
        if (refused > 0) {
          log.warn('left topics undeleted: one operation may delete at most maxRecords topics', {
            refused,
            maxRecords: MAX_RECORDS_PER_USER_OP,
          });
        }
      },
    );
  }

  createPartitions(
    topics: readonly topicOps.CreatePartitionsTopic[],
    validateOnly: boolean,
  ): Promise<Array<{ name: string } & SimpleResult>> {
    return this.run((image) => {
      const result = topicOps.createPartitions(image, topics, validateOnly, this.shuttingDown());
      warnIfTooLarge('CreatePartitions', result.response);
      return result;
    });
  }

  /**
   * Changes configs of one resource. `ops` are incremental operations; for the legacy
   * AlterConfigs API (which replaces the whole set) pass `replace: true`.
   */
  alterConfigs(
    resourceType: number,
    resourceName: string,
    ops: readonly IncrementalAlterOp[],
    opts: { replace: boolean; validateOnly: boolean },
  ): Promise<SimpleResult> {
    return this.run(
      (image) => alterConfigs(image, this.context(), resourceType, resourceName, ops, opts),
      (_, records) => warnIgnoredTopicSettings(records),
    );
  }

  /** Allocates the next block of producer ids to a broker (Kafka's AllocateProducerIds). */
  allocateProducerIds(brokerId: number, brokerEpoch: bigint, blockSize: number): Promise<bigint> {
    return this.run((image) => brokerOps.allocateProducerIds(image, brokerId, brokerEpoch, blockSize));
  }

  /**
   * Registers a starting broker; its epoch is the offset of its RegisterBrokerRecord. Its
   * session starts fenced: its heartbeats unfence it once it has caught up.
   */
  registerBroker(
    registration: brokerOps.BrokerRegistrationRequest,
  ): Promise<{ errorCode: number; brokerEpoch: bigint }> {
    let replaced: bigint | null = null;
    return this.run(
      (image) => {
        const sessions = this.sessions(image);
        const now = this.now();
        replaced = image.brokers.get(registration.brokerId)?.epoch ?? null;
        const result = brokerOps.registerBroker(image, registration, {
          // The single record of this batch lands right after the last record of the log.
          nextOffset: this.metadata.nextOffset?.() ?? image.offset + 1,
          ...(this.options.clusterId !== undefined ? { clusterId: this.options.clusterId } : {}),
          hasLiveSession: sessions.hasValidSession(registration.brokerId, now),
          replication: this.replication(),
        });
        const { errorCode } = result.response;
        if (errorCode === 0) {
          // A retry of the registered incarnation keeps its fencing state; a new one starts fenced.
          const fenced = result.records.length > 0 || (image.brokers.get(registration.brokerId)?.fenced ?? true);
          sessions.register(registration.brokerId, fenced, now);
        }
        if (errorCode !== 0) {
          log.warn('refused a broker registration', {
            brokerId: registration.brokerId,
            incarnationId: registration.incarnationId,
            error: errorName(errorCode),
          });
        }
        return result;
      },
      (r, records) => {
        log.info('registered broker', {
          brokerId: registration.brokerId,
          brokerEpoch: r.brokerEpoch,
          incarnationId: registration.incarnationId,
          endpoints: registration.endPoints.map((e) => `${e.name}://${e.host}:${e.port}`).join(','),
          replaced: replaced === null ? null : String(replaced),
        });
        logPartitionChanges('the previous incarnation of a registered broker', records);
      },
    );
  }

  /**
   * A broker's heartbeat (KIP-631): keeps its session alive and moves it between fenced and
   * unfenced as it asks (see `brokerHeartbeat`). Answers NOT_CONTROLLER (throws
   * NotControllerError) off the active controller.
   */
  brokerHeartbeat(hb: brokerOps.BrokerHeartbeat): Promise<brokerOps.BrokerHeartbeatReply> {
    let wasFenced = true;
    let wasShuttingDown = false;
    return this.run(
      (image) => {
        const sessions = this.sessions(image);
        wasFenced = image.brokers.get(hb.brokerId)?.fenced ?? true;
        const controlledShutdownOffset = sessions.controlledShutdownOffset(hb.brokerId);
        wasShuttingDown = controlledShutdownOffset !== null;
        const result = brokerOps.brokerHeartbeat(image, hb, {
          ...this.replication(),
          controlledShutdownOffset,
          lowestActiveOffset: sessions.lowestActiveOffset(hb.brokerId),
          nextOffset: this.metadata.nextOffset?.() ?? image.offset + 1,
        });
        if (result.response.errorCode === 0) {
          // Kafka touches the session as it decides, before the records commit.
          sessions.touch(
            hb.brokerId,
            result.response.isFenced,
            hb.currentMetadataOffset,
            this.now(),
            result.response.controlledShutdownOffset ?? null,
          );
        }
        return result;
      },
      (r, records) => {
        if (r.isFenced && !wasFenced) {
          log.info('fenced broker', {
            brokerId: hb.brokerId,
            brokerEpoch: hb.brokerEpoch,
            reason: r.shouldShutDown ? 'shutdown' : 'asked',
          });
        } else if (!r.isFenced && wasFenced) {
          log.info('unfenced broker', { brokerId: hb.brokerId, brokerEpoch: hb.brokerEpoch });
        } else if (!wasShuttingDown && (r.controlledShutdownOffset ?? null) !== null) {
          log.info('broker in controlled shutdown: moving its partitions away', {
            brokerId: hb.brokerId,
            brokerEpoch: hb.brokerEpoch,
          });
        }
        logPartitionChanges(`broker ${hb.brokerId} changed state`, records);
      },
    );
  }

  /**
   * Whether a session check would find a broker to fence (cheap: no operation is queued). On a
   * node that has just become the active controller this starts the sessions, so the check runs
   * even before any broker has heartbeated it.
   */
  hasStaleBrokers(): boolean {
    if (this.metadata.activeEpoch !== undefined && this.metadata.activeEpoch() === undefined) return false;
    return this.sessions(this.metadata.image()).staleBrokers(this.now()).length > 0;
  }

  /**
   * Fences every unfenced broker not heard from within `broker.session.timeout.ms` (Kafka's
   * maybeFenceStaleBroker). Resolves with the fenced ids; nothing happens off the active controller.
   */
  fenceStaleBrokers(): Promise<number[]> {
    let timeoutMs = 0;
    return this.run(
      (image) => {
        if (this.metadata.activeEpoch !== undefined && this.metadata.activeEpoch() === undefined) {
          return { records: [], response: [] };
        }
        const sessions = this.sessions(image);
        timeoutMs = sessions.sessionTimeoutMs;
        const stale = sessions.staleBrokers(this.now());
        for (const id of stale) {
          if (image.brokers.has(id)) sessions.fence(id);
          else sessions.remove(id);
        }
        return brokerOps.fenceBrokers(image, stale, this.replication());
      },
      (_, records) => {
        logPartitionChanges('brokers fenced on session timeout', records);
        for (const r of records) {
          if (r.type === 'FenceBrokerRecord')
            log.warn('fenced broker: its session timed out', {
              brokerId: r.data.id,
              brokerEpoch: r.data.epoch,
              sessionTimeoutMs: timeoutMs,
            });
        }
      },
    );
  }

  /**
   * Unfences a registered broker directly (it becomes live: leader and replica candidate),
   * without starting a session: brokers are unfenced by their heartbeats (`brokerHeartbeat`),
   * which also keep them from being fenced by the session timeout.
   */
  unfenceBroker(brokerId: number, brokerEpoch: bigint): Promise<SimpleResult> {
    return this.run(
      (image) => brokerOps.changeFencing(image, brokerId, brokerEpoch, false, this.replication()),
      (_, records) => {
        log.info('unfenced broker', { brokerId, brokerEpoch });
        logPartitionChanges(`broker ${brokerId} unfenced`, records);
      },
    );
  }

  /** Fences a broker (a clean shutdown, or a lost session): it stays registered but is not live. */
  fenceBroker(brokerId: number, brokerEpoch: bigint): Promise<SimpleResult> {
    return this.run(
      (image) => {
        const result = brokerOps.changeFencing(image, brokerId, brokerEpoch, true, this.replication());
        if (result.response.errorCode === 0) this.heartbeats?.fence(brokerId);
        return result;
      },
      (_, records) => {
        log.info('fenced broker', { brokerId, brokerEpoch });
        logPartitionChanges(`broker ${brokerId} fenced`, records);
      },
    );
  }

  /** Kafka's UnregisterBroker (decommissioning): removes the registration of a broker. */
  unregisterBroker(brokerId: number): Promise<SimpleResult> {
    return this.run(
      (image) => {
        const result = brokerOps.unregisterBroker(image, brokerId, this.replication());
        if (result.records.length > 0) this.heartbeats?.remove(brokerId);
        return result;
      },
      (_, records) => {
        const r = records[records.length - 1];
        if (r?.type === 'UnregisterBrokerRecord') {
          log.info('unregistered broker', { brokerId, brokerEpoch: r.data.brokerEpoch });
        }
        logPartitionChanges(`broker ${brokerId} unregistered`, records);
      },
    );
  }

  /**
   * AlterPartition from a partition leader (see `alterPartition` in replication-operations.ts).
   * Answered only by the active controller: elsewhere it throws NotControllerError.
   */
  alterPartition(
    request: replicationOps.AlterPartitionRequestData,
    version: number,
  ): Promise<replicationOps.AlterPartitionResult> {
    return this.run(
      (image) => {
        this.sessions(image);
        const result = replicationOps.alterPartition(image, this.replication(), request, version);
        if (result.response.errorCode !== 0) {
          log.info('refused AlterPartition: stale broker epoch', {
            brokerId: request.brokerId,
            brokerEpoch: request.brokerEpoch,
            registered: String(image.brokers.get(request.brokerId)?.epoch ?? 'no'),
          });
        }
        for (const r of result.rejected) {
          log.info('refused an ISR change', {
            brokerId: request.brokerId,
            topic: r.topic,
            partition: r.partition,
            error: errorName(r.errorCode),
            why: r.why,
          });
        }
        return result;
      },
      (_, records) => logPartitionChanges(`AlterPartition from broker ${request.brokerId}`, records),
    );
  }

  /**
   * Automatic preferred-leader balancing (Kafka's `auto.leader.rebalance.enable`): a preferred
   * election for up to `limit` partitions whose first replica is in the ISR and live but does
   * not lead (Kafka elects at most 1000 per round). Resolves with how many moved; nothing
   * happens off the active controller.
   */
  balancePartitionLeaders(limit = 1000): Promise<number> {
    return this.run(
      (image) => {
        if (this.metadata.activeEpoch !== undefined && this.metadata.activeEpoch() === undefined) {
          return { records: [], response: 0 };
        }
        const ctx = this.replication();
        const imbalanced = replicationOps.imbalancedPartitions(image, ctx, limit);
        if (imbalanced.length === 0) return { records: [], response: 0 };
        const { records } = replicationOps.electLeaders(image, ctx, replicationOps.ElectionType.PREFERRED, imbalanced);
        return { records, response: records.length };
      },
      (_, records) => logPartitionChanges('preferred leaders balanced', records),
    );
  }

  /**
   * Unclean elections for partitions without a leader whose topic allows them (Kafka's
   * periodic maybeElectUncleanLeaders): for `unclean.leader.election.enable` turned on after a
   * partition lost its leader. At most `limit` per round; resolves with how many got a leader.
   */
  electUncleanLeaders(limit = 1000): Promise<number> {
    return this.run(
      (image) => {
        if (this.metadata.activeEpoch !== undefined && this.metadata.activeEpoch() === undefined) {
          return { records: [], response: 0 };
        }
        const ctx = this.replication();
        const leaderless = replicationOps.leaderlessUncleanPartitions(image, ctx, limit);
        if (leaderless.length === 0) return { records: [], response: 0 };
        const { records } = replicationOps.electLeaders(image, ctx, replicationOps.ElectionType.UNCLEAN, leaderless);
        return { records, response: records.length };
      },
      (_, records) => logPartitionChanges('unclean leader election for partitions without a leader', records),
    );
  }

  /**
   * ElectLeaders (see `electLeaders` in replication-operations.ts). Answered only by the active
   * controller: elsewhere it throws NotControllerError.
   */
  electLeaders(
    electionType: number,
    topicPartitions: ReadonlyArray<{ topic: string; partitions: readonly number[] }> | null,
  ): Promise<replicationOps.ElectLeadersResult> {
    return this.run(
      (image) => {
        this.sessions(image);
        return replicationOps.electLeaders(image, this.replication(), electionType, topicPartitions);
      },
      (result, records) => {
        if (result.errorCode === ErrorCode.POLICY_VIOLATION) {
          log.warn('refused an election that would write too many metadata records', {
            maxRecords: MAX_RECORDS_PER_USER_OP,
          });
        }
        logPartitionChanges(electionType === 0 ? 'preferred leader election' : 'unclean leader election', records);
      },
    );
  }

  /**
   * AlterPartitionReassignments (see `alterPartitionReassignments` in
   * reassignment-operations.ts). Answered only by the active controller: elsewhere it throws
   * NotControllerError.
   */
  alterPartitionReassignments(
    topics: readonly reassignmentOps.ReassignableTopic[],
  ): Promise<reassignmentOps.AlterPartitionReassignmentsResult> {
    return this.run(
      (image) => {
        this.sessions(image);
        const result = reassignmentOps.alterPartitionReassignments(image, this.replication(), topics);
        for (const r of result.refused) {
          log.info('refused a partition reassignment', {
            topic: r.topic,
            partition: r.partition,
            error: errorName(r.errorCode),
            why: r.message,
          });
        }
        return result;
      },
      (_, records) => logPartitionChanges('partition reassignment', records),
    );
  }

  /** ListPartitionReassignments (see reassignment-operations.ts), from the active controller's image. */
  listPartitionReassignments(
    topics: ReadonlyArray<{ readonly name: string; readonly partitionIndexes: readonly number[] }> | null,
  ): Promise<reassignmentOps.OngoingTopicReassignment[]> {
    return this.run((image) => {
      this.sessions(image);
      return { records: [], response: reassignmentOps.listPartitionReassignments(image, topics) };
    });
  }
}

/** Says where an operator looks that an operation was refused for needing too many records. */
function warnIfTooLarge(operation: string, results: ReadonlyArray<{ name: string } & SimpleResult>): void {
  const first = results[0];
  if (first === undefined || first.errorCode !== ErrorCode.POLICY_VIOLATION) return;
  log.warn('refused an operation that would write too many metadata records', {
    operation,
    topics: results.length,
    firstTopic: first.name,
    maxRecords: MAX_RECORDS_PER_USER_OP,
    error: first.errorMessage,
  });
}

/**
 * Settings Kafka 3.x still accepted but deprecated (removed in Kafka 4.0, such as
 * message.format.version) are accepted so tools written for Kafka 3 keep working, and have no
 * effect: say so where an operator looks.
 */
function warnIgnoredTopicSettings(records: readonly MetadataRecord[]): void {
  for (const r of records) {
    if (r.type !== 'ConfigRecord' || r.data.resourceType !== ResourceType.TOPIC || r.data.value === null) continue;
    if (topicConfigDef(r.data.name)?.deprecated === true) {
      log.warn('deprecated topic setting accepted and ignored (removed in Kafka 4.0)', {
        topic: r.data.resourceName,
        name: r.data.name,
        value: r.data.value,
      });
    }
  }
}

/**
 * Says what partition changes an operation made: a summary at info, each partition at debug; an
 * unclean election (the new leader outside the ISR, which may lose acknowledged data) at warn.
 */
function logPartitionChanges(cause: string, records: readonly MetadataRecord[]): void {
  let changed = 0;
  let leaderless = 0;
  for (const r of records) {
    if (r.type !== 'PartitionChangeRecord') continue;
    changed++;
    const d = r.data;
    if (d.leader === -1) leaderless++;
    if (d.leaderRecoveryState === 1) {
      log.warn('unclean leader election: the new leader was not in the ISR', {
        topicId: d.topicId,
        partition: d.partitionId,
        leader: d.leader,
      });
    } else {
      log.debug('partition changed', {
        topicId: d.topicId,
        partition: d.partitionId,
        leader: d.leader === -2 ? 'unchanged' : d.leader,
        isr: d.isr === null ? 'unchanged' : d.isr.join(','),
        replicas: d.replicas === null ? 'unchanged' : d.replicas.join(','),
        ...(d.addingReplicas != null ? { adding: d.addingReplicas.join(',') } : {}),
        ...(d.removingReplicas != null ? { removing: d.removingReplicas.join(',') } : {}),
      });
    }
  }
  if (changed > 0) log.info('partition leadership and ISR changed', { cause, partitions: changed, leaderless });
}
