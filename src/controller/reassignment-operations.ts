// Partition reassignment on the active controller (KIP-455 as Kafka's KRaft controller runs it:
// ReplicationControlManager.alterPartitionReassignments, PartitionReassignmentReplicas,
// PartitionReassignmentRevert).
//
// A reassignment to target replicas T of a partition with replicas R goes in stages:
// 1. One PartitionChangeRecord sets the replica list to T followed by the replicas leaving
//    (R - T), `addingReplicas` to T - R and `removingReplicas` to R - T. The brokers added start
//    following the leader; the partition stays available throughout.
// 2. The leader adds each new replica to the ISR once it has caught up (AlterPartition).
// 3. The change that brings the last added replica into the ISR (or any later change, such as a
//    fencing) completes the reassignment in the same record: the replicas leaving are dropped
//    from the list and the ISR, the reassignment state is cleared, and a leader being removed
//    hands over to the first remaining in-sync replica. The leader epoch bumps, which fences
//    the removed replicas; their brokers stop and delete their copies.
// A target that only reorders the replicas, or only removes some while the rest are in sync,
// completes at once. A null target cancels: the replicas being added are dropped and those being
// removed stay (an ISR left empty would need an unclean election, refused unless the topic allows
// it: INVALID_REPLICA_ASSIGNMENT).

import type { MetadataImage, PartitionImage } from '../metadata/image.js';
import { applyPartitionChange, type MetadataRecord } from '../metadata/records.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { type ControllerResult, MAX_RECORDS_PER_USER_OP, tooManyRecordsMessage } from './controller-operation.js';
import { partitionChange } from './partition-change.js';
import { isActiveBroker, type ReplicationContext, uncleanElectionEnabled } from './replication-operations.js';

export interface ReassignableTopic {
  readonly name: string;
  readonly partitions: ReadonlyArray<{ readonly partitionIndex: number; readonly replicas: readonly number[] | null }>;
}

export interface AlterPartitionReassignmentsResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly responses: Array<{
    name: string;
    partitions: Array<{ partitionIndex: number; errorCode: number; errorMessage: string | null }>;
  }>;
}

export interface OngoingTopicReassignment {
  name: string;
  partitions: Array<{
    partitionIndex: number;
    replicas: number[];
    addingReplicas: number[];
    removingReplicas: number[];
  }>;
}

/** A refusal, as Kafka's ApiError: the code and the message the client sees. */
interface Refusal {
  readonly errorCode: number;
  readonly message: string;
}

function refusal(errorCode: number, message: string): Refusal {
  return { errorCode, message };
}

/** What deciding one partition gives: its change (null: nothing to write), or why it is refused. */
type Decision = { readonly record: MetadataRecord | null } | { readonly refused: Refusal };

/** Whether a reassignment is in progress (Kafka's isReassignmentInProgress). */
export function isReassigning(p: PartitionImage): boolean {
  return (p.addingReplicas?.length ?? 0) > 0 || (p.removingReplicas?.length ?? 0) > 0;
}

/** Kafka's validateManualPartitionAssignment: not empty, registered brokers, none twice. */
function validateTarget(image: MetadataImage, replicas: readonly number[]): Refusal | null {
  const bad = (message: string) => refusal(ErrorCode.INVALID_REPLICA_ASSIGNMENT, message);
  if (replicas.length === 0) return bad('The manual partition assignment includes an empty replica list.');
  let previous: number | undefined;
  for (const id of [...replicas].sort((a, b) => a - b)) {
    if (!image.brokers.has(id)) {
      return bad(`The manual partition assignment includes broker ${id}, but no such broker is registered.`);
    }
    if (id === previous) return bad(`The manual partition assignment includes the broker ${id} more than once.`);
    previous = id;
  }
  return null;
}

function recordOf(change: ReturnType<typeof partitionChange>): Decision {
  return { record: change === null ? null : { type: 'PartitionChangeRecord', data: change } };
}

/** The change starting (or replacing, or at once completing) a reassignment of `p` to `target`. */
function changeReassignment(
  image: MetadataImage,
  ctx: ReplicationContext,
  topicId: string,
  p: PartitionImage,
  target: readonly number[],
): Decision {
  const invalid = validateTarget(image, target);
  if (invalid !== null) return { refused: invalid };
  // Kafka's PartitionReassignmentReplicas(current, target): sorted differences, and a list
  // holding the target followed by the replicas leaving.
  const removing = p.replicas.filter((r) => !target.includes(r)).sort((a, b) => a - b);
  const adding = target.filter((r) => !p.replicas.includes(r)).sort((a, b) => a - b);
  return recordOf(
    partitionChange({
      topicId,
      partition: p,
      isAcceptableLeader: (r) => isActiveBroker(image, ctx, r),
      targetReplicas: [...target, ...removing],
      // As Kafka's changePartitionReassignment: an empty difference leaves the partition's own
      // list as it is (sending the same target again keeps the replicas still being added).
      ...(adding.length > 0 ? { targetAdding: adding } : {}),
      ...(removing.length > 0 ? { targetRemoving: removing } : {}),
    }),
  );
}

