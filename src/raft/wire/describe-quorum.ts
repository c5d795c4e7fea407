// DescribeQuorum (KIP-595; v1 adds fetch and caught-up timestamps, KIP-836; v2 adds directory
// ids, the voters' listeners and error messages, KIP-853) between the core's QuorumDescription
// and the generated messages. Only the leader answers with the quorum; any other node answers
// NOT_LEADER_OR_FOLLOWER, as Kafka's Raft client does.

import { ErrorCode, kafkaError } from '../../protocol/error-codes.js';
import type {
  DescribeQuorumRequestInit,
  DescribeQuorumResponseInit,
  DescribeQuorumResponseReplicaState,
  DescribeQuorumRequest as WireDescribeQuorumRequest,
  DescribeQuorumResponse as WireDescribeQuorumResponse,
} from '../../protocol/generated/api/55-describe-quorum.js';
import type { Endpoint, QuorumDescription, ReplicaDescription } from '../types.js';
import {
  directoryIdFromWire,
  directoryIdToWire,
  endpointsFromWire,
  endpointsToWire,
  fromInt64,
  int64,
  METADATA_PARTITION,
  METADATA_TOPIC_NAME,
  metadataPartitionOf,
} from './common.js';

export function describeQuorumRequestToWire(): DescribeQuorumRequestInit {
  return { topics: [{ topicName: METADATA_TOPIC_NAME, partitions: [{ partitionIndex: METADATA_PARTITION }] }] };
}

/**
 * Undefined when the request asks for the metadata partition; otherwise the answer: every
 * partition asked gets UNKNOWN_TOPIC_OR_PARTITION (Kafka's getPartitionLevelErrorResponse).
 */
export function describeQuorumRequestRejection(msg: WireDescribeQuorumRequest): DescribeQuorumResponseInit | undefined {
  const p = metadataPartitionOf(
    msg.topics,
    (t) => t.topicName === METADATA_TOPIC_NAME,
    (x) => x.partitionIndex,
  );
  if (p !== undefined) return undefined;
  const error = kafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  return {
    errorCode: ErrorCode.NONE,
    topics: msg.topics.map((t) => ({
      topicName: t.topicName,
      partitions: t.partitions.map((x) => ({
        partitionIndex: x.partitionIndex,
        errorCode: error.code,
        errorMessage: error.message,
      })),
    })),
  };
}

/** The answer of a node that cannot describe the quorum (Kafka's singletonErrorResponse). */
export function describeQuorumErrorToWire(errorCode: number): DescribeQuorumResponseInit {
  return {
    errorCode: ErrorCode.NONE,
    topics: [
      {
        topicName: METADATA_TOPIC_NAME,
        partitions: [{ partitionIndex: METADATA_PARTITION, errorCode, errorMessage: kafkaError(errorCode).message }],
      },
    ],
  };
}

function replicaStateToWire(r: ReplicaDescription) {
  return {
    replicaId: r.replicaId,
    replicaDirectoryId: directoryIdToWire(r.replicaDirectoryId),
    logEndOffset: int64(r.logEndOffset),
    lastFetchTimestamp: int64(r.lastFetchTimestamp),
    lastCaughtUpTimestamp: int64(r.lastCaughtUpTimestamp),
  };
}

function replicaStateFromWire(r: DescribeQuorumResponseReplicaState): ReplicaDescription {
  return {
    replicaId: r.replicaId,
    replicaDirectoryId: directoryIdFromWire(r.replicaDirectoryId),
    logEndOffset: fromInt64(r.logEndOffset),
    lastFetchTimestamp: fromInt64(r.lastFetchTimestamp),
    lastCaughtUpTimestamp: fromInt64(r.lastCaughtUpTimestamp),
  };
}

/**
 * The leader's description of the quorum. `endpointsOf` gives a voter's listeners, which v2+
 * lists under `nodes`, one entry per voter (RaftUtil.singletonDescribeQuorumResponse).
 */
export function describeQuorumToWire(
  q: QuorumDescription,
  version: number,
  endpointsOf: (nodeId: number) => readonly Endpoint[],
): DescribeQuorumResponseInit {
  const res: DescribeQuorumResponseInit = {
    errorCode: ErrorCode.NONE,
    topics: [
      {
        topicName: METADATA_TOPIC_NAME,
        partitions: [
          {
            partitionIndex: METADATA_PARTITION,
            errorCode: ErrorCode.NONE,
            leaderId: q.leaderId,
            leaderEpoch: q.leaderEpoch,
            highWatermark: int64(q.highWatermark),
            currentVoters: q.currentVoters.map(replicaStateToWire),
            observers: q.observers.map(replicaStateToWire),
          },
        ],
      },
    ],
  };
  if (version >= 2) {
    const seen = new Set<number>();
    const nodes: Array<{ nodeId: number; listeners: Array<{ name: string; host: string; port: number }> }> = [];
    for (const v of q.currentVoters) {
      // `nodes` is keyed by node id; a voter listed twice (two directories) appears once.
      if (seen.has(v.replicaId)) continue;
      seen.add(v.replicaId);
      nodes.push({ nodeId: v.replicaId, listeners: endpointsToWire(endpointsOf(v.replicaId)) });
    }
    return { ...res, nodes };
  }
  return res;
}

export interface DescribeQuorumResult {
  /** The top-level error, or the partition's when the top level has none. */
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** Present when the answer describes the metadata partition without error. */
  readonly quorum: QuorumDescription | undefined;
  /** The voters' listeners (v2+). */
  readonly nodes: ReadonlyMap<number, readonly Endpoint[]>;
}

export function describeQuorumResponseFromWire(msg: WireDescribeQuorumResponse): DescribeQuorumResult {
  const nodes = new Map<number, Endpoint[]>(msg.nodes.map((n) => [n.nodeId, endpointsFromWire(n.listeners)]));
  if (msg.errorCode !== ErrorCode.NONE) {
    return { errorCode: msg.errorCode, errorMessage: msg.errorMessage || null, quorum: undefined, nodes };
  }
  const p = metadataPartitionOf(
    msg.topics,
    (t) => t.topicName === METADATA_TOPIC_NAME,
    (x) => x.partitionIndex,
  );
  if (p === undefined) {
    return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, quorum: undefined, nodes };
  }
  if (p.errorCode !== ErrorCode.NONE) {
    // Before v2 there is no message; the decoder leaves the schema default, an empty string.
    return { errorCode: p.errorCode, errorMessage: p.errorMessage || null, quorum: undefined, nodes };
  }
  return {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    quorum: {
      leaderId: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      highWatermark: fromInt64(p.highWatermark),
      currentVoters: p.currentVoters.map(replicaStateFromWire),
      observers: p.observers.map(replicaStateFromWire),
    },
    nodes,
  };
}
