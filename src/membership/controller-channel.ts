// A broker's way to the active controller (Kafka's NodeToControllerChannelManager). The active
// controller is the metadata quorum's leader: when that is this node, an operation runs on the
// controller in this process; otherwise it is sent over the cluster client to the leader. While
// there is no leader, or the leader moves or cannot be reached, the operation is tried again
// until its deadline, as Kafka's channel does.

import { type ClusterClient, NodeUnavailableError } from '../client/cluster-client.js';
import type * as brokerOps from '../controller/broker-operations.js';
import type { Controller } from '../controller/controller.js';
import type { CreatableTopic, CreateTopicResult } from '../controller/topic-operations.js';
import { NotControllerError, type RaftMetadataLog } from '../metadata/raft-metadata-log.js';
import { logger } from '../observability/logger.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import {
  type CreateTopicsResponse,
  defaultCreateTopicsRequest,
  defaultCreateTopicsRequestCreatableTopic,
} from '../protocol/generated/api/19-create-topics.js';
import type { DescribeQuorumResponse } from '../protocol/generated/api/55-describe-quorum.js';
import type { AlterPartitionResponse } from '../protocol/generated/api/56-alter-partition.js';
import {
  type BrokerRegistrationResponse,
  defaultBrokerRegistrationRequest,
} from '../protocol/generated/api/62-broker-registration.js';
import {
  type BrokerHeartbeatResponse,
  defaultBrokerHeartbeatRequest,
} from '../protocol/generated/api/63-broker-heartbeat.js';
import type { AllocateProducerIdsResponse } from '../protocol/generated/api/67-allocate-producer-ids.js';
import { ApiKey } from '../protocol/generated/api-table.js';
import { ZERO_UUID } from '../protocol/primitives/reader.js';
import { RAFT_SEND_VERSIONS } from '../raft/wire/common.js';
import { describeQuorumRequestToWire, describeQuorumResponseFromWire } from '../raft/wire/describe-quorum.js';
import { sleep } from '../runtime/timers.js';

const log = logger('membership');

/** Wait between attempts while no controller is known or the one asked is not it. */
const RETRY_BACKOFF_MS = 50;
/** The longest wait between attempts: a new controller is found within this of being elected. */
const RETRY_BACKOFF_MAX_MS = 100;

/** No controller answered the operation before its deadline. */
export class ControllerUnavailableError extends Error {
  override readonly name = 'ControllerUnavailableError';
  readonly errorCode = ErrorCode.REQUEST_TIMED_OUT;
}

/** The remote answer said the node asked is not (or no longer) the active controller. */
const MOVED = Symbol('moved');

export interface ControllerChannelOptions {
  readonly metadata: RaftMetadataLog;
  readonly controller: Controller;
  readonly client: ClusterClient;
  /** Per-attempt timeout of a remote request (controller.quorum.request.timeout.ms style). */
  readonly requestTimeoutMs: number;
  readonly clusterId: string;
}

export class ControllerChannel {
  private closed = false;

  constructor(private readonly options: ControllerChannelOptions) {}

  /** The active controller's node id, when one is known (the Raft leader). */
  get controllerId(): number | undefined {
    return this.options.metadata.controllerId;
  }

  /** Whether operations run in this process now. */
  get isLocal(): boolean {
    return this.options.metadata.isActiveController;
  }

  close(): void {
    this.closed = true;
  }