/** The change cancelling the reassignment of `p` (Kafka's PartitionReassignmentRevert). */
function cancelReassignment(
  image: MetadataImage,
  ctx: ReplicationContext,
  topicName: string,
  topicId: string,
  p: PartitionImage,
): Decision {
  if (!isReassigning(p)) {
    return { refused: refusal(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'No partition reassignment is in progress.') };
  }
  const adding = p.addingReplicas ?? [];
  const replicas = p.replicas.filter((r) => !adding.includes(r));
  let isr = p.isr.filter((r) => !adding.includes(r));
  const unclean = uncleanElectionEnabled(image, ctx.config, topicName);
  if (isr.length === 0) {
    // Every in-sync replica was one being added: going back needs an unclean election.
    if (!unclean || replicas.length === 0) {
      return {
        refused: refusal(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Unable to revert partition assignment for ${topicName}:${p.partition} because it would require an unclean leader election.`,
        ),
      };
    }
    isr = [replicas[0] as number];
  }
  return recordOf(
    partitionChange({
      topicId,
      partition: p,
      isAcceptableLeader: (r) => isActiveBroker(image, ctx, r),
      election: unclean ? 'unclean' : 'online',
      targetIsr: isr,
      targetReplicas: replicas,
      targetAdding: [],
      targetRemoving: [],
    }),
  );
}

/**
 * AlterPartitionReassignments (KIP-455): for each partition named, a target replica list starts
 * (or replaces) a reassignment, and null cancels the one in progress. Per-partition errors:
 * UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT (empty, unregistered or repeated
 * brokers; a cancellation that would need an unclean election), NO_REASSIGNMENT_IN_PROGRESS (a
 * cancellation with none). A partition named twice is decided on the effect of its first entry.
 * A request whose changes need more than MAX_RECORDS_PER_USER_OP records is refused as a whole,
 * every partition POLICY_VIOLATION, as CreatePartitions is (Kafka's bounded record list fails the
 * partitions past the cap one by one).
 */
export function alterPartitionReassignments(
  image: MetadataImage,
  ctx: ReplicationContext,
  topics: readonly ReassignableTopic[],
): ControllerResult<AlterPartitionReassignmentsResult> & {
  refused: Array<{ topic: string; partition: number } & Refusal>;
} {
  const records: MetadataRecord[] = [];
  const refused: Array<{ topic: string; partition: number } & Refusal> = [];
  /** Partitions changed by earlier entries of this request, by topic id and index. */
  const changed = new Map<string, PartitionImage>();
  const responses: AlterPartitionReassignmentsResult['responses'] = [];
  for (const t of topics) {
    const partitions: AlterPartitionReassignmentsResult['responses'][number]['partitions'] = [];
    responses.push({ name: t.name, partitions });
    const topic = image.topicsByName.get(t.name);
    for (const target of t.partitions) {
      const current =
        topic === undefined
          ? undefined
          : (changed.get(`${topic.id}:${target.partitionIndex}`) ?? topic.partitions.get(target.partitionIndex));
      let decision: Decision;
      if (topic === undefined) {
        decision = {
          refused: refusal(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unable to find a topic named ${t.name}.`),
        };
      } else if (current === undefined) {
        decision = {
          refused: refusal(
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            `Unable to find partition ${t.name}:${target.partitionIndex}.`,
          ),
        };
      } else if (target.replicas === null) {
        decision = cancelReassignment(image, ctx, topic.name, topic.id, current);
      } else {
        decision = changeReassignment(image, ctx, topic.id, current, target.replicas);
      }
      if ('refused' in decision) {
        refused.push({ topic: t.name, partition: target.partitionIndex, ...decision.refused });
        partitions.push({
          partitionIndex: target.partitionIndex,
          errorCode: decision.refused.errorCode,
          errorMessage: decision.refused.message,
        });
        continue;
      }
      if (decision.record !== null && topic !== undefined && current !== undefined) {
        records.push(decision.record);
        if (decision.record.type === 'PartitionChangeRecord') {
          changed.set(`${topic.id}:${target.partitionIndex}`, applyPartitionChange(current, decision.record.data));
        }
      }
      partitions.push({ partitionIndex: target.partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null });
    }
  }
  if (records.length > MAX_RECORDS_PER_USER_OP) {
    const message = tooManyRecordsMessage(records.length);
    return {
      records: [],
      refused: [],
      response: {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        responses: responses.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: ErrorCode.POLICY_VIOLATION,
            errorMessage: message,
          })),
        })),
      },
    };
  }
  return { records, refused, response: { errorCode: ErrorCode.NONE, errorMessage: null, responses } };
}

/**
 * ListPartitionReassignments (KIP-455): the reassignments in progress, of every topic (null
 * list) or of the partitions named; unknown topics and partitions without one are left out.
 */
export function listPartitionReassignments(
  image: MetadataImage,
  topics: ReadonlyArray<{ readonly name: string; readonly partitionIndexes: readonly number[] }> | null,
): OngoingTopicReassignment[] {
  const out: OngoingTopicReassignment[] = [];
  const list = (name: string, indexes: Iterable<number>) => {
    const topic = image.topicsByName.get(name);
    if (topic === undefined) return;
    const partitions: OngoingTopicReassignment['partitions'] = [];
    for (const i of indexes) {
      const p = topic.partitions.get(i);
      if (p === undefined || !isReassigning(p)) continue;
      partitions.push({
        partitionIndex: i,
        replicas: [...p.replicas],
        addingReplicas: [...(p.addingReplicas ?? [])],
        removingReplicas: [...(p.removingReplicas ?? [])],
      });
    }
    if (partitions.length > 0) out.push({ name: topic.name, partitions });
  };
  if (topics === null) {
    for (const topic of image.topicsByName.values()) list(topic.name, topic.partitions.keys());
  } else {
    for (const t of topics) list(t.name, t.partitionIndexes);
  }
  return out;
}
