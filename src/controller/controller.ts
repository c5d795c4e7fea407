import type { BrokerConfig } from '../config/broker-config.js';
import { validateBrokerConfigUpdate } from '../config/broker-config.js';
import { brokerConfigDef } from '../config/broker-configs.js';
import { applyIncrementalAlterOps, type IncrementalAlterOp, validateTopicConfigs } from '../config/config-values.js';
import { topicDefaultsFrom } from '../config/topic-config.js';
import { topicConfigDef } from '../config/topic-configs.js';
import { logger } from '../observability/logger.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { assignReplicas } from './replica-placement.js';
import { randomTopicId } from './topic-id.js';
import { validateTopicName } from './topic-name.js';

const log = logger('controller');

/** Kafka's ConfigResource types. */
export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

/** A metadata record the controller writes (KRaft record types). */
export type ControllerRecord =
  | { type: 'TopicRecord'; data: { name: string; topicId: string } }
  | {
      type: 'PartitionRecord';
      data: {
        partitionId: number;
        topicId: string;
        replicas: number[];
        isr: number[];
        leader: number;
        leaderEpoch: number;
        partitionEpoch: number;
      };
    }
  | { type: 'ConfigRecord'; data: { resourceType: number; resourceName: string; name: string; value: string | null } }
  | { type: 'RemoveTopicRecord'; data: { topicId: string } }
  | { type: 'ProducerIdsRecord'; data: { brokerId: number; brokerEpoch: bigint; nextProducerId: bigint } }
  | { type: 'RegisterBrokerRecord'; data: RegisterBrokerData }
  | { type: 'UnregisterBrokerRecord'; data: { brokerId: number; brokerEpoch: bigint } }
  | { type: 'FenceBrokerRecord'; data: { id: number; epoch: bigint } }
  | { type: 'UnfenceBrokerRecord'; data: { id: number; epoch: bigint } };

/** A listener a broker can be reached on (RegisterBrokerRecord.EndPoints). */
export interface BrokerEndpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Kafka's SecurityProtocol id: 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL. */
  readonly securityProtocol: number;
}

export interface RegisterBrokerData {
  brokerId: number;
  incarnationId: string;
  brokerEpoch: bigint;
  endPoints: BrokerEndpoint[];
  rack: string | null;
  fenced: boolean;
  inControlledShutdown: boolean;
}

/** A broker's registration as the image holds it. */
export interface ControllerBroker {
  readonly id: number;
  readonly incarnationId: string;
  readonly epoch: bigint;
  readonly fenced: boolean;
}

export interface ControllerTopic {
  readonly id: string;
  readonly name: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
}

/** What the controller reads of the current metadata image. */
export interface ControllerImage {
  topicByName(name: string): ControllerTopic | undefined;
  topicById(id: string): ControllerTopic | undefined;
  allTopicNames(): Iterable<string>;
  topicOverrides(name: string): Readonly<Record<string, string>>;
  /** resourceName '' is the cluster-wide default, else a broker id. */
  brokerOverrides(resourceName: string): Readonly<Record<string, string>>;
  /** Registered brokers that are not fenced, in id order. */
  liveBrokerIds(): readonly number[];
  broker(id: number): ControllerBroker | undefined;
  /** Offset of the last record in the metadata log (-1 when empty): the next record gets this + 1. */
  lastOffset(): number;
  /** First id of the next producer id block. */
  nextProducerId(): bigint;
}

/** The seam to the metadata log: records are durable and applied once commit resolves. */
export interface MetadataPort {
  image(): ControllerImage;
  commit(records: ControllerRecord[]): Promise<void>;
}

export interface CreatableTopic {
  readonly name: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly assignments: ReadonlyArray<{ partitionIndex: number; brokerIds: readonly number[] }>;
  readonly configs: ReadonlyArray<{ name: string; value: string | null }>;
}

export interface CreateTopicResult {
  readonly name: string;
  readonly topicId: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly overrides: Readonly<Record<string, string>>;
}

export interface SimpleResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);

export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPICS.has(name);
}

/**
 * Validates admin requests and turns them into metadata records. Runs where the metadata log
 * is written (the only voter while there is one broker; the Raft leader later). Requests are
 * serialized so validation always sees the effect of earlier ones.
 */