  /**
   * Runs an operation on the active controller: `local` when it is this node, `remote(id)`
   * otherwise. Retries on NOT_CONTROLLER, an unknown leader, or an unreachable node, until
   * `timeoutMs` has passed.
   */
  async call<T>(
    what: string,
    local: (c: Controller) => Promise<T>,
    remote: (nodeId: number, timeoutMs: number) => Promise<T | typeof MOVED>,
    timeoutMs: number,
    sync = false,
  ): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    let lastProblem = 'no active controller is known';
    for (let attempt = 0; !this.closed; attempt++) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      if (attempt > 0) await sleep(Math.min(RETRY_BACKOFF_MS * attempt, RETRY_BACKOFF_MAX_MS, Math.max(1, left)));
      const metadata = this.options.metadata;
      const leader = metadata.controllerId;
      const self = metadata.raft.nodeId;
      try {
        if (leader === self) {
          // A new leader first applies what earlier epochs committed (isActiveController).
          if (!metadata.isActiveController) continue;
          return await local(this.options.controller);
        }
        if (leader === undefined) continue;
        const r = await remote(
          leader,
          Math.max(1, Math.min(this.options.requestTimeoutMs, deadline - performance.now())),
        );
        if (r !== MOVED) {
          if (sync) await this.catchUpWith(leader, Math.max(1, deadline - performance.now()));
          return r;
        }
        lastProblem = `node ${leader} is not the active controller`;
      } catch (err) {
        if (err instanceof NotControllerError || err instanceof NodeUnavailableError) {
          lastProblem = err.message;
          continue;
        }
        throw err;
      }
    }
    throw new ControllerUnavailableError(`${what}: ${this.closed ? 'the broker is closing' : lastProblem}`);
  }

  /**
   * After a change made on another node: waits until this node has applied the metadata log up
   * to that controller's high watermark (which covers the change), so what the caller does next
   * here sees it. Bounded by `timeoutMs`; past it the caller goes on (the change is made).
   */
  async catchUpWith(nodeId: number, timeoutMs: number): Promise<void> {
    try {
      const res = await this.send<DescribeQuorumResponse>(
        nodeId,
        ApiKey.DescribeQuorum,
        () => describeQuorumRequestToWire(),
        timeoutMs,
        RAFT_SEND_VERSIONS[ApiKey.DescribeQuorum],
      );
      const quorum = describeQuorumResponseFromWire(res as never).quorum;
      if (quorum !== undefined) await this.options.metadata.waitApplied(quorum.highWatermark, timeoutMs);
    } catch (err) {
      log.debug('could not catch up with the controller', { nodeId, error: String(err) });
    }
  }

  private async send<T>(
    nodeId: number,
    apiKey: number,
    body: (v: number) => unknown,
    timeoutMs: number,
    maxVersion?: number,
  ): Promise<T> {
    const { response } = await this.options.client.request<T>(nodeId, apiKey, body, timeoutMs, maxVersion);
    return response;
  }

  registerBroker(
    registration: brokerOps.BrokerRegistrationRequest,
    timeoutMs: number,
  ): Promise<{ errorCode: number; brokerEpoch: bigint }> {
    return this.call(
      'broker registration',
      (c) => c.registerBroker(registration),
      async (id, t) => {
        const r = await this.send<BrokerRegistrationResponse>(
          id,
          ApiKey.BrokerRegistration,
          () => ({
            ...defaultBrokerRegistrationRequest(),
            brokerId: registration.brokerId,
            clusterId: this.options.clusterId,
            incarnationId: registration.incarnationId,
            listeners: registration.endPoints.map((e) => ({ ...e })),
            rack: registration.rack,
          }),
          t,
        );
        if (r.errorCode === ErrorCode.NOT_CONTROLLER) return MOVED;
        return { errorCode: r.errorCode, brokerEpoch: r.brokerEpoch };
      },
      timeoutMs,
    );
  }

  brokerHeartbeat(hb: brokerOps.BrokerHeartbeat, timeoutMs: number): Promise<brokerOps.BrokerHeartbeatReply> {
    return this.call(
      'broker heartbeat',
      (c) => c.brokerHeartbeat(hb),
      async (id, t) => {
        const r = await this.send<BrokerHeartbeatResponse>(
          id,
          ApiKey.BrokerHeartbeat,
          () => ({ ...defaultBrokerHeartbeatRequest(), ...hb }),
          t,
        );
        if (r.errorCode === ErrorCode.NOT_CONTROLLER) return MOVED;
        return {
          errorCode: r.errorCode,
          errorMessage: r.errorCode === 0 ? null : errorName(r.errorCode),
          isCaughtUp: r.isCaughtUp,
          isFenced: r.isFenced,
          shouldShutDown: r.shouldShutDown,
        };
      },
      timeoutMs,
    );
  }

  /**
   * Kafka's AlterPartition for one partition this broker leads: proposes its new ISR (v3, with
   * each member's broker epoch) and returns the partition as the controller now has it. Always
   * sent as a request, to this node too when it is the active controller, so the controller's
   * handler is the one place that checks and applies it.
   */
  async alterPartition(
    change: {
      brokerId: number;
      brokerEpoch: bigint;
      topicId: string;
      partition: number;
      leaderEpoch: number;
      partitionEpoch: number;
      isr: ReadonlyArray<{ brokerId: number; brokerEpoch: bigint }>;
    },
    timeoutMs: number,
  ): Promise<{ errorCode: number; isr?: number[]; leaderEpoch?: number; partitionEpoch?: number }> {
    const remote = async (id: number, t: number) => {
      const r = await this.send<AlterPartitionResponse>(
        id,
        ApiKey.AlterPartition,
        (version) => {
          if (version < 2) throw new Error(`AlterPartition v${version} names topics without ids`);
          return {
            brokerId: change.brokerId,
            brokerEpoch: change.brokerEpoch,
            topics: [
              {
                topicId: change.topicId,
                partitions: [
                  {
                    partitionIndex: change.partition,
                    leaderEpoch: change.leaderEpoch,
                    newIsr: change.isr.map((m) => m.brokerId),
                    newIsrWithEpochs: change.isr.map((m) => ({ brokerId: m.brokerId, brokerEpoch: m.brokerEpoch })),
                    leaderRecoveryState: 0,
                    partitionEpoch: change.partitionEpoch,
                  },
                ],
              },
            ],
          };
        },
        t,
      );
      if (r.errorCode === ErrorCode.NOT_CONTROLLER) return MOVED;
      if (r.errorCode !== ErrorCode.NONE) return { errorCode: r.errorCode };
      const p = r.topics[0]?.partitions[0];
      if (p === undefined) return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR };
      if (p.errorCode !== ErrorCode.NONE) return { errorCode: p.errorCode };
      return { errorCode: ErrorCode.NONE, isr: p.isr, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch };
    };
    return this.call(
      'partition change',
      async () => {
        const self = this.options.metadata.raft.nodeId;
        const r = await remote(self, Math.min(this.options.requestTimeoutMs, timeoutMs));
        if (r === MOVED) throw new NotControllerError('this node is no longer the active controller');
        return r;
      },
      remote,
      timeoutMs,
    );
  }

  /** Kafka's AllocateProducerIds: the next block of producer ids for this broker. */
  allocateProducerIds(brokerId: number, brokerEpoch: bigint, blockSize: number, timeoutMs: number): Promise<bigint> {
    return this.call(
      'producer id allocation',
      (c) => c.allocateProducerIds(brokerId, brokerEpoch, blockSize),
      async (id, t) => {
        const r = await this.send<AllocateProducerIdsResponse>(
          id,
          ApiKey.AllocateProducerIds,
          () => ({ brokerId, brokerEpoch }),
          t,
        );
        if (r.errorCode === ErrorCode.NOT_CONTROLLER) return MOVED;
        if (r.errorCode !== ErrorCode.NONE) {
          throw Object.assign(new Error(`producer id allocation refused: ${errorName(r.errorCode)}`), {
            errorCode: r.errorCode,
          });
        }
        return r.producerIdStart;
      },
      timeoutMs,
    );
  }

  /**
   * `createTopics`, but a controller that cannot be reached in time is answered per topic as
   * NOT_CONTROLLER (retriable: clients ask again) instead of an error.
   */
  async createTopicsOrNotController(
    topics: readonly CreatableTopic[],
    validateOnly: boolean,
    timeoutMs: number,
  ): Promise<CreateTopicResult[]> {
    try {
      return await this.createTopics(topics, validateOnly, timeoutMs);
    } catch (err) {
      if (!(err instanceof ControllerUnavailableError)) throw err;
      return topics.map((t) => ({
        name: t.name,
        topicId: ZERO_UUID,
        errorCode: ErrorCode.NOT_CONTROLLER,
        errorMessage: err.message,
        numPartitions: -1,
        replicationFactor: -1,
        overrides: {},
      }));
    }
  }

  /** Creates topics on the active controller (internal topics, auto-creation). */
  createTopics(
    topics: readonly CreatableTopic[],
    validateOnly: boolean,
    timeoutMs: number,
  ): Promise<CreateTopicResult[]> {
    return this.call(
      'topic creation',
      (c) => c.createTopics(topics, validateOnly),
      async (id, t) => {
        const r = await this.send<CreateTopicsResponse>(
          id,
          ApiKey.CreateTopics,
          () => ({
            ...defaultCreateTopicsRequest(),
            topics: topics.map((x) => ({
              ...defaultCreateTopicsRequestCreatableTopic(),
              name: x.name,
              numPartitions: x.numPartitions,
              replicationFactor: x.replicationFactor,
              assignments: x.assignments.map((a) => ({
                partitionIndex: a.partitionIndex,
                brokerIds: [...a.brokerIds],
              })),
              configs: x.configs.map((c) => ({ name: c.name, value: c.value })),
            })),
            timeoutMs: Math.floor(t),
            validateOnly,
          }),
          t,
        );
        if (r.topics.some((x) => x.errorCode === ErrorCode.NOT_CONTROLLER)) return MOVED;
        return r.topics.map((x) => ({
          name: x.name,
          topicId: x.topicId,
          errorCode: x.errorCode,
          errorMessage: x.errorMessage,
          numPartitions: x.numPartitions,
          replicationFactor: x.replicationFactor,
          overrides: {},
        }));
      },
      timeoutMs,
      true,
    ).catch((err: unknown) => {
      log.warn('topic creation did not reach the controller', { error: String(err) });
      throw err;
    });
  }
}

export { MOVED };
