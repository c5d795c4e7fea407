// EndQuorumEpoch (KIP-595; v1 names the preferred candidates with their directory ids, KIP-853)
// between the core's types and the generated messages. Kafka fills both successor lists and the
// codec keeps the one the version has: v0 `preferredSuccessors` (ids only), v1
// `preferredCandidates`. Kafka's Raft client sends no LeaderEndpoints here, and neither do we.

import { ErrorCode } from '../../protocol/error-codes.js';
import type {
  EndQuorumEpochRequestInit,
  EndQuorumEpochResponseInit,
  EndQuorumEpochRequest as WireEndQuorumEpochRequest,
  EndQuorumEpochResponse as WireEndQuorumEpochResponse,
} from '../../protocol/generated/api/54-end-quorum-epoch.js';
import type { EndQuorumEpochRequest, EndQuorumEpochResponse, ReplicaKey } from '../types.js';
import {
  clusterIdFromWire,
  directoryIdFromWire,
  directoryIdToWire,
  isOtherCluster,
  isTopLevelError,
  leaderAddressFromWire,
  METADATA_PARTITION,
  METADATA_TOPIC_NAME,
  metadataPartitionOf,
  type NodeAddress,
  nodeEndpointsToWire,
  type RequestFromWire,
  type ResponseFromWire,
} from './common.js';

export function endQuorumEpochRequestToWire(req: EndQuorumEpochRequest): EndQuorumEpochRequestInit {
  return {
    clusterId: req.clusterId,
    topics: [
      {
        topicName: METADATA_TOPIC_NAME,
        partitions: [
          {
            partitionIndex: METADATA_PARTITION,
            leaderId: req.leaderId,
            leaderEpoch: req.leaderEpoch,
            preferredSuccessors: req.preferredSuccessors.map((k) => k.id),
            preferredCandidates: req.preferredSuccessors.map((k) => ({
              candidateId: k.id,
              candidateDirectoryId: directoryIdToWire(k.directoryId),
            })),
          },
        ],
      },
    ],
  };
}

export function endQuorumEpochRequestFromWire(
  msg: WireEndQuorumEpochRequest,
  version: number,
  localClusterId: string,
): RequestFromWire<EndQuorumEpochRequest, EndQuorumEpochResponseInit> {
  const p = metadataPartitionOf(
    msg.topics,
    (t) => t.topicName === METADATA_TOPIC_NAME,
    (x) => x.partitionIndex,
  );
  if (p === undefined) {
    const errorCode = isOtherCluster(msg.clusterId, localClusterId)
      ? ErrorCode.INCONSISTENT_CLUSTER_ID
      : ErrorCode.INVALID_REQUEST;
    return { ok: false, response: { errorCode, topics: [] } };
  }
  const preferredSuccessors: ReplicaKey[] =
    version >= 1
      ? p.preferredCandidates.map((c) => ({
          id: c.candidateId,
          directoryId: directoryIdFromWire(c.candidateDirectoryId),
        }))
      : p.preferredSuccessors.map((id) => ({ id, directoryId: undefined }));
  return {
    ok: true,
    from: p.leaderId,
    request: {
      type: 'EndQuorumEpoch',
      clusterId: clusterIdFromWire(msg.clusterId, localClusterId),
      leaderId: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      preferredSuccessors,
    },
  };
}

export function endQuorumEpochResponseToWire(
  res: EndQuorumEpochResponse,
  version: number,
  leaderAddress: NodeAddress | undefined,
): EndQuorumEpochResponseInit {
  if (isTopLevelError(res.errorCode)) return { errorCode: res.errorCode, topics: [] };
  return {
    errorCode: ErrorCode.NONE,
    topics: [
      {
        topicName: METADATA_TOPIC_NAME,
        partitions: [
          {
            partitionIndex: METADATA_PARTITION,
            errorCode: res.errorCode,
            leaderId: res.leaderId,
            leaderEpoch: res.leaderEpoch,
          },
        ],
      },
    ],
    nodeEndpoints: nodeEndpointsToWire(version, 1, res.leaderId, leaderAddress),
  };
}

export function endQuorumEpochResponseFromWire(
  msg: WireEndQuorumEpochResponse,
): ResponseFromWire<EndQuorumEpochResponse> | undefined {
  if (msg.errorCode !== ErrorCode.NONE) {
    return {
      response: { type: 'EndQuorumEpoch', errorCode: msg.errorCode, leaderId: -1, leaderEpoch: -1 },
      leaderAddress: undefined,
    };
  }
  const p = metadataPartitionOf(
    msg.topics,
    (t) => t.topicName === METADATA_TOPIC_NAME,
    (x) => x.partitionIndex,
  );
  if (p === undefined) return undefined;
  return {
    response: { type: 'EndQuorumEpoch', errorCode: p.errorCode, leaderId: p.leaderId, leaderEpoch: p.leaderEpoch },
    leaderAddress: leaderAddressFromWire(p.leaderId, msg.nodeEndpoints),
  };
}