export class Controller {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly metadata: MetadataPort,
    private readonly config: () => BrokerConfig,
  ) {}

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  createTopics(topics: readonly CreatableTopic[], validateOnly: boolean): Promise<CreateTopicResult[]> {
    return this.serialized(async () => {
      const image = this.metadata.image();
      const cfg = this.config();
      const records: ControllerRecord[] = [];
      const results: CreateTopicResult[] = [];
      const seen = new Map<string, number>();
      for (const t of topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
      for (const t of topics) {
        const failed = (errorCode: number, errorMessage: string | null): CreateTopicResult => ({
          name: t.name,
          topicId: '00000000-0000-0000-0000-000000000000',
          errorCode,
          errorMessage,
          numPartitions: -1,
          replicationFactor: -1,
          overrides: {},
        });
        if ((seen.get(t.name) ?? 0) > 1) {
          results.push(failed(ErrorCode.INVALID_REQUEST, `Duplicate topic name ${t.name} in the request`));
          continue;
        }
        const nameProblem = validateTopicName(t.name);
        if (nameProblem !== null) {
          results.push(failed(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem));
          continue;
        }
        if (image.topicByName(t.name) !== undefined) {
          results.push(failed(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`));
          continue;
        }
        const collision = collidingTopic(t.name, image.allTopicNames());
        if (collision !== null) {
          results.push(
            failed(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${t.name}' collides with existing topic: ${collision}`),
          );
          continue;
        }
        const overrides: Record<string, string> = {};
        const configMap = new Map<string, string | null>();
        for (const c of t.configs) {
          configMap.set(c.name, c.value);
          if (c.value !== null) overrides[c.name] = c.value;
        }
        const problems = validateTopicConfigs(configMap, { defaults: topicDefaultsFrom(cfg) });
        if (problems.length > 0) {
          const p = problems[0] as { errorCode: number; message: string };
          results.push(failed(p.errorCode, p.message));
          continue;
        }
        const brokers = image.liveBrokerIds();
        let assignment: number[][];
        if (t.assignments.length > 0) {
          if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
            results.push(
              failed(
                ErrorCode.INVALID_REQUEST,
                'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
              ),
            );
            continue;
          }
          const sorted = [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
          const bad = sorted.find(
            (a, i) =>
              a.partitionIndex !== i ||
              a.brokerIds.length === 0 ||
              new Set(a.brokerIds).size !== a.brokerIds.length ||
              a.brokerIds.some((b) => !brokers.includes(b)),
          );
          if (bad !== undefined) {
            results.push(
              failed(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                `Invalid replica assignment for partition ${bad.partitionIndex}`,
              ),
            );
            continue;
          }
          assignment = sorted.map((a) => [...a.brokerIds]);
        } else {
          const numPartitions = t.numPartitions === -1 ? cfg.numPartitions : t.numPartitions;
          const rf = t.replicationFactor === -1 ? cfg.defaultReplicationFactor : t.replicationFactor;
          if (numPartitions <= 0) {
            results.push(
              failed(ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.'),
            );
            continue;
          }
          if (rf <= 0) {
            results.push(
              failed(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                'Replication factor must be larger than 0, or -1 to use the default value.',
              ),
            );
            continue;
          }
          if (rf > brokers.length) {
            results.push(
              failed(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                `Unable to replicate the partition ${rf} time(s): The target replication factor of ${rf} cannot be reached because only ${brokers.length} broker(s) are registered.`,
              ),
            );
            continue;
          }
          assignment = assignReplicas(brokers, numPartitions, rf, 0);
        }
        const topicId = randomTopicId();
        results.push({
          name: t.name,
          topicId,
          errorCode: 0,
          errorMessage: null,
          numPartitions: assignment.length,
          replicationFactor: assignment[0]?.length ?? 0,
          overrides,
        });
        if (validateOnly) continue;
        warnIgnoredTopicSettings(t.name, overrides);
        records.push({ type: 'TopicRecord', data: { name: t.name, topicId } });
        for (const [name, value] of Object.entries(overrides)) {
          records.push({
            type: 'ConfigRecord',
            data: { resourceType: ResourceType.TOPIC, resourceName: t.name, name, value },
          });
        }
        assignment.forEach((replicas, partitionId) => {
          records.push({
            type: 'PartitionRecord',
            data: {
              partitionId,
              topicId,
              replicas,
              isr: [...replicas],
              leader: replicas[0] as number,
              leaderEpoch: 0,
              partitionEpoch: 0,
            },
          });
        });
      }
      if (records.length > 0) {
        await this.metadata.commit(records);
        for (const r of results) {
          if (r.errorCode === 0)
            log.info('created topic', { topic: r.name, topicId: r.topicId, partitions: r.numPartitions });
        }
      }
      return results;
    });
  }

  /**
   * Allocates the next block of producer ids to a broker (Kafka's AllocateProducerIds): the
   * block is taken once its ProducerIdsRecord is committed, so ids are never handed out twice.
   */
  allocateProducerIds(brokerId: number, brokerEpoch: bigint, blockSize: number): Promise<bigint> {
    return this.serialized(async () => {
      const first = this.metadata.image().nextProducerId();
      await this.metadata.commit([
        { type: 'ProducerIdsRecord', data: { brokerId, brokerEpoch, nextProducerId: first + BigInt(blockSize) } },
      ]);
      return first;
    });
  }

  /**
   * Registers a starting broker (Kafka's BrokerRegistration): a RegisterBrokerRecord, fenced,
   * whose epoch is the record's offset in the metadata log. A retry with the same incarnation
   * id gets the existing epoch back; a new incarnation (a restart, perhaps with new endpoints)
   * replaces the old registration. With one voter the old incarnation is this same node's
   * previous process, so it cannot still be alive; a multi-broker controller must answer
   * DUPLICATE_BROKER_REGISTRATION while the old incarnation's session is live.
   */
  registerBroker(registration: {
    brokerId: number;
    incarnationId: string;
    endPoints: readonly BrokerEndpoint[];
    rack: string | null;
  }): Promise<{ errorCode: number; brokerEpoch: bigint }> {
    return this.serialized(async () => {
      const image = this.metadata.image();
      const existing = image.broker(registration.brokerId);
      if (existing !== undefined && existing.incarnationId === registration.incarnationId) {
        return { errorCode: 0, brokerEpoch: existing.epoch };
      }
      const names = new Set(registration.endPoints.map((e) => e.name));
      if (registration.endPoints.length === 0 || names.size !== registration.endPoints.length) {
        return { errorCode: ErrorCode.INVALID_REGISTRATION, brokerEpoch: -1n };
      }
      const brokerEpoch = BigInt(image.lastOffset() + 1);
      await this.metadata.commit([
        {
          type: 'RegisterBrokerRecord',
          data: {
            brokerId: registration.brokerId,
            incarnationId: registration.incarnationId,
            brokerEpoch,
            endPoints: registration.endPoints.map((e) => ({ ...e })),
            rack: registration.rack,
            fenced: true,
            inControlledShutdown: false,
          },
        },
      ]);
      log.info('registered broker', {
        brokerId: registration.brokerId,
        brokerEpoch,
        incarnationId: registration.incarnationId,
        endpoints: registration.endPoints.map((e) => `${e.name}://${e.host}:${e.port}`).join(','),
        replaced: existing === undefined ? null : String(existing.epoch),
      });
      return { errorCode: 0, brokerEpoch };
    });
  }

  /** Unfences a registered broker that has caught up (it becomes live: leader and replica candidate). */
  unfenceBroker(brokerId: number, brokerEpoch: bigint): Promise<SimpleResult> {
    return this.changeFencing(brokerId, brokerEpoch, false);
  }

  /** Fences a broker (a clean shutdown, or a lost session): it stays registered but is not live. */
  fenceBroker(brokerId: number, brokerEpoch: bigint): Promise<SimpleResult> {
    return this.changeFencing(brokerId, brokerEpoch, true);
  }

  private changeFencing(brokerId: number, brokerEpoch: bigint, fenced: boolean): Promise<SimpleResult> {
    return this.serialized(async () => {
      const b = this.metadata.image().broker(brokerId);
      if (b === undefined) {
        return { errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED, errorMessage: `Broker ${brokerId} is not registered` };
      }
      if (b.epoch !== brokerEpoch) {
        return {
          errorCode: ErrorCode.STALE_BROKER_EPOCH,
          errorMessage: `Broker ${brokerId} has epoch ${b.epoch}, not ${brokerEpoch}`,
        };
      }
      if (b.fenced === fenced) return { errorCode: 0, errorMessage: null };
      await this.metadata.commit([
        { type: fenced ? 'FenceBrokerRecord' : 'UnfenceBrokerRecord', data: { id: brokerId, epoch: brokerEpoch } },
      ]);
      log.info(fenced ? 'fenced broker' : 'unfenced broker', { brokerId, brokerEpoch });
      return { errorCode: 0, errorMessage: null };
    });
  }

  /** Kafka's UnregisterBroker (decommissioning): removes the registration of a broker. */
  unregisterBroker(brokerId: number): Promise<SimpleResult> {
    return this.serialized(async () => {
      const b = this.metadata.image().broker(brokerId);
      if (b === undefined) {
        return { errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED, errorMessage: `Broker ${brokerId} is not registered` };
      }
      await this.metadata.commit([{ type: 'UnregisterBrokerRecord', data: { brokerId, brokerEpoch: b.epoch } }]);
      log.info('unregistered broker', { brokerId, brokerEpoch: b.epoch });
      return { errorCode: 0, errorMessage: null };
    });
  }

  deleteTopics(
    targets: ReadonlyArray<{ name: string | null; topicId: string | null }>,
  ): Promise<Array<{ name: string | null; topicId: string; errorCode: number; errorMessage: string | null }>> {
    return this.serialized(async () => {
      const image = this.metadata.image();
      const records: ControllerRecord[] = [];
      const out: Array<{ name: string | null; topicId: string; errorCode: number; errorMessage: string | null }> = [];
      const removed = new Set<string>();
      for (const t of targets) {
        const topic =
          t.topicId !== null && t.topicId !== '00000000-0000-0000-0000-000000000000'
            ? image.topicById(t.topicId)
            : t.name !== null
              ? image.topicByName(t.name)
              : undefined;
        if (!this.config().deleteTopicEnable) {
          out.push({
            name: t.name,
            topicId: t.topicId ?? ZERO,
            errorCode: ErrorCode.TOPIC_DELETION_DISABLED,
            errorMessage: null,
          });
          continue;
        }
        if (topic === undefined) {
          const byId = t.topicId !== null && t.topicId !== ZERO;
          out.push({
            name: t.name,
            topicId: t.topicId ?? ZERO,
            errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: null,
          });
          continue;
        }
        out.push({ name: topic.name, topicId: topic.id, errorCode: 0, errorMessage: null });
        if (removed.has(topic.id)) continue;
        removed.add(topic.id);
        records.push({ type: 'RemoveTopicRecord', data: { topicId: topic.id } });
      }
      if (records.length > 0) {
        await this.metadata.commit(records);
        log.info('deleted topics', { count: records.length });
      }
      return out;
    });
  }

  createPartitions(
    topics: ReadonlyArray<{
      name: string;
      count: number;
      assignments: ReadonlyArray<{ brokerIds: readonly number[] }> | null;
    }>,
    validateOnly: boolean,
  ): Promise<Array<{ name: string } & SimpleResult>> {
    return this.serialized(async () => {
      const image = this.metadata.image();
      const records: ControllerRecord[] = [];
      const out: Array<{ name: string } & SimpleResult> = [];
      for (const t of topics) {
        const topic = image.topicByName(t.name);
        if (topic === undefined) {
          out.push({ name: t.name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null });
          continue;
        }
        if (t.count < topic.partitionCount) {
          out.push({
            name: t.name,
            errorCode: ErrorCode.INVALID_PARTITIONS,
            errorMessage: `Topic currently has ${topic.partitionCount} partitions, which is higher than the requested ${t.count}.`,
          });
          continue;
        }
        if (t.count === topic.partitionCount) {
          out.push({
            name: t.name,
            errorCode: ErrorCode.INVALID_PARTITIONS,
            errorMessage: `Topic already has ${topic.partitionCount} partition(s).`,
          });
          continue;
        }
        const added = t.count - topic.partitionCount;
        const brokers = image.liveBrokerIds();
        let assignment: number[][];
        if (t.assignments !== null) {
          if (
            t.assignments.length !== added ||
            t.assignments.some((a) => a.brokerIds.some((b) => !brokers.includes(b)))
          ) {
            out.push({
              name: t.name,
              errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
              errorMessage: 'Invalid replica assignment',
            });
            continue;
          }
          assignment = t.assignments.map((a) => [...a.brokerIds]);
        } else {
          assignment = assignReplicas(
            brokers,
            added,
            Math.min(topic.replicationFactor, brokers.length),
            topic.partitionCount,
          );
        }
        out.push({ name: t.name, errorCode: 0, errorMessage: null });
        if (validateOnly) continue;
        assignment.forEach((replicas, i) => {
          records.push({
            type: 'PartitionRecord',
            data: {
              partitionId: topic.partitionCount + i,
              topicId: topic.id,
              replicas,
              isr: [...replicas],
              leader: replicas[0] as number,
              leaderEpoch: 0,
              partitionEpoch: 0,
            },
          });
        });
      }
      if (records.length > 0) await this.metadata.commit(records);
      return out;
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
    return this.serialized(async () => {
      const image = this.metadata.image();
      let current: Readonly<Record<string, string>>;
      if (resourceType === ResourceType.TOPIC) {
        if (image.topicByName(resourceName) === undefined) {
          return {
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: `Topic ${resourceName} does not exist`,
          };
        }
        current = image.topicOverrides(resourceName);
      } else if (resourceType === ResourceType.BROKER) {
        if (resourceName !== '' && !image.liveBrokerIds().includes(Number(resourceName))) {
          return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown broker ${resourceName}` };
        }
        current = image.brokerOverrides(resourceName);
      } else {
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported resource type ${resourceType}` };
      }
      let next: Record<string, string>;
      if (opts.replace) {
        next = {};
        for (const o of ops) if (o.value !== null) next[o.name] = o.value;
      } else {
        const lookup = resourceType === ResourceType.TOPIC ? topicConfigDef : brokerConfigDef;
        const applied = applyIncrementalAlterOps(current, ops, lookup);
        if (!applied.ok) return { errorCode: applied.problem.errorCode, errorMessage: applied.problem.message };
        next = { ...applied.configs };
      }
      const changes: Record<string, string | null> = {};
      for (const k of Object.keys(current)) if (!(k in next)) changes[k] = null;
      for (const [k, v] of Object.entries(next)) if (current[k] !== v) changes[k] = v;
      const problems =
        resourceType === ResourceType.TOPIC
          ? validateTopicConfigs(next, { defaults: topicDefaultsFrom(this.config()) })
          : validateBrokerConfigUpdate(this.config(), changes, resourceName === '' ? 'cluster-default' : 'broker');
      if (problems.length > 0) {
        const p = problems[0] as { errorCode: number; message: string };
        return { errorCode: p.errorCode, errorMessage: p.message };
      }
      if (opts.validateOnly) return { errorCode: 0, errorMessage: null };
      if (resourceType === ResourceType.TOPIC) warnIgnoredTopicSettings(resourceName, changes);
      const records: ControllerRecord[] = Object.entries(changes).map(([name, value]) => ({
        type: 'ConfigRecord',
        data: { resourceType, resourceName, name, value },
      }));
      if (records.length > 0) await this.metadata.commit(records);
      return { errorCode: 0, errorMessage: null };
    });
  }
}

/**
 * Settings Kafka 3.x still accepted but deprecated (removed in Kafka 4.0, such as
 * message.format.version) are accepted so tools written for Kafka 3 keep working, and have no
 * effect: say so where an operator looks.
 */
function warnIgnoredTopicSettings(topic: string, settings: Readonly<Record<string, string | null>>): void {
  for (const [name, value] of Object.entries(settings)) {
    if (value !== null && topicConfigDef(name)?.deprecated === true) {
      log.warn('deprecated topic setting accepted and ignored (removed in Kafka 4.0)', { topic, name, value });
    }
  }
}

const ZERO = '00000000-0000-0000-0000-000000000000';

/** Kafka refuses topic names that differ only by '.' versus '_' (they collide in metric names). */
function collidingTopic(name: string, existing: Iterable<string>): string | null {
  const norm = name.replace(/\./g, '_');
  for (const e of existing) if (e !== name && e.replace(/\./g, '_') === norm) return e;
  return null;
}
