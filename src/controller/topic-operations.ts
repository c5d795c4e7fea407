import { validateTopicConfigs } from '../config/config-values.js';
import { topicDefaultsFrom } from '../config/topic-config.js';
import { collidingTopic, liveBrokerIds, type MetadataImage, replicationFactor } from '../metadata/image.js';
import type { MetadataRecord } from '../metadata/records.js';
import { ErrorCode } from '../protocol/error-codes.js';
import {
  type ControllerContext,
  type ControllerResult,
  MAX_RECORDS_PER_USER_OP,
  ResourceType,
  type SimpleResult,
  tooManyRecordsMessage,
  ZERO_TOPIC_ID,
} from './controller-operation.js';
import { placeReplicas, type UsableBroker } from './replica-placement.js';
import { validateTopicName } from './topic-name.js';

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

export interface DeleteTopicResult {
  readonly name: string | null;
  readonly topicId: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface CreatePartitionsTopic {
  readonly name: string;
  readonly count: number;
  readonly assignments: ReadonlyArray<{ brokerIds: readonly number[] }> | null;
}

/** The brokers replicas may be placed on, with their racks. */
function usable(image: MetadataImage, ids: readonly number[]): UsableBroker[] {
  return ids.map((id) => ({ id, rack: image.brokers.get(id)?.rack ?? null }));
}

function partitionRecord(topicId: string, partitionId: number, replicas: number[]): MetadataRecord {
  return {
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
  };
}

/**
 * CreateTopics: a TopicRecord, its ConfigRecords and one PartitionRecord per partition for each
 * valid topic. A request whose valid topics need more than MAX_RECORDS_PER_USER_OP records (also
 * with validateOnly, as in Kafka) is refused as a whole: every topic gets POLICY_VIOLATION, and
 * nothing is written. The count is checked before any partition is placed.
 */
export function createTopics(
  image: MetadataImage,
  ctx: ControllerContext,
  topics: readonly CreatableTopic[],
  validateOnly: boolean,
): ControllerResult<CreateTopicResult[]> {
  const cfg = ctx.config;
  const records: MetadataRecord[] = [];
  const results: CreateTopicResult[] = [];
  const seen = new Map<string, number>();
  for (const t of topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
  const brokers = liveBrokerIds(image).filter((id) => ctx.shuttingDown?.has(id) !== true);
  /** Records the valid topics so far need (written or, with validateOnly, that would be). */
  let recordCount = 0;
  const tooLarge = (needed: number): ControllerResult<CreateTopicResult[]> => ({
    records: [],
    response: topics.map((t) => failedTopic(t.name, ErrorCode.POLICY_VIOLATION, tooManyRecordsMessage(needed))),
  });
  for (const t of topics) {
    const failed = (errorCode: number, errorMessage: string | null) => failedTopic(t.name, errorCode, errorMessage);
    if ((seen.get(t.name) ?? 0) > 1) {
      results.push(failed(ErrorCode.INVALID_REQUEST, `Duplicate topic name ${t.name} in the request`));
      continue;
    }
    const nameProblem = validateTopicName(t.name);
    if (nameProblem !== null) {
      results.push(failed(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem));
      continue;
    }
    if (image.topicsByName.has(t.name)) {
      results.push(failed(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`));
      continue;
    }
    const collision = collidingTopic(image, t.name);
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
      const needed = recordCount + 1 + Object.keys(overrides).length + t.assignments.length;
      if (needed > MAX_RECORDS_PER_USER_OP) return tooLarge(needed);
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
      const needed = recordCount + 1 + Object.keys(overrides).length + numPartitions;
      if (needed > MAX_RECORDS_PER_USER_OP) return tooLarge(needed);
      assignment = placeReplicas(usable(image, brokers), numPartitions, rf, 0);
    }
    recordCount += 1 + Object.keys(overrides).length + assignment.length;
    const topicId = ctx.newTopicId();
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
    records.push({ type: 'TopicRecord', data: { name: t.name, topicId } });
    for (const [name, value] of Object.entries(overrides)) {
      records.push({
        type: 'ConfigRecord',
        data: { resourceType: ResourceType.TOPIC, resourceName: t.name, name, value },
      });
    }
    assignment.forEach((replicas, partitionId) => {
      records.push(partitionRecord(topicId, partitionId, replicas));
    });
  }
  return { records, response: results };
}

function failedTopic(name: string, errorCode: number, errorMessage: string | null): CreateTopicResult {
  return {
    name,
    topicId: ZERO_TOPIC_ID,
    errorCode,
    errorMessage,
    numPartitions: -1,
    replicationFactor: -1,
    overrides: {},
  };
}

/**
 * DeleteTopics: one RemoveTopicRecord per existing topic named (by id or by name). Past
 * MAX_RECORDS_PER_USER_OP records the remaining topics are not deleted and answer
 * UNKNOWN_SERVER_ERROR, as Kafka's controller does (its BoundedList of records overflows inside
 * the per-topic loop, whose catch-all turns that into UNKNOWN_SERVER_ERROR); the first ones are.
 */
export function deleteTopics(
  image: MetadataImage,
  ctx: ControllerContext,
  targets: ReadonlyArray<{ name: string | null; topicId: string | null }>,
): ControllerResult<DeleteTopicResult[]> {
  const records: MetadataRecord[] = [];
  const out: DeleteTopicResult[] = [];
  const removed = new Set<string>();
  for (const t of targets) {
    const byId = t.topicId !== null && t.topicId !== ZERO_TOPIC_ID;
    const topic = byId
      ? image.topicsById.get(t.topicId as string)
      : t.name !== null
        ? image.topicsByName.get(t.name)
        : undefined;
    if (!ctx.config.deleteTopicEnable) {
      out.push({
        name: t.name,
        topicId: t.topicId ?? ZERO_TOPIC_ID,
        errorCode: ErrorCode.TOPIC_DELETION_DISABLED,
        errorMessage: null,
      });
      continue;
    }
    if (topic === undefined) {
      out.push({
        name: t.name,
        topicId: t.topicId ?? ZERO_TOPIC_ID,
        errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: null,
      });
      continue;
    }
    if (removed.has(topic.id)) {
      out.push({ name: topic.name, topicId: topic.id, errorCode: 0, errorMessage: null });
      continue;
    }
    if (records.length >= MAX_RECORDS_PER_USER_OP) {
      out.push({
        name: topic.name,
        topicId: topic.id,
        errorCode: ErrorCode.UNKNOWN_SERVER_ERROR,
        errorMessage: `Not deleted: one operation may delete at most ${MAX_RECORDS_PER_USER_OP} topics.`,
      });
      continue;
    }
    out.push({ name: topic.name, topicId: topic.id, errorCode: 0, errorMessage: null });
    removed.add(topic.id);
    records.push({ type: 'RemoveTopicRecord', data: { topicId: topic.id } });
  }
  return { records, response: out };
}

/**
 * CreatePartitions: PartitionRecords for the partitions added to each topic. A request adding
 * more than MAX_RECORDS_PER_USER_OP partitions in all is refused as a whole with POLICY_VIOLATION
 * for every topic, before any is placed. (Kafka's controller gives the topic that overflows its
 * bounded record list UNKNOWN_SERVER_ERROR and may keep some of its partitions; all or nothing is
 * what its QuorumController means the cap to do.)
 */
export function createPartitions(
  image: MetadataImage,
  topics: readonly CreatePartitionsTopic[],
  validateOnly: boolean,
  shuttingDown: ReadonlySet<number> = new Set(),
): ControllerResult<Array<{ name: string } & SimpleResult>> {
  const records: MetadataRecord[] = [];
  const out: Array<{ name: string } & SimpleResult> = [];
  const brokers = liveBrokerIds(image).filter((id) => !shuttingDown.has(id));
  let recordCount = 0;
  for (const t of topics) {
    const topic = image.topicsByName.get(t.name);
    if (topic === undefined) {
      out.push({ name: t.name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null });
      continue;
    }
    const partitionCount = topic.partitions.size;
    if (t.count < partitionCount) {
      out.push({
        name: t.name,
        errorCode: ErrorCode.INVALID_PARTITIONS,
        errorMessage: `Topic currently has ${partitionCount} partitions, which is higher than the requested ${t.count}.`,
      });
      continue;
    }
    if (t.count === partitionCount) {
      out.push({
        name: t.name,
        errorCode: ErrorCode.INVALID_PARTITIONS,
        errorMessage: `Topic already has ${partitionCount} partition(s).`,
      });
      continue;
    }
    const added = t.count - partitionCount;
    if (recordCount + added > MAX_RECORDS_PER_USER_OP) {
      const message = tooManyRecordsMessage(recordCount + added);
      return {
        records: [],
        response: topics.map((x) => ({ name: x.name, errorCode: ErrorCode.POLICY_VIOLATION, errorMessage: message })),
      };
    }
    let assignment: number[][];
    if (t.assignments !== null) {
      if (t.assignments.length !== added || t.assignments.some((a) => a.brokerIds.some((b) => !brokers.includes(b)))) {
        out.push({
          name: t.name,
          errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          errorMessage: 'Invalid replica assignment',
        });
        continue;
      }
      assignment = t.assignments.map((a) => [...a.brokerIds]);
    } else {
      assignment = placeReplicas(
        usable(image, brokers),
        added,
        Math.min(replicationFactor(topic), brokers.length),
        partitionCount,
      );
    }
    out.push({ name: t.name, errorCode: 0, errorMessage: null });
    recordCount += added;
    if (validateOnly) continue;
    assignment.forEach((replicas, i) => {
      records.push(partitionRecord(topic.id, partitionCount + i, replicas));
    });
  }
  return { records, response: out };
}
